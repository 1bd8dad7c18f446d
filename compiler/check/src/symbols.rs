//! Symbols: every name written in the source, with what it refers to, as plain data for the
//! language server (hover, go to definition, references).
//!
//! The checker records a symbol where it resolves a name; this module builds the record (kind,
//! a one-line declaration to show, the definition's place and doc comment). It knows nothing
//! of the LSP protocol.

use std::collections::HashMap;

use serde::Serialize;
use ward_syntax::{Span, ast};

use crate::checker::{Checker, Def};
use crate::ty::{Ty, TypeNames};

/// What kind of thing a name refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SymbolKind {
    /// A quantifier or filter variable.
    Variable,
    Parameter,
    ActionField,
    ContextField,
    Attribute,
    Relation,
    Constant,
    Function,
    Builtin,
    Window,
    EntityType,
    Enum,
    Variant,
    Action,
    Rule,
    Module,
    /// An entity a `test` block declares (`Identity::"alice" { … }`), at its id.
    TestEntity,
}

/// A name in the source and what it refers to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Symbol {
    /// Where the name is written: index into [`crate::Compiled::files`], and its span.
    pub file: usize,
    pub span: Span,
    pub name: String,
    pub kind: SymbolKind,
    /// The declaration in one line, as the user would write it (`target: Identity`,
    /// `fn is_exec(i: Identity) -> Bool`, `relation depends_on: Asset -> Asset`).
    pub detail: String,
    /// Where it is declared (file index and the span of the declared name); `None` for
    /// builtins.
    pub definition: Option<(usize, Span)>,
    /// The `///` doc comment of the declaration.
    pub doc: Option<String>,
    /// Further declarations the name stands for: in a rule `on a, b`, a field refers to the
    /// field of every listed action (`definition` is the first one's).
    pub also: Vec<(usize, Span)>,
}

impl Symbol {
    /// Every declaration the name stands for.
    pub fn definitions(&self) -> impl Iterator<Item = (usize, Span)> + '_ {
        self.definition.into_iter().chain(self.also.iter().copied())
    }

    /// Whether this is the name of a declaration (not a use of it).
    pub fn is_declaration(&self) -> bool {
        self.definitions().any(|d| d == (self.file, self.span))
    }
}

/// Symbols already built, by what they refer to: every use of the same attribute, field or
/// declaration gets the same record but for its place, which is cheaper to copy than to build
/// (a policy set of 10,000 rules has hundreds of thousands of names).
#[derive(Debug, Default)]
pub(crate) struct Memo {
    attrs: HashMap<(u32, u32), Symbol>,
    /// By name: fields (with their owner and type) and declarations.
    named: HashMap<String, Vec<(Key, Symbol)>>,
}

#[derive(Debug, PartialEq, Eq)]
enum Key {
    Field(Option<String>, Ty),
    Def(Def),
}

impl Key {
    fn is_field(&self, owner: Option<&str>, ty: &Ty) -> bool {
        matches!(self, Key::Field(o, t) if o.as_deref() == owner && t == ty)
    }
}

impl Memo {
    fn named(&self, name: &str, found: impl Fn(&Key) -> bool) -> Option<&Symbol> {
        self.named
            .get(name)?
            .iter()
            .find(|(k, _)| found(k))
            .map(|(_, s)| s)
    }
}

impl<'a> Checker<'a> {
    /// Record a copy of `memo` at `file`, `span`.
    fn push_copy(&mut self, file: usize, span: Span, memo: Symbol) {
        self.symbols.push(Symbol { file, span, ..memo });
    }

    /// Record the symbol just pushed as the one for `key`.
    fn remember(&mut self, name: &str, key: Key) {
        if let Some(last) = self.symbols.last() {
            let copy = last.clone();
            self.symbol_memo
                .named
                .entry(name.to_string())
                .or_default()
                .push((key, copy));
        }
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "a symbol is a flat record; a builder would only add noise"
    )]
    pub(crate) fn symbol(
        &mut self,
        file: usize,
        span: Span,
        name: &str,
        kind: SymbolKind,
        detail: String,
        definition: Option<(usize, Span)>,
        doc: Option<&str>,
    ) {
        if !self.record_symbols {
            return;
        }
        self.symbols.push(Symbol {
            file,
            span,
            name: name.to_string(),
            kind,
            detail,
            definition,
            doc: doc.map(str::to_string),
            also: Vec::new(),
        });
    }

    /// Add to the symbol just recorded the field `name` of each of `actions` (a rule's other
    /// actions), so that it refers to all of them.
    pub(crate) fn also_action_fields(&mut self, actions: &[u32], name: &str) {
        if !self.record_symbols {
            return;
        }
        let decls: Vec<(usize, Span)> = actions
            .iter()
            .filter_map(|&a| {
                let action = self.actions.get(a as usize)?.name.clone();
                self.field_decl(&action, name)
                    .map(|(f, d)| (f, d.name.span))
            })
            .collect();
        if let Some(last) = self.symbols.last_mut() {
            for d in decls {
                if Some(d) != last.definition && !last.also.contains(&d) {
                    last.also.push(d);
                }
            }
        }
    }

    /// Record the id of a test entity (`Identity::"alice"`) declared at `decl` in the test.
    pub(crate) fn test_entity_symbol(
        &mut self,
        file: usize,
        id: &ast::StrLit,
        ty: &str,
        decl: Span,
    ) {
        let detail = format!("{ty}::\"{}\" (an entity of this test)", id.value);
        self.symbol(
            file,
            id.span,
            &id.value,
            SymbolKind::TestEntity,
            detail,
            Some((file, decl)),
            None,
        );
    }

    /// Record a use (or the declaration) of a top-level definition.
    pub(crate) fn def_symbol(&mut self, file: usize, span: Span, name: &str, def: Def) {
        if !self.record_symbols {
            // Building the symbol resolves a function's signature (reporting its errors);
            // without symbols, resolve it all the same so the diagnostics do not change.
            if let Def::Fn(f) = def {
                self.fn_sig(f);
            }
            return;
        }
        if let Some(memo) = self.symbol_memo.named(name, |k| *k == Key::Def(def)) {
            let memo = memo.clone();
            return self.push_copy(file, span, memo);
        }
        self.build_def_symbol(file, span, name, def);
        // A constant's type is known only once its value is checked: build it every time.
        if !matches!(def, Def::Const(_)) {
            self.remember(name, Key::Def(def));
        }
    }

    fn build_def_symbol(&mut self, file: usize, span: Span, name: &str, def: Def) {
        let item = self.item(name);
        let at = item.map(|(f, item)| (f, item.name().map_or(item.span(), |n| n.span)));
        let doc = item.and_then(|(_, item)| item.doc());
        let (kind, detail, definition, doc) = match def {
            Def::Enum(_) => (SymbolKind::Enum, format!("enum {name}"), at, doc),
            Def::Entity(_) => (SymbolKind::EntityType, format!("entity {name}"), at, doc),
            Def::Action(_) => (SymbolKind::Action, format!("action {name}"), at, doc),
            Def::Rule(_) => (SymbolKind::Rule, format!("rule {name}"), at, doc),
            Def::Relation(r) => {
                let info = &self.relations[r as usize];
                let end = |e: Option<u32>| {
                    e.map_or("?".to_string(), |id| self.entity_name(id).to_string())
                };
                let detail = format!(
                    "relation {}: {} -> {}",
                    info.name,
                    end(info.from),
                    end(info.to)
                );
                (SymbolKind::Relation, detail, at, doc)
            }
            Def::Window(w) => {
                let info = &self.windows[w as usize];
                let detail = format!("window {}", info.display);
                (
                    SymbolKind::Window,
                    detail,
                    Some((info.file, info.decl.name.span)),
                    info.decl.doc.as_deref(),
                )
            }
            Def::Const(c) => {
                let info = &self.consts[c as usize];
                let detail = match info.value.as_deref() {
                    Some((ty, _, _)) if !ty.is_error() => {
                        format!("const {}: {}", info.decl.name.name, self.show(ty))
                    }
                    _ => format!("const {}", info.decl.name.name),
                };
                (
                    SymbolKind::Constant,
                    detail,
                    Some((info.file, info.decl.name.span)),
                    info.decl.doc.as_deref(),
                )
            }
            Def::Fn(f) => {
                let (params, ret) = self.fn_sig(f);
                let info = &self.fns[f as usize];
                let params: Vec<String> = info
                    .decl
                    .params
                    .iter()
                    .zip(&params)
                    .map(|(p, ty)| format!("{}: {}", p.name.name, self.show(ty)))
                    .collect();
                let detail = format!(
                    "fn {}({}) -> {}",
                    info.display,
                    params.join(", "),
                    self.show(&ret)
                );
                (
                    SymbolKind::Function,
                    detail,
                    Some((info.file, info.decl.name.span)),
                    info.decl.doc.as_deref(),
                )
            }
            Def::Module(m) => {
                let module = self.files[m].module.unwrap_or("?");
                (
                    SymbolKind::Module,
                    format!("module std.{module}"),
                    Some((m, Span::default())),
                    None,
                )
            }
        };
        let doc = doc.map(str::to_string);
        self.symbol(file, span, name, kind, detail, definition, doc.as_deref());
    }

    /// Record a use of attribute `attr` of entity type `entity`.
    pub(crate) fn attr_symbol(&mut self, file: usize, span: Span, entity: u32, attr: u32) {
        if !self.record_symbols {
            return;
        }
        if let Some(memo) = self.symbol_memo.attrs.get(&(entity, attr)) {
            let memo = memo.clone();
            return self.push_copy(file, span, memo);
        }
        self.build_attr_symbol(file, span, entity, attr);
        if let Some(last) = self.symbols.last() {
            let copy = last.clone();
            self.symbol_memo.attrs.insert((entity, attr), copy);
        }
    }

    fn build_attr_symbol(&mut self, file: usize, span: Span, entity: u32, attr: u32) {
        let info = &self.entities[entity as usize];
        let (name, ty) = &info.attrs[attr as usize];
        let detail = format!("{}.{name}: {}", info.name, self.show(ty));
        let decl = self.field_decl(&info.name, name);
        let name = name.clone();
        self.symbol(
            file,
            span,
            &name,
            SymbolKind::Attribute,
            detail,
            decl.map(|(f, d)| (f, d.name.span)),
            decl.and_then(|(_, d)| d.doc.as_deref()),
        );
    }

    /// Record a use of a rule's action field or of a context field.
    pub(crate) fn field_symbol(
        &mut self,
        file: usize,
        span: Span,
        name: &str,
        ty: &Ty,
        owner: Option<&str>,
    ) {
        if !self.record_symbols {
            return;
        }
        if let Some(memo) = self.symbol_memo.named(name, |k| k.is_field(owner, ty)) {
            let memo = memo.clone();
            return self.push_copy(file, span, memo);
        }
        self.build_field_symbol(file, span, name, ty, owner);
        self.remember(name, Key::Field(owner.map(str::to_string), ty.clone()));
    }

    fn build_field_symbol(
        &mut self,
        file: usize,
        span: Span,
        name: &str,
        ty: &Ty,
        owner: Option<&str>,
    ) {
        let detail = format!("{name}: {}", self.show(ty));
        let (kind, decl) = match owner {
            Some(action) => (SymbolKind::ActionField, self.field_decl(action, name)),
            None => (
                SymbolKind::ContextField,
                self.context_decl.and_then(|(f, c)| {
                    c.fields
                        .iter()
                        .find(|d| d.name.name == name)
                        .map(|d| (f, d))
                }),
            ),
        };
        self.symbol(
            file,
            span,
            name,
            kind,
            detail,
            decl.map(|(f, d)| (f, d.name.span)),
            decl.and_then(|(_, d)| d.doc.as_deref()),
        );
    }

    /// The declaration of field `field` of the entity or action `owner`.
    fn field_decl(&self, owner: &str, field: &str) -> Option<(usize, &'a ast::FieldDecl)> {
        let (file, item) = self.item(owner)?;
        let fields = match item {
            ast::Item::Entity(e) => &e.fields,
            ast::Item::Action(a) => &a.fields,
            _ => return None,
        };
        fields
            .iter()
            .find(|d| d.name.name == field)
            .map(|d| (file, d))
    }

    /// Record a use of variant `variant` of enum `en`.
    pub(crate) fn variant_symbol(&mut self, file: usize, span: Span, en: u32, variant: u32) {
        if !self.record_symbols {
            return;
        }
        let info = &self.enums[en as usize];
        let name = info.variants[variant as usize].clone();
        let detail = format!("{}::{name}", info.name);
        let decl = match self.item(&info.name) {
            Some((f, ast::Item::Enum(e))) => e
                .variants
                .iter()
                .find(|v| v.name.name == name)
                .map(|v| (f, v)),
            _ => None,
        };
        self.symbol(
            file,
            span,
            &name,
            SymbolKind::Variant,
            detail,
            decl.map(|(f, v)| (f, v.name.span)),
            decl.and_then(|(_, v)| v.doc.as_deref()),
        );
    }
}
