//! The embedded approvals store: SQLite (compiled in, nothing to install) in
//! `STATE/approvals.sqlite3`, in WAL mode with `synchronous = FULL`, so a committed change
//! survives a `kill -9` and a power cut. One connection, behind a mutex, used on tokio's
//! blocking threads; every method is one transaction, `update` an `IMMEDIATE` one (it takes
//! the write lock before reading, so the check and the change cannot interleave with another
//! writer, in this process or another).
//!
//! The schema is versioned (`ward_schema`): migrations run in order at open, each in its own
//! transaction; a database newer than this build is refused. It knows SQL and the stored
//! shapes, none of the approval rules.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

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
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  doc TEXT NOT NULL
);
CREATE UNIQUE INDEX approvals_one_pending ON approvals (requested_by, digest) WHERE status = 'pending';
CREATE INDEX approvals_by_status ON approvals (status, created_ms);
CREATE TABLE approval_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  approval_id TEXT NOT NULL,
  replica TEXT NOT NULL,
  logged INTEGER NOT NULL DEFAULT 0,
  event TEXT NOT NULL
);
CREATE INDEX approval_events_unlogged ON approval_events (replica) WHERE logged = 0;
"#];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Approvals in a SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
    replica: String,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl SqliteStore {
    /// Opens (creating it if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path, replica: &str) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open(path)
            .map_err(|e| StoreError::Backend(format!("cannot open `{}`: {e}", path.display())))?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(backend)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(backend)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!(
                "`{}` cannot use write-ahead logging (journal mode `{mode}`)",
                path.display()
            )));
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(backend)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(backend)?;
        let mut store = SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            path: path.to_owned(),
            replica: replica.to_owned(),
        };
        store.migrate()?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the database.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        let conn = self.lock();
        version_of(&conn)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        match self.conn.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let mut conn = self.lock();
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS ward_schema (version INTEGER NOT NULL, applied_ms INTEGER NOT NULL)",
        )
        .map_err(backend)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let current = version_of(&tx)?;
        if current > SCHEMA_VERSION {
            return Err(StoreError::Backend(format!(
                "the approvals database `{}` has schema version {current}, newer than this ward knows ({SCHEMA_VERSION}): run a newer ward",
                self.path.display()
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            tx.execute_batch(sql).map_err(|e| {
                StoreError::Backend(format!("migration to schema version {} failed: {e}", i + 1))
            })?;
            tx.execute(
                "INSERT INTO ward_schema (version, applied_ms) VALUES (?1, ?2)",
                params![i as i64 + 1, now_ms()],
            )
            .map_err(backend)?;
        }
        tx.commit().map_err(backend)
    }

    /// Runs `f` with the connection on a blocking thread.
    fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection, &str) -> Result<T, StoreError> + Send + 'static,
    ) -> StoreFuture<'static, T> {
        let conn = Arc::clone(&self.conn);
        let replica = self.replica.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let mut conn = match conn.lock() {
                    Ok(c) => c,
                    Err(poisoned) => poisoned.into_inner(),
                };
                f(&mut conn, &replica)
            })
            .await
            .map_err(|e| StoreError::Backend(format!("the store's task failed: {e}")))?
        })
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn version_of(conn: &Connection) -> Result<i64, StoreError> {
    conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM ward_schema",
        [],
        |r| r.get(0),
    )
    .map_err(backend)
}

fn insert_event(conn: &Connection, event: &Event, replica: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO approval_events (id, approval_id, replica, event) VALUES (?1, ?2, ?3, ?4)",
        params![event.id, event.approval, replica, encode_event(event)?],
    )
    .map_err(backend)?;
    Ok(())
}

fn write_row(conn: &Connection, approval: &Approval, insert: bool) -> Result<(), StoreError> {
    let row = Row::of(approval)?;
    let sql = if insert {
        "INSERT INTO approvals (id, status, requested_by, digest, created_ms, expires_ms, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
    } else {
        "UPDATE approvals SET status = ?2, requested_by = ?3, digest = ?4, created_ms = ?5, expires_ms = ?6, doc = ?7 WHERE id = ?1"
    };
    conn.execute(
        sql,
        params![
            row.id,
            row.status,
            row.requested_by,
            row.digest,
            row.created_ms,
            row.expires_ms,
            row.doc
        ],
    )
    .map_err(backend)?;
    Ok(())
}

fn get_doc(conn: &Connection, id: &str) -> Result<Option<Approval>, StoreError> {
    let doc: Option<String> = conn
        .query_row(
            "SELECT doc FROM approvals WHERE id = ?1",
            params![id],
            |r| r.get(0),
        )
        .optional()
        .map_err(backend)?;
    doc.as_deref().map(decode).transpose()
}

impl ApprovalStore for SqliteStore {
    fn create_or_get(&self, approval: Approval, event: Event) -> StoreFuture<'_, (Approval, bool)> {
        self.blocking(move |conn, replica| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            let existing: Option<String> = tx
                .query_row(
                    "SELECT doc FROM approvals WHERE requested_by = ?1 AND digest = ?2 AND status = 'pending'",
                    params![approval.requested_by, approval.digest],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            if let Some(doc) = existing {
                return Ok((decode(&doc)?, false));
            }
            write_row(&tx, &approval, true)?;
            insert_event(&tx, &event, replica)?;
            tx.commit().map_err(backend)?;
            Ok((approval, true))
        })
    }

    fn get<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<Approval>> {
        let id = id.to_owned();
        self.blocking(move |conn, _| get_doc(conn, &id))
    }

    fn list(&self, status: Option<Status>, limit: usize) -> StoreFuture<'_, Vec<Approval>> {
        self.blocking(move |conn, _| {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let mut out = Vec::new();
            let mut push = |doc: String| -> Result<(), StoreError> {
                out.push(decode(&doc)?);
                Ok(())
            };
            match status {
                Some(status) => {
                    let mut stmt = conn
                        .prepare(
                            "SELECT doc FROM approvals WHERE status = ?1 ORDER BY created_ms DESC, id DESC LIMIT ?2",
                        )
                        .map_err(backend)?;
                    let rows = stmt
                        .query_map(params![status.as_str(), limit], |r| r.get::<_, String>(0))
                        .map_err(backend)?;
                    for row in rows {
                        push(row.map_err(backend)?)?;
                    }
                }
                None => {
                    let mut stmt = conn
                        .prepare(
                            "SELECT doc FROM approvals ORDER BY created_ms DESC, id DESC LIMIT ?1",
                        )
                        .map_err(backend)?;
                    let rows = stmt
                        .query_map(params![limit], |r| r.get::<_, String>(0))
                        .map_err(backend)?;
                    for row in rows {
                        push(row.map_err(backend)?)?;
                    }
                }
            }
            Ok(out)
        })
    }

    fn update<'a>(
        &'a self,
        id: &'a str,
        apply: Apply,
    ) -> StoreFuture<'a, Result<(Approval, Event), Refused>> {
        let id = id.to_owned();
        self.blocking(move |conn, replica| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            let Some(mut approval) = get_doc(&tx, &id)? else {
                return Ok(Err(Refused::Unknown));
            };
            let event = match apply(&mut approval) {
                Ok(event) => event,
                Err(refused) => return Ok(Err(refused)),
            };
            write_row(&tx, &approval, false)?;
            insert_event(&tx, &event, replica)?;
            tx.commit().map_err(backend)?;
            Ok(Ok((approval, event)))
        })
    }

    fn due(&self, now_ms: i64) -> StoreFuture<'_, Vec<String>> {
        self.blocking(move |conn, _| {
            let mut stmt = conn
                .prepare(
                    "SELECT id FROM approvals WHERE status IN ('pending', 'approved') AND expires_ms <= ?1 ORDER BY expires_ms",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![now_ms], |r| r.get::<_, String>(0))
                .map_err(backend)?;
            rows.map(|r| r.map_err(backend)).collect()
        })
    }

    fn counts(&self) -> StoreFuture<'_, Vec<(Status, u64)>> {
        self.blocking(move |conn, _| {
            let mut stmt = conn
                .prepare("SELECT status, COUNT(*) FROM approvals GROUP BY status")
                .map_err(backend)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                .map_err(backend)?;
            let mut out: Vec<(Status, u64)> = Status::ALL.iter().map(|s| (*s, 0)).collect();
            for row in rows {
                let (status, n) = row.map_err(backend)?;
                if let Some(slot) = out.iter_mut().find(|(s, _)| s.as_str() == status) {
                    slot.1 = u64::try_from(n).unwrap_or(0);
                }
            }
            Ok(out)
        })
    }

    fn unlogged(&self) -> StoreFuture<'_, Vec<Event>> {
        self.blocking(move |conn, replica| {
            let mut stmt = conn
                .prepare(
                    "SELECT event FROM approval_events WHERE replica = ?1 AND logged = 0 ORDER BY seq",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![replica], |r| r.get::<_, String>(0))
                .map_err(backend)?;
            let mut out = Vec::new();
            for row in rows {
                out.push(decode_event(&row.map_err(backend)?)?);
            }
            Ok(out)
        })
    }

    fn mark_logged(&self, ids: Vec<String>) -> StoreFuture<'_, ()> {
        self.blocking(move |conn, _| {
            let tx = conn.transaction().map_err(backend)?;
            for id in &ids {
                tx.execute(
                    "UPDATE approval_events SET logged = 1 WHERE id = ?1",
                    params![id],
                )
                .map_err(backend)?;
            }
            tx.commit().map_err(backend)
        })
    }
}
