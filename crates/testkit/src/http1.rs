//! The few pieces of HTTP/1.1 the proxy needs: reading message heads, telling how a body is
//! framed, and copying a body (as is, or decoded from chunked) without holding it in memory.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest message head accepted (request line or status line plus headers).
pub const MAX_HEAD: usize = 64 * 1024;
/// Largest chunk-size or trailer line accepted in a chunked body.
const MAX_LINE: usize = 8 * 1024;
/// Size of one read from a socket.
const READ_CHUNK: usize = 128 * 1024;
/// Most headers in one message head.
const MAX_HEADERS: usize = 128;

/// How the body of a message is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    None,
    Length(u64),
    Chunked,
    /// Until the connection closes (responses only).
    UntilClose,
}

/// A parsed request head; `raw` is exactly the bytes received, forwarded unchanged.
#[derive(Debug)]
pub struct RequestHead {
    pub raw: Vec<u8>,
    pub method: String,
    pub body: Framing,
    pub expect_continue: bool,
    /// The client does not want the connection kept open after this exchange.
    pub close: bool,
}

/// A parsed response head; `raw` is exactly the bytes received.
#[derive(Debug)]
pub struct ResponseHead {
    pub raw: Vec<u8>,
    pub status: u16,
    pub reason: String,
    pub minor_version: u8,
    pub headers: Vec<(String, Vec<u8>)>,
    pub chunked: bool,
    pub content_length: Option<u64>,
    pub close: bool,
}

impl ResponseHead {
    /// How the body of this response is delimited, given the request's method.
    pub fn framing(&self, request_method: &str) -> Framing {
        if request_method.eq_ignore_ascii_case("HEAD")
            || (100..200).contains(&self.status)
            || self.status == 204
            || self.status == 304
        {
            Framing::None
        } else if self.chunked {
            Framing::Chunked
        } else if let Some(n) = self.content_length {
            Framing::Length(n)
        } else {
            Framing::UntilClose
        }
    }
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// Whether a comma-separated header value lists `token` (case-insensitive).
fn has_token(value: &[u8], token: &str) -> bool {
    String::from_utf8_lossy(value)
        .split(',')
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// Body framing from Transfer-Encoding and Content-Length: (chunked, content length).
fn body_headers(headers: &[httparse::Header<'_>]) -> io::Result<(bool, Option<u64>)> {
    let mut chunked = false;
    let mut length = None;
    for h in headers {
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            let last = String::from_utf8_lossy(h.value)
                .rsplit(',')
                .next()
                .map(|s| s.trim().to_ascii_lowercase())
                .unwrap_or_default();
            if last != "chunked" {
                return Err(invalid("a transfer coding other than chunked comes last"));
            }
            chunked = true;
        } else if h.name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| invalid("invalid Content-Length"))?;
            if length.is_some_and(|l| l != n) {
                return Err(invalid("conflicting Content-Length headers"));
            }
            length = Some(n);
        }
    }
    Ok((chunked, length))
}

/// Whether a message keeps its connection open, from its version and Connection header.
fn wants_close(minor_version: u8, headers: &[httparse::Header<'_>]) -> bool {
    let conn = headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("connection"))
        .map(|h| h.value);
    let mut close = minor_version == 0;
    for value in conn {
        if has_token(value, "close") {
            return true;
        }
        if has_token(value, "keep-alive") {
            close = false;
        }
    }
    close
}

pub fn parse_request(buf: &[u8]) -> io::Result<Option<RequestHead>> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(invalid(format!("bad request head: {e}"))),
    };
    let method = req.method.unwrap_or_default().to_string();
    let (chunked, length) = body_headers(req.headers)?;
    let body = if chunked {
        Framing::Chunked
    } else {
        match length {
            Some(0) | None => Framing::None,
            Some(n) => Framing::Length(n),
        }
    };
    let expect_continue = req
        .headers
        .iter()
        .any(|h| h.name.eq_ignore_ascii_case("expect") && has_token(h.value, "100-continue"));
    let close = wants_close(req.version.unwrap_or(1), req.headers);
    Ok(Some(RequestHead {
        raw: buf[..len].to_vec(),
        method,
        body,
        expect_continue,
        close,
    }))
}

pub fn parse_response(buf: &[u8]) -> io::Result<Option<ResponseHead>> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(invalid(format!("bad response head: {e}"))),
    };
    let (chunked, content_length) = body_headers(resp.headers)?;
    let minor_version = resp.version.unwrap_or(1);
    Ok(Some(ResponseHead {
        raw: buf[..len].to_vec(),
        status: resp.code.unwrap_or(0),
        reason: resp.reason.unwrap_or_default().to_string(),
        minor_version,
        headers: resp
            .headers
            .iter()
            .map(|h| (h.name.to_string(), h.value.to_vec()))
            .collect(),
        chunked,
        content_length,
        close: wants_close(minor_version, resp.headers),
    }))
}

/// A failed copy, by the side that failed.
#[derive(Debug)]
pub enum CopyError {
    /// Reading the source failed or it ended early.
    Read(io::Error),
    /// Writing the destination failed.
    Write(io::Error),
}

impl std::fmt::Display for CopyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CopyError::Read(e) => write!(f, "reading: {e}"),
            CopyError::Write(e) => write!(f, "writing: {e}"),
        }
    }
}

/// A buffered reader over one direction of a connection.
pub struct Reader<R> {
    pub inner: R,
    buf: Vec<u8>,
    pos: usize,
}

impl<R: AsyncRead + Unpin> Reader<R> {
    pub fn new(inner: R) -> Self {
        Reader {
            inner,
            buf: Vec::with_capacity(16 * 1024),
            pos: 0,
        }
    }

    fn buffered(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    pub fn has_buffered(&self) -> bool {
        self.pos < self.buf.len()
    }

    fn consume(&mut self, n: usize) {
        self.pos += n;
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
    }

    /// Reads more bytes into the buffer; Ok(0) at end of stream.
    async fn fill(&mut self) -> io::Result<usize> {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let old = self.buf.len();
        self.buf.resize(old + 16 * 1024, 0);
        let res = self.inner.read(&mut self.buf[old..]).await;
        let n = *res.as_ref().unwrap_or(&0);
        self.buf.truncate(old + n);
        res
    }

    /// Reads one message head with `parse`. Ok(None) when the stream ends cleanly before a
    /// head starts.
    pub async fn read_head<T>(
        &mut self,
        parse: impl Fn(&[u8]) -> io::Result<Option<T>>,
        raw_len: impl Fn(&T) -> usize,
    ) -> io::Result<Option<T>> {
        loop {
            if self.has_buffered() {
                if let Some(head) = parse(self.buffered())? {
                    let len = raw_len(&head);
                    self.consume(len);
                    return Ok(Some(head));
                }
                if self.buffered().len() > MAX_HEAD {
                    return Err(invalid("message head too large"));
                }
            }
            if self.fill().await? == 0 {
                return if self.has_buffered() {
                    Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "connection closed inside a message head",
                    ))
                } else {
                    Ok(None)
                };
            }
        }
    }

    /// Copies exactly `n` bytes to `w`.
    pub async fn copy_exact<W: AsyncWrite + Unpin>(
        &mut self,
        w: &mut W,
        mut n: u64,
    ) -> Result<(), CopyError> {
        if n > 0 && self.has_buffered() {
            let take = usize::try_from(n)
                .unwrap_or(usize::MAX)
                .min(self.buffered().len());
            w.write_all(&self.buffered()[..take])
                .await
                .map_err(CopyError::Write)?;
            self.consume(take);
            n -= take as u64;
        }
        if n == 0 {
            return Ok(());
        }
        let mut chunk = vec![0u8; READ_CHUNK];
        while n > 0 {
            let want = usize::try_from(n).unwrap_or(usize::MAX).min(READ_CHUNK);
            let got = self
                .inner
                .read(&mut chunk[..want])
                .await
                .map_err(CopyError::Read)?;
            if got == 0 {
                return Err(CopyError::Read(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed inside a body",
                )));
            }
            w.write_all(&chunk[..got]).await.map_err(CopyError::Write)?;
            n -= got as u64;
        }
        Ok(())
    }

    /// Copies everything up to the end of the stream.
    pub async fn copy_to_eof<W: AsyncWrite + Unpin>(&mut self, w: &mut W) -> Result<(), CopyError> {
        if self.has_buffered() {
            w.write_all(self.buffered())
                .await
                .map_err(CopyError::Write)?;
            let n = self.buffered().len();
            self.consume(n);
        }
        let mut chunk = vec![0u8; READ_CHUNK];
        loop {
            let got = self.inner.read(&mut chunk).await.map_err(CopyError::Read)?;
            if got == 0 {
                return Ok(());
            }
            w.write_all(&chunk[..got]).await.map_err(CopyError::Write)?;
        }
    }

    /// Reads one line, its line ending included.
    async fn read_line(&mut self) -> io::Result<Vec<u8>> {
        loop {
            if let Some(i) = self.buffered().iter().position(|&b| b == b'\n') {
                let line = self.buffered()[..=i].to_vec();
                self.consume(i + 1);
                return Ok(line);
            }
            if self.buffered().len() > MAX_LINE {
                return Err(invalid("chunked body line too long"));
            }
            if self.fill().await? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed inside a chunked body",
                ));
            }
        }
    }

    /// Copies a chunked body: as is (`decode` false), or only its data (`decode` true).
    pub async fn copy_chunked<W: AsyncWrite + Unpin>(
        &mut self,
        w: &mut W,
        decode: bool,
    ) -> Result<(), CopyError> {
        loop {
            let line = self.read_line().await.map_err(CopyError::Read)?;
            let size_text = String::from_utf8_lossy(&line);
            let size_text = size_text.split(';').next().unwrap_or("").trim();
            let size = u64::from_str_radix(size_text, 16)
                .map_err(|_| CopyError::Read(invalid(format!("bad chunk size {size_text:?}"))))?;
            if !decode {
                w.write_all(&line).await.map_err(CopyError::Write)?;
            }
            if size == 0 {
                // Trailer fields, then the empty line that ends the body.
                loop {
                    let line = self.read_line().await.map_err(CopyError::Read)?;
                    if !decode {
                        w.write_all(&line).await.map_err(CopyError::Write)?;
                    }
                    if line == b"\r\n" || line == b"\n" {
                        return Ok(());
                    }
                }
            }
            self.copy_exact(w, size).await?;
            let end = self.read_line().await.map_err(CopyError::Read)?;
            if end != b"\r\n" && end != b"\n" {
                return Err(CopyError::Read(invalid("chunk data not followed by CRLF")));
            }
            if !decode {
                w.write_all(&end).await.map_err(CopyError::Write)?;
            }
        }
    }

    /// Copies a body framed as `framing`.
    pub async fn copy_body<W: AsyncWrite + Unpin>(
        &mut self,
        w: &mut W,
        framing: Framing,
    ) -> Result<(), CopyError> {
        match framing {
            Framing::None => Ok(()),
            Framing::Length(n) => self.copy_exact(w, n).await,
            Framing::Chunked => self.copy_chunked(w, false).await,
            Framing::UntilClose => self.copy_to_eof(w).await,
        }
    }
}
