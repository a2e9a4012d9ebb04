//! Hits counted against rate limits (see [`crate::ratelimit`]), kept so that a restart does
//! not hand out a fresh allowance.

use super::{Store, StoreError};

impl Store {
    pub fn record_rate_hit(&self, key: &str, at_ms: u64) -> Result<(), StoreError> {
        self.record_rate_hits(&[(key, at_ms)])
    }

    /// Several hits in one transaction (one request counts against several keys).
    pub fn record_rate_hits(&self, hits: &[(&str, u64)]) -> Result<(), StoreError> {
        self.write(|tx| {
            let mut stmt =
                tx.prepare_cached("INSERT INTO rate_hits (key, at_ms) VALUES (?1, ?2)")?;
            for (key, at) in hits {
                stmt.execute((key, to_i64(*at)))?;
            }
            Ok(())
        })
    }

    /// Every hit at or after `since_ms`, oldest first.
    pub fn rate_hits_since(&self, since_ms: u64) -> Result<Vec<(String, u64)>, StoreError> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT key, at_ms FROM rate_hits WHERE at_ms >= ?1 ORDER BY at_ms",
            )?;
            let rows = stmt.query_map([to_i64(since_ms)], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (key, at) = row?;
                out.push((key, u64::try_from(at).unwrap_or(0)));
            }
            Ok(out)
        })
    }

    /// Forgets hits before `before_ms`; returns how many.
    pub fn prune_rate_hits(&self, before_ms: u64) -> Result<usize, StoreError> {
        self.write(|tx| {
            Ok(tx.execute(
                "DELETE FROM rate_hits WHERE at_ms < ?1",
                [to_i64(before_ms)],
            )?)
        })
    }
}

/// Milliseconds since 1970 fit an i64 for the next 292 million years.
fn to_i64(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::open_temp;

    #[test]
    fn hits_are_kept_listed_in_order_and_pruned() {
        let (dir, store) = open_temp();
        store.record_rate_hit("account:a", 300).unwrap();
        store
            .record_rate_hits(&[("3rd-site", 100), ("3rd-ip:1.2.3.4", 200)])
            .unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(
            store.rate_hits_since(150).unwrap(),
            vec![
                ("3rd-ip:1.2.3.4".to_owned(), 200),
                ("account:a".to_owned(), 300)
            ]
        );
        assert_eq!(store.prune_rate_hits(200).unwrap(), 1);
        assert_eq!(store.rate_hits_since(0).unwrap().len(), 2);
    }
}
