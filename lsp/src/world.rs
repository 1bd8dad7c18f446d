//! The server's state and the language features over it: the salsa database with one input per
//! file of the policy set (the open documents plus every `.ward` file under the workspace
//! root), and hover, definition, references, formatting, completion and diagnostics computed
//! from [`ward_check::check`] in LSP terms.
//!
//! Inputs are updated in place when a document changes, so salsa re-parses only that file.
//! This module knows nothing of JSON-RPC (the message loop is in the crate root) or of the
//! runtime.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use lsp_types::{
    CompletionItem, CompletionItemKind, Diagnostic, DiagnosticRelatedInformation,
    DiagnosticSeverity, Hover, HoverContents, Location, MarkupContent, MarkupKind, NumberOrString,
    Position, TextDocumentContentChangeEvent, TextEdit, Uri,
};
use salsa::Setter;
use ward_check::{Checked, Database, PolicySet, STDLIB, SourceFile, Symbol};
use ward_syntax::Severity;

use crate::position::LineIndex;
use crate::uri;

/// The reserved words of the language (`docs/language.md` §2), offered by completion.
const KEYWORDS: [&str; 32] = [
    "and", "or", "not", "in", "matches", "has", "if", "then", "else", "any", "all", "true",
    "false", "now", "enum", "entity", "relation", "context", "action", "window", "const", "fn",
    "use", "default", "rule", "test", "on", "when", "allow", "deny", "require", "because",
];

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
        }
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
        if self.open.contains_key(path) || !path.ends_with(".ward") {
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
        for d in &self.checked().diagnostics {
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
        let i = self.index(path)?;
        let offset = LineIndex::new(self.files[i].1.text(&self.db)).offset(position);
        self.checked().symbol_at(i, offset)
    }

    pub fn hover(&self, path: &str, position: Position) -> Option<Hover> {
        let symbol = self.symbol_at(path, position)?;
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
        let (file, span) = self.symbol_at(path, position)?.definition?;
        self.location(file, span)
    }

    pub fn references(&self, path: &str, position: Position, declaration: bool) -> Vec<Location> {
        let Some(symbol) = self.symbol_at(path, position) else {
            return Vec::new();
        };
        self.checked()
            .references(symbol)
            .filter(|s| declaration || Some((s.file, s.span)) != symbol.definition)
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

    /// Keywords and the names declared at the top level of the policy set.
    pub fn completion(&self) -> Vec<CompletionItem> {
        let mut items: Vec<CompletionItem> = KEYWORDS
            .iter()
            .map(|k| CompletionItem {
                label: (*k).to_string(),
                kind: Some(CompletionItemKind::KEYWORD),
                ..CompletionItem::default()
            })
            .collect();
        let mut seen = std::collections::HashSet::new();
        for (_, file) in &self.files {
            for item in ward_check::file_items(&self.db, *file) {
                if !seen.insert(item.name.clone()) {
                    continue;
                }
                let kind = match item.kind {
                    "enum" => CompletionItemKind::ENUM,
                    "entity" => CompletionItemKind::CLASS,
                    "relation" => CompletionItemKind::INTERFACE,
                    "action" => CompletionItemKind::EVENT,
                    "const" => CompletionItemKind::CONSTANT,
                    "fn" => CompletionItemKind::FUNCTION,
                    "window" => CompletionItemKind::VALUE,
                    _ => CompletionItemKind::MODULE,
                };
                items.push(CompletionItem {
                    label: item.name.clone(),
                    kind: Some(kind),
                    detail: Some(format!("{} {}", item.kind, item.name)),
                    ..CompletionItem::default()
                });
            }
        }
        items
    }
}
