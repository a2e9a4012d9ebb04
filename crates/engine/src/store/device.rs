//! Device identity and the device's logical clock.

use rusqlite::{OptionalExtension, Transaction, TransactionBehavior};

use super::{Device, Store, StoreError, lock};

impl Store {
    /// The device identity, generated (getrandom) on first call and persisted forever in this state dir:
    /// id = 16 lowercase hex chars, nonce = 32 lowercase hex chars. Concurrent first calls from two
    /// processes must agree (INSERT OR IGNORE then read back).
    pub fn device(&self) -> Result<Device, StoreError> {
        if let Some(device) = self.read(read_device)? {
            return Ok(device);
        }
        let id = random_hex(8)?;
        let nonce = random_hex(16)?;
        self.write(|tx| {
            // Another process may have won the race since our read: its identity stands.
            tx.execute(
                "INSERT OR IGNORE INTO device (singleton, id, nonce) VALUES (1, ?1, ?2)",
                (&id, &nonce),
            )?;
            read_device(tx)?
                .ok_or_else(|| StoreError::Corrupt("device identity vanished after insert".into()))
        })
    }

    /// Reserves `n` (>=1) fresh values of this device's logical clock and returns the first; values are
    /// strictly increasing across calls and processes, starting at 1, persisted before returning.
    pub fn reserve_clock(&self, n: u64) -> Result<u64, StoreError> {
        let step = i64::try_from(n)
            .ok()
            .filter(|&step| step >= 1)
            .ok_or_else(|| {
                StoreError::Invalid(format!(
                    "cannot reserve {n} clock values (need 1..=i64::MAX)"
                ))
            })?;
        let mut conn = lock(&self.writer);
        // A reserved value may end up in a remote snapshot, so it must survive a power
        // loss, not only a crash: sync this one commit fully, then go back to NORMAL.
        conn.pragma_update(None, "synchronous", "FULL")?;
        let reserved = (|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // The WHERE keeps the sum within i64 (SQLite would turn it into a float).
            let last: Option<i64> = tx
                .query_row(
                    "UPDATE logical_clock SET value = value + ?1
                     WHERE value <= 9223372036854775807 - ?1 RETURNING value",
                    [step],
                    |row| row.get(0),
                )
                .optional()?;
            tx.commit()?;
            Ok::<_, StoreError>(last)
        })();
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let last = reserved?.ok_or_else(|| {
            StoreError::Invalid(format!("the logical clock cannot advance by {n} any more"))
        })?;
        // last >= step >= 1, so the first value is >= 1 and fits u64.
        Ok((last - step + 1) as u64)
    }
}

fn read_device(tx: &Transaction<'_>) -> Result<Option<Device>, StoreError> {
    let row: Option<(String, String)> = tx
        .query_row("SELECT id, nonce FROM device", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?;
    let Some((id, nonce)) = row else {
        return Ok(None);
    };
    let is_hex = |s: &str, len: usize| {
        s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    if !is_hex(&id, 16) || !is_hex(&nonce, 32) {
        return Err(StoreError::Corrupt(format!(
            "device identity {id:?}/{nonce:?} is not 16 + 32 lowercase hex characters"
        )));
    }
    Ok(Some(Device { id, nonce }))
}

fn random_hex(bytes: usize) -> Result<String, StoreError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(StoreError::Random)?;
    Ok(hex::encode(buf))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::Arc;

    use super::*;

    #[test]
    fn device_is_stable_across_reopen_and_unique_per_state_dir() {
        let dir = tempfile::tempdir().unwrap();
        let first = Store::open(dir.path()).unwrap().device().unwrap();
        assert_eq!(first.id.len(), 16);
        assert_eq!(first.nonce.len(), 32);
        assert!(
            (first.id.clone() + &first.nonce)
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.device().unwrap(), first);
        assert_eq!(store.device().unwrap(), first);

        let other_dir = tempfile::tempdir().unwrap();
        let other = Store::open(other_dir.path()).unwrap().device().unwrap();
        assert_ne!(other.id, first.id);
        assert_ne!(other.nonce, first.nonce);
    }

    #[test]
    fn concurrent_first_device_calls_agree() {
        let dir = tempfile::tempdir().unwrap();
        let stores: Vec<_> = (0..4)
            .map(|_| Arc::new(Store::open(dir.path()).unwrap()))
            .collect();
        let handles: Vec<_> = stores
            .iter()
            .map(|s| {
                let s = Arc::clone(s);
                std::thread::spawn(move || s.device().unwrap())
            })
            .collect();
        let ids: HashSet<_> = handles
            .into_iter()
            .map(|h| {
                let d = h.join().unwrap();
                (d.id, d.nonce)
            })
            .collect();
        assert_eq!(ids.len(), 1);
    }

    #[test]
    fn clock_starts_at_one_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.reserve_clock(1).unwrap(), 1);
        assert_eq!(store.reserve_clock(5).unwrap(), 2);
        assert_eq!(store.reserve_clock(1).unwrap(), 7);
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.reserve_clock(2).unwrap(), 8);
        assert_eq!(store.reserve_clock(1).unwrap(), 10);
    }

    #[test]
    fn clock_refuses_zero() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(matches!(
            store.reserve_clock(0),
            Err(StoreError::Invalid(_))
        ));
        assert_eq!(store.reserve_clock(1).unwrap(), 1);
    }

    #[test]
    fn clock_ranges_never_overlap_across_two_stores_on_one_dir() {
        let dir = tempfile::tempdir().unwrap();
        let a = Store::open(dir.path()).unwrap();
        let b = Store::open(dir.path()).unwrap();
        let run = |store: Store| {
            std::thread::spawn(move || {
                let mut got = Vec::new();
                for i in 0..100 {
                    let n = i % 3 + 1;
                    let first = store.reserve_clock(n).unwrap();
                    got.extend(first..first + n);
                }
                got
            })
        };
        let (ha, hb) = (run(a), run(b));
        let (va, vb) = (ha.join().unwrap(), hb.join().unwrap());
        for v in [&va, &vb] {
            assert!(v.windows(2).all(|w| w[0] < w[1]), "not increasing: {v:?}");
        }
        let mut all: Vec<u64> = va.iter().chain(&vb).copied().collect();
        all.sort_unstable();
        // 2 stores x 100 reservations of 1, 2, 3, 1, ... values: no gaps, no repeats.
        let expected: u64 = 2 * (0..100u64).map(|i| i % 3 + 1).sum::<u64>();
        assert_eq!(all, (1..=expected).collect::<Vec<_>>());
    }
}
