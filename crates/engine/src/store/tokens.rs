//! The local HTTP API's tokens: name, role and date. The tokens themselves are in the OS
//! keyring (see [`crate::tokens`]).

use rusqlite::OptionalExtension;

use super::{Store, StoreError};
use crate::model::{ApiRole, ApiToken};

impl Store {
    pub fn api_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        self.read(|tx| {
            let mut stmt =
                tx.prepare_cached("SELECT name, role, created_at FROM api_tokens ORDER BY name")?;
            let rows = stmt.query_map([], row_to_token)?;
            let mut out = Vec::new();
            for row in rows {
                out.push(row??);
            }
            Ok(out)
        })
    }

    pub fn api_token(&self, name: &str) -> Result<Option<ApiToken>, StoreError> {
        self.read(|tx| {
            let mut stmt =
                tx.prepare_cached("SELECT name, role, created_at FROM api_tokens WHERE name = ?1")?;
            stmt.query_row([name], row_to_token).optional()?.transpose()
        })
    }

    /// Records a new token; `false` when the name is taken.
    pub fn insert_api_token(&self, token: &ApiToken) -> Result<bool, StoreError> {
        self.write(|tx| {
            let n = tx.execute(
                "INSERT INTO api_tokens (name, role, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO NOTHING",
                (&token.name, token.role.as_str(), &token.created_at),
            )?;
            Ok(n == 1)
        })
    }

    /// Forgets a token; `false` when there was none of that name.
    pub fn delete_api_token(&self, name: &str) -> Result<bool, StoreError> {
        self.write(|tx| Ok(tx.execute("DELETE FROM api_tokens WHERE name = ?1", [name])? == 1))
    }
}

fn row_to_token(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<ApiToken, StoreError>> {
    let role: String = row.get(1)?;
    Ok(match ApiRole::parse(&role) {
        Some(role) => Ok(ApiToken {
            name: row.get(0)?,
            role,
            created_at: row.get(2)?,
        }),
        None => Err(StoreError::Corrupt(format!(
            "unknown API token role {role:?}"
        ))),
    })
}
