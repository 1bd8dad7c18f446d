//! What an editor asks about a policy set, as plain data: the names a checked set declares
//! ([`Names`], kept even when the set has errors), completion at a position, signature help,
//! what keywords mean, the outline of a file, rename checks and semantic tokens.
//!
//! Completion must work on a file being typed in, which usually does not parse: it reads the
//! text before the cursor (the receiver of a `.`, an open `closure(`, an `on` list, the
//! enclosing rule's actions) and resolves it against the names the checker recovered from the
//! rest of the set. This module knows nothing of the LSP: positions are byte offsets.

use serde::Serialize;
use ward_syntax::{Span, ast};

/// A field of an entity, action or context, or a function parameter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldInfo {
    pub name: String,
    /// As written: `Identity?`, `Set<String>`.
    pub ty: String,
    pub doc: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EntityInfo {
    pub name: String,
    pub doc: Option<String>,
    pub attrs: Vec<FieldInfo>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RelationInfo {
    pub name: String,
    pub from: String,
    pub to: String,
    pub doc: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EnumInfo {
    pub name: String,
    pub doc: Option<String>,
    pub variants: Vec<(String, Option<String>)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ActionInfo {
    pub name: String,
    pub doc: Option<String>,
    pub fields: Vec<FieldInfo>,
}

/// A constant, function or window (of the set or of a stdlib module).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ValueInfo {
    pub name: String,
    /// `const`, `fn` or `window`.
    pub kind: &'static str,
    /// `fn is_exec(i: Identity) -> Bool`, `const limit: Int`, `window freeze`.
    pub detail: String,
    pub doc: Option<String>,
    /// For functions: the parameters.
    pub params: Vec<FieldInfo>,
}

/// A stdlib module and its items.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ModuleInfo {
    /// `time`.
    pub name: String,
    pub items: Vec<ValueInfo>,
}

/// Every name a policy set declares, with types and docs, recovered even from a set with
/// errors (a broken declaration is left out, the rest is kept).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Names {
    pub entities: Vec<EntityInfo>,
    pub relations: Vec<RelationInfo>,
    pub enums: Vec<EnumInfo>,
    pub actions: Vec<ActionInfo>,
    pub context: Vec<FieldInfo>,
    /// The set's own constants, functions and windows, and the names `use std.m.{…}` brings in.
    pub values: Vec<ValueInfo>,
    /// Every stdlib module, and whether the set imports it qualified (`use std.time`).
    pub modules: Vec<(ModuleInfo, bool)>,
    pub rules: Vec<String>,
}

impl Names {
    fn entity(&self, name: &str) -> Option<&EntityInfo> {
        self.entities.iter().find(|e| e.name == name)
    }
}

/// The kinds of completion items.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Keyword,
    Field,
    Attribute,
    Relation,
    Variant,
    Action,
    EntityType,
    Enum,
    Constant,
    Function,
    Method,
    Window,
    Module,
    Variable,
    EntityId,
}

/// One completion proposal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Completion {
    pub label: String,
    pub kind: ItemKind,
    /// Its type or declaration, in one line.
    pub detail: String,
    pub doc: Option<String>,
}

/// What completion needs from outside the checker: the ids of entities in estate files that
/// tests load (`entities from "…"`), which only the caller can read.
pub trait EstateIds {
    fn ids(&self, entity_type: &str) -> Vec<String>;
}

impl EstateIds for () {
    fn ids(&self, _: &str) -> Vec<String> {
        Vec::new()
    }
}

/// The reserved words and what they mean (hover on a keyword).
pub const KEYWORDS: &[(&str, &str)] = &[
    (
        "and",
        "`a and b`: both are true; `b` is evaluated only when `a` is",
    ),
    (
        "or",
        "`a or b`: at least one is true; `b` is evaluated only when `a` is false",
    ),
    ("not", "`not a`: the negation of a `Bool`"),
    (
        "in",
        "`x in s`: `x` is an element of the set `s`; `t in w`: the timestamp `t` is inside the window `w`; also `any x in s`, `{ x in s | … }`",
    ),
    (
        "matches",
        "`s matches \"re\"`: the regular expression (a string literal) is found in `s`; anchor with `^` and `$`",
    ),
    (
        "has",
        "`e has attr`: the optional attribute `attr` of the entity `e` is present",
    ),
    (
        "if",
        "`if C then A else B`: `A` when `C` holds, else `B`; only the chosen branch is evaluated",
    ),
    ("then", "`if C then A else B`: the value when `C` holds"),
    (
        "else",
        "`if C then A else B`: the value when `C` does not hold",
    ),
    (
        "any",
        "`any x in s: C`: some element of `s` satisfies `C` (false for an empty set)",
    ),
    (
        "all",
        "`all x in s: C`: every element of `s` satisfies `C` (true for an empty set)",
    ),
    ("true", "the `Bool` value true"),
    ("false", "the `Bool` value false"),
    (
        "now",
        "`now: Timestamp`: the time of the request being decided (its `at`), never the machine's clock, so the same request always gets the same decision",
    ),
    (
        "enum",
        "`enum Name { a, b }`: a type with a fixed set of values, written `Name::a`",
    ),
    (
        "entity",
        "`entity Name { attr: Type, … }`: a kind of thing the estate data holds, each with an id",
    ),
    (
        "relation",
        "`relation r: A -> B`: edges between entities; `x.r`, `closure(x, r)`, `~r` follows them backwards",
    ),
    (
        "context",
        "`context { field: Type, … }`: the fields every request carries besides the action's own (at most one block)",
    ),
    (
        "action",
        "`action name { field: Type, … }`: something an agent may ask for, with its fields",
    ),
    (
        "window",
        "`window name { … }`: a named set of time intervals (`weekly`, `daily`, `between`, `except`, `timezone`)",
    ),
    (
        "const",
        "`const name = value`: a named constant, inlined where it is used",
    ),
    (
        "fn",
        "`fn name(p: Type) -> Type = expr`: a pure function; no recursion",
    ),
    (
        "use",
        "`use std.MODULE` imports a stdlib module as `MODULE.name`; `use std.MODULE.{a, b}` imports names",
    ),
    (
        "default",
        "`default allow | deny | require approval [from …]`: what happens when no rule decides (deny without one)",
    ),
    (
        "rule",
        "`rule name { on … when … EFFECT because \"…\" }`: a guardrail",
    ),
    (
        "test",
        "`test \"name\" { entities … request … expect … }`: an executable example, run by `ward test`",
    ),
    (
        "on",
        "`on a, b` or `on *`: the actions a rule applies to; their shared fields are in scope",
    ),
    (
        "when",
        "`when C`: a condition of the rule; several are joined with `and`, in order",
    ),
    (
        "allow",
        "the effect `allow`: decides allow unless another fired rule denies or requires approval",
    ),
    (
        "deny",
        "the effect `deny`: a fired deny rule decides the request, whatever else fired",
    ),
    (
        "require",
        "`require approval [from APPROVERS]`: the request needs a human's approval",
    ),
    (
        "because",
        "`because \"…\"`: the rule's message; `{expr}` holes are rendered",
    ),
];

/// The contextual words: keywords only where the grammar expects them.
pub const CONTEXTUAL: &[(&str, &str)] = &[
    ("approval", "`require approval [from APPROVERS]`"),
    (
        "from",
        "`require approval from APPROVERS`: who may approve (strings, entities or sets of them); in a test, `entities from \"file.json\"`",
    ),
    (
        "timezone",
        "`timezone \"Area/City\"`: the IANA zone of a window's local times (UTC without it)",
    ),
    (
        "weekly",
        "`weekly Sat 02:00 - Sat 06:00`: one interval a week",
    ),
    (
        "daily",
        "`daily 09:00 - 17:30 [on Mon-Fri]`: one interval per listed day",
    ),
    ("between", "`between T1 and T2`: one absolute interval"),
    ("except", "`except W`: removes every interval of window `W`"),
    (
        "entities",
        "`entities { … }` or `entities from \"file.json\"`: the data of a test",
    ),
    (
        "request",
        "`request ACTION { field: value }`: a case of a test",
    ),
    (
        "with",
        "`with { field: value }`: the context fields of a test request",
    ),
    ("at", "`at TIMESTAMP`: the time of a test request (`now`)"),
    (
        "expect",
        "`expect EFFECT [from …] [by RULE, …]`: what the test request must be decided",
    ),
    (
        "by",
        "`by RULE, …`: exactly these rules fired with the deciding effect",
    ),
];

/// What a word means, if it is a keyword or a contextual word.
pub fn keyword_doc(word: &str) -> Option<&'static str> {
    KEYWORDS
        .iter()
        .chain(CONTEXTUAL)
        .find(|(k, _)| *k == word)
        .map(|(_, d)| *d)
}

/// Whether `name` can be declared: an identifier that is not reserved.
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !KEYWORDS.iter().any(|(k, _)| *k == name)
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The identifier around byte `offset` of `text` (touching it on either side).
pub fn word_at(text: &str, offset: u32) -> Option<Span> {
    let bytes = text.as_bytes();
    let at = (offset as usize).min(bytes.len());
    let mut start = at;
    while start > 0 && is_ident(bytes[start - 1]) {
        start -= 1;
    }
    let mut end = at;
    while end < bytes.len() && is_ident(bytes[end]) {
        end += 1;
    }
    (start < end).then_some(Span {
        start: start as u32,
        end: end as u32,
    })
}

/// The builtins' signatures and docs, for hover, completion and signature help.
pub fn builtins() -> impl Iterator<Item = (&'static str, bool, &'static str, &'static str)> {
    ward_ir::BUILTINS
        .iter()
        .map(|b| (b.name, b.method, b.signature, b.doc))
}

/// The parameters of a signature `name(a: T, b: U) -> R` as written.
pub fn signature_params(signature: &str) -> Vec<String> {
    let Some(open) = signature.find('(') else {
        return Vec::new();
    };
    let mut depth = 0;
    let mut params = Vec::new();
    let mut current = String::new();
    for c in signature[open + 1..].chars() {
        match c {
            '(' | '<' => depth += 1,
            '>' if depth > 0 => depth -= 1,
            ')' if depth == 0 => break,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                params.push(current.trim().to_string());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        params.push(current.trim().to_string());
    }
    params
}

/// A signature to show while a call is being written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Signature {
    pub label: String,
    pub params: Vec<String>,
    pub doc: Option<String>,
    /// The parameter the cursor is in.
    pub active: usize,
}

/// The signature of the call whose arguments the cursor is in (`closure(host, |`).
pub fn signature_help(names: &Names, text: &str, offset: u32) -> Option<Signature> {
    let before = text.get(..(offset as usize).min(text.len()))?;
    let (callee, args_start) = open_call(before)?;
    let commas = top_level_commas(&before[args_start..]);
    let (name, receiver) = match callee.rsplit_once('.') {
        Some((r, n)) => (n, Some(r)),
        None => (callee.as_str(), None),
    };
    let module = receiver.and_then(|r| names.modules.iter().find(|(m, _)| m.name == r));
    let user = match module {
        Some((m, _)) => m.items.iter().find(|v| v.name == name && v.kind == "fn"),
        None => names
            .values
            .iter()
            .find(|v| v.name == name && v.kind == "fn"),
    };
    if let Some(f) = user {
        let label = f.detail.trim_start_matches("fn ").to_string();
        return Some(Signature {
            params: signature_params(&label),
            label,
            doc: f.doc.clone(),
            active: commas,
        });
    }
    // A builtin; written as a method, its receiver is the first argument.
    let method = receiver.is_some() && module.is_none();
    let b = builtins()
        .filter(|b| b.0 == name)
        .find(|b| !method || b.1)
        .or_else(|| builtins().find(|b| b.0 == name))?;
    let params = signature_params(b.2);
    let active = if method && !b.2.starts_with("s.") {
        commas + 1
    } else {
        commas
    };
    Some(Signature {
        label: b.2.to_string(),
        params,
        doc: Some(b.3.to_string()),
        active,
    })
}

/// The callee of the innermost call left open in `before` (`closure`, `time.hours`,
/// `host.tags.contains`), and where its arguments start.
fn open_call(before: &str) -> Option<(String, usize)> {
    let bytes = before.as_bytes();
    let mut depth = 0usize;
    let mut i = bytes.len();
    let mut in_string = false;
    while i > 0 {
        i -= 1;
        let b = bytes[i];
        if b == b'\n' && depth == 0 && before[..i].trim_end().ends_with('}') {
            return None;
        }
        if b == b'"' {
            in_string = !in_string;
            continue;
        }
        if in_string {
            continue;
        }
        match b {
            b')' | b']' | b'}' => depth += 1,
            b'[' | b'{' => {
                if depth == 0 {
                    return None;
                }
                depth -= 1;
            }
            b'(' => {
                if depth > 0 {
                    depth -= 1;
                    continue;
                }
                let callee = receiver_text(&before[..i]);
                return (!callee.is_empty()).then(|| (callee, i + 1));
            }
            _ => {}
        }
    }
    None
}

/// Commas at the top level of an argument list written so far.
fn top_level_commas(args: &str) -> usize {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut n = 0;
    for b in args.bytes() {
        match b {
            b'"' => in_string = !in_string,
            _ if in_string => {}
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => n += 1,
            _ => {}
        }
    }
    n
}

/// The dotted chain of names that ends `before` (`host.owner`, `time`), calls kept whole
/// (`closure(host, depends_on)` stays in as one link).
fn receiver_text(before: &str) -> String {
    let bytes = before.as_bytes();
    let mut i = bytes.len();
    loop {
        let end = i;
        // A call's parentheses.
        if i > 0 && bytes[i - 1] == b')' {
            let mut depth = 0;
            while i > 0 {
                i -= 1;
                match bytes[i] {
                    b')' => depth += 1,
                    b'(' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
            }
        }
        while i > 0 && is_ident(bytes[i - 1]) {
            i -= 1;
        }
        if i == end {
            break;
        }
        if i > 0 && bytes[i - 1] == b'.' {
            i -= 1;
            if i > 0 && bytes[i - 1] == b'?' {
                i -= 1;
            }
            continue;
        }
        break;
    }
    before[i..].trim().to_string()
}

/// A type as written, read back: an entity, a set of something, or anything else.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Shape {
    Entity(String),
    Set(String),
    String,
    Other(String),
}

fn shape(ty: &str) -> Shape {
    let ty = ty.trim().trim_end_matches('?');
    if let Some(inner) = ty.strip_prefix("Set<").and_then(|t| t.strip_suffix('>')) {
        return Shape::Set(inner.to_string());
    }
    if ty == "String" {
        return Shape::String;
    }
    if ty.chars().next().is_some_and(char::is_uppercase)
        && !["Bool", "Int", "Duration", "Timestamp"].contains(&ty)
    {
        return Shape::Entity(ty.to_string());
    }
    Shape::Other(ty.to_string())
}

/// What is in scope at the cursor: the enclosing item's fields and parameters, and the
/// quantifier and filter variables written before the cursor in it.
struct Scope {
    /// Name, type as written, doc, kind.
    names: Vec<(String, String, Option<String>, ItemKind)>,
    in_rule: bool,
    /// The enclosing `test` block's text, if any.
    test: Option<String>,
}

/// The text of the item the cursor is in: from the last top-level keyword at a line start.
fn enclosing_item(before: &str) -> &str {
    let mut start = 0;
    let mut line_start = 0;
    for (i, line) in before.split_inclusive('\n').scan(0, |at, l| {
        let s = *at;
        *at += l.len();
        Some((s, l))
    }) {
        let word: String = line
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        if matches!(
            word.as_str(),
            "rule"
                | "fn"
                | "const"
                | "test"
                | "entity"
                | "action"
                | "context"
                | "enum"
                | "relation"
                | "window"
                | "use"
                | "default"
        ) {
            start = i;
        }
        line_start = i;
    }
    let _ = line_start;
    &before[start..]
}

fn scope(names: &Names, item: &str) -> Scope {
    let mut out = Scope {
        names: Vec::new(),
        in_rule: false,
        test: None,
    };
    let head: String = item
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    match head.as_str() {
        "rule" => {
            out.in_rule = true;
            if let Some(actions) = on_list(item) {
                let listed: Vec<&ActionInfo> = if actions.iter().any(|a| a == "*") {
                    names.actions.iter().collect()
                } else {
                    names
                        .actions
                        .iter()
                        .filter(|a| actions.contains(&a.name))
                        .collect()
                };
                if let Some((first, rest)) = listed.split_first() {
                    for f in &first.fields {
                        let shared = rest
                            .iter()
                            .all(|a| a.fields.iter().any(|g| g.name == f.name && g.ty == f.ty));
                        if shared {
                            out.names.push((
                                f.name.clone(),
                                f.ty.clone(),
                                f.doc.clone(),
                                ItemKind::Field,
                            ));
                        }
                    }
                }
            }
            for f in &names.context {
                out.names
                    .push((f.name.clone(), f.ty.clone(), f.doc.clone(), ItemKind::Field));
            }
        }
        "fn" => {
            let params = item
                .find('(')
                .map(|open| signature_params(&item[open..]))
                .unwrap_or_default();
            for p in params {
                if let Some((n, t)) = p.split_once(':') {
                    out.names.push((
                        n.trim().to_string(),
                        t.trim().to_string(),
                        None,
                        ItemKind::Variable,
                    ));
                }
            }
        }
        "test" => out.test = Some(item.to_string()),
        _ => {}
    }
    // `any x in S:`, `all x in S:`, `{ x in S |`: the variable, typed from `S` when it can be.
    let bytes = item.as_bytes();
    let words: Vec<(usize, &str)> = item
        .match_indices(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .scan(0usize, |start, (i, _)| {
            let w = (*start, &item[*start..i]);
            *start = i + 1;
            Some(w)
        })
        .filter(|(_, w)| !w.is_empty())
        .collect();
    for pair in words.windows(3) {
        let [(_, q), (_, var), (at, kw)] = pair else {
            continue;
        };
        let brace = pair[1].0 > 0 && item[..pair[1].0].trim_end().ends_with('{');
        if (matches!(*q, "any" | "all") || brace) && *kw == "in" {
            let set_start = at + 2;
            let end = item[set_start..]
                .find([':', '|'])
                .map_or(item.len(), |e| set_start + e);
            let set = item[set_start..end].trim();
            let elem = match type_of(names, &out, set) {
                Some(Shape::Set(e)) => e,
                _ => "?".to_string(),
            };
            let _ = bytes;
            out.names
                .push(((*var).to_string(), elem, None, ItemKind::Variable));
        }
    }
    out
}

/// The actions of the `on` clause of a rule's text, when written.
fn on_list(item: &str) -> Option<Vec<String>> {
    let at = item.find(" on ").or_else(|| item.find("\non "))? + 4;
    let rest = &item[at..];
    let end = rest
        .find(|c: char| {
            !(c.is_ascii_alphanumeric() || c == '_' || c == ',' || c == '*' || c.is_whitespace())
        })
        .unwrap_or(rest.len());
    let mut list = Vec::new();
    let mut expect_name = true;
    for token in rest[..end].split_inclusive(',') {
        let word = token.trim_end_matches(',').trim();
        if word.is_empty() {
            continue;
        }
        // `on a, b when …`: stop at the first word that does not follow a comma.
        let first = word.split_whitespace().next().unwrap_or("");
        if !expect_name {
            break;
        }
        list.push(first.to_string());
        expect_name = token.ends_with(',') && word.split_whitespace().count() == 1;
    }
    Some(list)
}

/// The type of a receiver chain written in source (`host.owner`, `target`,
/// `closure(host, ~depends_on)`), when the names say.
fn type_of(names: &Names, scope: &Scope, chain: &str) -> Option<Shape> {
    let chain = chain.trim().trim_start_matches('(').trim_end_matches(')');
    let mut links = split_links(chain).into_iter();
    let first = links.next()?;
    let mut current = if let Some(args) = first
        .strip_prefix("closure(")
        .and_then(|a| a.strip_suffix(')'))
    {
        let relation = args.rsplit(',').next()?.trim();
        let (rel, inverse) = match relation.strip_prefix('~') {
            Some(r) => (r.trim(), true),
            None => (relation, false),
        };
        let r = names.relations.iter().find(|r| r.name == rel)?;
        Shape::Set(if inverse {
            r.from.clone()
        } else {
            r.to.clone()
        })
    } else if let Some((_, ty, _, _)) = scope.names.iter().rev().find(|n| n.0 == first) {
        shape(ty)
    } else if let Some(v) = names
        .values
        .iter()
        .find(|v| v.name == first && v.kind == "const")
    {
        shape(v.detail.rsplit(": ").next().unwrap_or(""))
    } else {
        return None;
    };
    for link in links {
        let name = link.split('(').next().unwrap_or(&link);
        current = match &current {
            Shape::Entity(e) => {
                let entity = names.entity(e)?;
                if let Some(a) = entity.attrs.iter().find(|a| a.name == name) {
                    shape(&a.ty)
                } else if let Some(r) = names
                    .relations
                    .iter()
                    .find(|r| r.name == name && r.from == *e)
                {
                    Shape::Set(r.to.clone())
                } else {
                    return None;
                }
            }
            _ => {
                let b = builtins().find(|b| b.0 == name && b.1)?;
                shape(b.2.rsplit("-> ").next().unwrap_or(""))
            }
        };
    }
    Some(current)
}

/// The links of a chain, splitting at `.` and `?.` outside parentheses.
fn split_links(chain: &str) -> Vec<String> {
    let mut links = Vec::new();
    let mut depth = 0;
    let mut current = String::new();
    for c in chain.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            '.' if depth == 0 => {
                links.push(current.trim_end_matches('?').to_string());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    links.push(current);
    links
}

/// The ids of entities of type `ty` a test text declares inline (`Identity::"alice" {`).
fn inline_ids(test: &str, ty: &str) -> Vec<String> {
    let needle = format!("{ty}::\"");
    let mut out = Vec::new();
    for (at, _) in test.match_indices(&needle) {
        let rest = &test[at + needle.len()..];
        if let Some(end) = rest.find('"') {
            let id = rest[..end].to_string();
            if !out.contains(&id) {
                out.push(id);
            }
        }
    }
    out
}

/// Completion at byte `offset` of `text` (a file of the set), from the names of the set and
/// the texts of all its files (for the entities tests declare).
pub fn complete(
    names: &Names,
    text: &str,
    offset: u32,
    all_texts: &[&str],
    estate: &dyn EstateIds,
) -> Vec<Completion> {
    let offset = (offset as usize).min(text.len());
    let Some(before_cursor) = text.get(..offset) else {
        return Vec::new();
    };
    let bytes = before_cursor.as_bytes();
    let mut word_start = offset;
    while word_start > 0 && is_ident(bytes[word_start - 1]) {
        word_start -= 1;
    }
    let before = &before_cursor[..word_start];
    let item = enclosing_item(before);
    let scope = scope(names, item);
    let mut out = Vec::new();

    // `Type::"` — the ids of entities of that type.
    if let Some(head) = before_cursor.rsplit_once("::\"").map(|(h, _)| h)
        && !before_cursor
            .rsplit_once("::\"")
            .is_some_and(|(_, tail)| tail.contains('"'))
    {
        let ty = receiver_text(head);
        let mut ids = match &scope.test {
            Some(test) => inline_ids(test, &ty),
            None => Vec::new(),
        };
        for t in all_texts {
            for id in inline_ids(t, &ty) {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        for id in estate.ids(&ty) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        return ids
            .into_iter()
            .map(|id| Completion {
                detail: format!("{ty}::\"{id}\""),
                label: id,
                kind: ItemKind::EntityId,
                doc: None,
            })
            .collect();
    }
    // `Enum::` — its variants.
    if let Some(head) = before.strip_suffix("::") {
        let ty = receiver_text(head);
        if let Some(e) = names.enums.iter().find(|e| e.name == ty) {
            return e
                .variants
                .iter()
                .map(|(v, doc)| Completion {
                    label: v.clone(),
                    kind: ItemKind::Variant,
                    detail: format!("{ty}::{v}"),
                    doc: doc.clone(),
                })
                .collect();
        }
        return Vec::new();
    }
    // `x.` or `x?.` — attributes, relations and methods of the receiver; members of a module.
    if let Some(head) = before.strip_suffix('.') {
        let head = head.strip_suffix('?').unwrap_or(head);
        let receiver = receiver_text(head);
        if let Some((m, _)) = names.modules.iter().find(|(m, q)| *q && m.name == receiver) {
            return m.items.iter().map(value_item).collect();
        }
        match type_of(names, &scope, &receiver) {
            Some(Shape::Entity(e)) => {
                if let Some(entity) = names.entity(&e) {
                    for a in &entity.attrs {
                        out.push(Completion {
                            label: a.name.clone(),
                            kind: ItemKind::Attribute,
                            detail: format!("{}: {}", a.name, a.ty),
                            doc: a.doc.clone(),
                        });
                    }
                }
                for r in names.relations.iter().filter(|r| r.from == e) {
                    out.push(Completion {
                        label: r.name.clone(),
                        kind: ItemKind::Relation,
                        detail: format!(
                            "{}: Set<{}> (relation {} -> {})",
                            r.name, r.to, r.from, r.to
                        ),
                        doc: r.doc.clone(),
                    });
                }
            }
            Some(shape) => {
                let on_set = matches!(shape, Shape::Set(_));
                let on_string = shape == Shape::String;
                for (name, method, signature, doc) in builtins() {
                    let set_method =
                        signature.contains("Set<") && signature.starts_with("count") || method;
                    let first = signature_params(signature)
                        .first()
                        .cloned()
                        .unwrap_or_default();
                    let fits = (on_set && (set_method && !first.contains("String")))
                        || (on_string && first.contains("String"));
                    if fits && !out.iter().any(|c: &Completion| c.label == name) {
                        out.push(Completion {
                            label: name.to_string(),
                            kind: ItemKind::Method,
                            detail: signature.to_string(),
                            doc: Some(doc.to_string()),
                        });
                    }
                }
            }
            None => {}
        }
        return out;
    }
    // `on a, ` — actions.
    let trimmed = before.trim_end();
    let in_on = scope.in_rule && {
        let tail = &item[..item.len().min(before.len())];
        let last_line = tail.rsplit('\n').next().unwrap_or(tail);
        let words: Vec<&str> = last_line
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ','))
            .filter(|w| !w.is_empty())
            .collect();
        trimmed.ends_with(" on")
            || trimmed.ends_with("\non")
            || trimmed == "on"
            || (trimmed.ends_with(',') && words.iter().rev().any(|w| *w == "on"))
    };
    if in_on {
        out.push(Completion {
            label: "*".to_string(),
            kind: ItemKind::Keyword,
            detail: "every action".to_string(),
            doc: None,
        });
        for a in &names.actions {
            let fields: Vec<String> = a
                .fields
                .iter()
                .map(|f| format!("{}: {}", f.name, f.ty))
                .collect();
            out.push(Completion {
                label: a.name.clone(),
                kind: ItemKind::Action,
                detail: format!("action {} {{ {} }}", a.name, fields.join(", ")),
                doc: a.doc.clone(),
            });
        }
        return out;
    }
    // `closure(x, ` or `path(x, y, ` — relations, forwards and backwards.
    if let Some((callee, args)) = open_call(before)
        && matches!(callee.as_str(), "closure" | "path")
    {
        let commas = top_level_commas(&before[args..]);
        let wanted = if callee == "closure" { 1 } else { 2 };
        if commas == wanted {
            for r in &names.relations {
                out.push(Completion {
                    label: r.name.clone(),
                    kind: ItemKind::Relation,
                    detail: format!("relation {}: {} -> {}", r.name, r.from, r.to),
                    doc: r.doc.clone(),
                });
                out.push(Completion {
                    label: format!("~{}", r.name),
                    kind: ItemKind::Relation,
                    detail: format!("~{}: {} -> {} (backwards)", r.name, r.to, r.from),
                    doc: r.doc.clone(),
                });
            }
            return out;
        }
    }
    // Anything else: names in scope, the set's names, builtins, keywords.
    for (name, ty, doc, kind) in &scope.names {
        if !out.iter().any(|c: &Completion| c.label == *name) {
            out.push(Completion {
                label: name.clone(),
                kind: *kind,
                detail: format!("{name}: {ty}"),
                doc: doc.clone(),
            });
        }
    }
    for v in &names.values {
        out.push(value_item(v));
    }
    for (m, qualified) in &names.modules {
        if *qualified {
            out.push(Completion {
                label: m.name.clone(),
                kind: ItemKind::Module,
                detail: format!("module std.{}", m.name),
                doc: None,
            });
        }
    }
    for e in &names.entities {
        out.push(Completion {
            label: e.name.clone(),
            kind: ItemKind::EntityType,
            detail: format!("entity {}", e.name),
            doc: e.doc.clone(),
        });
    }
    for e in &names.enums {
        out.push(Completion {
            label: e.name.clone(),
            kind: ItemKind::Enum,
            detail: format!("enum {}", e.name),
            doc: e.doc.clone(),
        });
    }
    for r in &names.relations {
        out.push(Completion {
            label: r.name.clone(),
            kind: ItemKind::Relation,
            detail: format!("relation {}: {} -> {}", r.name, r.from, r.to),
            doc: r.doc.clone(),
        });
    }
    if !scope.in_rule {
        for a in &names.actions {
            out.push(Completion {
                label: a.name.clone(),
                kind: ItemKind::Action,
                detail: format!("action {}", a.name),
                doc: a.doc.clone(),
            });
        }
    }
    for (name, method, signature, doc) in builtins() {
        if !method && !out.iter().any(|c| c.label == name) {
            out.push(Completion {
                label: name.to_string(),
                kind: ItemKind::Function,
                detail: signature.to_string(),
                doc: Some(doc.to_string()),
            });
        }
    }
    for (k, doc) in KEYWORDS {
        out.push(Completion {
            label: (*k).to_string(),
            kind: ItemKind::Keyword,
            detail: "keyword".to_string(),
            doc: Some((*doc).to_string()),
        });
    }
    out
}

fn value_item(v: &ValueInfo) -> Completion {
    Completion {
        label: v.name.clone(),
        kind: match v.kind {
            "fn" => ItemKind::Function,
            "window" => ItemKind::Window,
            _ => ItemKind::Constant,
        },
        detail: v.detail.clone(),
        doc: v.doc.clone(),
    }
}

/// A declaration in the outline of a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutlineItem {
    pub name: String,
    /// `enum`, `entity`, `relation`, `context`, `action`, `window`, `const`, `fn`, `default`,
    /// `rule`, `test`, `use`, and `field`, `variant`, `case` for children.
    pub kind: &'static str,
    pub detail: Option<String>,
    /// The whole declaration, and its name.
    pub span: Span,
    pub name_span: Span,
    pub children: Vec<OutlineItem>,
}

/// The outline of a parsed file: schema, windows, values, rules, tests, with their parts.
pub fn outline(file: &ast::File, text: &str) -> Vec<OutlineItem> {
    let fields = |fields: &[ast::FieldDecl]| -> Vec<OutlineItem> {
        fields
            .iter()
            .map(|f| OutlineItem {
                name: f.name.name.clone(),
                kind: "field",
                detail: text.get(f.ty.span.range()).map(str::to_string),
                span: f.span,
                name_span: f.name.span,
                children: Vec::new(),
            })
            .collect()
    };
    let leaf = |name: &str, kind, span: Span, name_span: Span| OutlineItem {
        name: name.to_string(),
        kind,
        detail: None,
        span,
        name_span,
        children: Vec::new(),
    };
    file.items
        .iter()
        .map(|item| match item {
            ast::Item::Use(u) => {
                let path: Vec<&str> = u.path.iter().map(|i| i.name.as_str()).collect();
                leaf(&format!("use {}", path.join(".")), "use", u.span, u.span)
            }
            ast::Item::Enum(e) => OutlineItem {
                children: e
                    .variants
                    .iter()
                    .map(|v| leaf(&v.name.name, "variant", v.name.span, v.name.span))
                    .collect(),
                ..leaf(&e.name.name, "enum", e.span, e.name.span)
            },
            ast::Item::Entity(e) => OutlineItem {
                children: fields(&e.fields),
                ..leaf(&e.name.name, "entity", e.span, e.name.span)
            },
            ast::Item::Relation(r) => OutlineItem {
                detail: text
                    .get(r.from.span.start as usize..r.to.span.end as usize)
                    .map(str::to_string),
                ..leaf(&r.name.name, "relation", r.span, r.name.span)
            },
            ast::Item::Context(c) => OutlineItem {
                children: fields(&c.fields),
                ..leaf("context", "context", c.span, c.keyword)
            },
            ast::Item::Action(a) => OutlineItem {
                children: fields(&a.fields),
                ..leaf(&a.name.name, "action", a.span, a.name.span)
            },
            ast::Item::Window(w) => leaf(&w.name.name, "window", w.span, w.name.span),
            ast::Item::Const(c) => leaf(&c.name.name, "const", c.span, c.name.span),
            ast::Item::Fn(f) => OutlineItem {
                detail: text
                    .get(f.name.span.end as usize..f.ret.span.end as usize)
                    .map(|s| s.trim().to_string()),
                ..leaf(&f.name.name, "fn", f.span, f.name.span)
            },
            ast::Item::Default(d) => leaf("default", "default", d.span, d.span),
            ast::Item::Rule(r) => OutlineItem {
                detail: text.get(r.on.span.range()).map(str::to_string),
                ..leaf(&r.name.name, "rule", r.span, r.name.span)
            },
            ast::Item::Test(t) => OutlineItem {
                children: t
                    .cases
                    .iter()
                    .map(|c| {
                        leaf(
                            &format!("request {}", c.action.name),
                            "case",
                            c.span,
                            c.action.span,
                        )
                    })
                    .collect(),
                ..leaf(&t.name.value, "test", t.span, t.name.span)
            },
        })
        .collect()
}

/// The kinds of semantic tokens, in the order of the legend the server announces.
pub const TOKEN_KINDS: [&str; 13] = [
    "keyword",
    "string",
    "number",
    "comment",
    "type",
    "enumMember",
    "property",
    "function",
    "variable",
    "parameter",
    "namespace",
    "operator",
    "event",
];

/// A semantic token: where, and an index into [`TOKEN_KINDS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Token {
    pub span: Span,
    pub kind: u32,
}

/// Semantic tokens of a file: comments, strings, numbers and keywords read from the text, and
/// every name the checker resolved, coloured by what it is.
pub fn semantic_tokens(text: &str, symbols: &[&crate::Symbol]) -> Vec<Token> {
    use crate::SymbolKind as K;
    let kind_of = |k: K| -> u32 {
        match k {
            K::EntityType | K::Enum => 4,
            K::Variant => 5,
            K::Attribute | K::ActionField | K::ContextField => 6,
            K::Function | K::Builtin => 7,
            K::Variable | K::Constant | K::Window | K::TestEntity => 8,
            K::Parameter => 9,
            K::Module => 10,
            K::Relation => 6,
            K::Action | K::Rule => 12,
        }
    };
    let mut tokens: Vec<Token> = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    let push = |tokens: &mut Vec<Token>, s: usize, e: usize, kind: u32| {
        tokens.push(Token {
            span: Span {
                start: s as u32,
                end: e as u32,
            },
            kind,
        });
    };
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'/' && bytes.get(i + 1) == Some(&b'/') {
            let end = text[i..].find('\n').map_or(bytes.len(), |e| i + e);
            push(&mut tokens, i, end, 3);
            i = end;
        } else if b == b'"' {
            let mut j = i + 1;
            while j < bytes.len() && bytes[j] != b'"' && bytes[j] != b'\n' {
                j += if bytes[j] == b'\\' { 2 } else { 1 };
            }
            let end = (j + 1).min(bytes.len());
            push(&mut tokens, i, end, 1);
            i = end;
        } else if b.is_ascii_digit() {
            let mut j = i;
            while j < bytes.len()
                && (is_ident(bytes[j])
                    || matches!(bytes[j], b':' | b'-' | b'+')
                        && bytes.get(j + 1).is_some_and(u8::is_ascii_digit))
            {
                j += 1;
            }
            push(&mut tokens, i, j, 2);
            i = j;
        } else if is_ident(b) {
            let mut j = i;
            while j < bytes.len() && is_ident(bytes[j]) {
                j += 1;
            }
            let word = &text[i..j];
            if keyword_doc(word).is_some() && KEYWORDS.iter().any(|(k, _)| *k == word) {
                push(&mut tokens, i, j, 0);
            }
            i = j;
        } else {
            i += 1;
        }
    }
    for s in symbols {
        if !tokens
            .iter()
            .any(|t| t.span.start <= s.span.start && s.span.start < t.span.end)
        {
            tokens.push(Token {
                span: s.span,
                kind: kind_of(s.kind),
            });
        }
    }
    tokens.sort_by_key(|t| (t.span.start, t.span.end));
    tokens.dedup_by_key(|t| t.span.start);
    tokens
}
