//! The base protocol: `Content-Length` framed JSON-RPC messages read from a byte stream, and
//! the messages the server writes back, framed the same way.
//!
//! This reader replaces lsp-server's, which ends the session at the first frame it cannot
//! read. Here a bad frame is reported and skipped, and reading goes on:
//!
//! - a body declared larger than [`MAX_MESSAGE`] (64 MiB) is never allocated: the client gets a
//!   `-32600` error and its bytes are skipped, line by line, up to the next header;
//! - a header block without `Content-Length`, a header line that is not `Name: value`, or bytes
//!   between messages are skipped up to the next `Content-Length` header (a log line says so);
//! - a body that is not JSON gets `-32700`, JSON that is not a JSON-RPC message `-32600`;
//! - a body whose JSON value ends before its declared length (a length that is too large) is
//!   taken as it is, and the bytes after it are read as the next frame; a length that is too
//!   small cuts the JSON short, which gets `-32700`, and the rest is skipped as above.
//!
//! Nothing here blocks waiting for bytes the client never promised: a body is read up to its
//! declared length or to the end of its JSON value, whichever comes first. This module knows
//! nothing of the language features.

use std::io::{self, BufRead, Write};

use lsp_server::{ErrorCode, Message, Notification, Request, RequestId, Response};
use serde_json::{Value, json};

/// The largest message body the server accepts, in bytes (64 MiB). A policy file is far
/// smaller; a larger body is skipped without being held in memory.
pub const MAX_MESSAGE: u64 = 64 << 20;

/// Longest header line kept (longer ones are skipped as garbage).
const MAX_HEADER_LINE: usize = 8 << 10;

/// What reading the next frame produced.
#[derive(Debug)]
pub enum Frame {
    /// A well-formed JSON-RPC message, and a log line when its header had problems.
    Message(Message, Option<String>),
    /// A frame that could not be used: the error to send back (if any), and a log line.
    Bad { reply: Option<Value>, log: String },
    /// The stream ended.
    Eof,
}

/// A reader of frames over any byte stream.
#[derive(Debug)]
pub struct Reader<R> {
    inner: R,
}

impl<R: BufRead> Reader<R> {
    pub fn new(inner: R) -> Reader<R> {
        Reader { inner }
    }

    /// One byte.
    fn byte(&mut self) -> io::Result<Option<u8>> {
        let buf = loop {
            match self.inner.fill_buf() {
                Ok(buf) => break buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        let Some(&b) = buf.first() else {
            return Ok(None);
        };
        self.inner.consume(1);
        Ok(Some(b))
    }

    /// One header line without its line ending; `None` at the end of the stream. A line
    /// longer than [`MAX_HEADER_LINE`] is read to its end but returned cut, marked too long.
    fn line(&mut self) -> io::Result<Option<(Vec<u8>, bool)>> {
        let mut line = Vec::new();
        let mut too_long = false;
        loop {
            match self.byte()? {
                None if line.is_empty() && !too_long => return Ok(None),
                None | Some(b'\n') => {
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    return Ok(Some((line, too_long)));
                }
                Some(b) => {
                    if line.len() < MAX_HEADER_LINE {
                        line.push(b);
                    } else {
                        too_long = true;
                    }
                }
            }
        }
    }

    /// Read the next frame.
    pub fn next_frame(&mut self) -> io::Result<Frame> {
        let mut length: Option<Result<u64, String>> = None;
        let mut skipped = 0usize;
        let mut header_seen = false;
        let mut problems: Vec<String> = Vec::new();
        loop {
            let Some((line, too_long)) = self.line()? else {
                return Ok(if header_seen || skipped > 0 {
                    Frame::Bad {
                        reply: None,
                        log: "the stream ended inside a message header".to_string(),
                    }
                } else {
                    Frame::Eof
                });
            };
            if line.iter().all(u8::is_ascii_whitespace) && !too_long {
                if header_seen {
                    break;
                }
                // Blank lines between messages (a body whose length counted a newline).
                continue;
            }
            let mut text = String::from_utf8_lossy(&line).into_owned();
            // A header glued to the end of what came before it (a body without a newline
            // after it): resume at the header.
            if !starts_header(&text)
                && let Some(at) = text.to_ascii_lowercase().find("content-length:")
            {
                skipped += at;
                header_seen = false;
                text.drain(..at);
            }
            let Some((name, value)) = text.split_once(':').filter(|_| !too_long) else {
                // Not a header: skip to the next `Content-Length`.
                skipped += line.len();
                header_seen = false;
                length = None;
                continue;
            };
            let name = name.trim();
            if name.eq_ignore_ascii_case("content-length") {
                header_seen = true;
                let value = value.trim();
                length = Some(
                    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
                        Ok(value.parse::<u64>().unwrap_or(u64::MAX))
                    } else {
                        Err(format!(
                            "`Content-Length: {value}` is not a number of bytes"
                        ))
                    },
                );
            } else if name.eq_ignore_ascii_case("content-type") {
                header_seen = true;
            } else if header_seen {
                problems.push(format!("unknown header `{name}` ignored"));
            } else {
                skipped += line.len();
            }
        }
        let mut log = String::new();
        if skipped > 0 {
            log.push_str(&format!(
                "skipped {skipped} bytes that were not a message header; "
            ));
        }
        for p in problems {
            log.push_str(&p);
            log.push_str("; ");
        }
        let length = match length {
            None => {
                return Ok(Frame::Bad {
                    reply: Some(error_reply(
                        Value::Null,
                        ErrorCode::InvalidRequest,
                        "message header without `Content-Length`".to_string(),
                    )),
                    log: format!("{log}a message header had no `Content-Length`: skipped"),
                });
            }
            Some(Err(why)) => {
                return Ok(Frame::Bad {
                    reply: Some(error_reply(
                        Value::Null,
                        ErrorCode::InvalidRequest,
                        why.clone(),
                    )),
                    log: format!("{log}{why}: skipped"),
                });
            }
            Some(Ok(n)) => n,
        };
        if length > MAX_MESSAGE {
            // Not read at all (the count is only a claim and may never be met): its bytes are
            // skipped as garbage up to the next header. It cannot be answered by id.
            let message = format!(
                "a message of {length} bytes exceeds the limit of {MAX_MESSAGE} bytes (64 MiB)"
            );
            return Ok(Frame::Bad {
                reply: Some(error_reply(
                    Value::Null,
                    ErrorCode::InvalidRequest,
                    message.clone(),
                )),
                log: format!("{log}{message}: skipped"),
            });
        }
        let body = self.body(length as usize)?;
        let parsed = serde_json::from_slice::<Value>(&body);
        let frame = match parsed {
            Err(e) => Frame::Bad {
                reply: Some(error_reply(
                    Value::Null,
                    ErrorCode::ParseError,
                    format!("the message body is not JSON: {e}"),
                )),
                log: format!("{log}a message body was not JSON ({e})"),
            },
            Ok(value) => match to_message(value) {
                Ok(message) => Frame::Message(message, (!log.is_empty()).then(|| line_for(&log))),
                Err((id, why)) => Frame::Bad {
                    reply: Some(error_reply(id, ErrorCode::InvalidRequest, why.clone())),
                    log: format!("{log}{why}"),
                },
            },
        };
        Ok(frame)
    }

    /// Read a body of at most `length` bytes: all of them, or fewer when the body starts a JSON
    /// object or array that ends earlier (the rest is left unread, to be read as the next
    /// frame).
    fn body(&mut self, length: usize) -> io::Result<Vec<u8>> {
        let mut body = Vec::with_capacity(length.min(64 << 10));
        let mut scan = JsonEnd::default();
        while body.len() < length {
            let Some(b) = self.byte()? else { break };
            body.push(b);
            if scan.feed(b) {
                break;
            }
        }
        Ok(body)
    }
}

/// Whether a line starts with a header this reader knows.
fn starts_header(line: &str) -> bool {
    let lower = line.trim_start().to_ascii_lowercase();
    lower.starts_with("content-length:") || lower.starts_with("content-type:")
}

fn line_for(log: &str) -> String {
    log.trim_end_matches("; ").to_string()
}

/// Finds where a JSON object or array that starts a body ends, by brackets and strings only.
#[derive(Default)]
struct JsonEnd {
    started: bool,
    /// The body does not start with `{` or `[`: read it to its declared length.
    off: bool,
    depth: usize,
    in_string: bool,
    escaped: bool,
}

impl JsonEnd {
    /// Feed one byte; true when it closed the top-level value.
    fn feed(&mut self, b: u8) -> bool {
        if self.off {
            return false;
        }
        if !self.started {
            match b {
                b' ' | b'\t' | b'\r' | b'\n' => return false,
                b'{' | b'[' => {
                    self.started = true;
                    self.depth = 1;
                    return false;
                }
                _ => {
                    self.off = true;
                    return false;
                }
            }
        }
        if self.in_string {
            if self.escaped {
                self.escaped = false;
            } else if b == b'\\' {
                self.escaped = true;
            } else if b == b'"' {
                self.in_string = false;
            }
            return false;
        }
        match b {
            b'"' => self.in_string = true,
            b'{' | b'[' => self.depth += 1,
            b'}' | b']' => {
                self.depth -= 1;
                return self.depth == 0;
            }
            _ => {}
        }
        false
    }
}

/// A JSON-RPC error response; `id` is `null` when the request's id could not be read.
pub fn error_reply(id: Value, code: ErrorCode, message: String) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": code as i32, "message": message },
    })
}

/// Turn a JSON value into a message, or say why it is not one (with the id to answer, if the
/// value had a usable one).
pub fn to_message(value: Value) -> Result<Message, (Value, String)> {
    let Value::Object(mut object) = value else {
        let what = match value {
            Value::Array(_) => "an array (batches are not part of the language server protocol)",
            _ => "not an object",
        };
        return Err((Value::Null, format!("invalid message: the body is {what}")));
    };
    let id = object.remove("id");
    let method = object.remove("method");
    let params = object.remove("params").unwrap_or(Value::Null);
    let request_id = |id: &Value| -> Option<RequestId> {
        match id {
            Value::String(s) => Some(RequestId::from(s.clone())),
            Value::Number(n) => n
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .map(RequestId::from),
            _ => None,
        }
    };
    match (method, id) {
        (Some(Value::String(method)), None) => {
            Ok(Message::Notification(Notification { method, params }))
        }
        (Some(Value::String(method)), Some(id)) => match request_id(&id) {
            Some(rid) => Ok(Message::Request(Request {
                id: rid,
                method,
                params,
            })),
            None => Err((
                Value::Null,
                format!("invalid request `{method}`: its id must be a string or a 32-bit integer"),
            )),
        },
        (Some(_), id) => Err((
            id.filter(|i| request_id(i).is_some())
                .unwrap_or(Value::Null),
            "invalid message: `method` must be a string".to_string(),
        )),
        (None, Some(id)) if object.contains_key("result") || object.contains_key("error") => {
            let Some(rid) = request_id(&id) else {
                return Err((Value::Null, "a response with an unusable id".to_string()));
            };
            let result = object.remove("result");
            let error = object
                .remove("error")
                .and_then(|e| serde_json::from_value(e).ok());
            let response_result = match error {
                Some(error) => Err(error),
                None => Ok(result.unwrap_or(Value::Null)),
            };
            Ok(Message::Response(Response {
                id: rid,
                response_result,
            }))
        }
        (None, id) => Err((
            id.filter(|i| request_id(i).is_some())
                .unwrap_or(Value::Null),
            "invalid message: no `method`".to_string(),
        )),
    }
}

/// Write one message with its `Content-Length` header, and flush.
pub fn write_value(w: &mut impl Write, value: &Value) -> io::Result<()> {
    let text = serde_json::to_string(value)?;
    write!(w, "Content-Length: {}\r\n\r\n{text}", text.len())?;
    w.flush()
}
