//! The one depth budget every recursive pass relies on.
//!
//! Policies are data an attacker may write or generate, so no pass may recurse as deep as the
//! input is: a policy of 50,000 stacked `not`s must get a diagnostic, not a stack overflow.
//! The parser, builder, checker and lowering reject nesting beyond [`MAX_DEPTH`] with a
//! diagnostic; the verifier rejects a program whose *effective* depth exceeds it (expression
//! nesting, counted through function calls, constants and window `except` chains), so the
//! runtime's passes (the interpreter, the JIT's lowering) may recurse over a verified program.

/// How deep any expression, counted through the calls and references it makes, may nest.
/// Real policies stay well below 100; the budget leaves room for generated ones (a rule with a
/// few hundred `or`-ed alternatives) while keeping every recursive pass far from the stack's end.
pub const MAX_DEPTH: usize = 1000;
