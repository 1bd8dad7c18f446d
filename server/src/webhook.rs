//! `--notify URL`: every new pending approval is POSTed there as JSON (the approval document,
//! as `GET /v1/approvals/{id}` shows it), so a chat or paging integration can hang off it.
//!
//! Plain HTTP (`http://host:port/path`); a delivery is retried with exponential backoff until
//! the receiver answers 2xx or the attempts run out. Each request carries
//! `X-Ward-Event: approval.pending` and `Idempotency-Key: <approval id>`, so a receiver can
//! drop the duplicate of a delivery whose answer was lost. Deliveries are kept in memory
//! only: the inbox and `GET /v1/approvals` stay the source of truth. This module knows the
//! approval document and HTTP/1.1 through the blocking client; nothing of the store.

use std::net::ToSocketAddrs;
use std::time::Duration;

use crate::approvals::Approval;
use crate::client::Client;

/// How deliveries are retried.
#[derive(Clone, Debug)]
pub struct Retry {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The wait after the first failure; doubled after each further one.
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// How long one attempt may take.
    pub timeout: Duration,
}

impl Default for Retry {
    fn default() -> Retry {
        Retry {
            attempts: 8,
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
        }
    }
}

/// Where notifications go.
#[derive(Clone, Debug)]
pub struct Notifier {
    host: String,
    port: u16,
    path: String,
    retry: Retry,
    runtime: tokio::runtime::Handle,
}

impl Notifier {
    /// Checks `url` (`http://host[:port][/path]`); deliveries run on `runtime`.
    pub fn new(
        url: &str,
        retry: Retry,
        runtime: tokio::runtime::Handle,
    ) -> Result<Notifier, String> {
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            format!(
                "`--notify` must be an `http://` URL, not `{url}` (for HTTPS, point it at a local relay)"
            )
        })?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(format!(
                "`--notify` needs a host (and no user name or password): `{url}`"
            ));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => {
                let port = port
                    .parse::<u16>()
                    .map_err(|_| format!("`--notify`: `{port}` is not a port number"))?;
                (host.trim_matches(|c| c == '[' || c == ']').to_owned(), port)
            }
            _ => (authority.to_owned(), 80),
        };
        if path.chars().any(|c| c.is_control() || c == ' ') {
            return Err(format!(
                "`--notify`: the path of `{url}` has spaces or control characters"
            ));
        }
        Ok(Notifier {
            host,
            port,
            path: path.to_owned(),
            retry,
            runtime,
        })
    }

    /// Queues the delivery of `approval`; returns at once.
    pub fn send(&self, approval: &Approval) {
        let body = match serde_json::to_vec(approval) {
            Ok(body) => body,
            Err(e) => {
                tracing::error!(error = %e, "a notification could not be encoded");
                return;
            }
        };
        let id = approval.id.clone();
        let this = self.clone();
        self.runtime.spawn(async move {
            let mut delay = this.retry.first_delay;
            for attempt in 1..=this.retry.attempts.max(1) {
                let (t, b, i) = (this.clone(), body.clone(), id.clone());
                let result = tokio::task::spawn_blocking(move || t.post(&b, &i))
                    .await
                    .unwrap_or_else(|e| Err(format!("the delivery task failed: {e}")));
                match result {
                    Ok(()) => {
                        tracing::info!(approval = %id, attempt, "notified");
                        return;
                    }
                    Err(why) if attempt < this.retry.attempts => {
                        tracing::warn!(approval = %id, attempt, error = %why, retry_in = ?delay, "notification failed; retrying");
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(this.retry.max_delay);
                    }
                    Err(why) => {
                        tracing::error!(approval = %id, attempts = attempt, error = %why, "notification failed; giving up");
                    }
                }
            }
        });
    }

    fn post(&self, body: &[u8], id: &str) -> Result<(), String> {
        let addr = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve `{}`: {e}", self.host))?
            .next()
            .ok_or_else(|| format!("`{}` has no address", self.host))?;
        let mut client = Client::new(addr).with_timeout(self.retry.timeout);
        let response = client
            .request(
                "POST",
                &self.path,
                &[
                    ("content-type", "application/json"),
                    ("x-ward-event", "approval.pending"),
                    ("idempotency-key", id),
                    ("connection", "close"),
                ],
                Some(body),
            )
            .map_err(|e| e.to_string())?;
        if (200..300).contains(&response.status) {
            Ok(())
        } else {
            Err(format!("the receiver answered {}", response.status))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let n = Notifier::new(
            "http://127.0.0.1:9/hook",
            Retry::default(),
            rt.handle().clone(),
        )
        .unwrap();
        assert_eq!(
            (n.host.as_str(), n.port, n.path.as_str()),
            ("127.0.0.1", 9, "/hook")
        );
        let n = Notifier::new(
            "http://chat.internal",
            Retry::default(),
            rt.handle().clone(),
        )
        .unwrap();
        assert_eq!(
            (n.host.as_str(), n.port, n.path.as_str()),
            ("chat.internal", 80, "/")
        );
        for bad in [
            "https://x/",
            "ftp://x",
            "http://",
            "http://u:p@x/",
            "http://x:port/",
        ] {
            assert!(
                Notifier::new(bad, Retry::default(), rt.handle().clone()).is_err(),
                "{bad}"
            );
        }
    }
}
