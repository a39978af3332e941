//! The AWS shared configuration files, as the AWS CLI and SDKs read them: a profile
//! (`AWS_PROFILE`, else `default`) in `~/.aws/credentials` (`AWS_SHARED_CREDENTIALS_FILE`)
//! and `~/.aws/config` (`AWS_CONFIG_FILE`, where a profile's section is `[profile NAME]`, the
//! default's `[default]`). Environment variables win over the files, and the credentials file
//! over the config file, key by key. Static keys only (`aws_access_key_id`,
//! `aws_secret_access_key`, `aws_session_token`) with `region` and `endpoint_url`; a profile
//! that gets its keys another way (SSO, `credential_process`, an assumed role) is not read.

use std::collections::HashMap;
use std::path::PathBuf;

/// What a profile sets (None: not set there).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Profile {
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

/// The keys of section `wanted` of an INI text (names lower-cased, values trimmed; `#` and
/// `;` start comments at the start of a line).
fn section(text: &str, wanted: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut inside = false;
    for line in text.lines() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
            continue;
        }
        if let Some(name) = l.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            inside = name.split_whitespace().collect::<Vec<_>>().join(" ") == wanted;
            continue;
        }
        if inside {
            if let Some((k, v)) = l.split_once('=') {
                out.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
    }
    out
}

/// The profile the environment `env` names, from the files it names (or `~/.aws/`): None
/// where neither file has it.
pub(crate) fn profile(env: impl Fn(&str) -> Option<String>) -> Option<Profile> {
    let home = env("HOME").map(PathBuf::from);
    let file = |var: &str, default: &str| -> Option<String> {
        let path = env(var)
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))?;
        std::fs::read_to_string(path).ok()
    };
    let name = env("AWS_PROFILE")
        .or_else(|| env("AWS_DEFAULT_PROFILE"))
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "default".to_string());
    let creds = file("AWS_SHARED_CREDENTIALS_FILE", "credentials")
        .map(|t| section(&t, &name))
        .unwrap_or_default();
    let config_section = if name == "default" {
        "default".to_string()
    } else {
        format!("profile {name}")
    };
    let config = file("AWS_CONFIG_FILE", "config")
        .map(|t| section(&t, &config_section))
        .unwrap_or_default();
    if creds.is_empty() && config.is_empty() {
        return None;
    }
    let get = |k: &str| {
        creds
            .get(k)
            .or_else(|| config.get(k))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    Some(Profile {
        access_key_id: get("aws_access_key_id"),
        secret_access_key: get("aws_secret_access_key"),
        session_token: get("aws_session_token"),
        region: get("region"),
        endpoint_url: get("endpoint_url"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_from_the_credentials_and_config_files() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join(".aws")).unwrap();
        std::fs::write(
            d.path().join(".aws/credentials"),
            "# keys\n[default]\naws_access_key_id = AKDEFAULT\naws_secret_access_key=sdefault\n\n\
             [train]\nAWS_ACCESS_KEY_ID = AKTRAIN\naws_secret_access_key = strain\n\
             aws_session_token = tok\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join(".aws/config"),
            "[default]\nregion = eu-west-1\n; a comment\n[profile   train]\nregion = \
             us-west-2\nendpoint_url = http://127.0.0.1:9000\naws_access_key_id = IGNORED\n",
        )
        .unwrap();
        let home = d.path().to_str().unwrap().to_string();
        let env = |vars: Vec<(&'static str, String)>| {
            move |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
        };
        let p = profile(env(vec![("HOME", home.clone())])).unwrap();
        assert_eq!(p.access_key_id.as_deref(), Some("AKDEFAULT"));
        assert_eq!(p.secret_access_key.as_deref(), Some("sdefault"));
        assert_eq!(p.region.as_deref(), Some("eu-west-1"));
        assert_eq!(p.session_token, None);
        let t = profile(env(vec![
            ("HOME", home.clone()),
            ("AWS_PROFILE", "train".into()),
        ]))
        .unwrap();
        assert_eq!(
            t,
            Profile {
                access_key_id: Some("AKTRAIN".into()),
                secret_access_key: Some("strain".into()),
                session_token: Some("tok".into()),
                region: Some("us-west-2".into()),
                endpoint_url: Some("http://127.0.0.1:9000".into()),
            }
        );
        // Files named by the environment; a profile neither file has.
        let moved = d.path().join("elsewhere");
        std::fs::rename(d.path().join(".aws/credentials"), &moved).unwrap();
        let m = profile(env(vec![
            ("HOME", home.clone()),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                moved.to_str().unwrap().into(),
            ),
        ]))
        .unwrap();
        assert_eq!(m.access_key_id.as_deref(), Some("AKDEFAULT"));
        assert_eq!(
            profile(env(vec![("HOME", home), ("AWS_PROFILE", "none".into())])),
            None
        );
    }
}
