//! The server's state and the language features over it: the salsa database with one input per
//! file of the policy set (the open documents plus every `.ward` file under the workspace
//! root), and hover, definition, references, formatting, completion and diagnostics computed
//! from [`ward_check::check_diagnostics`], [`ward_check::check_names`] and
//! [`ward_check::check`] in LSP terms.
//!
//! Inputs are updated in place when a document changes, so salsa re-parses only that file and
//! re-checks only the rules the edit touches (`docs/editors.md`).
//! This module knows nothing of JSON-RPC (the message loop is in the crate root) or of the
//! runtime.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use lsp_types::{
    Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Hover, HoverContents, Location,
    MarkupContent, MarkupKind, NumberOrString, Position, TextDocumentContentChangeEvent, TextEdit,
    Uri,
};
use salsa::Setter;
use ward_check::{Checked, Database, PolicySet, STDLIB, SourceFile, Symbol};
use ward_syntax::Severity;

use crate::position::LineIndex;
use crate::uri;

/// Everything the server knows about the policy set.
pub struct World {
    db: Database,
    set: PolicySet,
    /// The user's files in sorted path order, with their inputs (the order of the set).
    files: Vec<(String, SourceFile)>,
    /// Open documents by path, with the version the client gave.
    open: HashMap<String, i32>,
    root: Option<PathBuf>,
    /// Files whose last published diagnostics were not empty (they must be cleared).
    published: Vec<String>,
    /// The URI each path was last named by the client, to give it back byte for byte (a
    /// client may spell a path differently from our encoding: `%3A` for `:`, lower-case hex).
    uris: HashMap<String, Uri>,
    /// The last semantic tokens sent for each document, with their result id.
    tokens: HashMap<String, (String, Vec<u32>)>,
    next_tokens: u64,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("files", &self.files.len())
            .field("open", &self.open)
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

/// Diagnostics for one document.
#[derive(Debug)]
pub struct Published {
    pub uri: Uri,
    pub diagnostics: Vec<Diagnostic>,
    pub version: Option<i32>,
}

impl World {
    /// A world with every `.ward` file under `root` (unreadable files and folders are left out:
    /// the editor still works on what it opens).
    pub fn new(root: Option<PathBuf>) -> World {
        let files = root
            .as_deref()
            .filter(|r| r.is_dir())
            .and_then(|r| ward_files::load_policy_set(r).ok())
            .unwrap_or_default();
        // Copies of the stdlib written for go to definition are not the user's files.
        let copies = stdlib_dir();
        let files: Vec<(String, String)> = files
            .into_iter()
            .filter(|(p, _)| !copies.as_ref().is_some_and(|d| Path::new(p).starts_with(d)))
            .collect();
        let db = Database::default();
        let set = db.policy_set(&files);
        let inputs = set.files(&db).clone();
        World {
            files: files.into_iter().map(|(p, _)| p).zip(inputs).collect(),
            db,
            set,
            open: HashMap::new(),
            root,
            published: Vec::new(),
            uris: HashMap::new(),
            tokens: HashMap::new(),
            next_tokens: 0,
        }
    }

    /// Keep the tokens just sent for `path`; their result id.
    pub fn remember_tokens(&mut self, path: &str, data: Vec<u32>) -> String {
        self.next_tokens += 1;
        let id = self.next_tokens.to_string();
        self.tokens.insert(path.to_string(), (id.clone(), data));
        id
    }

    /// The tokens last sent for `path` under `result_id`, if they were.
    pub fn tokens_of(&self, path: &str, result_id: &str) -> Option<Vec<u32>> {
        self.tokens
            .get(path)
            .filter(|(id, _)| id == result_id)
            .map(|(_, data)| data.clone())
    }

    /// The path of a URI the client sent, remembering its spelling for the answers.
    pub fn remember(&mut self, uri: &Uri) -> String {
        let path = uri::to_path(uri);
        if self.uris.get(&path) != Some(uri) {
            self.uris.insert(path.clone(), uri.clone());
        }
        path
    }

    /// The URI of `path`: as the client spelled it, else made from the path.
    pub fn uri(&self, path: &str) -> Option<Uri> {
        self.uris
            .get(path)
            .cloned()
            .or_else(|| uri::from_path(path))
    }

    fn index(&self, path: &str) -> Option<usize> {
        self.files
            .binary_search_by(|(p, _)| p.as_str().cmp(path))
            .ok()
    }

    /// Set the text of `path`, adding it to the policy set when it is new.
    fn set_text(&mut self, path: &str, text: String) {
        match self.files.binary_search_by(|(p, _)| p.as_str().cmp(path)) {
            Ok(i) => {
                let file = self.files[i].1;
                if *file.text(&self.db) != text {
                    file.set_text(&mut self.db).to(text);
                }
            }
            Err(i) => {
                let file = SourceFile::new(&self.db, path.to_string(), text);
                self.files.insert(i, (path.to_string(), file));
                self.update_set();
            }
        }
    }

    fn update_set(&mut self) {
        let inputs = self.files.iter().map(|(_, f)| *f).collect();
        self.set.set_files(&mut self.db).to(inputs);
    }

    pub fn open(&mut self, path: &str, version: i32, text: String) {
        if self.is_stdlib_copy(path) {
            return;
        }
        self.open.insert(path.to_string(), version);
        self.set_text(path, text);
    }

    /// Apply the changes of a `didChange` (whole texts, or ranges if the client sends them).
    pub fn change(
        &mut self,
        path: &str,
        version: i32,
        changes: Vec<TextDocumentContentChangeEvent>,
    ) {
        let Some(i) = self.index(path) else {
            return;
        };
        let mut text = self.files[i].1.text(&self.db).clone();
        for change in changes {
            match change.range {
                Some(range) => {
                    let index = LineIndex::new(&text);
                    let start = index.offset(range.start) as usize;
                    let end = (index.offset(range.end) as usize).max(start);
                    text.replace_range(start..end, &change.text);
                }
                None => text = change.text,
            }
        }
        self.open.insert(path.to_string(), version);
        self.set_text(path, text);
    }

    /// A closed document goes back to its text on disk if it is part of the workspace, and
    /// leaves the policy set otherwise.
    pub fn close(&mut self, path: &str) {
        self.open.remove(path);
        let on_disk = self
            .root
            .as_deref()
            .filter(|root| Path::new(path).starts_with(root))
            .and_then(|_| std::fs::read_to_string(path).ok());
        match on_disk {
            Some(text) => self.set_text(path, text),
            None => {
                if let Some(i) = self.index(path) {
                    self.files.remove(i);
                    self.update_set();
                }
            }
        }
    }

    /// A `.ward` file changed on disk (`workspace/didChangeWatchedFiles`): read it again, add
    /// it or drop it. Open documents are the editor's: their text on disk does not count.
    pub fn changed_on_disk(&mut self, path: &str) {
        if self.open.contains_key(path) || !path.ends_with(".ward") || self.is_stdlib_copy(path) {
            return;
        }
        match std::fs::read_to_string(path) {
            Ok(text) => self.set_text(path, text),
            Err(_) => {
                if let Some(i) = self.index(path) {
                    self.files.remove(i);
                    self.update_set();
                }
            }
        }
    }

    /// Whether `path` is a copy of a stdlib module in the stdlib folder (read-only, not part
    /// of the policy set).
    fn is_stdlib_copy(&self, path: &str) -> bool {
        stdlib_dir().is_some_and(|dir| Path::new(path).starts_with(dir))
    }

    pub fn is_known(&self, path: &str) -> bool {
        self.index(path).is_some()
    }

    fn checked(&self) -> &Checked {
        ward_check::check(&self.db, self.set)
    }

    /// The path and text of file `i` of the checker's numbering (user files, then stdlib).
    fn file(&self, i: usize) -> Option<(&str, &str)> {
        match self.files.get(i) {
            Some((path, input)) => Some((path, input.text(&self.db))),
            None => STDLIB
                .get(i - self.files.len())
                .map(|(_, path, text)| (*path, *text)),
        }
    }

    fn location(&self, file: usize, span: ward_syntax::Span) -> Option<Location> {
        if let Some(module) = file.checked_sub(self.files.len()) {
            return self.stdlib_location(module, span);
        }
        let (path, text) = self.file(file)?;
        Some(Location::new(
            self.uri(path)?,
            LineIndex::new(text).range(span),
        ))
    }

    /// Diagnostics of the whole policy set, for every file that has some now or had some at
    /// the last call (to clear them), and for every open document.
    pub fn diagnostics(&mut self) -> Vec<Published> {
        let mut by_file: BTreeMap<usize, Vec<Diagnostic>> = BTreeMap::new();
        // Only the diagnostics: the symbols are gathered when a request needs them.
        for d in ward_check::check_diagnostics(&self.db, self.set) {
            let Some(i) = self.index(&d.file) else {
                continue;
            };
            by_file
                .entry(i)
                .or_default()
                .push(self.to_lsp(i, &d.diagnostic));
        }
        let mut out = Vec::new();
        let mut published = Vec::new();
        for (i, (path, _)) in self.files.iter().enumerate() {
            let diagnostics = by_file.remove(&i).unwrap_or_default();
            let had = self.published.contains(path);
            let version = self.open.get(path).copied();
            if diagnostics.is_empty() && !had && version.is_none() {
                continue;
            }
            if !diagnostics.is_empty() {
                published.push(path.clone());
            }
            if let Some(uri) = self.uri(path) {
                out.push(Published {
                    uri,
                    diagnostics,
                    version,
                });
            }
        }
        // Files that left the policy set since: clear what was shown for them.
        for path in &self.published {
            if !self.is_known(path)
                && let Some(uri) = self.uri(path)
            {
                out.push(Published {
                    uri,
                    diagnostics: Vec::new(),
                    version: None,
                });
            }
        }
        self.published = published;
        out
    }

    /// One diagnostic of file `i` in LSP terms: the help is appended to the message, secondary
    /// labels become related information (those in the stdlib, which is not on disk, are left
    /// out).
    fn to_lsp(&self, i: usize, d: &ward_syntax::Diagnostic) -> Diagnostic {
        let text = self.file(i).map_or("", |(_, t)| t);
        let index = LineIndex::new(text);
        let mut message = d.message.clone();
        if let Some(primary) = d.labels.first().filter(|l| !l.message.is_empty()) {
            message.push_str(&format!("\n{}", primary.message));
        }
        if let Some(help) = &d.help {
            message.push_str(&format!("\nhelp: {help}"));
        }
        let related: Vec<DiagnosticRelatedInformation> = d
            .labels
            .iter()
            .skip(1)
            .filter_map(|label| {
                let file = label.file.map_or(i, |f| f.0 as usize);
                Some(DiagnosticRelatedInformation {
                    location: self.location(file, label.span)?,
                    message: if label.message.is_empty() {
                        "see here".to_string()
                    } else {
                        label.message.clone()
                    },
                })
            })
            .collect();
        Diagnostic {
            range: index.range(d.span()),
            severity: Some(match d.severity {
                Severity::Error => DiagnosticSeverity::ERROR,
                Severity::Warning => DiagnosticSeverity::WARNING,
            }),
            code: Some(NumberOrString::String(d.code.to_string())),
            source: Some("ward".to_string()),
            message,
            related_information: (!related.is_empty()).then_some(related),
            ..Diagnostic::default()
        }
    }

    /// The symbol at `position` of `path`.
    fn symbol_at(&self, path: &str, position: Position) -> Option<&Symbol> {
        let i = self.file_index(path)?;
        let (offset, _) = self.offset_in(i, position)?;
        self.checked().symbol_at(i, offset)
    }

    pub fn hover(&self, path: &str, position: Position) -> Option<Hover> {
        let Some(symbol) = self.symbol_at(path, position) else {
            return self.hover_word(path, position);
        };
        let mut value = format!("```ward\n{}\n```", symbol.detail);
        if let Some(doc) = symbol.doc.as_deref().filter(|d| !d.trim().is_empty()) {
            value.push_str("\n\n---\n\n");
            value.push_str(doc.trim());
        }
        let (_, text) = self.file(symbol.file)?;
        Some(Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value,
            }),
            range: Some(LineIndex::new(text).range(symbol.span)),
        })
    }

    pub fn definition(&self, path: &str, position: Position) -> Option<Location> {
        let symbol = self.symbol_at(path, position)?;
        let (file, span) = symbol.definition?;
        if let ward_check::SymbolKind::Module = symbol.kind {
            return self.location(file, ward_syntax::Span::default());
        }
        self.location(file, span)
    }

    pub fn references(&self, path: &str, position: Position, declaration: bool) -> Vec<Location> {
        let Some(symbol) = self.symbol_at(path, position) else {
            return Vec::new();
        };
        self.checked()
            .references(symbol)
            .filter(|s| declaration || !s.is_declaration())
            .filter_map(|s| self.location(s.file, s.span))
            .collect()
    }

    /// The edit that formats `path`: none when it is formatted already or does not parse.
    pub fn formatting(&self, path: &str) -> Vec<TextEdit> {
        let Some(i) = self.index(path) else {
            return Vec::new();
        };
        let text = self.files[i].1.text(&self.db);
        match ward_syntax::format(text) {
            Ok(formatted) if formatted != *text => {
                vec![TextEdit::new(LineIndex::new(text).full_range(), formatted)]
            }
            _ => Vec::new(),
        }
    }
}

/// The ids of entities in the estate files that tests load (`entities from "…"`), read when
/// completion asks.
struct TestEstates(Vec<serde_json::Value>);

impl ward_check::ide::EstateIds for TestEstates {
    fn ids(&self, entity_type: &str) -> Vec<String> {
        self.0
            .iter()
            .filter_map(|doc| {
                doc.pointer(&format!("/entities/{entity_type}"))?
                    .as_object()
            })
            .flat_map(|ids| ids.keys().cloned())
            .collect()
    }
}

/// What an LSP answer needs: JSON values, written by hand for the features below.
type Json = serde_json::Value;

fn json_range(r: lsp_types::Range) -> Json {
    serde_json::to_value(r).unwrap_or(Json::Null)
}

impl World {
    /// The file numbering of the checker for `path`: a user file, or a stdlib module when
    /// `path` is its copy in the stdlib folder (go to definition opens those).
    fn file_index(&self, path: &str) -> Option<usize> {
        self.index(path).or_else(|| {
            let dir = stdlib_dir()?;
            let name = Path::new(path)
                .strip_prefix(&dir)
                .ok()?
                .to_str()?
                .to_string();
            STDLIB
                .iter()
                .position(|(_, p, _)| p.strip_prefix("std/") == Some(name.as_str()))
                .map(|m| self.files.len() + m)
        })
    }

    fn offset_in(&self, file: usize, position: Position) -> Option<(u32, &str)> {
        let (_, text) = self.file(file)?;
        Some((LineIndex::new(text).offset(position), text))
    }

    /// Hover where no name resolves: keywords, `now`, builtins, `use std.…`.
    pub fn hover_word(&self, path: &str, position: Position) -> Option<Hover> {
        let file = self.file_index(path)?;
        let (offset, text) = self.offset_in(file, position)?;
        let span = ward_check::ide::word_at(text, offset)?;
        let word = &text[span.range()];
        let line_start = text[..span.start as usize].rfind('\n').map_or(0, |i| i + 1);
        let line = &text[line_start..];
        let value = if line.trim_start().starts_with("use ") && word != "use" {
            let names = &self.checked().names;
            let module = names.modules.iter().find(|(m, _)| m.name == word);
            match module {
                Some((m, _)) => {
                    let mut value = format!("```ward\nmodule std.{}\n```\n\nThe stdlib module `std.{}`: `use std.{}` makes its items available as `{}.NAME`; `use std.{}.{{a, b}}` imports names.\n", m.name, m.name, m.name, m.name, m.name);
                    for item in &m.items {
                        value.push_str(&format!("\n- `{}`", item.detail));
                        if let Some(doc) = item.doc.as_deref().and_then(|d| d.lines().next()) {
                            value.push_str(&format!(": {doc}"));
                        }
                    }
                    value
                }
                None if word == "std" => "The standard library: `std.time`, `std.identity`, `std.deps`, written in Ward and shipped inside `ward`.".to_string(),
                None => return None,
            }
        } else if let Some(doc) = ward_check::ide::keyword_doc(word) {
            format!("```ward\n{word}\n```\n\n{doc}")
        } else if let Some((_, _, signature, doc)) =
            ward_check::ide::builtins().find(|b| b.0 == word)
        {
            format!("```ward\n{signature}\n```\n\n{doc} (builtin)")
        } else {
            return None;
        };
        Some(Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value,
            }),
            range: Some(LineIndex::new(text).range(span)),
        })
    }

    /// Contextual completion at `position` (LSP `CompletionItem`s as JSON).
    pub fn complete(&self, path: &str, position: Position) -> Json {
        let Some(file) = self.file_index(path) else {
            return Json::Array(Vec::new());
        };
        let Some((offset, text)) = self.offset_in(file, position) else {
            return Json::Array(Vec::new());
        };
        let texts: Vec<&str> = self
            .files
            .iter()
            .map(|(_, f)| f.text(&self.db).as_str())
            .collect();
        let estates = TestEstates(self.test_estates());
        let items = ward_check::ide::complete(
            ward_check::check_names(&self.db, self.set),
            text,
            offset,
            &texts,
            &estates,
        );
        use ward_check::ide::ItemKind as K;
        let items: Vec<Json> = items
            .into_iter()
            .map(|c| {
                // LSP `CompletionItemKind` numbers.
                let kind = match c.kind {
                    K::Keyword => 14,
                    K::Field | K::Attribute => 5,
                    K::Relation => 8,
                    K::Variant => 20,
                    K::Action => 23,
                    K::EntityType => 7,
                    K::Enum => 13,
                    K::Constant => 21,
                    K::Function => 3,
                    K::Method => 2,
                    K::Window => 12,
                    K::Module => 9,
                    K::Variable => 6,
                    K::EntityId => 12,
                };
                let mut item = serde_json::json!({
                    "label": c.label, "kind": kind, "detail": c.detail,
                });
                if let Some(doc) = c.doc {
                    item["documentation"] = serde_json::json!({ "kind": "markdown", "value": doc });
                }
                item
            })
            .collect();
        Json::Array(items)
    }

    /// The estate documents the tests of the set load, parsed (unreadable ones left out).
    fn test_estates(&self) -> Vec<Json> {
        let mut out = Vec::new();
        for (path, file) in &self.files {
            for item in &ward_check::parse(&self.db, *file).ast.items {
                let ward_syntax::ast::Item::Test(t) = item else {
                    continue;
                };
                let Some(ward_syntax::ast::TestEntities::From(json)) = &t.entities else {
                    continue;
                };
                let base = Path::new(path).parent().unwrap_or(Path::new(""));
                let Ok(text) = std::fs::read_to_string(base.join(&json.value)) else {
                    continue;
                };
                if let Ok(doc) = serde_json::from_str(&text) {
                    out.push(doc);
                }
            }
        }
        out
    }

    pub fn signature_help(&self, path: &str, position: Position) -> Json {
        let Some(file) = self.file_index(path) else {
            return Json::Null;
        };
        let Some((offset, text)) = self.offset_in(file, position) else {
            return Json::Null;
        };
        match ward_check::ide::signature_help(
            ward_check::check_names(&self.db, self.set),
            text,
            offset,
        ) {
            None => Json::Null,
            Some(s) => serde_json::json!({
                "signatures": [{
                    "label": s.label,
                    "documentation": s.doc,
                    "parameters": s.params.iter().map(|p| serde_json::json!({ "label": p })).collect::<Vec<_>>(),
                }],
                "activeSignature": 0,
                "activeParameter": s.active.min(s.params.len().saturating_sub(1)),
            }),
        }
    }

    /// The outline of a document (`DocumentSymbol`s).
    pub fn document_symbols(&self, path: &str) -> Json {
        let Some(file) = self.file_index(path) else {
            return Json::Array(Vec::new());
        };
        let Some((_, text)) = self.file(file) else {
            return Json::Array(Vec::new());
        };
        let parsed;
        let ast = match self.files.get(file) {
            Some((_, input)) => &ward_check::parse(&self.db, *input).ast,
            None => {
                parsed = ward_syntax::parse(text).0;
                &parsed
            }
        };
        let index = LineIndex::new(text);
        fn to_json(index: &LineIndex<'_>, item: &ward_check::ide::OutlineItem) -> Json {
            // LSP `SymbolKind` numbers.
            let kind = match item.kind {
                "enum" => 10,
                "entity" => 5,
                "relation" => 11,
                "context" => 23,
                "action" => 24,
                "window" => 19,
                "const" => 14,
                "fn" => 12,
                "rule" => 6,
                "test" => 2,
                "field" => 8,
                "variant" => 22,
                "case" => 24,
                _ => 3,
            };
            serde_json::json!({
                "name": item.name,
                "detail": item.detail,
                "kind": kind,
                "range": json_range(index.range(item.span)),
                "selectionRange": json_range(index.range(item.name_span)),
                "children": item.children.iter().map(|c| to_json(index, c)).collect::<Vec<_>>(),
            })
        }
        Json::Array(
            ward_check::ide::outline(ast, text)
                .iter()
                .map(|i| to_json(&index, i))
                .collect(),
        )
    }

    /// Top-level names of the whole set matching `query` (case-insensitive substring).
    pub fn workspace_symbols(&self, query: &str) -> Json {
        let query = query.to_lowercase();
        let mut out = Vec::new();
        for (path, file) in &self.files {
            let text = file.text(&self.db);
            let index = LineIndex::new(text);
            for item in ward_check::file_items(&self.db, *file) {
                if !item.name.to_lowercase().contains(&query) {
                    continue;
                }
                let kind = match item.kind {
                    "enum" => 10,
                    "entity" => 5,
                    "relation" => 11,
                    "action" => 24,
                    "window" => 19,
                    "const" => 14,
                    "fn" => 12,
                    _ => 6,
                };
                if let Some(uri) = self.uri(path) {
                    out.push(serde_json::json!({
                        "name": item.name,
                        "kind": kind,
                        "containerName": item.kind,
                        "location": { "uri": uri.as_str(), "range": json_range(index.range(item.span)) },
                    }));
                }
            }
        }
        Json::Array(out)
    }

    /// The edits renaming the name at `position` to `new_name`, or why not.
    pub fn rename(&self, path: &str, position: Position, new_name: &str) -> Result<Json, String> {
        use ward_check::SymbolKind as K;
        let symbol = self
            .symbol_at(path, position)
            .ok_or("there is no name to rename here")?;
        if matches!(symbol.kind, K::Builtin | K::Module | K::TestEntity) {
            return Err(format!("`{}` cannot be renamed", symbol.name));
        }
        if !ward_check::ide::is_valid_name(new_name) {
            return Err(if ward_check::ide::keyword_doc(new_name).is_some() {
                format!("`{new_name}` is a keyword: choose another name")
            } else {
                format!(
                    "`{new_name}` is not a name: use letters, digits and `_`, not starting with a digit"
                )
            });
        }
        let names = &self.checked().names;
        let taken = match symbol.kind {
            K::Attribute => {
                let owner = symbol.detail.split('.').next().unwrap_or("");
                names
                    .entities
                    .iter()
                    .filter(|e| e.name == owner)
                    .any(|e| e.attrs.iter().any(|a| a.name == new_name))
                    || names
                        .relations
                        .iter()
                        .any(|r| r.from == owner && r.name == new_name)
            }
            K::ActionField | K::ContextField => {
                names.context.iter().any(|f| f.name == new_name)
                    || names
                        .actions
                        .iter()
                        .any(|a| a.fields.iter().any(|f| f.name == new_name))
            }
            K::Variant => names.enums.iter().any(|e| {
                symbol.detail.starts_with(&format!("{}::", e.name))
                    && e.variants.iter().any(|(v, _)| v == new_name)
            }),
            K::Variable | K::Parameter => false,
            _ => self.files.iter().any(|(_, f)| {
                ward_check::file_items(&self.db, *f)
                    .iter()
                    .any(|i| i.name == new_name)
            }),
        };
        if taken {
            return Err(format!(
                "`{new_name}` is already declared: renaming `{}` would make it ambiguous",
                symbol.name
            ));
        }
        let mut changes: BTreeMap<String, Vec<Json>> = BTreeMap::new();
        for s in self.checked().references(symbol) {
            let Some((p, text)) = self.file(s.file) else {
                continue;
            };
            if s.file >= self.files.len() {
                return Err(format!(
                    "`{}` is declared in the stdlib, which cannot be edited",
                    symbol.name
                ));
            }
            let Some(uri) = self.uri(p) else { continue };
            let range = LineIndex::new(text).range(s.span);
            let edits = changes.entry(uri.as_str().to_string()).or_default();
            let edit = serde_json::json!({ "range": json_range(range), "newText": new_name });
            if !edits.contains(&edit) {
                edits.push(edit);
            }
        }
        Ok(serde_json::json!({ "changes": changes }))
    }

    /// Quick fixes for the "did you mean" diagnostics of `path` within `range`.
    pub fn code_actions(&self, path: &str, range: lsp_types::Range) -> Json {
        let Some(i) = self.index(path) else {
            return Json::Array(Vec::new());
        };
        let Some(uri) = self.uri(path) else {
            return Json::Array(Vec::new());
        };
        let text = self.files[i].1.text(&self.db);
        let index = LineIndex::new(text);
        let (start, end) = (index.offset(range.start), index.offset(range.end));
        let mut out = Vec::new();
        for d in ward_check::check_diagnostics(&self.db, self.set)
            .iter()
            .filter(|d| d.file == *path)
        {
            let span = d.diagnostic.span();
            if span.end < start || span.start > end {
                continue;
            }
            let Some(help) = &d.diagnostic.help else {
                continue;
            };
            let Some(name) = help
                .strip_prefix("did you mean `")
                .and_then(|h| h.split_once('`'))
                .map(|(n, _)| n)
            else {
                continue;
            };
            let lsp = self.to_lsp(i, &d.diagnostic);
            out.push(serde_json::json!({
                "title": format!("replace with `{name}`"),
                "kind": "quickfix",
                "isPreferred": true,
                "diagnostics": [lsp],
                "edit": { "changes": { uri.as_str(): [
                    { "range": json_range(index.range(span)), "newText": name }
                ] } },
            }));
        }
        Json::Array(out)
    }

    /// Semantic tokens of a document, in the LSP's relative encoding.
    pub fn semantic_tokens(&self, path: &str) -> Vec<u32> {
        let Some(file) = self.file_index(path) else {
            return Vec::new();
        };
        let Some((_, text)) = self.file(file) else {
            return Vec::new();
        };
        let checked = self.checked();
        let from = checked.symbols.partition_point(|s| s.file < file);
        let to = checked.symbols.partition_point(|s| s.file <= file);
        let symbols: Vec<&Symbol> = checked.symbols[from..to].iter().collect();
        let index = LineIndex::new(text);
        let mut data = Vec::new();
        let (mut line, mut col) = (0, 0);
        for t in ward_check::ide::semantic_tokens(text, &symbols) {
            let r = index.range(t.span);
            // Tokens may not span lines: cut at the first line end.
            let length = if r.start.line == r.end.line {
                r.end.character - r.start.character
            } else {
                let end_of_line = text[t.span.start as usize..].find('\n').unwrap_or(0) as u32;
                index.position(t.span.start + end_of_line).character - r.start.character
            };
            if length == 0 {
                continue;
            }
            let delta_line = r.start.line - line;
            let delta_col = if delta_line == 0 {
                r.start.character - col
            } else {
                r.start.character
            };
            data.extend([delta_line, delta_col, length, t.kind, 0]);
            line = r.start.line;
            col = r.start.character;
        }
        data
    }

    /// Where stdlib definitions are shown: a copy of each module in the stdlib folder.
    fn stdlib_location(&self, module: usize, span: ward_syntax::Span) -> Option<Location> {
        let (_, path, text) = STDLIB.get(module)?;
        let dir = stdlib_dir()?;
        let file = dir.join(path.strip_prefix("std/")?);
        if std::fs::read_to_string(&file).ok().as_deref() != Some(*text) {
            std::fs::create_dir_all(&dir).ok()?;
            // Replace a stale or tampered copy: it is ours, read-only for the user.
            let _ = std::fs::remove_file(&file);
            std::fs::write(&file, text).ok()?;
            let mut perms = std::fs::metadata(&file).ok()?.permissions();
            perms.set_readonly(true);
            let _ = std::fs::set_permissions(&file, perms);
        }
        Some(Location::new(
            uri::from_path(file.to_str()?)?,
            LineIndex::new(text).range(span),
        ))
    }
}

/// The folder where stdlib modules are written for go to definition, read-only: under
/// `$XDG_CACHE_HOME` (or `~/.cache`), `ward/stdlib-VERSION`; the temporary directory if neither
/// is set. Files there are never part of the user's policy set.
pub fn stdlib_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    // A hash of the modules' text, so that two versions of ward never share a folder.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (_, _, text) in STDLIB {
        for b in text.bytes() {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    Some(base.join("ward").join(format!("stdlib-{hash:016x}")))
}
