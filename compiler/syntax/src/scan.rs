//! A lexical pass over the whole file that runs before pest: it collects every comment and
//! splits the file into top-level chunks, one declaration each, so a broken declaration is
//! reported on its own and parsing resumes at the next one.
//!
//! A chunk starts at a top-level keyword (`rule`, `fn`, `const`, …) that stands outside any
//! braces, or at column 1 whatever the braces say (so a missing `}` cannot swallow the rest of
//! the file), and a block declaration ends at the `}` that closes its body. Text between
//! declarations that starts none forms a chunk of its own, which then fails to parse. The scan
//! knows tokens only roughly (words, strings, comments, brackets); it knows nothing of the AST.

use crate::Span;
use crate::ast::Comment;

/// Declarations whose body is a `{ … }` block: the chunk ends where that block closes.
const BLOCK_KINDS: [&str; 8] = [
    "use", "enum", "entity", "context", "action", "window", "rule", "test",
];

/// Reserved words (decision 1).
pub(crate) const RESERVED: [&str; 32] = [
    "and", "or", "not", "in", "matches", "has", "if", "then", "else", "any", "all", "true",
    "false", "now", "enum", "entity", "relation", "context", "action", "window", "const", "fn",
    "use", "default", "rule", "test", "on", "when", "allow", "deny", "require", "because",
];

/// Whether `word` is in [`RESERVED`] (a `match` compiles to a few comparisons; this runs for
/// every name the fast parser reads).
pub(crate) fn is_reserved(word: &str) -> bool {
    matches!(
        word,
        "and"
            | "or"
            | "not"
            | "in"
            | "matches"
            | "has"
            | "if"
            | "then"
            | "else"
            | "any"
            | "all"
            | "true"
            | "false"
            | "now"
            | "enum"
            | "entity"
            | "relation"
            | "context"
            | "action"
            | "window"
            | "const"
            | "fn"
            | "use"
            | "default"
            | "rule"
            | "test"
            | "on"
            | "when"
            | "allow"
            | "deny"
            | "require"
            | "because"
    )
}

/// Whether `word` starts a declaration.
fn is_top_level(word: &str) -> bool {
    matches!(
        word,
        "use"
            | "enum"
            | "entity"
            | "relation"
            | "context"
            | "action"
            | "window"
            | "const"
            | "fn"
            | "default"
            | "rule"
            | "test"
    )
}

/// Beyond these, a declaration is rejected before pest sees it, so no input can exhaust the
/// stack of the parser, the builder or later passes.
pub(crate) const MAX_NESTING: usize = 64;
pub(crate) const MAX_OPERATORS: usize = 4096;

#[derive(Debug)]
pub(crate) struct Scanned {
    pub comments: Vec<Comment>,
    pub chunks: Vec<Chunk>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Chunk {
    pub start: usize,
    pub end: usize,
    /// Deepest nesting of brackets and `Set<…>` types, plus every `if`, `any`, `all` (each
    /// nests an expression).
    pub nesting: usize,
    /// Binary operators, which the builder folds into nested trees.
    pub operators: usize,
}

struct Open {
    start: usize,
    block: bool,
    closed: bool,
    braces: usize,
    brackets: usize,
    nesting: usize,
    max_nesting: usize,
    operators: usize,
    tokens: usize,
    /// Open `Set<` of types (a `>` closes one).
    angles: usize,
    /// Whether the previous token was the word `Set`.
    after_set: bool,
}

impl Open {
    fn new(start: usize, kind: Option<&str>) -> Open {
        Open {
            start,
            block: kind.is_some_and(|k| BLOCK_KINDS.contains(&k)),
            closed: false,
            braces: 0,
            brackets: 0,
            nesting: 0,
            max_nesting: 0,
            operators: 0,
            tokens: 0,
            angles: 0,
            after_set: false,
        }
    }

    fn finish(self, end: usize) -> Chunk {
        Chunk {
            start: self.start,
            end,
            nesting: self.max_nesting + self.nesting,
            operators: self.operators,
        }
    }
}

pub(crate) fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Split `text` into chunks and collect its comments.
pub(crate) fn scan(text: &str) -> Scanned {
    let bytes = text.as_bytes();
    let mut comments = Vec::new();
    let mut chunks = Vec::new();
    let mut open: Option<Open> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if b == b'/' && bytes.get(i + 1) == Some(&b'/') {
            let end = text[i..].find('\n').map_or(text.len(), |n| i + n);
            comments.push(comment(text, i, end));
            i = end;
            continue;
        }
        let column_one = i == 0 || bytes[i - 1] == b'\n';
        let token_end = token_end(bytes, i);
        let word = &text[i..token_end];
        let top_level = b.is_ascii_alphabetic() && is_top_level(word);
        let starts_new = match &open {
            None => true,
            Some(o) => {
                o.closed
                    || (top_level
                        && (column_one || (o.braces == 0 && o.brackets == 0 && o.tokens > 1)))
            }
        };
        if starts_new {
            if let Some(o) = open.take() {
                chunks.push(o.finish(i));
            }
            open = Some(Open::new(i, top_level.then_some(word)));
        }
        if let Some(o) = open.as_mut() {
            o.tokens += 1;
            match b {
                b'{' => {
                    o.braces += 1;
                    o.brackets += 1;
                }
                b'(' | b'[' => o.brackets += 1,
                b'}' => {
                    o.braces = o.braces.saturating_sub(1);
                    o.brackets = o.brackets.saturating_sub(1);
                    if o.braces == 0 && o.block {
                        o.closed = true;
                    }
                }
                b')' | b']' => o.brackets = o.brackets.saturating_sub(1),
                b'+' | b'-' | b'*' | b'=' | b'<' | b'>' | b'?' | b'&' | b'|' => o.operators += 1,
                _ if matches!(word, "and" | "or" | "in" | "matches" | "has") => o.operators += 1,
                _ if matches!(word, "if" | "any" | "all") => o.nesting += 1,
                _ => {}
            }
            // `Set<` nests a type, as a bracket does (only types write `Set` before `<`).
            match b {
                b'<' if o.after_set => o.angles += 1,
                b'>' => o.angles = o.angles.saturating_sub(1),
                _ => {}
            }
            o.after_set = word == "Set";
            o.max_nesting = o.max_nesting.max(o.brackets + o.angles);
        }
        i = token_end;
    }
    if let Some(o) = open.take() {
        chunks.push(o.finish(text.len()));
    }
    Scanned { comments, chunks }
}

fn comment(text: &str, start: usize, end: usize) -> Comment {
    let body = &text[start..end];
    let doc = body.starts_with("///") && !body.starts_with("////");
    let text = if doc { &body[3..] } else { &body[2..] };
    Comment {
        span: Span::new(start, end),
        text: text.trim_end_matches('\r').to_string(),
        doc,
    }
}

/// The end of the rough token starting at `i` (which is not whitespace or a comment): a word
/// or number, a string up to its closing quote or the end of its line, or one byte.
fn token_end(bytes: &[u8], i: usize) -> usize {
    let b = bytes[i];
    if is_ident_char(b) {
        let mut j = i + 1;
        while j < bytes.len() && is_ident_char(bytes[j]) {
            j += 1;
        }
        return j;
    }
    if b == b'"' {
        let mut j = i + 1;
        while j < bytes.len() {
            match bytes[j] {
                b'"' => return j + 1,
                b'\n' => return j,
                b'\\' if j + 1 < bytes.len() && bytes[j + 1] != b'\n' => j += 2,
                _ => j += 1,
            }
        }
        return bytes.len();
    }
    // Step over a whole UTF-8 character so every chunk boundary is a character boundary.
    let mut j = i + 1;
    while j < bytes.len() && (bytes[j] & 0xC0) == 0x80 {
        j += 1;
    }
    j
}

/// A token found by [`tokens`], for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub start: usize,
    pub end: usize,
}

/// The tokens of `text` up to `limit` (exclusive of tokens starting at or after it), skipping
/// whitespace and comments; operators of two characters are one token.
pub(crate) fn tokens(text: &str, limit: usize) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() && i < limit {
        let b = bytes[i];
        if b.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if b == b'/' && bytes.get(i + 1) == Some(&b'/') {
            i = text[i..].find('\n').map_or(text.len(), |n| i + n);
            continue;
        }
        let end = token_at(text, i).end;
        out.push(Token { start: i, end });
        i = end;
    }
    out
}

/// The token starting at `i` (after skipping nothing): a word, a string, a two-character
/// operator or one character.
pub(crate) fn token_at(text: &str, i: usize) -> Token {
    let bytes = text.as_bytes();
    let two = text.get(i..i + 2).unwrap_or("");
    let end = if matches!(
        two,
        "==" | "!=" | "<=" | ">=" | "&&" | "||" | "??" | "?." | "->" | "::"
    ) {
        i + 2
    } else {
        token_end(bytes, i)
    };
    Token { start: i, end }
}

/// The first token at or after `i`, skipping whitespace and comments; `None` at the end.
pub(crate) fn next_token(text: &str, mut i: usize) -> Option<Token> {
    let bytes = text.as_bytes();
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_whitespace() {
            i += 1;
        } else if b == b'/' && bytes.get(i + 1) == Some(&b'/') {
            i = text[i..].find('\n').map_or(text.len(), |n| i + n);
        } else {
            return Some(token_at(text, i));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_classes() {
        for w in RESERVED {
            assert!(is_reserved(w), "{w}");
        }
        for w in ["rule", "fn", "const", "test", "use", "default", "window"] {
            assert!(is_top_level(w), "{w}");
        }
        for w in ["", "ruler", "an", "Set", "approval", "from", "x", "ands"] {
            assert!(!is_reserved(w) && !is_top_level(w), "{w}");
        }
        let top = RESERVED.iter().filter(|w| is_top_level(w)).count();
        assert_eq!(top, 12);
    }
}
