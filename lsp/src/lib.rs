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
mod uri;
mod world;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidChangeWatchedFiles, DidCloseTextDocument, DidOpenTextDocument,
    DidSaveTextDocument, Notification as _, PublishDiagnostics,
};
use lsp_types::request::{
    Completion, Formatting, GotoDefinition, HoverRequest, References, Request as _,
};
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

/// Run the language server on stdin and stdout until the client says `exit`.
pub fn run_stdio() -> Result<(), Error> {
    let (connection, io_threads) = Connection::stdio();
    let served = serve(&connection);
    drop(connection);
    let joined = io_threads
        .join()
        .map_err(|e| Error(format!("the connection failed: {e}")));
    served.and(joined)
}

/// What the server offers.
pub fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::FULL),
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
        completion_provider: Some(CompletionOptions::default()),
        ..ServerCapabilities::default()
    }
}

/// Serve one client on `connection`: the handshake, then every message until `exit`. `Ok`
/// when the client shut the server down by the protocol (`shutdown`, then `exit`).
pub fn serve(connection: &Connection) -> Result<(), Error> {
    let (id, params) = connection
        .initialize_start()
        .map_err(|e| Error(format!("initialization failed: {e}")))?;
    let world = World::new(workspace_root(&params));
    let result = serde_json::json!({
        "capabilities": capabilities(),
        "serverInfo": { "name": "ward-lsp" },
    });
    connection
        .initialize_finish(id, result)
        .map_err(|e| Error(format!("initialization failed: {e}")))?;
    Server {
        connection,
        world,
        shutdown: false,
    }
    .run()
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

struct Server<'c> {
    connection: &'c Connection,
    world: World,
    shutdown: bool,
}

impl Server<'_> {
    fn run(mut self) -> Result<(), Error> {
        while let Ok(message) = self.connection.receiver.recv() {
            match message {
                Message::Request(request) => {
                    let response = self.request(request);
                    self.send(response.into())?;
                }
                Message::Notification(n) if n.method == "exit" => {
                    return if self.shutdown {
                        Ok(())
                    } else {
                        Err(Error(
                            "the client sent `exit` before `shutdown`".to_string(),
                        ))
                    };
                }
                Message::Notification(n) => self.notification(n)?,
                Message::Response(_) => {}
            }
        }
        Err(Error("the connection closed before `exit`".to_string()))
    }

    fn send(&self, message: Message) -> Result<(), Error> {
        self.connection
            .sender
            .send(message)
            .map_err(|_| Error("the connection closed before `exit`".to_string()))
    }

    fn request(&mut self, request: Request) -> Response {
        let id = request.id.clone();
        if self.shutdown {
            return Response::new_err(
                id,
                ErrorCode::InvalidRequest as i32,
                format!("`{}` after `shutdown`", request.method),
            );
        }
        if request.method == "shutdown" {
            self.shutdown = true;
            return Response::new_ok(id, ());
        }
        let world = &self.world;
        catch_unwind(AssertUnwindSafe(|| answer(world, request))).unwrap_or_else(|_| {
            Response::new_err(
                id,
                ErrorCode::InternalError as i32,
                "the server failed to answer this request (a bug in ward: please report it)"
                    .to_string(),
            )
        })
    }

    /// Apply a notification and publish the diagnostics it changes. Unknown notifications
    /// and ones whose parameters cannot be read are ignored (a notification has no answer).
    fn notification(&mut self, n: Notification) -> Result<(), Error> {
        let world = &mut self.world;
        let changed = catch_unwind(AssertUnwindSafe(|| {
            let Notification { method, params } = n;
            let changed = match method.as_str() {
                DidOpenTextDocument::METHOD => {
                    serde_json::from_value::<lsp_types::DidOpenTextDocumentParams>(params)
                        .map(|p| {
                            let doc = p.text_document;
                            world.open(&uri::to_path(&doc.uri), doc.version, doc.text);
                        })
                        .is_ok()
                }
                DidChangeTextDocument::METHOD => {
                    serde_json::from_value::<lsp_types::DidChangeTextDocumentParams>(params)
                        .map(|p| {
                            let doc = p.text_document;
                            world.change(&uri::to_path(&doc.uri), doc.version, p.content_changes);
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
        for published in changed.ok().flatten().unwrap_or_default() {
            let params = PublishDiagnosticsParams::new(
                published.uri,
                published.diagnostics,
                published.version,
            );
            self.send(Notification::new(PublishDiagnostics::METHOD.to_string(), params).into())?;
        }
        Ok(())
    }
}

/// Answer one request (not `shutdown`).
fn answer(world: &World, request: Request) -> Response {
    match request.method.as_str() {
        HoverRequest::METHOD => handle::<HoverRequest>(request, |p| {
            let at = p.text_document_position_params;
            world.hover(&uri::to_path(&at.text_document.uri), at.position)
        }),
        GotoDefinition::METHOD => handle::<GotoDefinition>(request, |p| {
            let at = p.text_document_position_params;
            world
                .definition(&uri::to_path(&at.text_document.uri), at.position)
                .map(GotoDefinitionResponse::Scalar)
        }),
        References::METHOD => handle::<References>(request, |p| {
            let at = p.text_document_position;
            Some(world.references(
                &uri::to_path(&at.text_document.uri),
                at.position,
                p.context.include_declaration,
            ))
        }),
        Formatting::METHOD => handle::<Formatting>(request, |p| {
            Some(world.formatting(&uri::to_path(&p.text_document.uri)))
        }),
        Completion::METHOD => handle::<Completion>(request, |_| {
            Some(lsp_types::CompletionResponse::Array(world.completion()))
        }),
        _ => Response::new_err(
            request.id,
            ErrorCode::MethodNotFound as i32,
            format!("unknown request `{}`", request.method),
        ),
    }
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
