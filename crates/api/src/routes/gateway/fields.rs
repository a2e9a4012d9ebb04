//! The fields of a gateway request (seed 003) and the rules between them: which content
//! wins (file > raw_content > base64), what a lone `path` means, what cannot go together.
//! Nothing here touches the engine: the handlers turn a [`Plan`] into a change.

use axum::http::StatusCode;
use base64::Engine as _;

use crate::reply::Failure;

/// A field's value as the body carried it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string (JSON), a form value or a multipart text part: raw bytes, as `raw_content`
    /// may be binary in the last two.
    Text(Vec<u8>),
    Bool(bool),
    Number(serde_json::Number),
    /// A JSON array or object, named for the message ("an array").
    Other(&'static str),
}

/// What the caller sent, typed. Unknown fields are ignored; a known one given twice is an
/// error (which of the two was meant?).
#[derive(Debug, Default)]
pub struct Form {
    pub path: Option<String>,
    pub fb_token: Option<String>,
    pub raw_content: Option<Vec<u8>>,
    /// The base64 text, decoded only when it is the content used.
    pub base64: Option<Vec<u8>>,
    pub is_deleted: Option<bool>,
    pub is_dir: Option<bool>,
    pub push_to_cloud: Option<bool>,
    pub folder_3rd: Option<String>,
    pub ext_3rd: Option<String>,
    /// A multipart `file` part was received (and staged by the handler).
    pub file: bool,
}

/// Where the content of a write comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    File,
    RawContent,
    Base64,
}

/// What a basic sync request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Remove the path, file or directory (`is_dir` may say which; it changes nothing).
    Delete,
    /// Make the path a directory.
    Directory,
    /// Write the content from this source.
    Write(Source),
}

pub fn bad_request(message: impl Into<String>) -> Failure {
    Failure::http(StatusCode::BAD_REQUEST, "bad_request", message)
}

pub fn too_large(message: impl Into<String>) -> Failure {
    Failure::http(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
}

const BOOLEAN_WORDS: &str = "true/false, 1/0, on/off or yes/no";

impl Form {
    /// Takes one field. Names are exact (`Path` is not `path`).
    pub fn add(&mut self, name: &str, value: Value) -> Result<(), Failure> {
        match name {
            "path" => set(name, &mut self.path, text(name, value)?),
            "fb_token" => set(name, &mut self.fb_token, text(name, value)?),
            "raw_content" => set(name, &mut self.raw_content, bytes(name, value)?),
            "base64" => set(name, &mut self.base64, bytes(name, value)?),
            "is_deleted" => set(name, &mut self.is_deleted, boolean(name, value)?),
            "is_dir" => set(name, &mut self.is_dir, boolean(name, value)?),
            "push_to_cloud" => set(name, &mut self.push_to_cloud, boolean(name, value)?),
            "folder_3rd" => set(name, &mut self.folder_3rd, text(name, value)?),
            "ext_3rd" => set(name, &mut self.ext_3rd, text(name, value)?),
            "file" => Err(bad_request(
                "file must be the file part of a multipart/form-data body; in a JSON or \
                 form-urlencoded body send the content as raw_content or base64",
            )),
            // Unknown fields are ignored, as the seed's clients send extra ones.
            _ => Ok(()),
        }
    }

    /// Records the multipart `file` part; a second one is an error.
    pub fn add_file(&mut self) -> Result<(), Failure> {
        if self.file {
            return Err(bad_request("the file part is given twice"));
        }
        self.file = true;
        Ok(())
    }

    /// The path, which every write or delete needs.
    pub fn required_path(&self) -> Result<&str, Failure> {
        self.path
            .as_deref()
            .ok_or_else(|| bad_request("path is required: the file's path in the folder"))
    }

    /// The content used, by precedence: file > raw_content > base64.
    pub fn source(&self) -> Option<Source> {
        if self.file {
            Some(Source::File)
        } else if self.raw_content.is_some() {
            Some(Source::RawContent)
        } else if self.base64.is_some() {
            Some(Source::Base64)
        } else {
            None
        }
    }

    /// True when nothing but `path` (and the credential, `fb_token`) was sent: the seed's
    /// "only path → is_deleted defaults to true". Unknown fields do not count; any known
    /// field that says what to do (content, is_dir, is_deleted, push_to_cloud) does.
    fn path_only(&self) -> bool {
        self.source().is_none()
            && self.is_dir.is_none()
            && self.is_deleted.is_none()
            && self.push_to_cloud.is_none()
    }

    /// What a basic sync asks for, or why it makes no sense.
    pub fn basic_plan(&self) -> Result<Plan, Failure> {
        self.required_path()?;
        let source = self.source();
        let is_deleted = self.is_deleted.unwrap_or_else(|| self.path_only());
        let is_dir = self.is_dir.unwrap_or(false);
        if let Some(source) = source {
            if is_deleted {
                return Err(bad_request(format!(
                    "is_deleted=true cannot go with content ({} was sent): send either the \
                     content or is_deleted",
                    source.name()
                )));
            }
            if is_dir {
                return Err(bad_request(format!(
                    "is_dir=true cannot go with content ({} was sent): a directory has none",
                    source.name()
                )));
            }
            return Ok(Plan::Write(source));
        }
        if is_deleted {
            Ok(Plan::Delete)
        } else if is_dir {
            Ok(Plan::Directory)
        } else {
            // Neither an accidental empty file nor an accidental delete.
            Err(bad_request(
                "nothing to do: send the content (raw_content, base64 or a multipart file; \
                 an empty raw_content makes an empty file), is_dir=true, or is_deleted=true",
            ))
        }
    }

    /// The checks of sync_3rd on the fields alone: no deletes, no directories, some content.
    pub fn third_party_source(&self) -> Result<Source, Failure> {
        for (name, given) in [
            ("is_deleted", self.is_deleted.is_some()),
            ("is_dir", self.is_dir.is_some()),
        ] {
            if given {
                return Err(bad_request(format!(
                    "{name} is not allowed on sync_3rd: it only adds files"
                )));
            }
        }
        self.source().ok_or_else(|| {
            bad_request("nothing to upload: send raw_content, base64 or a multipart file")
        })
    }

    /// The bytes of an inline source (raw_content or base64), at most `max` of them. `None`
    /// for the file part, which the handler staged.
    pub fn inline_content(&self, source: Source, max: u64) -> Result<Option<Vec<u8>>, Failure> {
        let content = match source {
            Source::File => return Ok(None),
            Source::RawContent => self.raw_content.clone().unwrap_or_default(),
            Source::Base64 => decode_base64(self.base64.as_deref().unwrap_or_default())?,
        };
        if content.len() as u64 > max {
            return Err(too_large(format!(
                "the content is {} bytes, over this gateway's max_file_size of {max} bytes",
                content.len()
            )));
        }
        Ok(Some(content))
    }
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::File => "file",
            Source::RawContent => "raw_content",
            Source::Base64 => "base64",
        }
    }
}

fn set<T>(name: &str, slot: &mut Option<T>, value: T) -> Result<(), Failure> {
    if slot.is_some() {
        return Err(bad_request(format!("{name} is given twice")));
    }
    *slot = Some(value);
    Ok(())
}

fn bytes(name: &str, value: Value) -> Result<Vec<u8>, Failure> {
    match value {
        Value::Text(b) => Ok(b),
        other => Err(bad_request(format!(
            "{name} must be a string, not {}",
            describe(&other)
        ))),
    }
}

fn text(name: &str, value: Value) -> Result<String, Failure> {
    String::from_utf8(bytes(name, value)?)
        .map_err(|_| bad_request(format!("{name} is not valid UTF-8")))
}

/// The seed's booleans: JSON `true`/`false`, `1`/`0`, or the words, in any case.
fn boolean(name: &str, value: Value) -> Result<bool, Failure> {
    let parsed = match &value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_u64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        Value::Text(t) => match String::from_utf8_lossy(t)
            .trim()
            .to_ascii_lowercase()
            .as_str()
        {
            "true" | "1" | "on" | "yes" => Some(true),
            "false" | "0" | "off" | "no" => Some(false),
            _ => None,
        },
        Value::Other(_) => None,
    };
    parsed.ok_or_else(|| {
        bad_request(format!(
            "{name} must be a boolean ({BOOLEAN_WORDS}), not {}",
            describe(&value)
        ))
    })
}

fn describe(value: &Value) -> String {
    match value {
        Value::Text(t) => {
            let s = String::from_utf8_lossy(t);
            if s.chars().count() > 40 {
                let short: String = s.chars().take(40).collect();
                format!("{short:?}…")
            } else {
                format!("{s:?}")
            }
        }
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Other(what) => (*what).to_owned(),
    }
}

/// Standard or URL-safe base64, padding optional; line breaks and other ASCII whitespace
/// (MIME-style wrapping) are skipped.
pub fn decode_base64(text: &[u8]) -> Result<Vec<u8>, Failure> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    let clean: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let config =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let url_safe = clean.iter().any(|b| *b == b'-' || *b == b'_');
    let alphabet = if url_safe {
        &base64::alphabet::URL_SAFE
    } else {
        &base64::alphabet::STANDARD
    };
    GeneralPurpose::new(alphabet, config)
        .decode(&clean)
        .map_err(|e| bad_request(format!("base64 is not valid base64: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Value {
        Value::Text(s.as_bytes().to_vec())
    }

    fn form(fields: &[(&str, Value)]) -> Form {
        let mut f = Form::default();
        for (name, value) in fields {
            f.add(name, value.clone()).expect("a valid field");
        }
        f
    }

    fn message(f: Failure) -> (u16, String) {
        match f {
            Failure::Http {
                status, message, ..
            } => (status.as_u16(), message),
            Failure::Engine(e) => panic!("engine failure {e:?}"),
        }
    }

    #[test]
    fn booleans_take_the_seed_words_in_any_case() {
        for (v, want) in [
            (t("true"), true),
            (t("TRUE"), true),
            (t("1"), true),
            (t("On"), true),
            (t("yes"), true),
            (t(" false "), false),
            (t("0"), false),
            (t("OFF"), false),
            (t("No"), false),
            (Value::Bool(true), true),
            (Value::Bool(false), false),
            (Value::Number(1.into()), true),
            (Value::Number(0.into()), false),
        ] {
            assert_eq!(boolean("is_dir", v.clone()).unwrap(), want, "{v:?}");
        }
        for v in [
            t(""),
            t("2"),
            t("truthy"),
            Value::Number(2.into()),
            Value::Other("an object"),
        ] {
            let (status, msg) = message(boolean("is_dir", v.clone()).unwrap_err());
            assert_eq!(status, 400);
            assert!(msg.contains("is_dir must be a boolean"), "{msg}");
        }
    }

    #[test]
    fn precedence_is_file_then_raw_content_then_base64() {
        let all = || {
            let mut f = form(&[
                ("path", t("a")),
                ("raw_content", t("raw")),
                ("base64", t("YjY0")),
            ]);
            f.add_file().unwrap();
            f
        };
        assert_eq!(all().basic_plan().unwrap(), Plan::Write(Source::File));
        let f = form(&[
            ("path", t("a")),
            ("raw_content", t("raw")),
            ("base64", t("!!")),
        ]);
        assert_eq!(f.basic_plan().unwrap(), Plan::Write(Source::RawContent));
        // The ignored base64 is not even decoded.
        assert_eq!(
            f.inline_content(Source::RawContent, 100).unwrap(),
            Some(b"raw".to_vec())
        );
        let f = form(&[("path", t("a")), ("base64", t("YjY0"))]);
        assert_eq!(f.basic_plan().unwrap(), Plan::Write(Source::Base64));
        assert_eq!(
            f.inline_content(Source::Base64, 100).unwrap(),
            Some(b"b64".to_vec())
        );
    }

    #[test]
    fn a_lone_path_deletes_and_anything_else_does_not() {
        let lone = form(&[("path", t("a")), ("fb_token", t("x")), ("extra", t("y"))]);
        assert_eq!(lone.basic_plan().unwrap(), Plan::Delete);
        // An empty raw_content is content: an empty file.
        let empty = form(&[("path", t("a")), ("raw_content", t(""))]);
        assert_eq!(empty.basic_plan().unwrap(), Plan::Write(Source::RawContent));
        for extra in [
            ("push_to_cloud", t("true")),
            ("is_deleted", t("false")),
            ("is_dir", t("false")),
        ] {
            let f = form(&[("path", t("a")), extra.clone()]);
            let (status, msg) = message(f.basic_plan().unwrap_err());
            assert_eq!(status, 400, "{extra:?}");
            assert!(msg.starts_with("nothing to do"), "{msg}");
        }
        let f = form(&[("path", t("d")), ("is_dir", t("yes"))]);
        assert_eq!(f.basic_plan().unwrap(), Plan::Directory);
        let f = form(&[("path", t("d")), ("is_dir", t("1")), ("is_deleted", t("1"))]);
        assert_eq!(f.basic_plan().unwrap(), Plan::Delete);
    }

    #[test]
    fn conflicting_and_missing_fields_are_refused() {
        let f = form(&[("raw_content", t("x"))]);
        assert!(
            message(f.basic_plan().unwrap_err())
                .1
                .contains("path is required")
        );
        let f = form(&[
            ("path", t("a")),
            ("raw_content", t("x")),
            ("is_deleted", t("true")),
        ]);
        assert!(
            message(f.basic_plan().unwrap_err())
                .1
                .contains("is_deleted=true cannot go")
        );
        let f = form(&[("path", t("a")), ("base64", t("eA==")), ("is_dir", t("on"))]);
        assert!(
            message(f.basic_plan().unwrap_err())
                .1
                .contains("is_dir=true cannot go")
        );
        let mut f = Form::default();
        f.add("path", t("a")).unwrap();
        assert!(
            message(f.add("path", t("b")).unwrap_err())
                .1
                .contains("path is given twice")
        );
        assert!(
            message(f.add("file", t("b")).unwrap_err())
                .1
                .contains("multipart")
        );
        assert!(
            message(f.add("raw_content", Value::Number(3.into())).unwrap_err())
                .1
                .contains("raw_content must be a string, not 3")
        );
        assert!(
            message(f.add("fb_token", Value::Text(vec![0xff])).unwrap_err())
                .1
                .contains("not valid UTF-8")
        );
        f.add_file().unwrap();
        assert!(message(f.add_file().unwrap_err()).1.contains("twice"));
    }

    #[test]
    fn sync_3rd_takes_content_only() {
        for bad in ["is_deleted", "is_dir"] {
            let f = form(&[("raw_content", t("x")), (bad, t("false"))]);
            let (status, msg) = message(f.third_party_source().unwrap_err());
            assert_eq!(status, 400);
            assert!(msg.contains(bad) && msg.contains("not allowed"), "{msg}");
        }
        let f = form(&[("folder_3rd", t("notes"))]);
        assert!(
            message(f.third_party_source().unwrap_err())
                .1
                .starts_with("nothing to upload")
        );
        let f = form(&[("base64", t("eA"))]);
        assert_eq!(f.third_party_source().unwrap(), Source::Base64);
    }

    #[test]
    fn base64_is_lenient_about_form_but_names_itself_when_wrong() {
        assert_eq!(decode_base64(b"aGVs\nbG8=").unwrap(), b"hello");
        assert_eq!(decode_base64(b"aGVsbG8").unwrap(), b"hello");
        assert_eq!(decode_base64(b"-_8=").unwrap(), [0xfb, 0xff]);
        assert_eq!(decode_base64(b"+/8=").unwrap(), [0xfb, 0xff]);
        let (status, msg) = message(decode_base64(b"not base64!").unwrap_err());
        assert_eq!(status, 400);
        assert!(msg.starts_with("base64 is not valid base64"), "{msg}");
    }

    #[test]
    fn inline_content_over_the_limit_is_413() {
        let f = form(&[("path", t("a")), ("raw_content", t("12345"))]);
        assert!(f.inline_content(Source::RawContent, 5).is_ok());
        let (status, msg) = message(f.inline_content(Source::RawContent, 4).unwrap_err());
        assert_eq!(status, 413);
        assert!(msg.contains("max_file_size of 4 bytes"), "{msg}");
    }
}
