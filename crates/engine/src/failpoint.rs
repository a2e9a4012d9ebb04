//! Crash points for fault tests. `SYNCDESK_FAILPOINT=<name>:<n>` kills the process (abort:
//! no unwinding, no cleanup, like `kill -9`) the n-th time `<name>` is reached. Unset, a
//! point costs one relaxed atomic load.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

struct Armed {
    name: String,
    at: u64,
    seen: AtomicU64,
}

fn armed() -> Option<&'static Armed> {
    static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
    ARMED
        .get_or_init(|| {
            let spec = std::env::var("SYNCDESK_FAILPOINT").ok()?;
            let (name, at) = spec.split_once(':').unwrap_or((&spec, "1"));
            Some(Armed {
                name: name.to_owned(),
                at: at.parse().ok()?,
                seen: AtomicU64::new(0),
            })
        })
        .as_ref()
}

/// Marks a point where a crash must be survivable.
pub fn hit(name: &str) {
    if let Some(a) = armed()
        && a.name == name
        && a.seen.fetch_add(1, Ordering::Relaxed) + 1 == a.at
    {
        eprintln!("failpoint {name} reached: aborting");
        std::process::abort();
    }
}
