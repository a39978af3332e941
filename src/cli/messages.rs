//! Core messages in command-line words: option names become flags.

use crate::error::{ParamError, VdxError};
use crate::video::VideoError;

/// An error as the command line says it. The core names options as the Python package and
/// the build options do (an invalid `quality`, "set the tail option to wrap"); here they
/// become the flags a shell user types (`--quality`, "set --tail to wrap").
pub(crate) fn error_text(e: &(dyn std::error::Error + 'static)) -> String {
    let param = match (e.downcast_ref::<VdxError>(), e.downcast_ref::<VideoError>()) {
        (Some(e), _) => e.param_error(),
        (_, Some(VideoError::Param(p))) => Some(p),
        _ => e.downcast_ref::<ParamError>(),
    };
    match param {
        Some(p) => format!("invalid {}: {}", flag(&p.name), with_flags(&p.reason)),
        None => with_flags(&e.to_string()),
    }
}

/// `max_duration` -> `--max-duration`; a name that is not an option name is kept as it is.
pub(crate) fn flag(name: &str) -> String {
    let is_option = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if is_option {
        format!("--{}", name.replace('_', "-"))
    } else {
        name.to_string()
    }
}

/// "the tail option" -> "--tail" throughout a message.
pub(crate) fn with_flags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("the ") {
        let after = &rest[at + 4..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(after.len());
        let (name, tail) = after.split_at(name_len);
        if name_len > 0
            && tail.starts_with(" option")
            && !tail[7..].starts_with(|c: char| c.is_alphanumeric())
        {
            out.push_str(&rest[..at]);
            out.push_str(&flag(name));
            rest = &tail[7..];
        } else {
            out.push_str(&rest[..at + 4]);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_option_names_become_flags() {
        assert_eq!(flag("max_duration"), "--max-duration");
        assert_eq!(flag("JPEG qualities"), "JPEG qualities");
        assert_eq!(
            with_flags("x; set the tail option to wrap (the keep_going option skips it)"),
            "x; set --tail to wrap (--keep-going skips it)"
        );
        // Not an option mention: left alone.
        assert_eq!(
            with_flags("the options of the file"),
            "the options of the file"
        );
        assert_eq!(with_flags("the Foo option"), "the Foo option");
        let e = VdxError::param("keyframe_every", "must be at least 1");
        assert_eq!(
            error_text(&e),
            "invalid --keyframe-every: must be at least 1"
        );
    }
}
