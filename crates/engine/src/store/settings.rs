//! App-wide settings: a small key/value table, read and written as one [`AppState`].

use rusqlite::OptionalExtension;

use super::{Store, StoreError};
use crate::model::{AppState, DEFAULT_API_LISTEN};

const PAUSED: &str = "paused";
const AUTOSTART: &str = "autostart";
const LANGUAGE: &str = "language";
const API_ENABLED: &str = "api_enabled";
const API_LISTEN: &str = "api_listen";

impl Store {
    /// The stored app state; keys never written read as the defaults.
    pub fn app_state(&self) -> Result<AppState, StoreError> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached("SELECT value FROM settings WHERE key = ?1")?;
            let mut get = |key: &str| -> Result<Option<String>, StoreError> {
                Ok(stmt.query_row([key], |row| row.get(0)).optional()?)
            };
            Ok(AppState {
                paused: get(PAUSED)?.is_some_and(|v| v == "true"),
                autostart: get(AUTOSTART)?.is_some_and(|v| v == "true"),
                language: get(LANGUAGE)?,
                api_enabled: get(API_ENABLED)?.is_some_and(|v| v == "true"),
                api_listen: get(API_LISTEN)?.unwrap_or_else(|| DEFAULT_API_LISTEN.to_owned()),
            })
        })
    }

    /// Replaces the stored app state (one transaction, so readers never see half of it).
    pub fn set_app_state(&self, state: &AppState) -> Result<(), StoreError> {
        self.write(|tx| {
            let mut put = tx.prepare_cached(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?;
            put.execute((PAUSED, state.paused.to_string()))?;
            put.execute((AUTOSTART, state.autostart.to_string()))?;
            put.execute((API_ENABLED, state.api_enabled.to_string()))?;
            put.execute((API_LISTEN, &state.api_listen))?;
            match &state.language {
                Some(lang) => {
                    put.execute((LANGUAGE, lang))?;
                }
                None => {
                    tx.execute("DELETE FROM settings WHERE key = ?1", [LANGUAGE])?;
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::open_temp;

    #[test]
    fn app_state_defaults_and_round_trips_across_reopen() {
        let (dir, store) = open_temp();
        assert_eq!(store.app_state().unwrap(), AppState::default());
        let state = AppState {
            paused: true,
            autostart: true,
            language: Some("zh-CN".into()),
            api_enabled: true,
            api_listen: "127.0.0.1:7000".into(),
        };
        store.set_app_state(&state).unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.app_state().unwrap(), state);
        // Back to "follow the OS".
        let state = AppState {
            language: None,
            ..state
        };
        store.set_app_state(&state).unwrap();
        assert_eq!(store.app_state().unwrap(), state);
    }
}
