//! Argument types shared by the commands: sizes and comma-separated lists.

pub use crate::video::decode::parse_size;

use crate::error::{Result, VdxError};

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
