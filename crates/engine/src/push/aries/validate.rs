//! Local checks of the server files, with the seed's InvalidParameter rules, so a batch the
//! endpoint would refuse is never sent: required fields present, types right, sizes positive,
//! server names unique across files and volume names unique within a server.
//!
//! Every problem names its file and the JSON path inside it (`$.storage.volumes[1].size`).
//! Fields the seed does not define are not problems (the API also syncs network resources
//! the seed's table leaves out); they are noted and sent as they are.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Map, Value};

/// One server file as read from the folder.
#[derive(Debug, Clone)]
pub struct Source {
    /// Relative to the folder, `/`-separated.
    pub file: String,
    /// The bytes, or why they could not be read.
    pub content: Result<Vec<u8>, String>,
}

/// What is wrong at one place of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    /// A JSON path from `$` (the file's top-level value); empty for the file as a whole.
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}: {}: {}", self.file, self.path, self.message)
        }
    }
}

/// A valid server definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Server {
    pub file: String,
    pub name: String,
    /// The images its volumes use.
    pub image_refs: BTreeSet<String>,
    /// The file's content, sent as it is.
    pub value: Value,
}

/// The result of checking every file.
#[derive(Debug, Default)]
pub struct Checked {
    /// The valid servers, in the order of their files.
    pub servers: Vec<Server>,
    /// Empty when everything may be sent.
    pub problems: Vec<Problem>,
    /// Remarks that do not stop the push (fields the seed does not define).
    pub notes: Vec<String>,
}

impl Checked {
    /// How many files have at least one problem.
    pub fn files_with_problems(&self) -> usize {
        self.problems
            .iter()
            .map(|p| p.file.as_str())
            .collect::<BTreeSet<_>>()
            .len()
    }
}

const SERVER_FIELDS: &[&str] = &["name", "compute", "storage"];
const COMPUTE_FIELDS: &[&str] = &["cpu_core_count", "memory_size"];
const STORAGE_FIELDS: &[&str] = &["volumes"];
const VOLUME_FIELDS: &[&str] = &["name", "size", "type", "image_ref"];

/// Checks every file, then that server names are unique across them.
pub fn check(sources: &[Source]) -> Checked {
    let mut out = Checked::default();
    // name -> the first file that uses it
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for source in sources {
        let mut file = FileCheck {
            file: &source.file,
            problems: Vec::new(),
            notes: Vec::new(),
        };
        let server = file.check(&source.content);
        if let Some(server) = &server
            && let Some(first) = names.get(&server.name)
        {
            file.problem(
                "$.name",
                format!(
                    "the server name {:?} is also used by {first}; server names must be unique",
                    server.name
                ),
            );
        }
        if let Some(server) = server {
            names
                .entry(server.name.clone())
                .or_insert_with(|| server.file.clone());
            if file.problems.is_empty() {
                out.servers.push(server);
            }
        }
        out.problems.extend(file.problems);
        out.notes.extend(file.notes);
    }
    out
}

/// The checks of one file, collecting every problem rather than stopping at the first.
struct FileCheck<'a> {
    file: &'a str,
    problems: Vec<Problem>,
    notes: Vec<String>,
}

impl FileCheck<'_> {
    fn problem(&mut self, path: &str, message: String) {
        self.problems.push(Problem {
            file: self.file.to_owned(),
            path: path.to_owned(),
            message,
        });
    }

    /// The server when the file is usable as one (possibly with problems still recorded).
    fn check(&mut self, content: &Result<Vec<u8>, String>) -> Option<Server> {
        let bytes = match content {
            Ok(b) => b,
            Err(why) => {
                self.problem("", format!("cannot read the file: {why}"));
                return None;
            }
        };
        // Editors on Windows may start a UTF-8 file with a byte order mark; JSON has none.
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let value: Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => {
                self.problem("", format!("not valid JSON: {e}"));
                return None;
            }
        };
        let Some(obj) = value.as_object() else {
            self.problem(
                "$",
                format!(
                    "must be an object describing one server (one file per server), found {}",
                    describe(&value)
                ),
            );
            return None;
        };
        self.unknown_fields("$", obj, SERVER_FIELDS);
        let name = self.name(obj, "$");
        let mut image_refs = BTreeSet::new();
        if let Some(compute) = self.object(obj, "$", "compute") {
            self.unknown_fields("$.compute", compute, COMPUTE_FIELDS);
            self.positive_integer(compute, "$.compute", "cpu_core_count");
            self.positive_integer(compute, "$.compute", "memory_size");
        }
        if let Some(storage) = self.object(obj, "$", "storage") {
            self.unknown_fields("$.storage", storage, STORAGE_FIELDS);
            self.volumes(storage, &mut image_refs);
        }
        Some(Server {
            file: self.file.to_owned(),
            name: name?,
            image_refs,
            value: value.clone(),
        })
    }

    fn volumes(&mut self, storage: &Map<String, Value>, image_refs: &mut BTreeSet<String>) {
        let Some(volumes) = self.required(storage, "$.storage", "volumes") else {
            return;
        };
        let Some(volumes) = volumes.as_array() else {
            self.problem(
                "$.storage.volumes",
                format!("must be an array of volumes, found {}", describe(volumes)),
            );
            return;
        };
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for (i, volume) in volumes.iter().enumerate() {
            let at = format!("$.storage.volumes[{i}]");
            let Some(v) = volume.as_object() else {
                self.problem(
                    &at,
                    format!("must be an object, found {}", describe(volume)),
                );
                continue;
            };
            self.unknown_fields(&at, v, VOLUME_FIELDS);
            if let Some(name) = self.name(v, &at) {
                if let Some(first) = seen.get(&name) {
                    self.problem(
                        &format!("{at}.name"),
                        format!(
                            "the volume name {name:?} is also used by volumes[{first}]; volume names must be unique within a server"
                        ),
                    );
                } else {
                    seen.insert(name, i);
                }
            }
            if let Some(size) = self.required(v, &at, "size") {
                match size.as_f64() {
                    Some(s) if s > 0.0 && s.is_finite() => {}
                    _ => self.problem(
                        &format!("{at}.size"),
                        format!(
                            "must be a number of GB greater than 0, found {}",
                            describe(size)
                        ),
                    ),
                }
            }
            if let Some(kind) = self.required(v, &at, "type")
                && !is_integer(kind)
            {
                self.problem(
                    &format!("{at}.type"),
                    format!("must be an integer, found {}", describe(kind)),
                );
            }
            match v.get("image_ref") {
                None => {}
                Some(Value::String(r)) if !r.trim().is_empty() => {
                    image_refs.insert(r.clone());
                }
                Some(other) => self.problem(
                    &format!("{at}.image_ref"),
                    format!(
                        "must be a non-empty image id string, or left out, found {}",
                        describe(other)
                    ),
                ),
            }
        }
    }

    /// A required field, or a problem saying it is missing.
    fn required<'v>(
        &mut self,
        obj: &'v Map<String, Value>,
        at: &str,
        field: &str,
    ) -> Option<&'v Value> {
        let v = obj.get(field);
        if v.is_none() {
            self.problem(&format!("{at}.{field}"), "is required but missing".into());
        }
        v
    }

    fn object<'v>(
        &mut self,
        obj: &'v Map<String, Value>,
        at: &str,
        field: &str,
    ) -> Option<&'v Map<String, Value>> {
        let v = self.required(obj, at, field)?;
        let o = v.as_object();
        if o.is_none() {
            self.problem(
                &format!("{at}.{field}"),
                format!("must be an object, found {}", describe(v)),
            );
        }
        o
    }

    /// The `name` field: a string with something besides spaces.
    fn name(&mut self, obj: &Map<String, Value>, at: &str) -> Option<String> {
        match self.required(obj, at, "name")? {
            Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
            other => {
                let found = describe(other);
                self.problem(
                    &format!("{at}.name"),
                    format!("must be a non-empty string, found {found}"),
                );
                None
            }
        }
    }

    fn positive_integer(&mut self, obj: &Map<String, Value>, at: &str, field: &str) {
        let Some(v) = self.required(obj, at, field) else {
            return;
        };
        let positive = is_integer(v) && v.as_i64().is_none_or(|n| n > 0);
        if !positive {
            self.problem(
                &format!("{at}.{field}"),
                format!("must be an integer greater than 0, found {}", describe(v)),
            );
        }
    }

    fn unknown_fields(&mut self, at: &str, obj: &Map<String, Value>, known: &[&str]) {
        for key in obj.keys().filter(|k| !known.contains(&k.as_str())) {
            self.notes.push(format!(
                "{}: {at}.{key} is not a field of the Aries API's table; it is sent as it is",
                self.file
            ));
        }
    }
}

/// A JSON integer: `2`, not `2.0` or `"2"`.
fn is_integer(v: &Value) -> bool {
    v.as_i64().is_some() || v.as_u64().is_some()
}

/// A value as a message shows what was found.
fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let short: String = s.chars().take(40).collect();
            let more = if short.len() < s.len() { "…" } else { "" };
            format!("the string {short:?}{more}")
        }
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(file: &str, json: &str) -> Source {
        Source {
            file: file.into(),
            content: Ok(json.as_bytes().to_vec()),
        }
    }

    fn server(name: &str, image: &str) -> String {
        format!(
            r#"{{"name":"{name}","compute":{{"cpu_core_count":2,"memory_size":4096}},
               "storage":{{"volumes":[{{"name":"system-disk","size":40,"type":0,"image_ref":"{image}"}}]}}}}"#
        )
    }

    fn problems(json: &str) -> Vec<String> {
        check(&[source("s.json", json)])
            .problems
            .iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect()
    }

    #[test]
    fn a_valid_server_passes_unchanged() {
        let text = server("web-1", "img-a");
        let checked = check(&[source("a.json", &text)]);
        assert!(checked.problems.is_empty(), "{:?}", checked.problems);
        assert!(checked.notes.is_empty());
        let s = &checked.servers[0];
        assert_eq!(s.name, "web-1");
        assert_eq!(s.file, "a.json");
        assert_eq!(s.image_refs, BTreeSet::from(["img-a".to_string()]));
        assert_eq!(s.value, serde_json::from_str::<Value>(&text).unwrap());
    }

    #[test]
    fn image_ref_is_optional_and_sizes_may_be_fractional() {
        let p = problems(
            r#"{"name":"db","compute":{"cpu_core_count":1,"memory_size":512},
                "storage":{"volumes":[{"name":"data","size":0.5,"type":1}]}}"#,
        );
        assert!(p.is_empty(), "{p:?}");
        let p = problems(
            r#"{"name":"db","compute":{"cpu_core_count":1,"memory_size":512},"storage":{"volumes":[]}}"#,
        );
        assert!(p.is_empty(), "{p:?}");
    }

    #[test]
    fn missing_fields_are_each_reported() {
        let p = problems(r#"{"storage":{"volumes":[{}]}}"#);
        assert_eq!(
            p,
            [
                "$.name: is required but missing",
                "$.compute: is required but missing",
                "$.storage.volumes[0].name: is required but missing",
                "$.storage.volumes[0].size: is required but missing",
                "$.storage.volumes[0].type: is required but missing",
            ]
        );
        let p = problems(r#"{"name":"x","compute":{},"storage":{}}"#);
        assert_eq!(
            p,
            [
                "$.compute.cpu_core_count: is required but missing",
                "$.compute.memory_size: is required but missing",
                "$.storage.volumes: is required but missing",
            ]
        );
    }

    #[test]
    fn wrong_types_are_reported_with_what_was_found() {
        let p = problems(
            r#"{"name":7,"compute":{"cpu_core_count":"2","memory_size":4096.0},
                "storage":{"volumes":[{"name":"d","size":"40","type":0.5,"image_ref":12}, 3]}}"#,
        );
        assert_eq!(
            p,
            [
                "$.name: must be a non-empty string, found 7",
                "$.compute.cpu_core_count: must be an integer greater than 0, found the string \"2\"",
                "$.compute.memory_size: must be an integer greater than 0, found 4096.0",
                "$.storage.volumes[0].size: must be a number of GB greater than 0, found the string \"40\"",
                "$.storage.volumes[0].type: must be an integer, found 0.5",
                "$.storage.volumes[0].image_ref: must be a non-empty image id string, or left out, found 12",
                "$.storage.volumes[1]: must be an object, found 3",
            ]
        );
        let p = problems(r#"{"name":"x","compute":[],"storage":{"volumes":{}}}"#);
        assert_eq!(
            p,
            [
                "$.compute: must be an object, found an array",
                "$.storage.volumes: must be an array of volumes, found an object",
            ]
        );
    }

    #[test]
    fn sizes_must_be_positive() {
        let p = problems(
            r#"{"name":"x","compute":{"cpu_core_count":0,"memory_size":-1},
                "storage":{"volumes":[{"name":"a","size":0,"type":0},{"name":"b","size":-2.5,"type":0}]}}"#,
        );
        assert_eq!(
            p,
            [
                "$.compute.cpu_core_count: must be an integer greater than 0, found 0",
                "$.compute.memory_size: must be an integer greater than 0, found -1",
                "$.storage.volumes[0].size: must be a number of GB greater than 0, found 0",
                "$.storage.volumes[1].size: must be a number of GB greater than 0, found -2.5",
            ]
        );
        // Larger than i64 but still an integer.
        let p = problems(
            r#"{"name":"x","compute":{"cpu_core_count":18446744073709551615,"memory_size":1},"storage":{"volumes":[]}}"#,
        );
        assert!(p.is_empty(), "{p:?}");
    }

    #[test]
    fn empty_names_and_image_refs_are_refused() {
        let p = problems(
            r#"{"name":"  ","compute":{"cpu_core_count":1,"memory_size":1},
                "storage":{"volumes":[{"name":"","size":1,"type":0,"image_ref":""},{"name":"b","size":1,"type":0,"image_ref":null}]}}"#,
        );
        assert_eq!(
            p,
            [
                "$.name: must be a non-empty string, found the string \"  \"",
                "$.storage.volumes[0].name: must be a non-empty string, found the string \"\"",
                "$.storage.volumes[0].image_ref: must be a non-empty image id string, or left out, found the string \"\"",
                "$.storage.volumes[1].image_ref: must be a non-empty image id string, or left out, found null",
            ]
        );
    }

    #[test]
    fn volume_names_are_unique_within_a_server() {
        let p = problems(
            r#"{"name":"x","compute":{"cpu_core_count":1,"memory_size":1},
                "storage":{"volumes":[{"name":"d","size":1,"type":0},{"name":"e","size":1,"type":0},{"name":"d","size":2,"type":0}]}}"#,
        );
        assert_eq!(
            p,
            [
                "$.storage.volumes[2].name: the volume name \"d\" is also used by volumes[0]; volume names must be unique within a server"
            ]
        );
    }

    #[test]
    fn server_names_are_unique_across_files() {
        let checked = check(&[
            source("a.json", &server("web", "i")),
            source("b.json", &server("db", "i")),
            source("sub/c.json", &server("web", "i")),
        ]);
        assert_eq!(
            checked.problems,
            [Problem {
                file: "sub/c.json".into(),
                path: "$.name".into(),
                message:
                    "the server name \"web\" is also used by a.json; server names must be unique"
                        .into(),
            }]
        );
        assert_eq!(checked.files_with_problems(), 1);
        // The same name in a file that has other problems still counts as taken.
        let checked = check(&[
            source(
                "a.json",
                r#"{"name":"web","compute":{},"storage":{"volumes":[]}}"#,
            ),
            source("b.json", &server("web", "i")),
        ]);
        assert_eq!(checked.files_with_problems(), 2);
    }

    #[test]
    fn unreadable_files_and_bad_json_are_problems() {
        let checked = check(&[
            Source {
                file: "a.json".into(),
                content: Err("permission denied".into()),
            },
            source("b.json", "{\"name\": "),
            source("c.json", "[1,2]"),
        ]);
        let shown: Vec<String> = checked.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(shown[0], "a.json: cannot read the file: permission denied");
        assert!(
            shown[1].starts_with("b.json: not valid JSON: EOF while parsing"),
            "{}",
            shown[1]
        );
        assert_eq!(
            shown[2],
            "c.json: $: must be an object describing one server (one file per server), found an array"
        );
        assert_eq!(checked.files_with_problems(), 3);
        assert!(checked.servers.is_empty());
    }

    #[test]
    fn a_byte_order_mark_is_accepted() {
        let text = format!("\u{feff}{}", server("web", "i"));
        let checked = check(&[source("a.json", &text)]);
        assert!(checked.problems.is_empty(), "{:?}", checked.problems);
    }

    #[test]
    fn unknown_fields_are_noted_not_refused() {
        let checked = check(&[source(
            "a.json",
            r#"{"name":"x","network":{"vpc":"v"},"compute":{"cpu_core_count":1,"memory_size":1,"gpu":1},
                "storage":{"volumes":[{"name":"d","size":1,"type":0,"imageref":"i"}]}}"#,
        )]);
        assert!(checked.problems.is_empty());
        assert_eq!(
            checked.notes,
            [
                "a.json: $.network is not a field of the Aries API's table; it is sent as it is",
                "a.json: $.compute.gpu is not a field of the Aries API's table; it is sent as it is",
                "a.json: $.storage.volumes[0].imageref is not a field of the Aries API's table; it is sent as it is",
            ]
        );
        assert_eq!(checked.servers[0].value["network"]["vpc"], "v");
    }
}
