//! The Syncdesk sync engine: scan, repository format, merge, jobs and events.
//! It knows nothing of GUIs or HTTP; the desktop shell, the API and the CLI call into it.

pub mod access;
pub mod background;
pub mod clock;
pub mod echo;
pub mod engine;
pub mod events;
pub mod failpoint;
pub mod gateway;
pub mod history;
pub mod ignores;
pub mod jobs;
mod launcher;
pub mod model;
pub mod push;
pub mod random;
pub mod ratelimit;
pub mod relpath;
pub mod remote;
pub mod repo;
pub mod scan;
pub mod schedule;
pub mod secrets;
pub mod store;
pub mod sync;
pub mod tokens;
pub mod trash;
pub mod vv;
pub mod watch;

pub use background::{Background, BackgroundOptions};
pub use engine::{Engine, EngineError, default_state_dir};
