//! `sync_3rd`'s automatic paths: `share/<folder_3rd>/YYYY/YYYY-MM/YYYY-MM-DD HH-MM-SS.<ext>`
//! (UTC), ` (2)`, ` (3)`… before the extension when taken.
//!
//! A path handed out is reserved in memory until the change is applied (or for ten minutes),
//! so two uploads in the same second get different paths without a placeholder file in the
//! folder (which the watcher would sync, empty).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use time::macros::format_description;

use super::{GatewayError, paths};
use crate::engine::Engine;
use crate::events::lock;
use crate::relpath::RelPath;

pub const DEFAULT_FOLDER_3RD: &str = "default";
pub const DEFAULT_EXT_3RD: &str = "txt";
/// Longer than any upload should take between asking for a path and applying it.
const RESERVED_FOR: Duration = Duration::from_secs(600);
/// Uploads in one second of one `folder_3rd` beyond this are refused.
const MAX_SAME_SECOND: u32 = 10_000;

#[derive(Debug, Default)]
pub(super) struct Reservations {
    taken: Mutex<HashMap<(String, RelPath), Instant>>,
}

impl Reservations {
    fn try_reserve(&self, folder: &str, rel: &[u8]) -> bool {
        let now = Instant::now();
        let mut taken = lock(&self.taken);
        taken.retain(|_, at| now.duration_since(*at) < RESERVED_FOR);
        let key = (folder.to_owned(), rel.to_vec());
        if taken.contains_key(&key) {
            return false;
        }
        taken.insert(key, now);
        true
    }

    pub(super) fn release(&self, folder: &str, rel: &[u8]) {
        let mut taken = lock(&self.taken);
        if !taken.is_empty() {
            taken.remove(&(folder.to_owned(), rel.to_vec()));
        }
    }
}

/// The `n`th candidate (1 = no number) for an upload at `t`.
fn candidate(folder_3rd: &str, ext: &str, t: OffsetDateTime, n: u32) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let stamp = format_description!("[year]-[month]-[day] [hour]-[minute]-[second]");
    // Formatting a UTC date-time with fixed fields cannot fail for years 0..=9999.
    let stamp = t.format(&stamp).unwrap_or_default();
    let (year, month) = (&stamp[..4.min(stamp.len())], &stamp[..7.min(stamp.len())]);
    let number = if n > 1 {
        format!(" ({n})")
    } else {
        String::new()
    };
    format!("share/{folder_3rd}/{year}/{month}/{stamp}{number}.{ext}")
}

fn check_ext(ext: &str) -> Result<(), GatewayError> {
    if (1..=16).contains(&ext.len()) && ext.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(GatewayError::BadRequest(format!(
            "ext_3rd {ext:?} is not an extension: use 1 to 16 letters or digits, such as txt"
        )))
    }
}

impl Engine {
    /// A free path for a `sync_3rd` upload into `folder`, reserved until it is applied.
    pub fn gateway_3rd_path(
        &self,
        folder: &str,
        folder_3rd: Option<&str>,
        ext_3rd: Option<&str>,
    ) -> Result<String, GatewayError> {
        let sub = folder_3rd
            .filter(|s| !s.is_empty())
            .unwrap_or(DEFAULT_FOLDER_3RD);
        paths::check_segment(sub).map_err(|e| match e {
            GatewayError::BadPath(msg) => {
                GatewayError::BadRequest(format!("folder_3rd must be one folder name: {msg}"))
            }
            other => other,
        })?;
        let ext = ext_3rd.filter(|s| !s.is_empty()).unwrap_or(DEFAULT_EXT_3RD);
        check_ext(ext)?;
        let f = self.gateway_folder(folder)?;
        let now = OffsetDateTime::now_utc();
        for n in 1..=MAX_SAME_SECOND {
            let path = candidate(sub, ext, now, n);
            let rel = paths::parse(&path)?;
            if paths::locate(&f.path, &rel)?.target.is_none()
                && self.gateway.share.try_reserve(&f.name, &rel)
            {
                return Ok(path);
            }
        }
        Err(GatewayError::RateLimited {
            retry_after_secs: 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_follow_the_seed_layout() {
        let t = OffsetDateTime::from_unix_timestamp(1_704_164_645).unwrap(); // 2024-01-02 03:04:05Z
        assert_eq!(
            candidate("default", "txt", t, 1),
            "share/default/2024/2024-01/2024-01-02 03-04-05.txt"
        );
        assert_eq!(
            candidate("notes", "md", t, 3),
            "share/notes/2024/2024-01/2024-01-02 03-04-05 (3).md"
        );
        let east = t.to_offset(time::UtcOffset::from_hms(8, 0, 0).unwrap());
        assert_eq!(
            candidate("default", "txt", east, 1),
            candidate("default", "txt", t, 1)
        );
        assert!(paths::parse(&candidate("default", "txt", t, 2)).is_ok());
    }

    #[test]
    fn extensions_are_checked() {
        for ok in ["txt", "MD", "jpeg2000", "a", "0123456789abcdef"] {
            assert!(check_ext(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".txt",
            "t.x",
            "a/b",
            "x".repeat(17).as_str(),
            "tx t",
            "ü",
        ] {
            assert!(check_ext(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_reserved_path_is_not_handed_out_twice() {
        let r = Reservations::default();
        assert!(r.try_reserve("docs", b"a"));
        assert!(!r.try_reserve("docs", b"a"));
        assert!(r.try_reserve("other", b"a"));
        r.release("docs", b"a");
        assert!(r.try_reserve("docs", b"a"));
    }
}
