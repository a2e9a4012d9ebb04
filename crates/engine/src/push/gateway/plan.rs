//! What to send to a gateway (pure): the local folder against what the gateway is known to
//! hold, as waves of requests. Requests of one wave are independent and may run at once; a
//! wave starts when the one before it is done.
//!
//! Order: deletions that stand in the way of a local path (a file where a directory now is,
//! or the reverse), deepest first; then new empty directories; then files; then the other
//! deletions, deepest first (children before parents).

use std::collections::{BTreeMap, BTreeSet};

use crate::relpath::RelPath;

/// A pushable local path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    Dir,
    File { hash: [u8; 32], size: u64 },
}

/// One request to the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `is_dir=true`: an empty directory (a directory with files comes with its files).
    MakeDir { path: RelPath },
    /// The file's content (`raw_content` or multipart `file`).
    Put {
        path: RelPath,
        hash: [u8; 32],
        size: u64,
    },
    /// `is_deleted=true`. `dir` says what the gateway holds there.
    Delete { path: RelPath, dir: bool },
}

impl Op {
    pub fn path(&self) -> &[u8] {
        match self {
            Op::MakeDir { path } | Op::Put { path, .. } | Op::Delete { path, .. } => path,
        }
    }
}

pub struct PlanInput<'a> {
    /// Every pushable local path (ignored, unreadable and unpushable ones left out).
    pub local: &'a BTreeMap<RelPath, Node>,
    /// What the gateway is known to hold: path → content hash, `None` for a directory.
    pub state: &'a BTreeMap<RelPath, Option<[u8; 32]>>,
    /// Force-push only: what the gateway says it holds (path → is a directory), if it lists.
    pub listed: Option<&'a BTreeMap<RelPath, bool>>,
    /// Force-push: send every file and empty directory, whatever the state says.
    pub force: bool,
    /// Paths never deleted on the gateway: they exist locally but are not pushed (ignored,
    /// unreadable, a symbolic link, a name that is not UTF-8).
    pub keep: &'a dyn Fn(&[u8]) -> bool,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Plan {
    pub waves: Vec<Vec<Op>>,
}

impl Plan {
    pub fn ops(&self) -> impl Iterator<Item = &Op> {
        self.waves.iter().flatten()
    }

    pub fn is_empty(&self) -> bool {
        self.waves.iter().all(Vec::is_empty)
    }
}

/// `p` is strictly below `dir`.
pub fn is_below(p: &[u8], dir: &[u8]) -> bool {
    p.len() > dir.len() && p.starts_with(dir) && p[dir.len()] == b'/'
}

/// Every path strictly below `dir` in a sorted map.
fn below<'m, V>(map: &'m BTreeMap<RelPath, V>, dir: &[u8]) -> impl Iterator<Item = &'m RelPath> {
    let mut lo = dir.to_vec();
    lo.push(b'/');
    let mut hi = dir.to_vec();
    // '0' is the byte after '/': [dir/, dir0) is exactly the subtree.
    hi.push(b'0');
    map.range(lo..hi).map(|(k, _)| k)
}

fn depth(p: &[u8]) -> usize {
    p.iter().filter(|&&b| b == b'/').count()
}

pub fn plan(input: &PlanInput<'_>) -> Plan {
    let PlanInput {
        local,
        state,
        listed,
        force,
        keep,
    } = *input;

    // What the gateway holds, as far as we know: path → is a directory.
    let mut held: BTreeMap<RelPath, bool> = state
        .iter()
        .map(|(p, h)| (p.clone(), h.is_none()))
        .collect();
    if let Some(listed) = listed {
        for (p, dir) in listed {
            held.insert(p.clone(), *dir);
        }
    }

    // Held paths local no longer has as the same kind.
    let mut deletes: BTreeSet<RelPath> = held
        .iter()
        .filter(|(p, dir)| {
            let same = match local.get(*p) {
                Some(Node::Dir) => **dir,
                Some(Node::File { .. }) => !**dir,
                None => false,
            };
            !same && !keep(p)
        })
        .map(|(p, _)| p.clone())
        .collect();
    // A directory is only deleted with everything held below it.
    let kept_dirs: Vec<RelPath> = deletes
        .iter()
        .filter(|p| held.get(*p) == Some(&true))
        .filter(|p| below(&held, p).any(|c| !deletes.contains(c)))
        .cloned()
        .collect();
    for d in kept_dirs {
        deletes.remove(&d);
    }

    // Deletions in the way of a local path go first; with them, everything below them.
    let blocking_roots: Vec<RelPath> = deletes
        .iter()
        .filter(|p| local.contains_key(*p) || below(local, p).next().is_some())
        .cloned()
        .collect();
    let blocking: BTreeSet<RelPath> = deletes
        .iter()
        .filter(|p| blocking_roots.iter().any(|r| r == *p || is_below(p, r)))
        .cloned()
        .collect();

    let delete_op = |p: &RelPath| Op::Delete {
        path: p.clone(),
        dir: held.get(p).copied().unwrap_or(false),
    };
    let mut waves = by_depth_deepest_first(blocking.iter().map(delete_op).collect());

    let mut dirs = Vec::new();
    let mut files = Vec::new();
    for (p, node) in local {
        match *node {
            Node::Dir => {
                let empty = below(local, p).next().is_none();
                let known = state.get(p) == Some(&None) && !blocking.contains(p);
                if empty && (force || !known) {
                    dirs.push(Op::MakeDir { path: p.clone() });
                }
            }
            Node::File { hash, size } => {
                let known = state.get(p) == Some(&Some(hash)) && !blocking.contains(p);
                if force || !known {
                    files.push(Op::Put {
                        path: p.clone(),
                        hash,
                        size,
                    });
                }
            }
        }
    }
    waves.push(dirs);
    waves.push(files);
    waves.extend(by_depth_deepest_first(
        deletes
            .iter()
            .filter(|p| !blocking.contains(*p))
            .map(delete_op)
            .collect(),
    ));
    waves.retain(|w| !w.is_empty());
    Plan { waves }
}

/// Deletions grouped by depth, deepest group first: children before parents.
fn by_depth_deepest_first(ops: Vec<Op>) -> Vec<Vec<Op>> {
    let mut groups: BTreeMap<std::cmp::Reverse<usize>, Vec<Op>> = BTreeMap::new();
    for op in ops {
        groups
            .entry(std::cmp::Reverse(depth(op.path())))
            .or_default()
            .push(op);
    }
    groups.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn file(n: u8) -> Node {
        Node::File {
            hash: [n; 32],
            size: u64::from(n),
        }
    }

    fn map<V: Clone>(items: &[(&str, V)]) -> BTreeMap<RelPath, V> {
        items
            .iter()
            .map(|(p, v)| (p.as_bytes().to_vec(), v.clone()))
            .collect()
    }

    fn show(plan: &Plan) -> Vec<Vec<String>> {
        plan.waves
            .iter()
            .map(|w| {
                w.iter()
                    .map(|op| {
                        let p = String::from_utf8_lossy(op.path()).into_owned();
                        match op {
                            Op::MakeDir { .. } => format!("mkdir {p}"),
                            Op::Put { .. } => format!("put {p}"),
                            Op::Delete { dir: true, .. } => format!("rmdir {p}"),
                            Op::Delete { dir: false, .. } => format!("rm {p}"),
                        }
                    })
                    .collect()
            })
            .collect()
    }

    fn never(_: &[u8]) -> bool {
        false
    }

    /// A plain push: no listing, nothing kept.
    fn two_way(
        local: &BTreeMap<RelPath, Node>,
        state: &BTreeMap<RelPath, Option<[u8; 32]>>,
    ) -> Plan {
        plan(&PlanInput {
            local,
            state,
            listed: None,
            force: false,
            keep: &never,
        })
    }

    #[test]
    fn first_push_sends_empty_dirs_then_files() {
        let local = map(&[
            ("a", Node::Dir),
            ("a/x.txt", file(1)),
            ("e", Node::Dir),
            ("e/f", Node::Dir),
            ("top.bin", file(2)),
        ]);
        let plan = plan(&PlanInput {
            local: &local,
            state: &BTreeMap::new(),
            listed: None,
            force: false,
            keep: &never,
        });
        assert_eq!(
            show(&plan),
            vec![vec!["mkdir e/f"], vec!["put a/x.txt", "put top.bin"]]
        );
    }

    #[test]
    fn unchanged_paths_are_not_sent_and_removals_go_last_children_first() {
        let local = map(&[("a", Node::Dir), ("a/x.txt", file(1)), ("b.txt", file(9))]);
        let state = map(&[
            ("a", None),
            ("a/x.txt", Some([1; 32])),
            ("b.txt", Some([2; 32])),
            ("gone", None),
            ("gone/sub", None),
            ("gone/sub/f", Some([3; 32])),
            ("gone/g", Some([4; 32])),
        ]);
        let plan = two_way(&local, &state);
        assert_eq!(
            show(&plan),
            vec![
                vec!["put b.txt"],
                vec!["rm gone/sub/f"],
                vec!["rm gone/g", "rmdir gone/sub"],
                vec!["rmdir gone"],
            ]
        );
    }

    #[test]
    fn a_kind_change_deletes_first() {
        // "p" was a file and is now a directory; "q" was a directory and is now a file.
        let local = map(&[("p", Node::Dir), ("p/in", file(1)), ("q", file(2))]);
        let state = map(&[("p", Some([7; 32])), ("q", None), ("q/old", Some([8; 32]))]);
        let plan = two_way(&local, &state);
        assert_eq!(
            show(&plan),
            vec![
                vec!["rm q/old"],
                vec!["rm p", "rmdir q"],
                vec!["put p/in", "put q"],
            ]
        );
    }

    #[test]
    fn kept_paths_are_not_deleted_nor_their_parents() {
        let local = map(&[("a.txt", file(1))]);
        let state = map(&[
            ("a.txt", Some([1; 32])),
            ("logs", None),
            ("logs/x.log", Some([2; 32])),
        ]);
        let keep = |p: &[u8]| p == b"logs/x.log";
        let plan = plan(&PlanInput {
            local: &local,
            state: &state,
            listed: None,
            force: false,
            keep: &keep,
        });
        assert!(plan.is_empty(), "{:?}", show(&plan));
    }

    #[test]
    fn force_push_sends_everything_and_deletes_what_the_gateway_lists() {
        let local = map(&[("a.txt", file(1)), ("d", Node::Dir)]);
        let state = map(&[
            ("a.txt", Some([1; 32])),
            ("d", None),
            ("old", Some([5; 32])),
        ]);
        let listed = map(&[
            ("a.txt", false),
            ("stray", false),
            ("sdir", true),
            ("sdir/s", false),
        ]);
        let plan = plan(&PlanInput {
            local: &local,
            state: &state,
            listed: Some(&listed),
            force: true,
            keep: &never,
        });
        assert_eq!(
            show(&plan),
            vec![
                vec!["mkdir d"],
                vec!["put a.txt"],
                vec!["rm sdir/s"],
                vec!["rm old", "rmdir sdir", "rm stray"],
            ]
        );
    }

    /// The gateway as a tree, for checking plans by playing them.
    #[derive(Debug, Default)]
    struct Gateway {
        held: BTreeMap<RelPath, Option<[u8; 32]>>,
    }

    impl Gateway {
        /// Plays one request the way a gateway does: a write creates the parents and fails
        /// where a parent is a file or a directory stands at the path.
        fn apply(&mut self, op: &Op) -> Result<(), String> {
            let path = op.path().to_vec();
            let mut parents = Vec::new();
            for (i, &b) in path.iter().enumerate() {
                if b == b'/' {
                    parents.push(path[..i].to_vec());
                }
            }
            match op {
                Op::MakeDir { .. } | Op::Put { .. } => {
                    for p in &parents {
                        match self.held.get(p) {
                            Some(Some(_)) => return Err(format!("parent {p:?} is a file")),
                            Some(None) => {}
                            None => {
                                self.held.insert(p.clone(), None);
                            }
                        }
                    }
                    let value = match op {
                        Op::Put { hash, .. } => {
                            if self.held.get(&path) == Some(&None) {
                                return Err(format!("a directory stands at {path:?}"));
                            }
                            Some(*hash)
                        }
                        _ => {
                            if let Some(Some(_)) = self.held.get(&path) {
                                return Err(format!("a file stands at {path:?}"));
                            }
                            None
                        }
                    };
                    self.held.insert(path, value);
                }
                Op::Delete { dir, .. } => {
                    if below(&self.held, &path).next().is_some() {
                        return Err(format!("deleting {path:?} before its children"));
                    }
                    match self.held.remove(&path) {
                        Some(h) if h.is_none() != *dir => {
                            return Err(format!("wrong kind deleting {path:?}"));
                        }
                        _ => {}
                    }
                }
            }
            Ok(())
        }
    }

    /// Small random trees over a few names, so paths collide across sides and kinds.
    fn tree() -> impl Strategy<Value = BTreeMap<RelPath, Node>> {
        let name = prop::sample::select(vec!["a", "b", "c"]);
        let path = prop::collection::vec(name, 1..4).prop_map(|v| v.join("/").into_bytes());
        let node = prop_oneof![Just(Node::Dir), (1u8..4).prop_map(file)];
        prop::collection::btree_map(path, node, 0..10).prop_map(|raw| {
            // Make it a tree: parents are directories, nothing under a file.
            let mut out: BTreeMap<RelPath, Node> = BTreeMap::new();
            for (p, n) in raw {
                let blocked = out
                    .iter()
                    .any(|(q, m)| matches!(m, Node::File { .. }) && is_below(&p, q));
                if blocked || out.contains_key(&p) {
                    continue;
                }
                let parts: Vec<&[u8]> = p.split(|&b| b == b'/').collect();
                let mut ok = true;
                for i in 1..parts.len() {
                    let parent = parts[..i].join(&b'/');
                    match out.get(&parent) {
                        Some(Node::File { .. }) => ok = false,
                        Some(Node::Dir) => {}
                        None => {
                            out.insert(parent, Node::Dir);
                        }
                    }
                }
                if ok {
                    out.insert(p, n);
                }
            }
            out
        })
    }

    fn as_state(t: &BTreeMap<RelPath, Node>) -> BTreeMap<RelPath, Option<[u8; 32]>> {
        t.iter()
            .map(|(p, n)| {
                let h = match n {
                    Node::Dir => None,
                    Node::File { hash, .. } => Some(*hash),
                };
                (p.clone(), h)
            })
            .collect()
    }

    proptest! {
        /// Whatever the gateway held (as recorded), playing the plan in order leaves it
        /// holding exactly the local files and directories, never deleting a parent before
        /// its children or writing where something else stands; requests of one wave never
        /// touch one another's paths; and a second plan against the result is empty.
        #[test]
        fn playing_the_plan_mirrors_the_folder(
            local in tree(),
            before in tree(),
            force in any::<bool>(),
        ) {
            let state = as_state(&before);
            let p = plan(&PlanInput {
                local: &local,
                state: &state,
                listed: None,
                force,
                keep: &never,
            });
            for wave in &p.waves {
                for (i, a) in wave.iter().enumerate() {
                    for b in &wave[i + 1..] {
                        prop_assert!(a.path() != b.path());
                        prop_assert!(!is_below(a.path(), b.path()) && !is_below(b.path(), a.path()),
                            "{:?} and {:?} in one wave", a, b);
                    }
                }
            }
            let mut gw = Gateway { held: state.clone() };
            for op in p.ops() {
                if let Err(e) = gw.apply(op) {
                    prop_assert!(false, "{e} in {:?}", show(&p));
                }
            }
            prop_assert_eq!(&gw.held, &as_state(&local), "{:?}", show(&p));
            if !force {
                // Sent only what differs: nothing for a path held as it is locally.
                for op in p.ops() {
                    if let Op::Put { path, hash, .. } = op {
                        prop_assert!(state.get(path) != Some(&Some(*hash)));
                    }
                }
            }
            let again = two_way(&local, &gw.held);
            prop_assert!(again.is_empty(), "{:?}", show(&again));
        }
    }
}
