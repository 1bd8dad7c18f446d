//! The pipes of `ward mcp-guard`: the tool server runs as a child process; one thread pumps the
//! client's lines (the guard's stdin) through the [`Session`] to the child's stdin, another
//! pumps the child's stdout back to the client (the guard's stdout), and the calling thread
//! waits for either end to close. The child's stderr is the guard's stderr.
//!
//! How a session ends:
//! - the client closes the guard's stdin: the child's stdin is closed, the child is given
//!   `grace` to exit, then `SIGTERM`, then after two more seconds `SIGKILL` (the order the
//!   MCP stdio transport asks of clients); the guard exits 0 if the child exited 0.
//! - the child closes its stdout or exits: every request still waiting is answered with an
//!   error saying so, the child is reaped (killed if it lingers without its stdout), and the
//!   guard exits 1 with a message on stderr.
//!
//! A line is written to either side whole, under one lock per side, so the two pumps never
//! interleave bytes of two messages. This module knows processes, threads and pipes; what a
//! line means is the session's.

use std::io::{BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::frame::{Frame, LineReader};
use crate::session::{FromServer, Out, Session};

/// The longest line accepted from the tool server (its results may be large); a longer one is
/// not passed on.
pub const MAX_SERVER_MESSAGE: usize = 64 << 20;

/// How the proxy runs.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// The tool server's command and its arguments.
    pub command: Vec<String>,
    /// The longest client line read (`--max-message`).
    pub max_message: usize,
    /// How long the child has to exit after its stdin closed, before `SIGTERM`.
    pub grace: Duration,
}

/// How the session ended.
#[derive(Debug)]
pub struct Ended {
    /// The guard's exit code.
    pub code: u8,
    /// What to say on stderr, if anything.
    pub message: Option<String>,
}

enum Event {
    ClientClosed,
    ServerClosed(Option<String>),
}

type Shared<W> = Arc<Mutex<W>>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Writes `line` and a line break, whole, and flushes.
fn send_line(out: &Mutex<impl Write>, line: &[u8]) -> std::io::Result<()> {
    let mut out = lock(out);
    out.write_all(line)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Starts the tool server `command` (program and arguments) with its stdin and stdout piped to
/// this process and its stderr shared with ours.
pub(crate) fn start_tool_server(
    command: &[String],
) -> Result<(Child, ChildStdin, ChildStdout), String> {
    let Some((program, args)) = command.split_first() else {
        return Err("no tool server command after `--`".into());
    };
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start the tool server `{program}`: {e}"))?;
    let (Some(input), Some(output)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = child.kill();
        return Err("cannot open the tool server's stdin and stdout".into());
    };
    Ok((child, input, output))
}

/// Starts the tool server and pumps messages until the session ends.
pub fn run<R, W>(
    session: Session,
    config: &ProxyConfig,
    client_in: R,
    client_out: W,
) -> Result<Ended, String>
where
    R: Read + Send + 'static,
    W: Write + Send + 'static,
{
    let (mut child, child_in, child_out) = start_tool_server(&config.command)?;
    let session = Arc::new(session);
    let client_out: Shared<W> = Arc::new(Mutex::new(client_out));
    // Held while a client line is being handled: the end waits for it, so no decision is
    // logged without its answer being written.
    let busy = Arc::new(Mutex::new(()));
    let (events, ended) = channel();

    spawn("ward-mcp-server", {
        let (session, client_out, events) = (session.clone(), client_out.clone(), events.clone());
        move || pump_server(&session, child_out, &client_out, &events)
    })?;
    spawn("ward-mcp-client", {
        let (session, client_out, busy) = (session.clone(), client_out.clone(), busy.clone());
        let max = config.max_message;
        move || {
            pump_client(
                &session,
                client_in,
                max,
                child_in,
                &client_out,
                &busy,
                &events,
            )
        }
    })?;

    let end = match ended.recv() {
        Ok(Event::ServerClosed(err)) => {
            // The child closed its stdout (or it could not be read): it can answer nothing
            // more. Give it a moment to exit by itself, then stop it.
            let status = stop(&mut child, Duration::from_millis(500));
            let why = match (&err, status) {
                (Some(err), _) => format!("the tool server's output could not be read: {err}"),
                (None, Some(status)) => format!("the tool server exited ({})", describe(status)),
                (None, None) => "the tool server closed its output".to_owned(),
            };
            Ended {
                code: 1,
                message: Some(why),
            }
        }
        Ok(Event::ClientClosed) | Err(_) => {
            // The client is done: the child's stdin is closed; wait for the child.
            let grace = match ended.recv_timeout(config.grace) {
                Ok(_) | Err(RecvTimeoutError::Disconnected) => config.grace,
                Err(RecvTimeoutError::Timeout) => Duration::ZERO,
            };
            match wait_until(&mut child, Instant::now() + grace) {
                Some(status) if status.success() => Ended {
                    code: 0,
                    message: None,
                },
                Some(status) => Ended {
                    code: 1,
                    message: Some(format!("the tool server exited ({})", describe(status))),
                },
                None => {
                    let stopped = stop(&mut child, Duration::ZERO);
                    Ended {
                        code: 0,
                        message: Some(format!(
                            "the tool server did not exit within {}s of its input closing: it was stopped ({})",
                            config.grace.as_secs(),
                            stopped.map_or_else(|| "it could not be reaped".into(), describe)
                        )),
                    }
                }
            }
        }
    };
    let _busy = lock(&busy);
    let why = format!(
        "{}: the request was not answered",
        end.message.as_deref().unwrap_or("the tool server exited")
    );
    for answer in session.server_gone(&why) {
        let _ = send_line(&client_out, answer.as_bytes());
    }
    let _ = lock(&client_out).flush();
    session.guard().log().close();
    Ok(end)
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<(), String> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .map(drop)
        .map_err(|e| format!("cannot start a thread: {e}"))
}

/// The client's lines through the session to the tool server.
fn pump_client<R: Read, W: Write>(
    session: &Session,
    client_in: R,
    max: usize,
    child_in: ChildStdin,
    client_out: &Mutex<W>,
    busy: &Mutex<()>,
    events: &Sender<Event>,
) {
    let mut child_in = Some(std::io::BufWriter::new(child_in));
    let mut lines = LineReader::new(BufReader::with_capacity(64 * 1024, client_in), max);
    loop {
        let frame = lines.next_frame(|| {
            // Told at once, while the client may still be writing the rest of the line.
            let _ = send_line(
                client_out,
                session.client_too_long(max as u64 + 1).as_bytes(),
            );
        });
        match frame {
            Ok(Frame::Line(line)) => {
                let _busy = lock(busy);
                match session.client_line(&line) {
                    Out::Server => {
                        let sent = match child_in.as_mut() {
                            Some(w) => w
                                .write_all(&line)
                                .and_then(|()| w.write_all(b"\n"))
                                .and_then(|()| w.flush()),
                            None => Err(std::io::ErrorKind::BrokenPipe.into()),
                        };
                        if sent.is_err() {
                            child_in = None;
                            if let Some(answer) = session.not_sent(&line) {
                                let _ = send_line(client_out, answer.as_bytes());
                            }
                        }
                    }
                    Out::Client(answer) => {
                        let _ = send_line(client_out, answer.as_bytes());
                    }
                    Out::Nothing => {}
                }
            }
            Ok(Frame::TooLong { .. }) => {}
            Ok(Frame::Eof) | Err(_) => break,
        }
    }
    // Said before the child's stdin closes, so that the end is seen as the client's even when
    // the child exits at once.
    let _ = events.send(Event::ClientClosed);
    drop(child_in);
}

/// The tool server's lines to the client.
fn pump_server<W: Write>(
    session: &Session,
    child_out: impl Read,
    client_out: &Mutex<W>,
    events: &Sender<Event>,
) {
    let mut lines = LineReader::new(
        BufReader::with_capacity(64 * 1024, child_out),
        MAX_SERVER_MESSAGE,
    );
    let err = loop {
        match lines.next_frame(|| {}) {
            Ok(Frame::Line(line)) => match session.server_line(&line) {
                FromServer::Forward => {
                    let _ = send_line(client_out, &line);
                }
                FromServer::Drop(why) => note(&why),
                FromServer::Skip => {}
            },
            Ok(Frame::TooLong { bytes, .. }) => note(&format!(
                "the tool server wrote a line of {bytes} bytes, more than the {MAX_SERVER_MESSAGE} the guard reads: not passed on"
            )),
            Ok(Frame::Eof) => break None,
            Err(e) => break Some(e.to_string()),
        }
    };
    let _ = events.send(Event::ServerClosed(err));
}

/// Says something about the session on the guard's stderr.
pub fn note(message: &str) {
    let _ = writeln!(std::io::stderr().lock(), "ward mcp-guard: {message}");
}

/// Waits up to `grace` for the child to exit, then `SIGTERM`, two seconds, `SIGKILL`.
fn stop(child: &mut Child, grace: Duration) -> Option<ExitStatus> {
    if let Some(status) = wait_until(child, Instant::now() + grace) {
        return Some(status);
    }
    terminate(child);
    if let Some(status) = wait_until(child, Instant::now() + Duration::from_secs(2)) {
        return Some(status);
    }
    let _ = child.kill();
    child.wait().ok()
}

fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) | Err(_) => return None,
        }
    }
}

fn terminate(child: &Child) {
    let pid = rustix::process::Pid::from_child(child);
    let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
}

fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => "unknown status".into(),
    }
}
