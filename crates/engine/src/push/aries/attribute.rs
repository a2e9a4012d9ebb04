//! Which servers of a batch an error answer is about.
//!
//! The seed's error body is `{"code", "message"}` for the whole batch. An endpoint may name
//! the servers concerned in a `servers` array; otherwise the message is searched for the
//! image ids (ImageNotFound) or the server names it mentions, as whole words. When it names
//! none, the error is every server's.

use std::collections::BTreeSet;

use super::validate::Server;

/// The indexes (into `servers`) of the servers an error is about.
pub fn servers_named(
    servers: &[Server],
    code: &str,
    message: &str,
    listed: Option<&[String]>,
) -> BTreeSet<usize> {
    if let Some(listed) = listed {
        let hit: BTreeSet<usize> = servers
            .iter()
            .enumerate()
            .filter(|(_, s)| listed.contains(&s.name))
            .map(|(i, _)| i)
            .collect();
        if !hit.is_empty() {
            return hit;
        }
    }
    if code == "ImageNotFound" {
        let images: BTreeSet<&str> = servers
            .iter()
            .flat_map(|s| s.image_refs.iter().map(String::as_str))
            .filter(|r| mentions(message, r))
            .collect();
        let hit: BTreeSet<usize> = servers
            .iter()
            .enumerate()
            .filter(|(_, s)| s.image_refs.iter().any(|r| images.contains(r.as_str())))
            .map(|(i, _)| i)
            .collect();
        if !hit.is_empty() {
            return hit;
        }
    }
    let hit: BTreeSet<usize> = servers
        .iter()
        .enumerate()
        .filter(|(_, s)| mentions(message, &s.name))
        .map(|(i, _)| i)
        .collect();
    if !hit.is_empty() {
        return hit;
    }
    (0..servers.len()).collect()
}

/// `needle` occurs in `haystack` as a whole word: not inside a longer name (`web-1` is not
/// mentioned by `web-10`). Words are ASCII: Chinese text around a name does not hide it.
fn mentions(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    let part_of_name = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    haystack.match_indices(needle).any(|(at, _)| {
        let before = haystack[..at].chars().next_back();
        let after = haystack[at + needle.len()..].chars().next();
        // A trailing dot ends a sentence, not a name.
        let after_is_name = after.is_some_and(|c| part_of_name(c) && c != '.')
            || (after == Some('.')
                && haystack[at + needle.len() + 1..]
                    .chars()
                    .next()
                    .is_some_and(part_of_name));
        !before.is_some_and(part_of_name) && !after_is_name
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(name: &str, images: &[&str]) -> Server {
        Server {
            file: format!("{name}.json"),
            name: name.into(),
            image_refs: images.iter().map(|s| s.to_string()).collect(),
            value: serde_json::Value::Null,
        }
    }

    fn batch() -> Vec<Server> {
        vec![
            server("web-1", &["img-a"]),
            server("web-10", &["img-ab"]),
            server("db", &["img-a", "img-c"]),
        ]
    }

    #[test]
    fn a_servers_list_wins() {
        let listed = vec!["db".to_string(), "unknown".to_string()];
        let hit = servers_named(&batch(), "SyncFailed", "web-1 failed", Some(&listed));
        assert_eq!(hit, BTreeSet::from([2]));
    }

    #[test]
    fn image_not_found_names_the_servers_using_the_image() {
        let hit = servers_named(&batch(), "ImageNotFound", "镜像不存在: img-a", None);
        assert_eq!(hit, BTreeSet::from([0, 2]));
        let hit = servers_named(&batch(), "ImageNotFound", "image img-ab not found.", None);
        assert_eq!(hit, BTreeSet::from([1]));
        let hit = servers_named(&batch(), "ImageNotFound", "镜像不存在: img-ab, img-c", None);
        assert_eq!(hit, BTreeSet::from([1, 2]));
    }

    #[test]
    fn server_names_in_the_message_are_whole_words() {
        let hit = servers_named(&batch(), "SyncFailed", "同步失败: web-10", None);
        assert_eq!(hit, BTreeSet::from([1]));
        let hit = servers_named(&batch(), "SyncFailed", "server web-1.", None);
        assert_eq!(hit, BTreeSet::from([0]));
        let hit = servers_named(&batch(), "SyncFailed", "web-1.internal is down", None);
        assert_eq!(hit, BTreeSet::from([0, 1, 2]));
    }

    #[test]
    fn an_error_naming_nobody_is_everyones() {
        let hit = servers_named(&batch(), "InternalError", "内部错误", None);
        assert_eq!(hit, BTreeSet::from([0, 1, 2]));
        let hit = servers_named(&batch(), "ImageNotFound", "镜像不存在", Some(&[]));
        assert_eq!(hit, BTreeSet::from([0, 1, 2]));
    }

    #[test]
    fn mentions_handles_edges() {
        assert!(mentions("db", "db"));
        assert!(mentions("(db)", "db"));
        assert!(!mentions("dbx", "db"));
        assert!(!mentions("x", ""));
        assert!(mentions("服务器db失败", "db"));
    }
}
