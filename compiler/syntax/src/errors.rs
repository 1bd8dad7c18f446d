//! Turning pest's failures into compiler-style diagnostics.
//!
//! pest reports the furthest position it reached and the grammar rules it tried there. This
//! module names those rules in words ("an expression", "a type such as `String`…"), looks at
//! the tokens around the position ("after `and`", "found `deny`") and at the brackets still
//! open ("to close the rule `x`"), and picks one message. It works on the text that was given
//! to pest (a declaration or a `{…}` hole); spans are local to that text.

use crate::grammar::Rule;
use crate::scan::{self, RESERVED};
use crate::{Diagnostic, Span, codes};
use pest::error::{Error, ErrorVariant, InputLocation};

/// What a rule pest tried stands for in a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Expect {
    Declaration,
    Expr,
    Name,
    Type,
    Word(&'static str),
    Operator,
    Close(char),
    End,
}

fn describe(rule: Rule) -> Option<Expect> {
    use Expect::*;
    Some(match rule {
        Rule::EOI => End,
        Rule::expr_only => Expr,
        Rule::chunk => Declaration,
        Rule::use_decl
        | Rule::enum_decl
        | Rule::entity_decl
        | Rule::relation_decl
        | Rule::context_decl
        | Rule::action_decl
        | Rule::window_decl
        | Rule::const_decl
        | Rule::fn_decl
        | Rule::default_decl
        | Rule::rule_decl
        | Rule::test_decl
        | Rule::kw_use
        | Rule::kw_enum
        | Rule::kw_entity
        | Rule::kw_relation
        | Rule::kw_context
        | Rule::kw_action
        | Rule::kw_window
        | Rule::kw_const
        | Rule::kw_fn
        | Rule::kw_default
        | Rule::kw_rule
        | Rule::kw_test => Declaration,
        Rule::expr
        | Rule::or_expr
        | Rule::and_expr
        | Rule::not_expr
        | Rule::cmp_expr
        | Rule::coalesce_expr
        | Rule::add_expr
        | Rule::mul_expr
        | Rule::neg_expr
        | Rule::postfix_expr
        | Rule::paren_expr
        | Rule::if_expr
        | Rule::quantifier
        | Rule::filter_expr
        | Rule::set_lit
        | Rule::duration
        | Rule::int
        | Rule::bad_number
        | Rule::kw_true
        | Rule::kw_false
        | Rule::kw_now
        | Rule::kw_if
        | Rule::kw_any
        | Rule::kw_all
        | Rule::inverse_rel
        | Rule::enum_value
        | Rule::op_not
        | Rule::op_neg => Expr,
        Rule::ident
        | Rule::variant
        | Rule::field_decl
        | Rule::record_field
        | Rule::record_fields => Name,
        Rule::type_expr | Rule::set_type | Rule::kw_set => Type,
        Rule::op_or
        | Rule::op_and
        | Rule::cmp_tail
        | Rule::op_cmp
        | Rule::op_in
        | Rule::op_matches
        | Rule::op_has
        | Rule::bad_assign
        | Rule::op_coalesce
        | Rule::op_add
        | Rule::op_mul
        | Rule::call_args
        | Rule::field_access
        | Rule::opt_field_access => Operator,
        Rule::rbrace => Close('}'),
        Rule::rparen => Close(')'),
        Rule::rbracket => Close(']'),
        Rule::rangle => Close('>'),
        Rule::string | Rule::bad_string => Word("a string"),
        Rule::timestamp | Rule::at_clause | Rule::kw_at => {
            Word("a timestamp such as `2026-11-29T10:00:00Z`")
        }
        Rule::time_of_day => Word("a time such as `09:00`"),
        Rule::day | Rule::day_spec => Word("a day such as `Mon`"),
        Rule::timezone_line
        | Rule::weekly_line
        | Rule::daily_line
        | Rule::between_line
        | Rule::except_line
        | Rule::kw_timezone
        | Rule::kw_weekly
        | Rule::kw_daily
        | Rule::kw_between
        | Rule::kw_except => {
            Word("a window line (`timezone`, `weekly`, `daily`, `between` or `except`)")
        }
        Rule::effect
        | Rule::require_approval
        | Rule::kw_allow
        | Rule::kw_deny
        | Rule::kw_require => Word("an effect (`allow`, `deny` or `require approval`)"),
        Rule::entity_literal | Rule::edge_entry | Rule::entity_ref => {
            Word("an entity such as `Identity::\"alice\" { … }` or an edge")
        }
        Rule::on_clause | Rule::kw_on => Word("`on`"),
        Rule::when_clause | Rule::kw_when => Word("`when`"),
        Rule::because_clause | Rule::kw_because => Word("`because`"),
        Rule::kw_then => Word("`then`"),
        Rule::kw_else => Word("`else`"),
        Rule::kw_in => Word("`in`"),
        Rule::kw_and => Word("`and`"),
        Rule::kw_approval => Word("`approval`"),
        Rule::kw_from => Word("`from`"),
        Rule::kw_by => Word("`by`"),
        Rule::test_entities | Rule::kw_entities => Word("`entities`"),
        Rule::test_case | Rule::kw_request => Word("`request`"),
        Rule::with_clause | Rule::kw_with => Word("`with`"),
        Rule::expect_clause | Rule::kw_expect => Word("`expect`"),
        Rule::lbrace => Word("`{`"),
        Rule::lparen => Word("`(`"),
        Rule::lbracket => Word("`[`"),
        Rule::langle => Word("`<`"),
        Rule::colon => Word("`:`"),
        Rule::comma => Word("`,`"),
        Rule::semicolon => Word("`;`"),
        Rule::arrow => Word("`->`"),
        Rule::assign => Word("`=`"),
        Rule::dash => Word("`-`"),
        Rule::pipe => Word("`|`"),
        Rule::star => Word("`*`"),
        Rule::dot => Word("`.`"),
        Rule::optional_mark => Word("`?`"),
        Rule::use_names => Word("`.{`"),
        _ => return None,
    })
}

/// What the text given to pest stands for, to finish messages at its end.
pub(crate) struct Context<'a> {
    /// Words for whatever follows the text: "end of file", "`rule`", "the end of the `{…}` hole".
    pub after: &'a str,
}

/// Translate a pest error on `text` into a diagnostic with spans local to `text`.
pub(crate) fn translate(text: &str, error: &Error<Rule>, cx: &Context<'_>) -> Diagnostic {
    let pos = match error.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    }
    .min(text.len());
    let positives = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        ErrorVariant::CustomError { .. } => {
            return Diagnostic::error(
                codes::TOO_DEEP,
                "this declaration is nested too deeply to be parsed",
                Span::new(pos, pos),
            )
            .with_help("split it into smaller functions or constants");
        }
    };
    let mut expected: Vec<Expect> = positives.into_iter().filter_map(describe).collect();
    expected.sort();
    expected.dedup();
    // Postfix `(` and `.` are operators when an operator is also possible.
    if expected.contains(&Expect::Operator) {
        expected.retain(|e| !matches!(e, Expect::Word("`(`" | "`.`")));
    }
    // An expression can start with many things; say "an expression" only.
    if expected.contains(&Expect::Expr) {
        expected.retain(|e| matches!(e, Expect::Expr | Expect::Close(_)));
    }
    if expected.contains(&Expect::Declaration) {
        expected.retain(|e| *e == Expect::Declaration);
    }

    let before = scan::tokens(text, pos);
    let found = scan::next_token(text, pos).filter(|t| t.start >= pos);
    let found_text = found.map(|t| &text[t.start..t.end]);
    let found_words = match found_text {
        Some(t) => quote(t),
        None => cx.after.to_string(),
    };
    let prev = before.last().map(|t| &text[t.start..t.end]);
    let after_prev = prev
        .map(|p| format!(" after {}", quote(p)))
        .unwrap_or_default();
    let at_end = found.is_none();
    // Primary span: the offending token, or just after the last token when the text ended.
    let span = match found {
        Some(t) => Span::new(t.start, t.end),
        None => {
            let end = before.last().map_or(pos, |t| t.end);
            Span::new(end, end)
        }
    };
    let found_keyword = found_text.filter(|t| RESERVED.contains(t));

    if expected.contains(&Expect::Declaration) {
        return Diagnostic::error(
            codes::EXPECTED_DECLARATION,
            format!(
                "expected a declaration such as `rule`, `entity` or `const`, found {found_words}"
            ),
            span,
        )
        .with_help(
            "a file holds `use`, `enum`, `entity`, `relation`, `context`, `action`, `window`, \
             `const`, `fn`, `default`, `rule` and `test` declarations",
        );
    }

    let close = expected.iter().find_map(|e| match e {
        Expect::Close(c) => Some(*c),
        _ => None,
    });
    // At the end of the text, an unclosed bracket explains everything else.
    if let (Some(c), true) = (close, at_end)
        && let Some((open_span, what)) = innermost_open(text, &before, c)
    {
        let message = match what {
            Some(what) => format!("expected `{c}` to close {what}"),
            None => format!("expected `{c}`"),
        };
        return Diagnostic::error(codes::UNCLOSED, message, span)
            .with_label(format!("found {found_words}"))
            .with_secondary(None, open_span, format!("unclosed `{}`", opening(c)));
    }

    if let Some(kw) = found_keyword.filter(|_| expected.first() == Some(&Expect::Name)) {
        return Diagnostic::error(
            codes::KEYWORD_AS_NAME,
            format!("expected a name{after_prev}, found keyword `{kw}`"),
            span,
        )
        .with_label("reserved keyword")
        .with_help(format!(
            "`{kw}` is a reserved keyword and cannot be used as a name"
        ));
    }

    let message = if expected.first() == Some(&Expect::Expr) {
        format!("expected an expression{after_prev}")
    } else if expected == [Expect::Name] {
        format!("expected a name{after_prev}, found {found_words}")
    } else if expected.contains(&Expect::Type) {
        format!("expected a type such as `String`, `Set<T>` or an entity name, found {found_words}")
    } else if expected.is_empty() {
        format!("unexpected {found_words}")
    } else {
        let words: Vec<String> = expected.iter().map(|e| words(*e)).collect();
        format!("expected {}, found {found_words}", join_or(&words))
    };
    Diagnostic::error(codes::UNEXPECTED, message, span).with_label(match found_text {
        Some(t) => format!("unexpected {}", quote(t)),
        None => format!("found {found_words}"),
    })
}

fn words(e: Expect) -> String {
    match e {
        Expect::Declaration => "a declaration".into(),
        Expect::Expr => "an expression".into(),
        Expect::Name => "a name".into(),
        Expect::Type => "a type".into(),
        Expect::Word(w) => w.into(),
        Expect::Operator => "an operator".into(),
        Expect::Close(c) => format!("`{c}`"),
        Expect::End => "the end of the declaration".into(),
    }
}

fn join_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// A token for a message: backticked, cut when long.
pub(crate) fn quote(token: &str) -> String {
    let mut shown: String = token.chars().take(32).collect();
    if shown.len() < token.len() {
        shown.push('…');
    }
    format!("`{shown}`")
}

fn opening(close: char) -> char {
    match close {
        '}' => '{',
        ')' => '(',
        ']' => '[',
        _ => '<',
    }
}

/// The innermost bracket of kind `close` still open among `tokens`, with words for what it
/// opens ("the rule `x`"). `None` when every such bracket is closed.
fn innermost_open(
    text: &str,
    tokens: &[scan::Token],
    close: char,
) -> Option<(Span, Option<String>)> {
    let open = opening(close);
    let mut stack: Vec<usize> = Vec::new();
    for (idx, t) in tokens.iter().enumerate() {
        let s = &text[t.start..t.end];
        if s.len() == 1 && s.starts_with(open) {
            stack.push(idx);
        } else if s.len() == 1 && s.starts_with(close) {
            stack.pop();
        }
    }
    let idx = *stack.last()?;
    let t = tokens[idx];
    let tok = |i: usize| tokens.get(i).map(|t| &text[t.start..t.end]);
    let what = (close == '}')
        .then(|| block_words(tok(0), tok(1), idx, &|i| tok(i)))
        .flatten();
    Some((Span::new(t.start, t.end), what))
}

fn block_words<'t>(
    first: Option<&'t str>,
    second: Option<&'t str>,
    idx: usize,
    tok: &dyn Fn(usize) -> Option<&'t str>,
) -> Option<String> {
    let prev = idx.checked_sub(1).and_then(tok);
    let prev2 = idx.checked_sub(2).and_then(tok);
    let prev3 = idx.checked_sub(3).and_then(tok);
    // The body of the declaration itself.
    if idx == 2 || (idx == 1 && first == Some("context")) {
        let name = second.unwrap_or("");
        return match first? {
            "context" => Some("the `context` block".into()),
            "test" => Some(format!("the test {name}")),
            kind @ ("rule" | "enum" | "entity" | "action" | "window") => {
                Some(format!("the {kind} `{name}`"))
            }
            _ => None,
        };
    }
    match (prev3, prev2, prev) {
        (_, _, Some("entities")) => Some("the `entities` block".into()),
        (_, _, Some("with")) => Some("the `with` fields".into()),
        (_, Some("request"), Some(action)) => Some(format!("the fields of request `{action}`")),
        (Some(ty), Some("::"), Some(id)) if id.starts_with('"') => {
            Some(format!("the entity `{ty}::{id}`"))
        }
        (_, _, Some(".")) => Some("the import list".into()),
        _ => Some("the filter".into()).filter(|_| first != Some("use")),
    }
}
