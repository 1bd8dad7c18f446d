//! `ward-lsp`: the Ward language server (`ward lsp`), over `ward-check`, on stdio.
//!
//! [`serve`] runs the protocol on any [`Connection`] (stdio for `ward lsp`, in-memory for the
//! tests): the `initialize` handshake, then one message at a time until `shutdown` and `exit`.
//! Capabilities: full text sync, diagnostics of the whole policy set published on open, change,
//! save and close (and on `workspace/didChangeWatchedFiles` for files not open), hover, go to definition, find references, document formatting and
//! completion of keywords and top-level names. A request with parameters that cannot be read
//! gets an `InvalidParams` error, an unknown request `MethodNotFound`; unknown notifications
//! are ignored; a panic while answering becomes an `InternalError` instead of ending the
//! server. This is the only crate that speaks LSP or JSON-RPC; it knows nothing of the
//! runtime.

mod position;
pub mod transport;
mod uri;
mod world;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidChangeWatchedFiles, DidCloseTextDocument, DidOpenTextDocument,
    DidSaveTextDocument, Notification as _, PublishDiagnostics,
};
use lsp_types::request::{Formatting, GotoDefinition, HoverRequest, References, Request as _};
use lsp_types::{
    CompletionOptions, GotoDefinitionResponse, HoverProviderCapability, OneOf,
    PublishDiagnosticsParams, SaveOptions, ServerCapabilities, TextDocumentSyncCapability,
    TextDocumentSyncKind, TextDocumentSyncOptions, TextDocumentSyncSaveOptions,
};

pub use position::LineIndex;
use world::World;

/// Why the server stopped other than by `shutdown` then `exit`.
#[derive(Debug)]
pub struct Error(String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// Run the language server on stdin and stdout until the client says `exit`. Frames are read
/// by [`transport`] (bad ones are answered or skipped, never fatal); log lines go to stderr.
pub fn run_stdio() -> Result<(), Error> {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    serve_streams(stdin.lock(), stdout.lock(), &mut std::io::stderr())
}

/// Serve one client over a byte stream: `input` carries framed messages, answers are written
/// to `output`, and what the server has to say about bad frames to `log`. Returns when the
/// client says `exit` or the input ends.
pub fn serve_streams(
    input: impl std::io::BufRead,
    mut output: impl std::io::Write,
    log: &mut dyn std::io::Write,
) -> Result<(), Error> {
    let mut reader = transport::Reader::new(input);
    let mut server = Server::default();
    let write_failed = |e: std::io::Error| Error(format!("cannot write to the client: {e}"));
    loop {
        let frame = reader
            .next_frame()
            .map_err(|e| Error(format!("cannot read from the client: {e}")))?;
        let message = match frame {
            transport::Frame::Eof => {
                return Err(Error("the connection closed before `exit`".to_string()));
            }
            transport::Frame::Bad { reply, log: line } => {
                // A log that cannot be written is no reason to stop serving.
                let _ = writeln!(log, "ward lsp: {line}");
                if let Some(reply) = reply {
                    transport::write_value(&mut output, &reply).map_err(write_failed)?;
                }
                continue;
            }
            transport::Frame::Message(message, line) => {
                if let Some(line) = line {
                    let _ = writeln!(log, "ward lsp: {line}");
                }
                message
            }
        };
        let mut failed = None;
        let control = server.handle(message, &mut |m: Message| {
            if failed.is_none()
                && let Err(e) = m.write(&mut output)
            {
                failed = Some(e);
            }
        });
        if let Some(e) = failed {
            return Err(write_failed(e));
        }
        if let Control::Exit(result) = control {
            return result;
        }
    }
}

/// What the server offers.
pub fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                    include_text: Some(false),
                })),
                ..TextDocumentSyncOptions::default()
            },
        )),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".into(), ":".into(), "(".into(), "\"".into()]),
            ..CompletionOptions::default()
        }),
        signature_help_provider: Some(lsp_types::SignatureHelpOptions {
            trigger_characters: Some(vec!["(".into(), ",".into()]),
            ..lsp_types::SignatureHelpOptions::default()
        }),
        document_symbol_provider: Some(OneOf::Left(true)),
        workspace_symbol_provider: Some(OneOf::Left(true)),
        rename_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(lsp_types::CodeActionProviderCapability::Simple(true)),
        semantic_tokens_provider: Some(
            lsp_types::SemanticTokensServerCapabilities::SemanticTokensOptions(
                lsp_types::SemanticTokensOptions {
                    legend: lsp_types::SemanticTokensLegend {
                        token_types: ward_check::ide::TOKEN_KINDS
                            .iter()
                            .map(|k| lsp_types::SemanticTokenType::new(k))
                            .collect(),
                        token_modifiers: Vec::new(),
                    },
                    full: Some(lsp_types::SemanticTokensFullOptions::Delta { delta: Some(true) }),
                    range: None,
                    ..lsp_types::SemanticTokensOptions::default()
                },
            ),
        ),
        ..ServerCapabilities::default()
    }
}

/// Serve one client on an in-memory or socket `connection` (the tests use
/// `Connection::memory()`): every message until `exit`. `Ok` when the client shut the server
/// down by the protocol (`shutdown`, then `exit`).
pub fn serve(connection: &Connection) -> Result<(), Error> {
    let mut server = Server::default();
    while let Ok(message) = connection.receiver.recv() {
        let mut closed = false;
        let control = server.handle(message, &mut |m| {
            closed |= connection.sender.send(m).is_err();
        });
        if closed {
            return Err(Error("the connection closed before `exit`".to_string()));
        }
        if let Control::Exit(result) = control {
            return result;
        }
    }
    Err(Error("the connection closed before `exit`".to_string()))
}

/// The workspace root from `initialize`: the first workspace folder, else `rootUri`, else
/// `rootPath`. Read leniently: parameters that do not say mean no root.
fn workspace_root(params: &serde_json::Value) -> Option<PathBuf> {
    let from_uri = |v: &serde_json::Value| {
        serde_json::from_value::<lsp_types::Uri>(v.clone())
            .ok()
            .map(|u| uri::to_path(&u))
    };
    params
        .pointer("/workspaceFolders/0/uri")
        .and_then(from_uri)
        .or_else(|| params.get("rootUri").and_then(from_uri))
        .or_else(|| params.get("rootPath")?.as_str().map(str::to_string))
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

/// Whether the server goes on after a message.
enum Control {
    Continue,
    Exit(Result<(), Error>),
}

/// The protocol's states: before `initialize`, serving, after `shutdown`.
#[derive(Default)]
struct Server {
    /// `None` until `initialize`.
    world: Option<World>,
    shutdown: bool,
}

impl Server {
    /// Handle one message, sending what it produces (its answer, diagnostics) to `send`.
    fn handle(&mut self, message: Message, send: &mut dyn FnMut(Message)) -> Control {
        match message {
            Message::Request(request) => {
                if let Some(response) = self.request(request) {
                    send(response.into());
                }
            }
            Message::Notification(n) if n.method == "exit" => {
                return Control::Exit(if self.shutdown {
                    Ok(())
                } else {
                    Err(Error(
                        "the client sent `exit` before `shutdown`".to_string(),
                    ))
                });
            }
            Message::Notification(n) => {
                if let Some(world) = self.world.as_mut() {
                    for published in notification(world, n) {
                        send(published.into());
                    }
                }
            }
            Message::Response(_) => {}
        }
        Control::Continue
    }

    fn request(&mut self, request: Request) -> Option<Response> {
        let id = request.id.clone();
        if request.method == "initialize" {
            if self.world.is_some() {
                return Some(Response::new_err(
                    id,
                    ErrorCode::InvalidRequest as i32,
                    "the server is initialized already: `initialize` may be sent only once"
                        .to_string(),
                ));
            }
            self.world = Some(World::new(workspace_root(&request.params)));
            let result = serde_json::json!({
                "capabilities": capabilities(),
                "serverInfo": { "name": "ward-lsp", "version": env!("CARGO_PKG_VERSION") },
            });
            return Some(Response::new_ok(id, result));
        }
        let Some(world) = self.world.as_mut() else {
            return Some(Response::new_err(
                id,
                ErrorCode::ServerNotInitialized as i32,
                format!("`{}` before `initialize`", request.method),
            ));
        };
        if self.shutdown {
            return Some(Response::new_err(
                id,
                ErrorCode::InvalidRequest as i32,
                format!("`{}` after `shutdown`", request.method),
            ));
        }
        if request.method == "shutdown" {
            self.shutdown = true;
            return Some(Response::new_ok(id, ()));
        }
        Some(
            catch_unwind(AssertUnwindSafe(|| answer(world, request))).unwrap_or_else(|_| {
                Response::new_err(
                    id,
                    ErrorCode::InternalError as i32,
                    "the server failed to answer this request (a bug in ward: please report it)"
                        .to_string(),
                )
            }),
        )
    }
}

/// Apply a notification and return the diagnostics it changes. Unknown notifications and ones
/// whose parameters cannot be read are ignored (a notification has no answer).
fn notification(world: &mut World, n: Notification) -> Vec<Notification> {
    let changed = catch_unwind(AssertUnwindSafe(|| {
        let Notification { method, params } = n;
        let changed = match method.as_str() {
            DidOpenTextDocument::METHOD => {
                serde_json::from_value::<lsp_types::DidOpenTextDocumentParams>(params)
                    .map(|p| {
                        let doc = p.text_document;
                        let path = world.remember(&doc.uri);
                        world.open(&path, doc.version, doc.text);
                    })
                    .is_ok()
            }
            DidChangeTextDocument::METHOD => {
                serde_json::from_value::<lsp_types::DidChangeTextDocumentParams>(params)
                    .map(|p| {
                        let doc = p.text_document;
                        let path = world.remember(&doc.uri);
                        world.change(&path, doc.version, p.content_changes);
                    })
                    .is_ok()
            }
            DidCloseTextDocument::METHOD => {
                serde_json::from_value::<lsp_types::DidCloseTextDocumentParams>(params)
                    .map(|p| world.close(&uri::to_path(&p.text_document.uri)))
                    .is_ok()
            }
            DidSaveTextDocument::METHOD => true,
            DidChangeWatchedFiles::METHOD => {
                serde_json::from_value::<lsp_types::DidChangeWatchedFilesParams>(params)
                    .map(|p| {
                        for change in p.changes {
                            world.changed_on_disk(&uri::to_path(&change.uri));
                        }
                    })
                    .is_ok()
            }
            _ => false,
        };
        changed.then(|| world.diagnostics())
    }));
    changed
        .ok()
        .flatten()
        .unwrap_or_default()
        .into_iter()
        .map(|published| {
            let params = PublishDiagnosticsParams::new(
                published.uri,
                published.diagnostics,
                published.version,
            );
            Notification::new(PublishDiagnostics::METHOD.to_string(), params)
        })
        .collect()
}

/// Answer one request (not `shutdown`).
fn answer(world: &mut World, request: Request) -> Response {
    match request.method.as_str() {
        HoverRequest::METHOD => handle::<HoverRequest>(request, |p| {
            let at = p.text_document_position_params;
            let path = world.remember(&at.text_document.uri);
            world.hover(&path, at.position)
        }),
        GotoDefinition::METHOD => handle::<GotoDefinition>(request, |p| {
            let at = p.text_document_position_params;
            let path = world.remember(&at.text_document.uri);
            world
                .definition(&path, at.position)
                .map(GotoDefinitionResponse::Scalar)
        }),
        References::METHOD => handle::<References>(request, |p| {
            let at = p.text_document_position;
            let path = world.remember(&at.text_document.uri);
            Some(world.references(&path, at.position, p.context.include_declaration))
        }),
        Formatting::METHOD => handle::<Formatting>(request, |p| {
            let path = world.remember(&p.text_document.uri);
            Some(world.formatting(&path))
        }),
        "textDocument/completion" => raw(
            request,
            |world, p| {
                let (path, position) = at(world, &p)?;
                Ok(world.complete(&path, position))
            },
            world,
        ),
        "textDocument/signatureHelp" => raw(
            request,
            |world, p| {
                let (path, position) = at(world, &p)?;
                Ok(world.signature_help(&path, position))
            },
            world,
        ),
        "textDocument/documentSymbol" => raw(
            request,
            |world, p| {
                let path = doc(world, &p)?;
                Ok(world.document_symbols(&path))
            },
            world,
        ),
        "workspace/symbol" => raw(
            request,
            |world, p| {
                let query = p.get("query").and_then(Json::as_str).unwrap_or("");
                Ok(world.workspace_symbols(query))
            },
            world,
        ),
        "textDocument/rename" => {
            let id = request.id.clone();
            let result = (|| {
                let (path, position) = at(world, &request.params)?;
                let new_name = request
                    .params
                    .get("newName")
                    .and_then(Json::as_str)
                    .ok_or("invalid parameters for `textDocument/rename`: no `newName`")?;
                Ok::<_, String>(world.rename(&path, position, new_name))
            })();
            match result {
                Err(e) => Response::new_err(id, ErrorCode::InvalidParams as i32, e),
                Ok(Err(why)) => Response::new_err(id, ErrorCode::RequestFailed as i32, why),
                Ok(Ok(edit)) => Response::new_ok(id, edit),
            }
        }
        "textDocument/codeAction" => raw(
            request,
            |world, p| {
                let path = doc(world, &p)?;
                let range: lsp_types::Range = p
                    .get("range")
                    .cloned()
                    .and_then(|r| serde_json::from_value(r).ok())
                    .ok_or("no `range`")?;
                Ok(world.code_actions(&path, range))
            },
            world,
        ),
        "textDocument/semanticTokens/full" => raw(
            request,
            |world, p| {
                let path = doc(world, &p)?;
                let data = world.semantic_tokens(&path);
                let id = world.remember_tokens(&path, data.clone());
                Ok(serde_json::json!({ "resultId": id, "data": data }))
            },
            world,
        ),
        "textDocument/semanticTokens/full/delta" => raw(
            request,
            |world, p| {
                let path = doc(world, &p)?;
                let previous = p
                    .get("previousResultId")
                    .and_then(Json::as_str)
                    .map(str::to_string);
                let data = world.semantic_tokens(&path);
                let old = previous.and_then(|r| world.tokens_of(&path, &r));
                let id = world.remember_tokens(&path, data.clone());
                Ok(match old {
                    None => serde_json::json!({ "resultId": id, "data": data }),
                    Some(old) => {
                        // One edit: what lies between the common prefix and suffix.
                        let prefix = old.iter().zip(&data).take_while(|(a, b)| a == b).count();
                        let max = old.len().min(data.len()) - prefix;
                        let suffix = old
                            .iter()
                            .rev()
                            .zip(data.iter().rev())
                            .take(max)
                            .take_while(|(a, b)| a == b)
                            .count();
                        let edits = if prefix == old.len() && prefix == data.len() {
                            Vec::new()
                        } else {
                            vec![serde_json::json!({
                                "start": prefix,
                                "deleteCount": old.len() - prefix - suffix,
                                "data": data[prefix..data.len() - suffix],
                            })]
                        };
                        serde_json::json!({ "resultId": id, "edits": edits })
                    }
                })
            },
            world,
        ),
        _ => Response::new_err(
            request.id,
            ErrorCode::MethodNotFound as i32,
            format!("unknown request `{}`", request.method),
        ),
    }
}

type Json = serde_json::Value;

/// Answer a request whose parameters are read by hand: `Err` is an `InvalidParams` message.
fn raw(
    request: Request,
    f: impl FnOnce(&mut World, Json) -> Result<Json, String>,
    world: &mut World,
) -> Response {
    let method = request.method.clone();
    match f(world, request.params) {
        Ok(result) => Response::new_ok(request.id, result),
        Err(e) => Response::new_err(
            request.id,
            ErrorCode::InvalidParams as i32,
            format!("invalid parameters for `{method}`: {e}"),
        ),
    }
}

/// The document of a request's `textDocument.uri`.
fn doc(world: &mut World, params: &Json) -> Result<String, String> {
    let uri = params
        .pointer("/textDocument/uri")
        .cloned()
        .and_then(|u| serde_json::from_value::<lsp_types::Uri>(u).ok())
        .ok_or("no `textDocument.uri`")?;
    Ok(world.remember(&uri))
}

/// The document and position of a request.
fn at(world: &mut World, params: &Json) -> Result<(String, lsp_types::Position), String> {
    let path = doc(world, params)?;
    let position = params
        .get("position")
        .cloned()
        .and_then(|p| serde_json::from_value(p).ok())
        .ok_or("no `position`")?;
    Ok((path, position))
}

/// Read the parameters of request `R` and answer with `f`, or with `InvalidParams`.
fn handle<R: lsp_types::request::Request>(
    request: Request,
    f: impl FnOnce(R::Params) -> R::Result,
) -> Response {
    match serde_json::from_value::<R::Params>(request.params) {
        Ok(params) => Response::new_ok(request.id, f(params)),
        Err(e) => Response::new_err(
            request.id,
            ErrorCode::InvalidParams as i32,
            format!("invalid parameters for `{}`: {e}", R::METHOD),
        ),
    }
}
