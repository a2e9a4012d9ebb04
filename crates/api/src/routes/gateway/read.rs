//! Reading a gateway request body, in any of the seed's three forms: a JSON object,
//! `application/x-www-form-urlencoded`, or `multipart/form-data` whose `file` part is copied
//! to disk as it arrives (never held whole in memory).
//!
//! The body is read through [`Incoming`], which enforces two limits the 30 s whole-request
//! timeout of the API cannot: a client that sends nothing for [`STALL_TIMEOUT`] is cut off
//! (a slow but steady 1 GiB upload is fine), and no body is read past its byte limit.

use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, BodyDataStream, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use futures::{Stream, StreamExt};
use serde::Deserialize;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::fields::{Value, bad_request, too_large};
use crate::reply::Failure;

/// Every body but the multipart `file` part is held in memory: a JSON or form-urlencoded
/// body, or all the text parts of a multipart body together, may be this large. Bigger
/// content goes in the `file` part.
pub const TEXT_LIMIT: usize = 16 * 1024 * 1024;

/// A client that sends no byte of its body for this long is cut off (408).
pub const STALL_TIMEOUT: Duration = Duration::from_secs(30);

/// After a refusal the rest of the body is read (and dropped) up to this much, so the client,
/// still sending, gets the answer rather than a reset connection. Beyond it: the reset.
const DRAIN_LIMIT: u64 = 16 * 1024 * 1024;

/// Room for the multipart framing and part headers beyond the text and the file.
const MULTIPART_OVERHEAD: u64 = 1024 * 1024;

/// One field of the body, in the order sent.
#[derive(Debug)]
pub enum Part {
    Text(String, Value),
    /// The multipart `file` part begins: [`GatewayBody::copy_file`] reads it. `filename` is
    /// the part's (browsers send `filename=""` and no bytes when no file was chosen).
    File {
        filename: Option<String>,
    },
}

/// A request body being read.
pub struct GatewayBody {
    shared: Arc<Shared>,
    inner: Inner,
}

enum Inner {
    Fields(std::vec::IntoIter<(String, Value)>),
    Multipart(Box<Multipart>),
}

struct Multipart {
    parts: multer::Multipart<'static>,
    /// The `file` part, between [`Part::File`] and [`GatewayBody::copy_file`].
    file: Option<multer::Field<'static>>,
    text_used: usize,
}

impl GatewayBody {
    /// A body not read yet. After any refusal, [`GatewayBody::drain`] it.
    pub fn new(body: Body) -> GatewayBody {
        GatewayBody {
            shared: Arc::new(Shared {
                stream: Mutex::new(Some(body.into_data_stream())),
                read: AtomicU64::new(0),
                limit: AtomicU64::new(u64::MAX),
                stop: AtomicU8::new(Stop::None as u8),
            }),
            inner: Inner::Fields(Vec::new().into_iter()),
        }
    }

    /// Starts reading per the Content-Type: a JSON or form body whole (at most
    /// [`TEXT_LIMIT`]), a multipart body not yet (its parts come from [`GatewayBody::next`]).
    /// `max_file` is the largest `file` part that will be taken.
    pub async fn open(&mut self, headers: &HeaderMap, max_file: u64) -> Result<(), Failure> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or("?").to_owned());
        let essence = content_type.as_deref().map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
        match essence.as_deref() {
            Some("application/json") => {
                let body = self.read_all().await?;
                self.inner = Inner::Fields(json_fields(&body)?.into_iter());
            }
            Some("application/x-www-form-urlencoded") => {
                let body = self.read_all().await?;
                self.inner = Inner::Fields(form_fields(&body).into_iter());
            }
            Some("multipart/form-data") => {
                let ct = content_type.unwrap_or_default();
                let boundary = multer::parse_boundary(&ct).map_err(|e| {
                    bad_request(format!(
                        "the multipart/form-data Content-Type needs a boundary ({e})"
                    ))
                })?;
                self.shared.limit.store(
                    max_file
                        .saturating_add(TEXT_LIMIT as u64)
                        .saturating_add(MULTIPART_OVERHEAD),
                    Ordering::Relaxed,
                );
                let parts = multer::Multipart::new(Incoming::new(self.shared.clone()), boundary);
                self.inner = Inner::Multipart(Box::new(Multipart {
                    parts,
                    file: None,
                    text_used: 0,
                }));
            }
            None => {
                // A field-less request (list with the session) needs no Content-Type.
                self.shared.limit.store(0, Ordering::Relaxed);
                self.read_all().await.map_err(|_| unsupported(None))?;
            }
            Some(_) => return Err(unsupported(content_type.as_deref())),
        }
        Ok(())
    }

    /// The next field, or `None` at the end of the body.
    pub async fn next(&mut self) -> Result<Option<Part>, Failure> {
        let shared = self.shared.clone();
        match &mut self.inner {
            Inner::Fields(fields) => Ok(fields.next().map(|(n, v)| Part::Text(n, v))),
            Inner::Multipart(m) => {
                let Multipart {
                    parts,
                    file,
                    text_used,
                } = &mut **m;
                // An unread file part is skipped (multer needs it gone to go on).
                drop(file.take());
                let Some(mut field) = parts
                    .next_field()
                    .await
                    .map_err(|e| multipart_error(&shared, e))?
                else {
                    return Ok(None);
                };
                let name = field.name().unwrap_or_default().to_owned();
                if name == "file" {
                    let filename = field.file_name().map(str::to_owned);
                    *file = Some(field);
                    return Ok(Some(Part::File { filename }));
                }
                let mut text = Vec::new();
                while let Some(chunk) = field
                    .chunk()
                    .await
                    .map_err(|e| multipart_error(&shared, e))?
                {
                    *text_used += chunk.len();
                    if *text_used > TEXT_LIMIT {
                        return Err(too_large(format!(
                            "the text parts are over {TEXT_LIMIT} bytes in all (at the part \
                             {name:?}); send large content as the part named file"
                        )));
                    }
                    text.extend_from_slice(&chunk);
                }
                Ok(Some(Part::Text(name, Value::Text(text))))
            }
        }
    }

    /// Copies the `file` part just announced by [`Part::File`] to `to`: its size. Over `max`
    /// bytes it stops with 413; a full disk is 507.
    pub async fn copy_file<W: AsyncWrite + Unpin>(
        &mut self,
        to: &mut W,
        max: u64,
    ) -> Result<u64, Failure> {
        let shared = self.shared.clone();
        let Inner::Multipart(m) = &mut self.inner else {
            return Err(Failure::internal("no file part to read"));
        };
        let file = &mut m.file;
        let Some(field) = file.as_mut() else {
            return Err(Failure::internal("no file part to read"));
        };
        let mut size = 0u64;
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|e| multipart_error(&shared, e))?
        {
            size = size.saturating_add(chunk.len() as u64);
            if size > max {
                return Err(too_large(format!(
                    "the file is over this gateway's max_file_size of {max} bytes"
                )));
            }
            to.write_all(&chunk).await.map_err(write_error)?;
        }
        to.flush().await.map_err(write_error)?;
        *file = None;
        Ok(size)
    }

    /// Reads and drops what is left of the body, up to [`DRAIN_LIMIT`], so that a refusal
    /// sent while the client still uploads reaches it.
    pub async fn drain(self) {
        let GatewayBody { shared, inner, .. } = self;
        drop(inner);
        let read = shared.read.load(Ordering::Relaxed);
        shared
            .limit
            .store(read.saturating_add(DRAIN_LIMIT), Ordering::Relaxed);
        shared.stop.store(Stop::None as u8, Ordering::Relaxed);
        let mut rest = Incoming::new(shared);
        while let Some(Ok(_)) = rest.next().await {}
    }

    /// The whole body, at most [`TEXT_LIMIT`] bytes (or the limit already set, if lower).
    async fn read_all(&mut self) -> Result<Vec<u8>, Failure> {
        let limit = self
            .shared
            .limit
            .load(Ordering::Relaxed)
            .min(TEXT_LIMIT as u64);
        self.shared.limit.store(limit, Ordering::Relaxed);
        let mut incoming = Incoming::new(self.shared.clone());
        let mut body = Vec::new();
        while let Some(chunk) = incoming.next().await {
            match chunk {
                Ok(c) => body.extend_from_slice(&c),
                Err(e) => return Err(stop_failure(&self.shared).unwrap_or_else(|| transport(&e))),
            }
        }
        Ok(body)
    }
}

fn unsupported(content_type: Option<&str>) -> Failure {
    let got = match content_type {
        Some(ct) => format!("got {ct:?}"),
        None => "got a body without a Content-Type".to_owned(),
    };
    Failure::http(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        format!(
            "send the fields as application/json (an object), \
             application/x-www-form-urlencoded or multipart/form-data; {got}"
        ),
    )
}

fn transport(e: &std::io::Error) -> Failure {
    bad_request(format!("cannot read the request body: {e}"))
}

/// A disk-full write is 507 (the seed's clients retry later); anything else is ours.
fn write_error(e: std::io::Error) -> Failure {
    use std::io::ErrorKind;
    if matches!(e.kind(), ErrorKind::StorageFull | ErrorKind::QuotaExceeded) {
        Failure::http(
            StatusCode::INSUFFICIENT_STORAGE,
            "insufficient_storage",
            format!("the disk of the gateway folder is full: {e}"),
        )
    } else {
        Failure::internal(format!("cannot write the uploaded file: {e}"))
    }
}

fn multipart_error(shared: &Shared, e: multer::Error) -> Failure {
    stop_failure(shared)
        .unwrap_or_else(|| bad_request(format!("the multipart/form-data body is not valid: {e}")))
}

/// The failure behind a stream error that [`Incoming`] raised itself.
fn stop_failure(shared: &Shared) -> Option<Failure> {
    match shared.stop.load(Ordering::Relaxed) {
        s if s == Stop::Stalled as u8 => Some(Failure::http(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            format!(
                "the body stopped arriving: nothing came for {} s",
                STALL_TIMEOUT.as_secs()
            ),
        )),
        s if s == Stop::OverLimit as u8 => {
            let limit = shared.limit.load(Ordering::Relaxed);
            Some(if limit == 0 {
                unsupported(None)
            } else {
                too_large(format!(
                    "the request body is over {limit} bytes; send large files as the \
                     multipart part named file (up to the gateway's max_file_size)"
                ))
            })
        }
        _ => None,
    }
}

/// A JSON object's fields, in order and with duplicates (which the form refuses).
fn json_fields(body: &[u8]) -> Result<Vec<(String, Value)>, Failure> {
    let start = body.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = start else {
        return Ok(Vec::new());
    };
    if body[start] != b'{' {
        return Err(bad_request("the request body must be a JSON object"));
    }
    let Entries(entries) = serde_json::from_slice(body)
        .map_err(|e| bad_request(format!("the request body is not valid JSON: {e}")))?;
    Ok(entries
        .into_iter()
        .filter_map(|(name, v)| {
            let value = match v {
                serde_json::Value::Null => return None,
                serde_json::Value::String(s) => Value::Text(s.into_bytes()),
                serde_json::Value::Bool(b) => Value::Bool(b),
                serde_json::Value::Number(n) => Value::Number(n),
                serde_json::Value::Array(_) => Value::Other("an array"),
                serde_json::Value::Object(_) => Value::Other("an object"),
            };
            Some((name, value))
        })
        .collect())
}

struct Entries(Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Entries;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Entries, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<String, serde_json::Value>()? {
                    out.push(entry);
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(Visit)
    }
}

/// `a=1&b=x+y%20z`, decoded to bytes (raw_content may be binary). In `base64` a `+` stays a
/// `+`: clients often forget to escape it, and base64 has no spaces to mean.
fn form_fields(body: &[u8]) -> Vec<(String, Value)> {
    body.split(|b| *b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            let name = String::from_utf8_lossy(&form_decode(name, true)).into_owned();
            let value = form_decode(value, name != "base64");
            (name, Value::Text(value))
        })
        .collect()
}

fn form_decode(s: &[u8], plus_is_space: bool) -> Vec<u8> {
    let spaced: Vec<u8> = s
        .iter()
        .map(|&b| if b == b'+' && plus_is_space { b' ' } else { b })
        .collect();
    percent_encoding::percent_decode(&spaced).collect()
}

#[repr(u8)]
#[derive(Clone, Copy)]
enum Stop {
    None = 0,
    Stalled = 1,
    OverLimit = 2,
}

/// What the body readers share: the stream (taken back by [`GatewayBody::drain`] from
/// whichever reader had it), how much was read, the byte limit, and why reading stopped.
struct Shared {
    stream: Mutex<Option<BodyDataStream>>,
    read: AtomicU64,
    limit: AtomicU64,
    stop: AtomicU8,
}

/// The body's bytes, cut off after [`STALL_TIMEOUT`] of silence or past the limit.
struct Incoming {
    shared: Arc<Shared>,
    /// Set while waiting for a chunk: only the client's silence counts, not our own work
    /// between two reads (a disk write, an engine call).
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    done: bool,
}

impl Incoming {
    fn new(shared: Arc<Shared>) -> Incoming {
        Incoming {
            shared,
            deadline: None,
            done: false,
        }
    }

    fn fail(&mut self, stop: Stop, message: &str) -> Poll<Option<std::io::Result<Bytes>>> {
        self.shared.stop.store(stop as u8, Ordering::Relaxed);
        self.done = true;
        Poll::Ready(Some(Err(std::io::Error::other(message.to_owned()))))
    }
}

impl Stream for Incoming {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let polled = {
            let mut guard = self
                .shared
                .stream
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match guard.as_mut() {
                Some(stream) => stream.poll_next_unpin(cx),
                None => Poll::Ready(None),
            }
        };
        match polled {
            Poll::Ready(Some(Ok(chunk))) => {
                self.deadline = None;
                let len = chunk.len() as u64;
                let read = self.shared.read.fetch_add(len, Ordering::Relaxed) + len;
                if read > self.shared.limit.load(Ordering::Relaxed) {
                    return self.fail(Stop::OverLimit, "the body is over its limit");
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => {
                self.done = true;
                Poll::Ready(Some(Err(std::io::Error::other(e.to_string()))))
            }
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => {
                let deadline = self
                    .deadline
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(STALL_TIMEOUT)));
                if deadline.as_mut().poll(cx).is_ready() {
                    return self.fail(Stop::Stalled, "the body stalled");
                }
                Poll::Pending
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(v: &Value) -> String {
        match v {
            Value::Text(t) => String::from_utf8_lossy(t).into_owned(),
            other => panic!("not text: {other:?}"),
        }
    }

    fn headers(ct: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, ct.parse().unwrap());
        h
    }

    async fn fields_of(ct: Option<&str>, body: &'static [u8]) -> Result<Vec<Part>, Failure> {
        let mut b = GatewayBody::new(Body::from(body));
        let h = ct.map(headers).unwrap_or_default();
        b.open(&h, 1024).await?;
        let mut out = Vec::new();
        while let Some(p) = b.next().await? {
            if let Part::File { .. } = p {
                let mut sink = Vec::new();
                b.copy_file(&mut sink, 1024).await?;
                out.push(Part::Text("file".into(), Value::Text(sink)));
            } else {
                out.push(p);
            }
        }
        Ok(out)
    }

    fn status(f: Failure) -> (u16, String) {
        match f {
            Failure::Http {
                status, message, ..
            } => (status.as_u16(), message),
            Failure::Engine(e) => panic!("{e:?}"),
        }
    }

    #[tokio::test]
    async fn json_objects_keep_order_duplicates_and_types() {
        let parts = fields_of(
            Some("application/json; charset=utf-8"),
            br#"{"path":"a","is_dir":true,"n":1,"z":null,"o":{},"path":"b"}"#,
        )
        .await
        .unwrap();
        let got: Vec<(String, Value)> = parts
            .into_iter()
            .map(|p| match p {
                Part::Text(n, v) => (n, v),
                Part::File { .. } => unreachable!(),
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("path".into(), Value::Text(b"a".to_vec())),
                ("is_dir".into(), Value::Bool(true)),
                ("n".into(), Value::Number(1.into())),
                ("o".into(), Value::Other("an object")),
                ("path".into(), Value::Text(b"b".to_vec())),
            ]
        );
        for (body, want) in [
            (&b"[1]"[..], "must be a JSON object"),
            (b"{\"path\":", "not valid JSON"),
            (b"\"x\"", "must be a JSON object"),
        ] {
            let mut b = GatewayBody::new(Body::from(body));
            let (code, msg) = status(b.open(&headers("application/json"), 1).await.unwrap_err());
            assert_eq!(code, 400);
            assert!(msg.contains(want), "{msg}");
        }
    }

    #[tokio::test]
    async fn form_bodies_decode_to_bytes() {
        let parts = fields_of(
            Some("application/x-www-form-urlencoded"),
            b"path=a%2Fb+c.txt&raw_content=%FF%00x+y&base64=a+b%2B&flag&&",
        )
        .await
        .unwrap();
        let Part::Text(n, v) = &parts[0] else {
            panic!()
        };
        assert_eq!((n.as_str(), text(v).as_str()), ("path", "a/b c.txt"));
        let Part::Text(_, v) = &parts[1] else {
            panic!()
        };
        assert_eq!(v, &Value::Text(vec![0xff, 0, b'x', b' ', b'y']));
        let Part::Text(_, v) = &parts[2] else {
            panic!()
        };
        assert_eq!(text(v), "a+b+");
        let Part::Text(n, v) = &parts[3] else {
            panic!()
        };
        assert_eq!((n.as_str(), text(v).as_str()), ("flag", ""));
        assert_eq!(parts.len(), 4);
    }

    #[tokio::test]
    async fn multipart_text_and_file_parts() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"path\"\r\n\r\nd/f.bin\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.bin\"\r\n\
Content-Type: application/octet-stream\r\n\r\n\x00\x01binary\r\n\
--XyZ--\r\n";
        let parts = fields_of(Some("multipart/form-data; boundary=XyZ"), body)
            .await
            .unwrap();
        let Part::Text(n, v) = &parts[0] else {
            panic!()
        };
        assert_eq!((n.as_str(), text(v).as_str()), ("path", "d/f.bin"));
        let Part::Text(n, v) = &parts[1] else {
            panic!()
        };
        assert_eq!(n, "file");
        assert_eq!(v, &Value::Text(b"\x00\x01binary".to_vec()));
    }

    #[tokio::test]
    async fn a_file_part_over_the_limit_is_413() {
        static BODY: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| {
            let mut b =
                b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\n"
                    .to_vec();
            b.extend(std::iter::repeat_n(b'x', 2000));
            b.extend_from_slice(b"\r\n--B--\r\n");
            b
        });
        let err = fields_of(Some("multipart/form-data; boundary=B"), BODY.as_slice())
            .await
            .unwrap_err();
        let (code, msg) = status(err);
        assert_eq!(code, 413);
        assert!(msg.contains("max_file_size of 1024"), "{msg}");
    }

    #[tokio::test]
    async fn content_types_other_than_the_three_are_415() {
        for ct in [
            "text/plain",
            "application/xml",
            "multipart/mixed; boundary=x",
        ] {
            let err = fields_of(Some(ct), b"path=a").await.unwrap_err();
            assert_eq!(status(err).0, 415, "{ct}");
        }
        let err = fields_of(None, b"path=a").await.unwrap_err();
        assert_eq!(status(err).0, 415);
        assert!(fields_of(None, b"").await.unwrap().is_empty());
        let err = fields_of(Some("multipart/form-data"), b"")
            .await
            .unwrap_err();
        let (code, msg) = status(err);
        assert_eq!(code, 400);
        assert!(msg.contains("boundary"), "{msg}");
    }

    /// A body that sends `head`, then nothing, forever.
    fn stalling(head: &'static [u8]) -> Body {
        let first = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(head))]);
        Body::from_stream(first.chain(futures::stream::pending()))
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_stops_sending_is_cut_off() {
        let mut b = GatewayBody::new(stalling(b"{\"path\":"));
        let (code, msg) = status(b.open(&headers("application/json"), 1).await.unwrap_err());
        assert_eq!(code, 408);
        assert!(msg.contains("nothing came for 30 s"), "{msg}");

        let mut b = GatewayBody::new(stalling(
            b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\nsome",
        ));
        b.open(&headers("multipart/form-data; boundary=B"), 1 << 20)
            .await
            .unwrap();
        assert!(matches!(b.next().await.unwrap(), Some(Part::File { .. })));
        let started = tokio::time::Instant::now();
        let mut sink = Vec::new();
        let (code, _) = status(b.copy_file(&mut sink, 1 << 20).await.unwrap_err());
        assert_eq!(code, 408);
        assert!(started.elapsed() >= STALL_TIMEOUT);
        // Draining a stalled body ends too.
        b.drain().await;
    }

    #[tokio::test(start_paused = true)]
    async fn our_own_slow_work_is_not_the_clients_stall() {
        let (tx, rx) = futures::channel::mpsc::unbounded::<Result<Bytes, std::io::Error>>();
        let send = |b: &'static [u8]| tx.unbounded_send(Ok(Bytes::from_static(b))).unwrap();
        send(b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\n");
        let mut b = GatewayBody::new(Body::from_stream(rx));
        b.open(&headers("multipart/form-data; boundary=B"), 1 << 20)
            .await
            .unwrap();
        assert!(matches!(b.next().await.unwrap(), Some(Part::File { .. })));
        // A slow engine call or disk, longer than the stall timeout, while the client waits.
        tokio::time::sleep(STALL_TIMEOUT * 2).await;
        send(b"content");
        send(b"\r\n--B--\r\n");
        drop(tx);
        let mut sink = Vec::new();
        assert_eq!(b.copy_file(&mut sink, 1 << 20).await.unwrap(), 7);
        assert_eq!(sink, b"content");
    }

    #[tokio::test]
    async fn a_broken_multipart_body_is_400() {
        let err = fields_of(
            Some("multipart/form-data; boundary=B"),
            b"--B\r\nContent-Disposition: form-data; name=\"path\"\r\n\r\nabc",
        )
        .await
        .unwrap_err();
        let (code, msg) = status(err);
        assert_eq!(code, 400);
        assert!(
            msg.contains("multipart/form-data body is not valid"),
            "{msg}"
        );
    }
}
