//! Who is calling: bearer tokens, the tokens file (names, groups, roles and SHA-256 hashes,
//! never tokens), principals and roles.
//!
//! A token is compared by its hash, in constant time, against every entry of the file (the
//! loop does not stop at a match, so the time does not say which entry or how far it got).
//! Without a tokens file every caller is the principal `anonymous` with the role `agent`;
//! the listener then only accepts loopback connections (checked where it binds and accepts).
//!
//! This module knows HTTP headers only as text; it knows nothing of decisions or approvals.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a principal may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Ask for decisions.
    Agent,
    /// See and act on the approvals that name them.
    Approver,
    /// Everything, reload included.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Agent, Role::Approver, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub groups: Vec<String>,
    pub roles: BTreeSet<Role>,
}

impl Principal {
    /// The caller when the server runs without tokens (loopback only).
    pub fn anonymous() -> Principal {
        Principal {
            name: "anonymous".into(),
            groups: Vec::new(),
            roles: BTreeSet::from([Role::Agent]),
        }
    }

    /// Whether the principal has `role`, or `admin` (which may do everything).
    pub fn may(&self, role: Role) -> bool {
        self.roles.contains(&role) || self.roles.contains(&Role::Admin)
    }
}

/// The tokens file, loaded.
#[derive(Debug)]
pub struct Tokens {
    entries: Vec<(Principal, [u8; 32])>,
}

/// Why a call is not let through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Denied {
    /// No token, a malformed header, or a token that is not in the file: `401`.
    Unauthenticated(String),
    /// A known principal without the role: `403`.
    Forbidden(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    token: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    #[serde(default)]
    groups: Vec<String>,
    roles: Vec<String>,
    sha256: String,
}

impl Tokens {
    /// Reads a tokens file (TOML, `[[token]]` entries).
    pub fn load(path: &Path) -> Result<Tokens, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the tokens file `{}`: {e}", path.display()))?;
        Tokens::parse(&text)
            .map_err(|e| format!("the tokens file `{}` is not valid: {e}", path.display()))
    }

    /// Parses the text of a tokens file.
    pub fn parse(text: &str) -> Result<Tokens, String> {
        let file: File = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        if file.token.is_empty() {
            return Err(
                "it lists no `[[token]]`; create one with `ward token new NAME --role agent`"
                    .into(),
            );
        }
        let mut entries: Vec<(Principal, [u8; 32])> = Vec::new();
        for (idx, entry) in file.token.into_iter().enumerate() {
            let at = format!("token {} (`{}`)", idx + 1, entry.name);
            if entry.name.trim().is_empty() {
                return Err(format!("token {}: `name` is empty", idx + 1));
            }
            if entry.roles.is_empty() {
                return Err(format!(
                    "{at}: `roles` is empty (one or more of `agent`, `approver`, `admin`)"
                ));
            }
            let mut roles = BTreeSet::new();
            for role in &entry.roles {
                let parsed = Role::parse(role).ok_or_else(|| {
                    format!("{at}: unknown role `{role}` (one of `agent`, `approver`, `admin`)")
                })?;
                roles.insert(parsed);
            }
            let hash = parse_hash(&entry.sha256).ok_or_else(|| {
                format!(
                    "{at}: `sha256` must be 64 hexadecimal digits, the hash `ward token new` prints"
                )
            })?;
            if entries.iter().any(|(p, _)| p.name == entry.name) {
                return Err(format!("{at}: the name is used by an earlier token"));
            }
            if entries.iter().any(|(_, h)| *h == hash) {
                return Err(format!("{at}: the same hash as an earlier token"));
            }
            entries.push((
                Principal {
                    name: entry.name,
                    groups: entry.groups,
                    roles,
                },
                hash,
            ));
        }
        Ok(Tokens { entries })
    }

    /// The principal a bearer token belongs to.
    pub fn authenticate(&self, token: &str) -> Option<&Principal> {
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = None;
        for (principal, hash) in &self.entries {
            if bool::from(presented.ct_eq(hash)) {
                found = Some(principal);
            }
        }
        found
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The principal of a request from its `Authorization` header, and whether it has `role`.
/// Without tokens, everyone is [`Principal::anonymous`].
pub fn authorize(
    tokens: Option<&Tokens>,
    authorization: Option<&[u8]>,
    role: Role,
) -> Result<Principal, (Option<Principal>, Denied)> {
    let principal = match tokens {
        None => Principal::anonymous(),
        Some(tokens) => {
            let header = authorization.ok_or_else(|| {
                (
                    None,
                    Denied::Unauthenticated("missing `Authorization: Bearer TOKEN` header".into()),
                )
            })?;
            let token = std::str::from_utf8(header)
                .ok()
                .and_then(|h| h.strip_prefix("Bearer "))
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    (
                        None,
                        Denied::Unauthenticated(
                            "the `Authorization` header must be `Bearer TOKEN`".into(),
                        ),
                    )
                })?;
            tokens
                .authenticate(token)
                .cloned()
                .ok_or_else(|| (None, Denied::Unauthenticated("unknown token".into())))?
        }
    };
    if principal.may(role) {
        Ok(principal)
    } else {
        let has = if principal.roles.is_empty() {
            "no role".to_owned()
        } else {
            principal
                .roles
                .iter()
                .map(|r| format!("`{}`", r.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let why = match tokens {
            None => format!(
                "this call needs the role `{}`; without a tokens file every caller is `anonymous` with the role `agent` (start the server with `--tokens FILE`)",
                role.as_str()
            ),
            Some(_) => format!(
                "`{}` has {has}; this call needs the role `{}`",
                principal.name,
                role.as_str()
            ),
        };
        Err((Some(principal), Denied::Forbidden(why)))
    }
}

/// A fresh token (`ward_` and 64 hexadecimal digits, 256 random bits) and its hash.
pub fn new_token() -> Result<(String, String), String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| format!("the operating system gave no random bytes: {e}"))?;
    let mut token = String::from("ward_");
    for b in bytes {
        let _ = write!(token, "{b:02x}");
    }
    let hash = hash_token(&token);
    Ok((token, hash))
}

/// The hex SHA-256 of a token, as the tokens file stores it.
pub fn hash_token(token: &str) -> String {
    let mut out = String::with_capacity(64);
    for b in Sha256::digest(token.as_bytes()) {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The `[[token]]` entry for a tokens file.
pub fn token_entry(name: &str, roles: &[Role], groups: &[String], hash: &str) -> String {
    let quote = |s: &str| {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => {
                    let _ = write!(out, "\\u{:04X}", c as u32);
                }
                c => out.push(c),
            }
        }
        out.push('"');
        out
    };
    let list = |items: Vec<String>| items.join(", ");
    format!(
        "[[token]]\nname = {}\ngroups = [{}]\nroles = [{}]\nsha256 = \"{hash}\"\n",
        quote(name),
        list(groups.iter().map(|g| quote(g)).collect()),
        list(roles.iter().map(|r| quote(r.as_str())).collect()),
    )
}

fn parse_hash(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_token_round_trips_through_its_entry() {
        let (token, hash) = new_token().unwrap();
        assert!(token.starts_with("ward_") && token.len() == 69);
        let entry = token_entry(
            "carol",
            &[Role::Approver],
            &["security-oncall".into()],
            &hash,
        );
        let tokens = Tokens::parse(&entry).unwrap();
        let carol = tokens.authenticate(&token).unwrap();
        assert_eq!(carol.name, "carol");
        assert_eq!(carol.groups, ["security-oncall"]);
        assert!(carol.may(Role::Approver) && !carol.may(Role::Agent));
        assert!(tokens.authenticate("ward_00").is_none());
    }

    #[test]
    fn bad_files_are_refused_with_the_reason() {
        for (text, why) in [
            ("", "lists no `[[token]]`"),
            (
                "[[token]]\nname = \"a\"\nroles = [\"root\"]\nsha256 = \"00\"\n",
                "unknown role `root`",
            ),
            (
                "[[token]]\nname = \"a\"\nroles = [\"agent\"]\nsha256 = \"00\"\n",
                "64 hexadecimal digits",
            ),
            (
                "[[token]]\nname = \"a\"\nroles = [\"agent\"]\nsha256 = \"00\"\ntoken = \"x\"\n",
                "unknown field",
            ),
        ] {
            let err = Tokens::parse(text).unwrap_err();
            assert!(err.contains(why), "{err}");
        }
    }
}
