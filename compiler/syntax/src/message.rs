//! Splitting a `because` message into literal text and `{expr}` holes.
//!
//! The message is a string literal, so a hole's text is first decoded like the rest of the
//! string (`\"` becomes `"`), keeping for every decoded byte the offset it came from; the
//! builder parses the decoded hole as an expression with those offsets, so every span in the
//! hole, and every error, points into the string in the file. `{{` and `}}` are literal braces.

use crate::literal::{self, LiteralError};

/// One piece of a message body, with byte offsets into the body (the text between the quotes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Text(String),
    /// A hole: its decoded text, and for each byte of it (plus one past the end) the offset in
    /// the body it came from.
    Hole {
        text: String,
        offsets: Vec<usize>,
    },
}

/// A problem in a message body: `start..end` is a range of the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PieceError {
    pub error: LiteralError,
    /// True for brace problems (code E0015), false for bad escapes (E0009).
    pub hole: bool,
}

pub(crate) fn split(body: &str) -> (Vec<Piece>, Vec<PieceError>) {
    let mut pieces = Vec::new();
    let mut errors = Vec::new();
    let mut text = String::new();
    let bytes = body.as_bytes();
    let mut i = 0;
    let hole_error = |start: usize, end: usize, message: &str, help: &str| PieceError {
        error: LiteralError {
            start,
            end,
            message: message.into(),
            help: Some(help.into()),
        },
        hole: true,
    };
    while i < bytes.len() {
        match bytes[i] {
            b'{' if bytes.get(i + 1) == Some(&b'{') => {
                text.push('{');
                i += 2;
            }
            b'}' if bytes.get(i + 1) == Some(&b'}') => {
                text.push('}');
                i += 2;
            }
            b'}' => {
                errors.push(hole_error(
                    i,
                    i + 1,
                    "unmatched `}` in message",
                    "write `}}` for a literal brace",
                ));
                i += 1;
            }
            b'{' => {
                let Some(end) = hole_end(body, i + 1) else {
                    errors.push(hole_error(
                        i,
                        i + 1,
                        "unclosed `{` in message",
                        "close the hole with `}`, or write `{{` for a literal brace",
                    ));
                    break;
                };
                let (hole, offsets, escape_errors) = decode_hole(body, i + 1, end);
                errors.extend(
                    escape_errors
                        .into_iter()
                        .map(|error| PieceError { error, hole: false }),
                );
                if hole.trim().is_empty() {
                    errors.push(hole_error(
                        i,
                        end + 1,
                        "empty `{}` in message",
                        "put an expression between the braces, or write `{{}}` for literal braces",
                    ));
                } else {
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Hole {
                        text: hole,
                        offsets,
                    });
                }
                i = end + 1;
            }
            b'\\' => match literal::escape(&body[i..]) {
                Ok((c, len)) => {
                    text.push(c);
                    i += len;
                }
                Err(mut error) => {
                    let len = error.end.max(1);
                    error.start += i;
                    error.end += i;
                    errors.push(PieceError { error, hole: false });
                    i += len;
                    while !body.is_char_boundary(i.min(body.len())) {
                        i += 1;
                    }
                }
            },
            _ => {
                let next = body[i..]
                    .find(['{', '}', '\\'])
                    .map_or(body.len(), |n| i + n);
                text.push_str(&body[i..next]);
                i = next;
            }
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    (pieces, errors)
}

/// The offset of the `}` closing a hole whose text starts at `start`: nested braces (a filter)
/// and string literals (written `\"…\"` inside the message) are skipped.
fn hole_end(body: &str, start: usize) -> Option<usize> {
    // The hole is read as its decoded text will be parsed: a `\"` of the message is a `"` of
    // the hole, and a `\\` a `\`; inside a string of the hole, a (decoded) backslash escapes
    // the character after it, so `\"a\\\"b\"` is the one string `"a\"b"`.
    let bytes = body.as_bytes();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut i = start;
    while i < bytes.len() {
        let (c, len) = match bytes[i] {
            b'\\' => match bytes.get(i + 1) {
                Some(&next @ (b'"' | b'\\')) => (next, 2),
                Some(_) => (b'x', 2),
                None => return None,
            },
            other => (other, 1),
        };
        if in_string {
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_string = false;
            }
        } else {
            match c {
                b'"' => in_string = true,
                b'{' => depth += 1,
                b'}' if depth == 0 => return Some(i),
                b'}' => depth -= 1,
                _ => {}
            }
        }
        i += len;
    }
    None
}

fn decode_hole(body: &str, start: usize, end: usize) -> (String, Vec<usize>, Vec<LiteralError>) {
    let mut text = String::with_capacity(end - start);
    let mut offsets = Vec::with_capacity(end - start + 1);
    let mut errors = Vec::new();
    let mut i = start;
    while i < end {
        if body.as_bytes()[i] == b'\\' {
            match literal::escape(&body[i..end]) {
                Ok((c, len)) => {
                    for _ in 0..c.len_utf8() {
                        offsets.push(i);
                    }
                    text.push(c);
                    i += len;
                }
                Err(mut e) => {
                    let len = e.end.max(1);
                    e.start += i;
                    e.end += i;
                    errors.push(e);
                    i += len;
                }
            }
        } else {
            let c = body[i..].chars().next().unwrap_or(' ');
            for k in 0..c.len_utf8() {
                offsets.push(i + k);
            }
            text.push(c);
            i += c.len_utf8();
        }
    }
    offsets.push(end);
    (text, offsets, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(body: &str) -> Vec<String> {
        split(body)
            .0
            .into_iter()
            .map(|p| match p {
                Piece::Text(t) => format!("T:{t}"),
                Piece::Hole { text, .. } => format!("H:{text}"),
            })
            .collect()
    }

    #[test]
    fn pieces() {
        assert_eq!(texts("plain"), ["T:plain"]);
        assert_eq!(texts("{a} and {b.c}!"), ["H:a", "T: and ", "H:b.c", "T:!"]);
        assert_eq!(texts("{{literal}} {x}"), ["T:{literal} ", "H:x"]);
        assert_eq!(texts(r#"{x ?? \"none\"}"#), [r#"H:x ?? "none""#]);
        assert_eq!(texts("{ {a in s | b} }"), ["H: {a in s | b} "]);
        assert_eq!(texts(r"tab\there"), ["T:tab\there"]);
    }

    #[test]
    fn offsets_point_into_the_body() {
        let (pieces, _) = split(r#"ab{x ?? \"n\"}"#);
        let Piece::Hole { text, offsets } = &pieces[1] else {
            panic!("expected a hole")
        };
        assert_eq!(text, r#"x ?? "n""#);
        assert_eq!(offsets[0], 3);
        assert_eq!(offsets[5], 8); // the decoded quote comes from `\"` at 8
        assert_eq!(*offsets.last().unwrap(), 13);
    }

    #[test]
    fn brace_errors() {
        let messages = |body: &str| -> Vec<String> {
            split(body).1.into_iter().map(|e| e.error.message).collect()
        };
        assert_eq!(messages("a { b"), ["unclosed `{` in message"]);
        assert_eq!(messages("a {} b"), ["empty `{}` in message"]);
        assert_eq!(messages("a } b"), ["unmatched `}` in message"]);
        assert_eq!(messages(r"a \q"), ["unknown escape `\\q` in string"]);
    }
}
