//! Strict JSON for everything that enters from outside: a duplicate key is an error, never
//! "the last one wins".
//!
//! `serde_json::from_str` keeps the last of two equal keys, so
//! `{"args": {"target": "breakglass-admin", "target": "fiona-walsh"}}` would be decided for
//! `fiona-walsh` while a log or a human reads `breakglass-admin` first. Every entry point that
//! receives request or entity text (the CLI, the HTTP service, the MCP guard, the Python
//! package) parses it here or through [`crate::engine::Engine::decide_str`], which does.
//!
//! This module knows JSON only; it does not know the schema.

use std::fmt;

use serde_json::Value as Json;

use crate::store::{Problem, parse_json};

/// JSON text that cannot be accepted: a syntax error (with `line:column`) or every duplicate
/// key (with the path of the object that repeats it).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct StrictJsonError {
    problems: Vec<Problem>,
}

impl StrictJsonError {
    /// What is wrong, in document order.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }
}

/// On one line: problems joined by `; `.
impl fmt::Display for StrictJsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// Parses JSON text, rejecting duplicate keys at any depth.
///
/// ```
/// let err = ward_runtime::json::parse_strict(r#"{"args": {"target": "a", "target": "b"}}"#)
///     .unwrap_err();
/// assert_eq!(err.to_string(), "args: duplicate key `target`");
/// assert!(ward_runtime::json::parse_strict(r#"{"args": {"target": "a"}}"#).is_ok());
/// ```
pub fn parse_strict(text: &str) -> Result<Json, StrictJsonError> {
    parse_strict_keeping(text).map_err(|(e, _)| e)
}

/// Like [`parse_strict`], also giving back, on an error, the document when only duplicate keys
/// were wrong, without the top-level keys that were duplicated (so that no value of an
/// ambiguous key is ever read from it): a rejected request still echoes its `id`.
pub(crate) fn parse_strict_keeping(text: &str) -> Result<Json, (StrictJsonError, Option<Json>)> {
    let (mut doc, duplicates) =
        parse_json(text).map_err(|p| (StrictJsonError { problems: vec![p] }, None))?;
    if duplicates.is_empty() {
        return Ok(doc);
    }
    for dup in &duplicates {
        if let (true, Json::Object(top)) = (dup.object.is_empty(), &mut doc) {
            top.remove(&dup.key);
        }
    }
    let problems = duplicates
        .into_iter()
        .map(|dup| Problem {
            path: dup.object.join("."),
            message: format!("duplicate key `{}`", dup.key),
        })
        .collect();
    Err((StrictJsonError { problems }, Some(doc)))
}

/// Like [`parse_strict`] for bytes: text that is not UTF-8 is an error naming the offset of
/// the first bad byte.
pub fn parse_strict_bytes(bytes: &[u8]) -> Result<Json, StrictJsonError> {
    parse_strict_bytes_keeping(bytes).map_err(|(e, _)| e)
}

/// [`parse_strict_keeping`] for bytes.
pub(crate) fn parse_strict_bytes_keeping(
    bytes: &[u8],
) -> Result<Json, (StrictJsonError, Option<Json>)> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let problems = vec![Problem {
            path: String::new(),
            message: format!(
                "the document is not valid UTF-8 (bad byte at offset {})",
                e.valid_up_to()
            ),
        }];
        (StrictJsonError { problems }, None)
    })?;
    parse_strict_keeping(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_errors_at_every_depth() {
        for (text, expected) in [
            (
                r#"{"action": "a", "action": "b"}"#,
                "duplicate key `action`",
            ),
            (
                r#"{"context": {"agent": "x", "agent": "y"}}"#,
                "context: duplicate key `agent`",
            ),
            (
                r#"{"args": {"x": {"k": 1, "k": 2}}}"#,
                "args.x: duplicate key `k`",
            ),
        ] {
            assert_eq!(parse_strict(text).unwrap_err().to_string(), expected);
        }
    }

    /// Issue 7.9: a byte order mark is named, not reported as "expected value".
    #[test]
    fn a_byte_order_mark_is_named() {
        let err = parse_strict_bytes(b"\xef\xbb\xbf{\"action\": \"a\"}").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the document starts with a UTF-8 byte order mark (BOM), which JSON does not \
             allow: save it as UTF-8 without a BOM"
        );
    }

    #[test]
    fn bad_utf8_names_the_offset() {
        let err = parse_strict_bytes(b"{\"a\": \"\xff\"}").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the document is not valid UTF-8 (bad byte at offset 7)"
        );
    }
}
