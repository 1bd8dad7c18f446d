//! The approval service the guard asks when a call needs a human: `ward serve` at `--server`.
//! A `require_approval` call is sent to `POST /v1/decide`, which decides it afresh at the
//! service's clock and creates (or finds) the approval; the same call repeated later is sent
//! with `"approval": "apr_…"`, and the service says `allow` only when that approval covers it.
//!
//! The guard never decides an approval itself and keeps no approval state but which approval
//! it was given for which request: the service is the authority. Plain HTTP/1.1 over TCP with
//! a bearer token (no TLS: keep the service on loopback or behind a local TLS proxy). This
//! module knows HTTP and the decision document; it does not know MCP.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use serde_json::Value as Json;

/// Where the approval service is, and how to call it.
#[derive(Clone, Debug)]
pub struct ApprovalService {
    /// `host:port`, as given.
    authority: String,
    /// The path before `/v1/decide` (empty, or `/prefix`).
    prefix: String,
    token: Option<String>,
    timeout: Duration,
}

/// The largest response accepted.
const MAX_RESPONSE: usize = 4 << 20;

/// What the service answered.
#[derive(Clone, Debug)]
pub struct ServiceDecision {
    /// The HTTP status.
    pub status: u16,
    /// The decision document (for a status other than 200, the service's deny document, or
    /// a deny the guard made of an answer it could not read).
    pub doc: Json,
}

impl ServiceDecision {
    /// `allow`, `deny` or `require_approval`; anything else reads as `deny`.
    pub fn decision(&self) -> &str {
        match self.doc.get("decision").and_then(Json::as_str) {
            Some(d @ ("allow" | "require_approval")) if self.status == 200 => d,
            _ => "deny",
        }
    }

    /// The approval the service created or found: `(id, status, expires)`.
    pub fn approval(&self) -> Option<(String, String, String)> {
        let a = self.doc.get("approval")?;
        let field = |k: &str| a.get(k).and_then(Json::as_str).unwrap_or("").to_owned();
        let id = field("id");
        (!id.is_empty()).then(|| (id, field("status"), field("expires")))
    }
}

impl ApprovalService {
    /// Parses `http://HOST:PORT[/PREFIX]`. `https` is refused: this client has no TLS.
    pub fn parse(url: &str, token: Option<String>) -> Result<ApprovalService, String> {
        let rest = if let Some(rest) = url.strip_prefix("http://") {
            rest
        } else if url.starts_with("https://") {
            return Err(format!(
                "`{url}`: the guard speaks plain HTTP to the approval service; run `ward serve` on a loopback address (or behind a local TLS proxy) and give its `http://` address"
            ));
        } else {
            return Err(format!(
                "`{url}` is not an address like `http://127.0.0.1:8181`"
            ));
        };
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], rest[at..].trim_end_matches('/')),
            None => (rest, ""),
        };
        if authority.is_empty() || !authority.contains(':') {
            return Err(format!(
                "`{url}` must name a host and a port, like `http://127.0.0.1:8181`"
            ));
        }
        if authority.contains('@') || path.contains(['?', '#']) {
            return Err(format!(
                "`{url}` must be `http://HOST:PORT` with an optional path, without user, query or fragment"
            ));
        }
        Ok(ApprovalService {
            authority: authority.to_owned(),
            prefix: path.to_owned(),
            token,
            timeout: Duration::from_secs(10),
        })
    }

    /// How long to wait for the service (connecting, then the whole answer).
    pub fn with_timeout(mut self, timeout: Duration) -> ApprovalService {
        self.timeout = timeout;
        self
    }

    /// The address as given, for messages.
    pub fn url(&self) -> String {
        format!("http://{}{}", self.authority, self.prefix)
    }

    /// Asks the service to decide `request` (without `at`: the service's clock decides),
    /// resuming `approval` when given; `request_id` labels it in the service's log.
    pub fn decide(
        &self,
        request: &Json,
        approval: Option<&str>,
        request_id: &str,
    ) -> Result<ServiceDecision, String> {
        let mut body = request.clone();
        if let Some(obj) = body.as_object_mut() {
            obj.remove("at");
            obj.insert("id".into(), Json::String(request_id.to_owned()));
            if let Some(approval) = approval {
                obj.insert("approval".into(), Json::String(approval.to_owned()));
            }
        }
        let body = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
        let (status, bytes) = self.post("/v1/decide", &body).map_err(|e| {
            format!(
                "the approval service at `{}` did not answer: {e}",
                self.url()
            )
        })?;
        let doc = ward_embed::json::parse_strict_bytes(&bytes).map_err(|e| {
            format!(
                "the approval service at `{}` answered {status} with a body that is not a decision ({e})",
                self.url()
            )
        })?;
        if !doc.is_object() {
            return Err(format!(
                "the approval service at `{}` answered {status} with a body that is not a decision",
                self.url()
            ));
        }
        Ok(ServiceDecision { status, doc })
    }

    fn post(&self, path: &str, body: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
        let addrs: Vec<_> = self.authority.to_socket_addrs()?.collect();
        let mut last = std::io::Error::other("the host name resolves to no address");
        let mut stream = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, self.timeout) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = e,
            }
        }
        let stream = stream.ok_or(last)?;
        stream.set_read_timeout(Some(self.timeout))?;
        stream.set_write_timeout(Some(self.timeout))?;
        stream.set_nodelay(true)?;
        let mut head = format!(
            "POST {}{path} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
            self.prefix,
            self.authority,
            body.len()
        );
        if let Some(token) = &self.token {
            head.push_str(&format!("authorization: Bearer {token}\r\n"));
        }
        head.push_str("\r\n");
        let mut writer = &stream;
        writer.write_all(head.as_bytes())?;
        writer.write_all(body)?;
        writer.flush()?;
        read_response(&mut BufReader::new(
            stream.take(MAX_RESPONSE as u64 + 64 * 1024),
        ))
    }
}

/// Reads one HTTP/1.1 response with `content-length` or chunked encoding, at most
/// [`MAX_RESPONSE`] bytes of body.
fn read_response(reader: &mut impl BufRead) -> std::io::Result<(u16, Vec<u8>)> {
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(bad("the connection closed before an answer"));
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| bad("the answer is not HTTP"))?;
    let mut length = None;
    let mut chunked = false;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(bad("the connection closed in the headers"));
        }
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        let (name, value) = trimmed.split_once(':').ok_or_else(|| bad("a bad header"))?;
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        if name == "content-length" {
            length = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| bad("a bad content-length"))?,
            );
        } else if name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
            chunked = true;
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| bad("a bad chunk size"))?;
            if size == 0 {
                break;
            }
            if body.len() + size > MAX_RESPONSE {
                return Err(bad("the answer is too large"));
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            line.clear();
            reader.read_line(&mut line)?;
        }
    } else if let Some(length) = length {
        if length > MAX_RESPONSE {
            return Err(bad("the answer is too large"));
        }
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    } else {
        reader.take(MAX_RESPONSE as u64).read_to_end(&mut body)?;
    }
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let s = ApprovalService::parse("http://127.0.0.1:8181/", None).unwrap();
        assert_eq!(s.url(), "http://127.0.0.1:8181");
        let s = ApprovalService::parse("http://localhost:9/ward", None).unwrap();
        assert_eq!(s.url(), "http://localhost:9/ward");
        for bad in [
            "https://x:1",
            "127.0.0.1:8181",
            "http://host",
            "http://u@h:1",
            "http://h:1/?q",
        ] {
            assert!(ApprovalService::parse(bad, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn responses() {
        let text = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(
            read_response(&mut &text[..]).unwrap(),
            (200, b"{}".to_vec())
        );
        let text =
            b"HTTP/1.1 400 Bad\r\ntransfer-encoding: chunked\r\n\r\n1\r\n{\r\n1\r\n}\r\n0\r\n\r\n";
        assert_eq!(
            read_response(&mut &text[..]).unwrap(),
            (400, b"{}".to_vec())
        );
        let text = b"HTTP/1.1 200 OK\r\ncontent-length: 99999999\r\n\r\n";
        assert!(read_response(&mut &text[..]).is_err());
    }

    #[test]
    fn an_unreachable_service_is_an_error_not_an_allow() {
        // A port nothing listens on: bind one, then drop the listener.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let s = ApprovalService::parse(&format!("http://127.0.0.1:{port}"), None).unwrap();
        let err = s
            .decide(&serde_json::json!({"action": "a"}), None, "r")
            .unwrap_err();
        assert!(err.contains("did not answer"), "{err}");
    }
}
