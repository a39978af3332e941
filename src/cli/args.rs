//! Argument types shared by the commands: sizes and comma-separated lists.

use crate::error::{Result, VdxError};

/// Parse "224" or "320x240".
pub fn parse_size(s: &str) -> Result<(u32, u32)> {
    let bad = || {
        VdxError::param(
            "size",
            format!("'{s}' is not N or WxH (e.g. 224 or 320x240)"),
        )
    };
    let (w, h) = match s.split_once(['x', 'X']) {
        Some((a, b)) => (
            a.trim().parse::<u32>().map_err(|_| bad())?,
            b.trim().parse::<u32>().map_err(|_| bad())?,
        ),
        None => {
            let n = s.trim().parse::<u32>().map_err(|_| bad())?;
            (n, n)
        }
    };
    if w == 0 || h == 0 || w > 16384 || h > 16384 {
        return Err(VdxError::param(
            "size",
            format!("{w}x{h} is outside 1..=16384"),
        ));
    }
    Ok((w, h))
}

/// Parse a comma-separated list ("0,10,250"); `what` names the option in the error.
pub fn parse_list<T: std::str::FromStr>(s: &str, what: &str) -> Result<Vec<T>> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            p.trim()
                .parse::<T>()
                .map_err(|_| VdxError::param(what, format!("'{p}' is not a valid value")))
        })
        .collect()
}
