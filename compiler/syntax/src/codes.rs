//! The stable codes of syntax diagnostics (`E0001`..`E0099`), listed with an example each in
//! `docs/diagnostics.md`. Codes are never reused for another meaning.

/// The text does not fit the grammar here (generic "expected …, found …").
pub const UNEXPECTED: &str = "E0001";
/// A `{`, `(` or `[` is never closed.
pub const UNCLOSED: &str = "E0002";
/// A reserved keyword is used where a name is expected.
pub const KEYWORD_AS_NAME: &str = "E0003";
/// `a < b < c`: comparisons do not chain.
pub const CHAINED_COMPARISON: &str = "E0004";
/// `=` where `==` was meant.
pub const ASSIGN_IN_EXPR: &str = "E0005";
/// `&&`, `||` or `!` instead of `and`, `or`, `not`.
pub const C_OPERATOR: &str = "E0006";
/// A rule without `allow`, `deny` or `require approval`.
pub const MISSING_EFFECT: &str = "E0007";
/// An integer literal out of range for Int (64 bits).
pub const INT_OVERFLOW: &str = "E0008";
/// An unknown or malformed escape sequence in a string.
pub const BAD_ESCAPE: &str = "E0009";
/// A string literal without its closing quote.
pub const UNTERMINATED_STRING: &str = "E0010";
/// A malformed duration (`1m2h`, `1h1h`) or one too long to represent.
pub const BAD_DURATION: &str = "E0011";
/// A malformed timestamp (no offset, fractional seconds, impossible date, year out of range).
pub const BAD_TIMESTAMP: &str = "E0012";
/// A time of day outside `00:00`..`23:59`.
pub const BAD_TIME_OF_DAY: &str = "E0013";
/// A day name other than `Mon`..`Sun`.
pub const BAD_DAY: &str = "E0014";
/// A broken `{…}` hole in a `because` message.
pub const BAD_HOLE: &str = "E0015";
/// `with` or `at` written twice for one request of a test.
pub const DUPLICATE_CLAUSE: &str = "E0016";
/// Text at the top level that does not start a declaration.
pub const EXPECTED_DECLARATION: &str = "E0017";
/// A number immediately followed by letters (`12ab`, `500ms`).
pub const BAD_NUMBER: &str = "E0018";
/// A declaration nested too deeply (or too long) for the parser.
pub const TOO_DEEP: &str = "E0019";
/// An expression whose tree nests more than `ward_ir::MAX_DEPTH` levels deep.
pub const EXPR_TOO_DEEP: &str = "E0020";
/// `from …` after `allow` or `deny`: only `require approval` takes approvers.
pub const FROM_WITHOUT_APPROVAL: &str = "E0021";

/// Every syntax code, in order (the docs test checks each is documented).
pub const ALL: &[&str] = &[
    UNEXPECTED,
    UNCLOSED,
    KEYWORD_AS_NAME,
    CHAINED_COMPARISON,
    ASSIGN_IN_EXPR,
    C_OPERATOR,
    MISSING_EFFECT,
    INT_OVERFLOW,
    BAD_ESCAPE,
    UNTERMINATED_STRING,
    BAD_DURATION,
    BAD_TIMESTAMP,
    BAD_TIME_OF_DAY,
    BAD_DAY,
    BAD_HOLE,
    DUPLICATE_CLAUSE,
    EXPECTED_DECLARATION,
    BAD_NUMBER,
    TOO_DEEP,
    EXPR_TOO_DEEP,
    FROM_WITHOUT_APPROVAL,
];
