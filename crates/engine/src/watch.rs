//! Watching folders for changes (notify's recommended watcher, debounced), reporting each
//! folder a person changed to the scheduler. Ignored: the folder's `.syncdesk/`, our temp
//! files, reads, and the echoes of the engine's own writes ([`EchoLog`]).

use std::collections::{BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use notify_debouncer_full::notify::{EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{
    DebounceEventResult, DebouncedEvent, Debouncer, RecommendedCache, new_debouncer,
};

use crate::echo::EchoLog;
use crate::events::lock;
use crate::relpath;
use crate::scan::{STATE_DIR, is_temp_name};

/// Watched roots and the folder each belongs to; read by the debouncer's thread.
type Roots = Arc<Mutex<Vec<(PathBuf, String)>>>;

/// Watches a set of folders; `on_change(name)` is called (from the debouncer's thread) when
/// a folder changed or the watcher lost track of it (then a full sync must look).
pub struct Watcher {
    debouncer: Option<Debouncer<RecommendedWatcher, RecommendedCache>>,
    roots: Roots,
    watched: HashMap<String, PathBuf>,
    /// Folders that could not be watched (missing root, OS limits): retried on each `set`.
    failed: HashMap<String, PathBuf>,
}

impl Watcher {
    pub fn new(
        echo: Arc<EchoLog>,
        debounce: Duration,
        on_change: impl Fn(String) + Send + 'static,
    ) -> Result<Watcher, notify_debouncer_full::notify::Error> {
        let roots: Roots = Arc::default();
        let seen = roots.clone();
        let debouncer = new_debouncer(debounce, None, move |result: DebounceEventResult| {
            let roots = lock(&seen).clone();
            for name in changed_folders(&roots, &echo, result) {
                on_change(name);
            }
        })?;
        Ok(Watcher {
            debouncer: Some(debouncer),
            roots,
            watched: HashMap::new(),
            failed: HashMap::new(),
        })
    }

    /// Watches exactly the folders `want` (name, root): new ones are added, others dropped.
    pub fn set(&mut self, want: &[(String, PathBuf)]) {
        let Some(debouncer) = self.debouncer.as_mut() else {
            return;
        };
        let wanted = |name: &str, path: &Path| want.iter().any(|(n, p)| n == name && p == path);
        self.watched.retain(|name, path| {
            let keep = wanted(name, path);
            if !keep {
                // The root may be gone already, and its watch with it: nothing left to undo.
                let _ = debouncer.unwatch(path.as_path());
            }
            keep
        });
        self.failed.retain(|name, path| wanted(name, path));
        for (name, path) in want {
            if self.watched.contains_key(name) {
                continue;
            }
            match debouncer.watch(path, RecursiveMode::Recursive) {
                Ok(()) => {
                    if self.failed.remove(name).is_some() {
                        tracing::info!(folder = %name, "watching {} for changes again", path.display());
                    }
                    self.watched.insert(name.clone(), path.clone());
                }
                Err(e) => {
                    // Said once; the scheduler's syncs go on meanwhile.
                    if self.failed.insert(name.clone(), path.clone()).is_none() {
                        tracing::warn!(
                            folder = %name,
                            "cannot watch {} for changes ({e}); it syncs on its schedule until it can be watched",
                            path.display()
                        );
                    }
                }
            }
        }
        *lock(&self.roots) = self
            .watched
            .iter()
            .map(|(name, path)| (path.clone(), name.clone()))
            .collect();
    }

    /// Drops the folder's watch so the next `set` makes a fresh one (after its root was
    /// removed and came back, the old watch sees nothing).
    pub fn forget(&mut self, name: &str) {
        if let (Some(path), Some(d)) = (self.watched.remove(name), self.debouncer.as_mut()) {
            let _ = d.unwatch(path.as_path());
        }
    }

    pub fn watched(&self) -> impl Iterator<Item = &str> {
        self.watched.keys().map(String::as_str)
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        // `stop` joins the debouncer's thread; a plain drop would leave it running a tick.
        if let Some(d) = self.debouncer.take() {
            d.stop();
        }
    }
}

/// The folders a batch of events shows changed by someone other than the engine.
fn changed_folders(
    roots: &[(PathBuf, String)],
    echo: &EchoLog,
    result: DebounceEventResult,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let events = match result {
        Ok(events) => events,
        Err(errors) => {
            // Events may have been lost: the folders concerned (all, if unknown) need a look.
            for e in &errors {
                tracing::warn!("watching for changes failed: {e}; syncing to catch up");
            }
            let paths: Vec<&PathBuf> = errors.iter().flat_map(|e| &e.paths).collect();
            out.extend(folders_of(roots, &paths));
            return out;
        }
    };
    for event in &events {
        if event.need_rescan() {
            tracing::info!("the watcher missed events; syncing to catch up");
            let paths: Vec<&PathBuf> = event.paths.iter().collect();
            out.extend(folders_of(roots, &paths));
            continue;
        }
        if is_read(event) {
            continue;
        }
        for path in &event.paths {
            let Some((root, name)) = roots.iter().find(|(root, _)| path.starts_with(root)) else {
                continue;
            };
            if !out.contains(name) && is_someones_change(root, path, echo) {
                out.insert(name.clone());
            }
        }
    }
    out
}

/// Opening and closing files (a sync's own scan does it) changes nothing.
fn is_read(event: &DebouncedEvent) -> bool {
    matches!(event.kind, EventKind::Access(_))
}

/// A path under a folder that is synced and is not as the engine just left it.
fn is_someones_change(root: &Path, path: &Path, echo: &EchoLog) -> bool {
    let Ok(rel) = path.strip_prefix(root) else {
        return false;
    };
    if let Some(Component::Normal(first)) = rel.components().next()
        && first == STATE_DIR
    {
        return false;
    }
    if !rel.as_os_str().is_empty()
        && let Some(name) = path.file_name()
        && is_temp_name(relpath::bytes_of(name))
    {
        return false;
    }
    !echo.is_echo(path)
}

/// The folders holding any of `paths`; every folder when none is known.
fn folders_of(roots: &[(PathBuf, String)], paths: &[&PathBuf]) -> Vec<String> {
    let hit: Vec<String> = roots
        .iter()
        .filter(|(root, _)| {
            paths
                .iter()
                .any(|p| p.starts_with(root) || root.starts_with(p))
        })
        .map(|(_, name)| name.clone())
        .collect();
    if hit.is_empty() {
        roots.iter().map(|(_, name)| name.clone()).collect()
    } else {
        hit
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::time::Instant;

    use notify_debouncer_full::notify::event::{AccessKind, CreateKind, Event, Flag};

    use super::*;
    use crate::scan::{stat_key, temp_name};

    fn batch(events: Vec<Event>) -> DebounceEventResult {
        Ok(events
            .into_iter()
            .map(|event| DebouncedEvent {
                event,
                time: Instant::now(),
            })
            .collect())
    }

    fn created(p: &Path) -> Event {
        Event::new(EventKind::Create(CreateKind::File)).add_path(p.to_path_buf())
    }

    #[test]
    fn only_changes_by_someone_else_count() {
        let dir = tempfile::tempdir().unwrap();
        let (docs, art) = (dir.path().join("docs"), dir.path().join("art"));
        fs::create_dir_all(docs.join(".syncdesk/trash")).unwrap();
        fs::create_dir_all(&art).unwrap();
        let roots = vec![(docs.clone(), "docs".into()), (art.clone(), "art".into())];
        let echo = EchoLog::default();
        let ours = docs.join("downloaded.txt");
        fs::write(&ours, b"from the remote").unwrap();
        echo.wrote(&ours, stat_key(&fs::symlink_metadata(&ours).unwrap()));
        let tmp = docs.join(relpath::os_str(&temp_name(b"x.txt", 7)));

        let quiet = vec![
            created(&docs.join(".syncdesk/trash/old.txt")),
            created(&tmp),
            created(&ours),
            Event::new(EventKind::Access(AccessKind::Any)).add_path(docs.join("read.txt")),
            created(&dir.path().join("elsewhere.txt")),
        ];
        assert!(changed_folders(&roots, &echo, batch(quiet)).is_empty());

        let edit = vec![created(&art.join("new.png"))];
        assert_eq!(
            changed_folders(&roots, &echo, batch(edit)),
            BTreeSet::from(["art".to_string()])
        );
        // A person edits what a sync wrote: that is a change again.
        fs::write(&ours, b"edited by hand").unwrap();
        assert_eq!(
            changed_folders(&roots, &echo, batch(vec![created(&ours)])),
            BTreeSet::from(["docs".to_string()])
        );
    }

    #[test]
    fn lost_events_and_errors_make_a_full_sync() {
        let roots = vec![
            (PathBuf::from("/f/docs"), "docs".to_string()),
            (PathBuf::from("/f/art"), "art".to_string()),
        ];
        let echo = EchoLog::default();
        let overflow = Event::new(EventKind::Other).set_flag(Flag::Rescan);
        assert_eq!(
            changed_folders(&roots, &echo, batch(vec![overflow])).len(),
            2,
            "an overflow names no folder: all of them"
        );
        let err = notify_debouncer_full::notify::Error::generic("boom")
            .add_path(PathBuf::from("/f/art/x"));
        assert_eq!(
            changed_folders(&roots, &echo, Err(vec![err])),
            BTreeSet::from(["art".to_string()])
        );
    }
}
