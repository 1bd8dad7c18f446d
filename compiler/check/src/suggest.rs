//! "Did you mean" suggestions: the closest known name to a misspelt one.
//!
//! Pure string matching; it knows nothing about scopes or diagnostics.

/// The candidate closest to `name`, if one is close enough to be a plausible typo.
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        if candidate == name {
            continue;
        }
        let distance = strsim::damerau_levenshtein(name, candidate);
        let better = match best {
            None => true,
            Some((d, c)) => distance < d || (distance == d && candidate < c),
        };
        if distance <= limit && better {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// `did you mean `x`?` as a help sentence, when a close name exists.
pub(crate) fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(name, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = ["target", "reason", "department"];
        assert_eq!(closest("traget", names), Some("target"));
        assert_eq!(closest("departmnt", names), Some("department"));
        assert_eq!(closest("xyz", names), None);
        assert_eq!(closest("target", names), None);
    }
}
