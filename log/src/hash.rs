//! The content hashes the log's lines carry, `sha256:` and 64 hex digits: of bytes (a line, an
//! estate file, a request's canonical text) and of a policy set, so that `ward serve` and
//! `ward mcp-guard` name the same policy set by the same `policy` hash.

use sha2::{Digest, Sha256};

/// `sha256:` and the hex SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The hash of a policy set: its files in the given order, each as its path relative to the
/// set's root, a zero byte, its length (8 bytes, little-endian) and its text. The lengths keep
/// two sets from meeting by moving text from one file to the next.
pub fn policy<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut hasher = Sha256::new();
    for (path, text) in files {
        hasher.update(path.as_bytes());
        hasher.update([0]);
        hasher.update((text.len() as u64).to_le_bytes());
        hasher.update(text.as_bytes());
    }
    hex(&hasher.finalize())
}

fn hex(digest: &[u8]) -> String {
    let mut out = String::with_capacity(7 + 2 * digest.len());
    out.push_str("sha256:");
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_prefixed_hex_and_the_policy_hash_separates_files() {
        assert_eq!(
            sha256(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let one = policy([("a.ward", "rule"), ("b.ward", "")]);
        let moved = policy([("a.ward", "ru"), ("b.ward", "le")]);
        let renamed = policy([("c.ward", "rule"), ("b.ward", "")]);
        assert_eq!(one.len(), 71);
        assert_ne!(one, moved);
        assert_ne!(one, renamed);
        assert_eq!(one, policy([("a.ward", "rule"), ("b.ward", "")]));
    }
}
