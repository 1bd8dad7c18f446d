//! The listener: accepts connections up to the connection limit (a semaphore, as tokio's
//! mini-redis does), serves each with HTTP/1.1 and keep-alive, and on shutdown stops
//! accepting, lets every connection finish the request it is in, and waits for them.
//!
//! A connection beyond the limit is answered `503` with an error document and closed. Without
//! a tokens file, a peer that is not on loopback is refused (the listener is bound to
//! loopback anyway; this is the second lock). This module knows sockets and hyper; the
//! endpoints are in `routes`.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::state::AppState;

const REFUSED_BODY: &str = r#"{"error":{"status":503,"code":"too_many_connections","message":"the server has reached its connection limit: retry later"}}"#;

/// Accepts and serves until `shutdown` turns true, then drains (up to `drain_timeout`).
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    state: Arc<AppState>,
    mut shutdown: watch::Receiver<bool>,
) {
    let limits = state.config.limits.clone();
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let loopback_only = state.tokens.is_none();
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Out of file descriptors and the like: wait a little, keep serving.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                if loopback_only && !peer.ip().is_loopback() {
                    tracing::warn!(%peer, "refused a connection from outside loopback (no tokens file)");
                    continue;
                }
                match Arc::clone(&permits).try_acquire_owned() {
                    Ok(permit) => {
                        let app = app.clone();
                        let state = Arc::clone(&state);
                        let shutdown = shutdown.clone();
                        connections.spawn(async move {
                            state.metrics.connections_open.fetch_add(1, Ordering::Relaxed);
                            serve_connection(stream, app, &state, shutdown).await;
                            state.metrics.connections_open.fetch_sub(1, Ordering::Relaxed);
                            drop(permit);
                        });
                    }
                    Err(_) => {
                        state.metrics.connections_rejected.fetch_add(1, Ordering::Relaxed);
                        connections.spawn(refuse(stream));
                    }
                }
                // Reap finished connections so the set does not grow.
                while connections.try_join_next().is_some() {}
            }
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
        }
    }
    drop(listener);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(limits.drain_timeout, drain)
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the drain timeout; closing them");
        connections.abort_all();
    }
}

async fn serve_connection(
    stream: TcpStream,
    app: axum::Router,
    state: &AppState,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(state.config.limits.header_timeout)
        .keep_alive(true);
    let connection = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
    tokio::pin!(connection);
    let mut closing = *shutdown.borrow();
    if closing {
        connection.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            _ = connection.as_mut() => break,
            changed = shutdown.changed(), if !closing => {
                if changed.is_err() || *shutdown.borrow() {
                    closing = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// Answers a connection beyond the limit with `503` and closes it.
async fn refuse(mut stream: TcpStream) {
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\nretry-after: 1\r\n\r\n{REFUSED_BODY}",
        REFUSED_BODY.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}
