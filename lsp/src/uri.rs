//! Document identity: LSP URIs to the path strings the checker knows files by, and back.
//!
//! A `file:` URI becomes its percent-decoded path (`/home/me/p/a.ward`), the same string
//! `ward check` would use for a file found under the workspace root; any other URI (an
//! editor's `untitled:` buffer) is kept whole as the key. This module knows nothing of the
//! checker.

use lsp_types::Uri;

/// The checker's path for `uri`.
pub fn to_path(uri: &Uri) -> String {
    let text = uri.as_str();
    let Some(rest) = text.strip_prefix("file://") else {
        return text.to_string();
    };
    // `file:///p` (empty authority) or `file://localhost/p`.
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    let path = path.split(['?', '#']).next().unwrap_or(path);
    percent_decode(path)
}

/// The URI of a checker path made by [`to_path`]; `None` for a path that is neither absolute
/// nor a URI (the stdlib's `std/time.ward`, which is not on disk).
pub fn from_path(path: &str) -> Option<Uri> {
    if path.starts_with('/') {
        let mut text = String::from("file://");
        for b in path.bytes() {
            if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
                text.push(char::from(b));
            } else {
                text.push_str(&format!("%{b:02X}"));
            }
        }
        text.parse().ok()
    } else if path.contains(':') {
        path.parse().ok()
    } else {
        None
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_uris_round_trip_through_paths() {
        let cases = [
            ("file:///home/me/p/a.ward", "/home/me/p/a.ward"),
            (
                "file:///home/me/my%20policies/r%C3%A8gles.ward",
                "/home/me/my policies/règles.ward",
            ),
            ("file://localhost/tmp/a.ward", "/tmp/a.ward"),
        ];
        for (uri, path) in cases {
            let parsed: Uri = uri.parse().unwrap();
            assert_eq!(to_path(&parsed), path, "{uri}");
            assert_eq!(to_path(&from_path(path).unwrap()), path, "{path}");
        }
        assert_eq!(
            from_path("/home/me/my policies/a.ward").unwrap().as_str(),
            "file:///home/me/my%20policies/a.ward"
        );
    }

    #[test]
    fn other_uris_are_kept_whole() {
        let untitled: Uri = "untitled:Untitled-1".parse().unwrap();
        assert_eq!(to_path(&untitled), "untitled:Untitled-1");
        assert_eq!(from_path("untitled:Untitled-1"), Some(untitled));
        assert_eq!(from_path("std/time.ward"), None);
    }
}
