//! The gateway's site settings (seed 003's `sync_by_3rd`, `sync_by_3rd_public`, the limits),
//! kept in the settings table under `gateway.*`, limits as their rule text.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::engine::{Engine, EngineError};
use crate::ratelimit::{self, Rule};
use crate::store::StoreError;

/// 1 GiB.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 1 << 30;

const FOLDER: &str = "folder";
const SYNC_BY_3RD: &str = "sync_by_3rd";
const SYNC_BY_3RD_PUBLIC: &str = "sync_by_3rd_public";
const ACCOUNT_LIMITS: &str = "account_limits";
const PUBLIC_ACCOUNT_LIMITS: &str = "public_account_limits";
const PUBLIC_IP_LIMITS: &str = "public_ip_limits";
const SITE_LIMITS: &str = "site_limits";
const MAX_FILE_SIZE: &str = "max_file_size";

/// App-wide ("site") settings of the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "camelCase")]
pub struct GatewaySettings {
    /// The folder of the site owner's session and of `sync_3rd`; none turns both off.
    pub folder: Option<String>,
    /// `sync_3rd` is open to logged-in callers.
    pub sync_by_3rd: bool,
    /// `sync_3rd` is open to anonymous callers too.
    pub sync_by_3rd_public: bool,
    /// Per account of `sync` (seed: 2000/10m,5000/1h,25000/1d).
    #[serde(with = "ratelimit::text")]
    #[ts(type = "string")]
    pub account_limits: Vec<Rule>,
    /// Per logged-in account of `sync_3rd` (seed: 5/10m).
    #[serde(with = "ratelimit::text")]
    #[ts(type = "string")]
    pub public_account_limits: Vec<Rule>,
    /// Per IP of anonymous `sync_3rd` callers (seed: 2/10m).
    #[serde(with = "ratelimit::text")]
    #[ts(type = "string")]
    pub public_ip_limits: Vec<Rule>,
    /// All of `sync_3rd` together (seed: 300/10m).
    #[serde(with = "ratelimit::text")]
    #[ts(type = "string")]
    pub site_limits: Vec<Rule>,
    /// Largest file accepted, in bytes.
    #[ts(type = "number")]
    pub max_file_size: u64,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        GatewaySettings {
            folder: None,
            sync_by_3rd: false,
            sync_by_3rd_public: false,
            account_limits: ratelimit::ACCOUNT_RULES.to_vec(),
            public_account_limits: ratelimit::PUBLIC_ACCOUNT_RULES.to_vec(),
            public_ip_limits: ratelimit::PUBLIC_IP_RULES.to_vec(),
            site_limits: ratelimit::PUBLIC_SITE_RULES.to_vec(),
            max_file_size: DEFAULT_MAX_FILE_SIZE,
        }
    }
}

impl Engine {
    /// The stored settings; what was never set reads as the default.
    pub fn gateway_settings(&self) -> Result<GatewaySettings, EngineError> {
        let values = self.store().gateway_settings_values()?;
        let mut s = GatewaySettings {
            folder: values.get(FOLDER).cloned(),
            ..GatewaySettings::default()
        };
        let corrupt = |key: &str, e: &dyn std::fmt::Display| {
            EngineError::Store(StoreError::Corrupt(format!("gateway.{key}: {e}")))
        };
        if let Some(v) = values.get(SYNC_BY_3RD) {
            s.sync_by_3rd = v == "true";
        }
        if let Some(v) = values.get(SYNC_BY_3RD_PUBLIC) {
            s.sync_by_3rd_public = v == "true";
        }
        for (key, field) in [
            (ACCOUNT_LIMITS, &mut s.account_limits),
            (PUBLIC_ACCOUNT_LIMITS, &mut s.public_account_limits),
            (PUBLIC_IP_LIMITS, &mut s.public_ip_limits),
            (SITE_LIMITS, &mut s.site_limits),
        ] {
            if let Some(v) = values.get(key) {
                *field = ratelimit::parse_rules(v).map_err(|e| corrupt(key, &e))?;
            }
        }
        if let Some(v) = values.get(MAX_FILE_SIZE) {
            s.max_file_size = v.parse().map_err(|e| corrupt(MAX_FILE_SIZE, &e))?;
        }
        Ok(s)
    }

    /// Replaces the settings; the folder, when given, must exist.
    pub fn set_gateway_settings(&self, s: &GatewaySettings) -> Result<(), EngineError> {
        if let Some(name) = &s.folder {
            self.store().folder(name)?;
        }
        if s.max_file_size == 0 {
            return Err(EngineError::InvalidRequest(
                "the largest file size must be at least 1 byte".into(),
            ));
        }
        for (what, rules) in [
            ("account limits", &s.account_limits),
            ("public account limits", &s.public_account_limits),
            ("public IP limits", &s.public_ip_limits),
            ("site limits", &s.site_limits),
        ] {
            // Stored as text: only rules their text reads back as exactly can be kept.
            let text = ratelimit::format_rules(rules);
            match ratelimit::parse_rules(&text) {
                Ok(back) if back == *rules => {}
                Ok(_) => {
                    return Err(EngineError::InvalidRequest(format!(
                        "{what} {text:?}: windows must be whole seconds"
                    )));
                }
                Err(e) => return Err(EngineError::InvalidRequest(format!("{what}: {e}"))),
            }
        }
        self.store().set_gateway_settings_values(&[
            (FOLDER, s.folder.clone()),
            (SYNC_BY_3RD, Some(s.sync_by_3rd.to_string())),
            (SYNC_BY_3RD_PUBLIC, Some(s.sync_by_3rd_public.to_string())),
            (
                ACCOUNT_LIMITS,
                Some(ratelimit::format_rules(&s.account_limits)),
            ),
            (
                PUBLIC_ACCOUNT_LIMITS,
                Some(ratelimit::format_rules(&s.public_account_limits)),
            ),
            (
                PUBLIC_IP_LIMITS,
                Some(ratelimit::format_rules(&s.public_ip_limits)),
            ),
            (SITE_LIMITS, Some(ratelimit::format_rules(&s.site_limits))),
            (MAX_FILE_SIZE, Some(s.max_file_size.to_string())),
        ])?;
        tracing::info!(folder = ?s.folder, sync_by_3rd = s.sync_by_3rd, "gateway settings changed");
        Ok(())
    }
}
