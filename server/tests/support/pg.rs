//! A PostgreSQL server for the tests, started on first use: `initdb` into a temporary folder
//! owned by the `postgres` user, `postgres` on a free loopback port (run as `postgres` when
//! the tests run as root: the server refuses root), one fresh database per test. A server that
//! exits before it answers (another process took the port between picking and binding) is
//! started again on a fresh port, a few times. A watchdog process stops the server and removes
//! its folder when the test process ends.
//!
//! Missing PostgreSQL: the test fails under `WARD_TEST_EXTERNAL=require` (as `scripts/test.sh`
//! sets it), saying how to get it, and is skipped with a message otherwise.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

struct Pg {
    port: u16,
}

static PG: OnceLock<Result<Pg, String>> = OnceLock::new();
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

const HOW: &str =
    "install Debian's `postgresql` package (scripts/setup.sh does, from scripts/apt-packages.txt)";

/// The folder of PostgreSQL's programs (`initdb`, `postgres`).
fn bin_dir() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").is_file() && p.join("postgres").is_file())
        .collect();
    found.sort();
    found.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// `program args…`, as the `postgres` user when we are root.
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

fn start() -> Result<Pg, String> {
    let bin = bin_dir().ok_or_else(|| format!("PostgreSQL is not installed: {HOW}"))?;
    let root = tempfile::Builder::new()
        .prefix("ward-pg-")
        .tempdir()
        .map_err(|e| e.to_string())?
        .keep();
    let data = root.join("data");
    std::fs::create_dir(&data).map_err(|e| e.to_string())?;
    if is_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&root)
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err("cannot give the data folder to the `postgres` user".into());
        }
    }
    let out = as_postgres(&bin.join("initdb"))
        .args(["-D"])
        .arg(&data)
        .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
        .output()
        .map_err(|e| format!("cannot run initdb: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    // The port is picked free, but another process may take it before `postgres` binds it: a
    // server that exits before it answers is started again on a fresh port.
    let mut last = String::new();
    for _ in 0..PORT_ATTEMPTS {
        match serve(&bin, &root, &data) {
            Ok(pg) => return Ok(pg),
            Err(Start::Exited(log)) => last = log,
            Err(Start::Failed(why)) => {
                let _ = std::fs::remove_dir_all(&root);
                return Err(why);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&root);
    Err(format!(
        "postgres exited before answering, {PORT_ATTEMPTS} times on fresh ports; its last log:\n{last}"
    ))
}

/// How many fresh ports `start` tries.
const PORT_ATTEMPTS: usize = 5;

enum Start {
    /// The server exited before it answered (with its log): worth another port.
    Exited(String),
    /// Anything else.
    Failed(String),
}

/// Starts `postgres` on `data` on a free port and waits until it answers, with a watchdog
/// that stops it and removes `root` when the test process ends.
fn serve(bin: &Path, root: &Path, data: &Path) -> Result<Pg, Start> {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| Start::Failed(e.to_string()))?
        .port();
    let log_path = root.join("postgres.log");
    let log = std::fs::File::create(&log_path).map_err(|e| Start::Failed(e.to_string()))?;
    let mut server = as_postgres(&bin.join("postgres"))
        .arg("-D")
        .arg(data)
        .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
        .arg("-c")
        .arg(format!("unix_socket_directories={}", root.display()))
        .args(["-c", "max_connections=200"])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| Start::Failed(format!("cannot start postgres: {e}")))?;
    // The watchdog: when this test process is gone, stop the server and remove its folder.
    let run_as = if is_root() {
        "runuser -u postgres -- "
    } else {
        ""
    };
    let script = format!(
        "while kill -0 {me} 2>/dev/null; do sleep 0.3; done; \
         {run_as}'{pg_ctl}' -D '{data}' -m fast -w -t 30 stop >/dev/null 2>&1; \
         wait_for={server}; kill -0 $wait_for 2>/dev/null && kill -9 $wait_for 2>/dev/null; \
         rm -rf '{root}'",
        me = std::process::id(),
        pg_ctl = bin.join("pg_ctl").display(),
        data = data.display(),
        server = server.id(),
        root = root.display()
    );
    let mut watchdog = match Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            let _ = server.kill();
            let _ = server.wait();
            return Err(Start::Failed(format!("cannot start the watchdog: {e}")));
        }
    };
    let read_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if run_sql(port, "postgres", "SELECT 1").is_ok() {
            break;
        }
        if server.try_wait().ok().flatten().is_some() {
            // Its watchdog goes with it: the pid it would kill at the end may be reused.
            let _ = watchdog.kill();
            let _ = watchdog.wait();
            return Err(Start::Exited(read_log()));
        }
        if Instant::now() > deadline {
            let _ = server.kill();
            let _ = server.wait();
            return Err(Start::Failed(format!(
                "postgres did not answer on port {port} within 60 s:\n{}",
                read_log()
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(Pg { port })
}

/// Runs one statement on database `db` of the test server.
pub fn run_sql(port: u16, db: &str, sql: &str) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let url = format!("postgres://postgres@127.0.0.1:{port}/{db}");
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .map_err(|e| e.to_string())?;
        let task = tokio::spawn(conn);
        let result = client.batch_execute(sql).await.map_err(|e| e.to_string());
        drop(client);
        let _ = task.await;
        result
    })
}

/// A fresh, empty database's URL; `None` when PostgreSQL is missing and the test may skip
/// (it says so). Under `WARD_TEST_EXTERNAL=require` a missing PostgreSQL fails the test.
pub fn fresh_database() -> Option<String> {
    match PG.get_or_init(start) {
        Ok(pg) => {
            let name = format!(
                "ward_{}_{}",
                std::process::id(),
                NEXT_DB.fetch_add(1, Ordering::SeqCst)
            );
            run_sql(pg.port, "postgres", &format!("CREATE DATABASE {name}"))
                .unwrap_or_else(|e| panic!("cannot create database {name}: {e}"));
            Some(format!("postgres://postgres@127.0.0.1:{}/{name}", pg.port))
        }
        Err(why) => {
            if std::env::var("WARD_TEST_EXTERNAL").as_deref() == Ok("require") {
                panic!("PostgreSQL is needed and not available: {why}");
            }
            eprintln!("skipped: PostgreSQL is not available ({why})");
            None
        }
    }
}

/// The port of the test server (starting it), for tests that run SQL of their own.
pub fn port_of(url: &str) -> u16 {
    url.rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
}
