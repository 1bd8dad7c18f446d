//! The shared approvals store: PostgreSQL (`--approvals postgres://…`), so that several
//! `ward serve` replicas see the same approvals (approve on one, resume on another). A few
//! connections (tokio-postgres, no TLS: run it on a trusted network or through a local
//! tunnel), each used by one transaction at a time and reopened when the server closed it.
//! `update` reads the row `FOR UPDATE`: concurrent changes of one approval, from any replica,
//! are serialized by the database.
//!
//! The schema is versioned (`ward_schema`); replicas starting together migrate one at a time
//! under a transaction-scoped advisory lock; a database newer than this build is refused.
//! Each replica's events carry its id, so a replica re-logs only its own unlogged events.
//! It knows SQL and the stored shapes, none of the approval rules.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Mutex, MutexGuard};
use tokio_postgres::{Client, NoTls};

use super::{
    Apply, Approval, ApprovalStore, Event, Refused, Row, Status, StoreError, StoreFuture, decode,
    decode_event, encode_event,
};

/// The migrations, in order: version `i + 1` is `MIGRATIONS[i]`.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE approvals (
  id TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  digest TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  expires_ms BIGINT NOT NULL,
  doc TEXT NOT NULL
);
CREATE UNIQUE INDEX approvals_one_pending ON approvals (requested_by, digest) WHERE status = 'pending';
CREATE INDEX approvals_by_status ON approvals (status, created_ms);
CREATE TABLE approval_events (
  seq BIGSERIAL PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  approval_id TEXT NOT NULL,
  replica TEXT NOT NULL,
  logged BOOLEAN NOT NULL DEFAULT FALSE,
  event TEXT NOT NULL
);
CREATE INDEX approval_events_unlogged ON approval_events (replica) WHERE NOT logged;
"#];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Key of the advisory lock migrations hold ("ward" in ASCII).
const MIGRATION_LOCK: i64 = 0x7761_7264;

/// Connections kept open.
const POOL: usize = 4;

/// Approvals in a PostgreSQL database.
pub struct PostgresStore {
    url: String,
    /// The URL without its password, for messages.
    shown: String,
    replica: String,
    pool: Vec<Mutex<Option<Client>>>,
    next: AtomicUsize,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("url", &self.shown)
            .field("replica", &self.replica)
            .finish_non_exhaustive()
    }
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Full error text of a PostgreSQL error (its `Display` is only "db error").
fn pg(e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => StoreError::Backend(format!("postgresql: {}", db.message())),
        None => StoreError::Backend(format!("postgresql: {e}")),
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:…@host/db`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (auth, host) = match rest.split_once('@') {
        Some((auth, host)) => (Some(auth), host),
        None => (None, rest),
    };
    match auth.and_then(|a| a.split_once(':')) {
        Some((user, _)) => format!("{scheme}://{user}:…@{host}"),
        None => url.to_owned(),
    }
}

async fn connect(url: &str) -> Result<Client, StoreError> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.map_err(|e| {
        StoreError::Backend(format!("cannot connect to `{}`: {}", redact(url), pg(e)))
    })?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "a connection to the approvals database closed");
        }
    });
    Ok(client)
}

impl PostgresStore {
    /// Connects (on the current tokio runtime) and brings the schema up to date.
    pub async fn connect(url: &str, replica: &str) -> Result<PostgresStore, StoreError> {
        let first = connect(url).await?;
        let store = PostgresStore {
            url: url.to_owned(),
            shown: redact(url),
            replica: replica.to_owned(),
            pool: (0..POOL).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
        };
        if let Some(slot) = store.pool.first() {
            *slot.lock().await = Some(first);
        }
        store.migrate().await?;
        Ok(store)
    }

    /// The schema version of the database.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let conn = self.client().await?;
        let row = conn
            .get()?
            .query_one(
                "SELECT COALESCE(MAX(version), 0)::BIGINT FROM ward_schema",
                &[],
            )
            .await
            .map_err(pg)?;
        Ok(row.get(0))
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut guard = self.client().await?;
        let client = guard.get_mut()?;
        let tx = client.transaction().await.map_err(pg)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(pg)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS ward_schema (version BIGINT NOT NULL, applied_ms BIGINT NOT NULL)",
        )
        .await
        .map_err(pg)?;
        let current: i64 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0)::BIGINT FROM ward_schema",
                &[],
            )
            .await
            .map_err(pg)?
            .get(0);
        if current > SCHEMA_VERSION {
            return Err(StoreError::Backend(format!(
                "the approvals database `{}` has schema version {current}, newer than this ward knows ({SCHEMA_VERSION}): run a newer ward",
                self.shown
            )));
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            tx.batch_execute(sql).await.map_err(|e| {
                StoreError::Backend(format!(
                    "migration to schema version {} failed: {}",
                    i + 1,
                    pg(e)
                ))
            })?;
            tx.execute(
                "INSERT INTO ward_schema (version, applied_ms) VALUES ($1, $2)",
                &[&(i as i64 + 1), &now],
            )
            .await
            .map_err(pg)?;
        }
        tx.commit().await.map_err(pg)
    }

    /// A connection of the pool, opened again if the server closed it.
    async fn client(&self) -> Result<Conn<'_>, StoreError> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        // A free connection if there is one, else wait for the next in turn.
        let mut guard = None;
        for i in 0..self.pool.len() {
            if let Some(slot) = self.pool.get((start + i) % self.pool.len())
                && let Ok(g) = slot.try_lock()
            {
                guard = Some(g);
                break;
            }
        }
        let mut guard = match guard {
            Some(g) => g,
            None => match self.pool.get(start % self.pool.len()) {
                Some(slot) => slot.lock().await,
                None => return Err(backend("the connection pool is empty")),
            },
        };
        if guard.as_ref().is_none_or(Client::is_closed) {
            *guard = Some(connect(&self.url).await?);
        }
        Ok(Conn(guard))
    }
}

/// A connection taken from the pool.
struct Conn<'a>(MutexGuard<'a, Option<Client>>);

impl Conn<'_> {
    fn get(&self) -> Result<&Client, StoreError> {
        self.0.as_ref().ok_or_else(|| backend("no connection"))
    }

    fn get_mut(&mut self) -> Result<&mut Client, StoreError> {
        self.0.as_mut().ok_or_else(|| backend("no connection"))
    }
}

async fn insert_event(
    tx: &tokio_postgres::Transaction<'_>,
    event: &Event,
    replica: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO approval_events (id, approval_id, replica, event) VALUES ($1, $2, $3, $4)",
        &[&event.id, &event.approval, &replica, &encode_event(event)?],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

impl ApprovalStore for PostgresStore {
    fn create_or_get(&self, approval: Approval, event: Event) -> StoreFuture<'_, (Approval, bool)> {
        Box::pin(async move {
            let row = Row::of(&approval)?;
            let mut conn = self.client().await?;
            let client = conn.get_mut()?;
            // The partial unique index allows one pending approval per requester and digest;
            // a concurrent insert of the same waits for the other transaction, then conflicts.
            for _ in 0..3 {
                let tx = client.transaction().await.map_err(pg)?;
                let inserted = tx
                    .execute(
                        "INSERT INTO approvals (id, status, requested_by, digest, created_ms, expires_ms, doc) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                        &[
                            &row.id,
                            &row.status,
                            &row.requested_by,
                            &row.digest,
                            &row.created_ms,
                            &row.expires_ms,
                            &row.doc,
                        ],
                    )
                    .await
                    .map_err(pg)?;
                if inserted == 1 {
                    insert_event(&tx, &event, &self.replica).await?;
                    tx.commit().await.map_err(pg)?;
                    return Ok((approval, true));
                }
                let existing = tx
                    .query_opt(
                        "SELECT doc FROM approvals WHERE requested_by = $1 AND digest = $2 AND status = 'pending'",
                        &[&row.requested_by, &row.digest],
                    )
                    .await
                    .map_err(pg)?;
                tx.commit().await.map_err(pg)?;
                if let Some(existing) = existing {
                    return Ok((decode(&existing.get::<_, String>(0))?, false));
                }
                // The pending one changed between the two statements: try again.
            }
            Err(backend(
                "the pending approval kept changing while it was looked up; try again",
            ))
        })
    }

    fn get<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<Approval>> {
        Box::pin(async move {
            let conn = self.client().await?;
            let row = conn
                .get()?
                .query_opt("SELECT doc FROM approvals WHERE id = $1", &[&id])
                .await
                .map_err(pg)?;
            row.map(|r| decode(&r.get::<_, String>(0))).transpose()
        })
    }

    fn list(&self, status: Option<Status>, limit: usize) -> StoreFuture<'_, Vec<Approval>> {
        Box::pin(async move {
            let conn = self.client().await?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let client = conn.get()?;
            let rows = match status {
                Some(status) => {
                    client.query(
                        "SELECT doc FROM approvals WHERE status = $1 ORDER BY created_ms DESC, id DESC LIMIT $2",
                        &[&status.as_str(), &limit],
                    )
                    .await
                }
                None => {
                    client.query(
                        "SELECT doc FROM approvals ORDER BY created_ms DESC, id DESC LIMIT $1",
                        &[&limit],
                    )
                    .await
                }
            }
            .map_err(pg)?;
            rows.iter()
                .map(|r| decode(&r.get::<_, String>(0)))
                .collect()
        })
    }

    fn update<'a>(
        &'a self,
        id: &'a str,
        apply: Apply,
    ) -> StoreFuture<'a, Result<(Approval, Event), Refused>> {
        Box::pin(async move {
            let mut conn = self.client().await?;
            let client = conn.get_mut()?;
            let tx = client.transaction().await.map_err(pg)?;
            let row = tx
                .query_opt("SELECT doc FROM approvals WHERE id = $1 FOR UPDATE", &[&id])
                .await
                .map_err(pg)?;
            let Some(row) = row else {
                return Ok(Err(Refused::Unknown));
            };
            let mut approval = decode(&row.get::<_, String>(0))?;
            let event = match apply(&mut approval) {
                Ok(event) => event,
                Err(refused) => return Ok(Err(refused)),
            };
            let row = Row::of(&approval)?;
            tx.execute(
                "UPDATE approvals SET status = $2, requested_by = $3, digest = $4, created_ms = $5, expires_ms = $6, doc = $7 WHERE id = $1",
                &[
                    &row.id,
                    &row.status,
                    &row.requested_by,
                    &row.digest,
                    &row.created_ms,
                    &row.expires_ms,
                    &row.doc,
                ],
            )
            .await
            .map_err(pg)?;
            insert_event(&tx, &event, &self.replica).await?;
            tx.commit().await.map_err(pg)?;
            Ok(Ok((approval, event)))
        })
    }

    fn due(&self, now_ms: i64) -> StoreFuture<'_, Vec<String>> {
        Box::pin(async move {
            let conn = self.client().await?;
            let rows = conn
                .get()?
                .query(
                    "SELECT id FROM approvals WHERE status IN ('pending', 'approved') AND expires_ms <= $1 ORDER BY expires_ms",
                    &[&now_ms],
                )
                .await
                .map_err(pg)?;
            Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
        })
    }

    fn counts(&self) -> StoreFuture<'_, Vec<(Status, u64)>> {
        Box::pin(async move {
            let conn = self.client().await?;
            let rows = conn
                .get()?
                .query(
                    "SELECT status, COUNT(*)::BIGINT FROM approvals GROUP BY status",
                    &[],
                )
                .await
                .map_err(pg)?;
            let mut out: Vec<(Status, u64)> = Status::ALL.iter().map(|s| (*s, 0)).collect();
            for row in rows {
                let status: String = row.get(0);
                let n: i64 = row.get(1);
                if let Some(slot) = out.iter_mut().find(|(s, _)| s.as_str() == status) {
                    slot.1 = u64::try_from(n).unwrap_or(0);
                }
            }
            Ok(out)
        })
    }

    fn unlogged(&self) -> StoreFuture<'_, Vec<Event>> {
        Box::pin(async move {
            let conn = self.client().await?;
            let rows = conn
                .get()?
                .query(
                    "SELECT event FROM approval_events WHERE replica = $1 AND NOT logged ORDER BY seq",
                    &[&self.replica],
                )
                .await
                .map_err(pg)?;
            rows.iter()
                .map(|r| decode_event(&r.get::<_, String>(0)))
                .collect()
        })
    }

    fn mark_logged(&self, ids: Vec<String>) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let conn = self.client().await?;
            conn.get()?
                .execute(
                    "UPDATE approval_events SET logged = TRUE WHERE id = ANY($1)",
                    &[&ids],
                )
                .await
                .map_err(pg)?;
            Ok(())
        })
    }
}
