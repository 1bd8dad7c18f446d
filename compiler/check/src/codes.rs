//! The stable codes of checker diagnostics (`E0100`..`E0199`, warnings `W0100`..`W0199`), each
//! listed with its meaning and an example in `docs/diagnostics.md` (a test holds the two lists
//! equal, both ways). Codes are never reused for another meaning.

/// An unknown name in an expression.
pub const UNKNOWN_NAME: &str = "E0100";
/// An unknown type, entity type or enum, or a name that is not a type.
pub const UNKNOWN_TYPE: &str = "E0101";
/// An unknown action (in `on` or in a test's `request`).
pub const UNKNOWN_ACTION: &str = "E0102";
/// An unknown attribute or relation of an entity type, or an attribute of a non-entity.
pub const UNKNOWN_ATTRIBUTE: &str = "E0103";
/// An unknown relation.
pub const UNKNOWN_RELATION: &str = "E0104";
/// An unknown window.
pub const UNKNOWN_WINDOW: &str = "E0105";
/// An unknown enum variant.
pub const UNKNOWN_VARIANT: &str = "E0106";
/// An unknown stdlib module, or an unknown item of a module.
pub const UNKNOWN_MODULE: &str = "E0107";
/// An unknown function or method.
pub const UNKNOWN_FUNCTION: &str = "E0108";
/// A top-level name defined twice.
pub const DUPLICATE_NAME: &str = "E0110";
/// A field, attribute, parameter or record field declared or given twice.
pub const DUPLICATE_FIELD: &str = "E0111";
/// An enum variant declared twice.
pub const DUPLICATE_VARIANT: &str = "E0112";
/// A second `context` block.
pub const DUPLICATE_CONTEXT: &str = "E0113";
/// A second `default`.
pub const DUPLICATE_DEFAULT: &str = "E0114";
/// An action field named like a context field.
pub const FIELD_SHADOWS_CONTEXT: &str = "E0115";
/// A relation named like an attribute of its from-type.
pub const RELATION_SHADOWS_ATTRIBUTE: &str = "E0116";
/// A field not every action of a multi-action rule declares with the same type.
pub const FIELD_NOT_SHARED: &str = "E0117";
/// A quantifier or filter variable that shadows a name in scope.
pub const VARIABLE_SHADOWS: &str = "E0118";
/// A test's `by` names an unknown rule.
pub const UNKNOWN_RULE: &str = "E0119";
/// A function named like a builtin.
pub const FUNCTION_NAMED_LIKE_BUILTIN: &str = "E0120";
/// Mismatched types.
pub const MISMATCHED_TYPES: &str = "E0130";
/// An optional used where a value is required.
pub const MAY_BE_ABSENT: &str = "E0131";
/// `has` on a non-entity, or on an attribute that is always present.
pub const BAD_HAS: &str = "E0133";
/// An ordering on types without an order, or on two different types.
pub const BAD_ORDERING: &str = "E0134";
/// Arithmetic the language does not define.
pub const BAD_ARITHMETIC: &str = "E0135";
/// `==` / `!=` on different types.
pub const BAD_EQUALITY: &str = "E0136";
/// An empty set literal whose element type nothing tells.
pub const UNTYPED_EMPTY_SET: &str = "E0137";
/// An optional type where it is not allowed.
pub const OPTIONAL_NOT_ALLOWED: &str = "E0138";
/// The branches of `if` have different types.
pub const IF_BRANCHES_DIFFER: &str = "E0139";
/// A wrong number of arguments.
pub const WRONG_ARITY: &str = "E0140";
/// Calling something that is not a function.
pub const NOT_CALLABLE: &str = "E0141";
/// A window used as a value.
pub const WINDOW_AS_VALUE: &str = "E0142";
/// A value where a window is expected.
pub const NOT_A_WINDOW: &str = "E0143";
/// Something other than a relation where a relation is expected.
pub const NOT_A_RELATION: &str = "E0144";
/// `~r` outside a relation argument.
pub const MISPLACED_INVERSE: &str = "E0145";
/// A relation applied to an entity of the wrong type.
pub const RELATION_END_MISMATCH: &str = "E0146";
/// Approvers of the wrong type.
pub const BAD_APPROVERS: &str = "E0147";
/// A name that is not a value used as one.
pub const NOT_A_VALUE: &str = "E0148";
/// `??` with a left side that is never absent.
pub const COALESCE_NOT_OPTIONAL: &str = "E0149";
/// A `matches` pattern the `regex` crate rejects.
pub const BAD_REGEX: &str = "E0160";
/// A `matches` pattern that is not a string literal.
pub const REGEX_NOT_LITERAL: &str = "E0161";
/// An unknown time zone.
pub const UNKNOWN_TIMEZONE: &str = "E0162";
/// The time zone of `hour`/`weekday` is not a string literal.
pub const TIMEZONE_NOT_LITERAL: &str = "E0163";
/// A weekly interval on one day that ends before it starts.
pub const BACKWARDS_WEEKLY: &str = "E0170";
/// Two `timezone` lines in one window.
pub const DUPLICATE_TIMEZONE: &str = "E0171";
/// A cycle of `except`.
pub const EXCEPT_CYCLE: &str = "E0173";
/// `between A and B` with `B` not after `A`.
pub const BACKWARDS_BETWEEN: &str = "E0174";
/// A recursive function.
pub const CALL_CYCLE: &str = "E0175";
/// A constant that depends on itself.
pub const CONST_CYCLE: &str = "E0176";
/// A relation end that is not an entity type.
pub const RELATION_END_NOT_ENTITY: &str = "E0177";
/// An expression whose effective depth exceeds `ward_ir::MAX_DEPTH`.
pub const TOO_DEEP: &str = "E0178";
/// Arithmetic on constants that always fails.
pub const ALWAYS_FAILS: &str = "E0179";
/// A test value of the wrong type.
pub const TEST_VALUE_TYPE: &str = "E0180";
/// A test entity, request or context without a required attribute or field.
pub const TEST_VALUE_MISSING: &str = "E0181";
/// A test gives an attribute or field the schema does not declare.
pub const TEST_VALUE_UNKNOWN: &str = "E0182";
/// A test value that is not a constant.
pub const TEST_VALUE_NOT_CONSTANT: &str = "E0183";
/// Expected approvers of a test that are not constant strings or entities.
pub const TEST_APPROVERS: &str = "E0184";
/// The same entity defined twice in one test.
pub const DUPLICATE_TEST_ENTITY: &str = "E0185";
/// Quantifiers or filters in the approvers of `default`.
pub const DEFAULT_APPROVERS_LOCALS: &str = "E0186";
/// A stdlib module declares something other than `const`, `fn` or `window`.
pub const BAD_STDLIB_ITEM: &str = "E0199";
/// `?.` on a value that is always present.
pub const NEEDLESS_OPTIONAL_ACCESS: &str = "W0100";
/// A window that is never open.
pub const NEVER_OPEN: &str = "W0101";
/// Literal braces (`{{…}}`) around what reads as an expression, in a `because` message.
pub const LITERAL_BRACES: &str = "W0102";

/// Every checker code, in order.
pub const ALL: &[&str] = &[
    UNKNOWN_NAME,
    UNKNOWN_TYPE,
    UNKNOWN_ACTION,
    UNKNOWN_ATTRIBUTE,
    UNKNOWN_RELATION,
    UNKNOWN_WINDOW,
    UNKNOWN_VARIANT,
    UNKNOWN_MODULE,
    UNKNOWN_FUNCTION,
    DUPLICATE_NAME,
    DUPLICATE_FIELD,
    DUPLICATE_VARIANT,
    DUPLICATE_CONTEXT,
    DUPLICATE_DEFAULT,
    FIELD_SHADOWS_CONTEXT,
    RELATION_SHADOWS_ATTRIBUTE,
    FIELD_NOT_SHARED,
    VARIABLE_SHADOWS,
    UNKNOWN_RULE,
    FUNCTION_NAMED_LIKE_BUILTIN,
    MISMATCHED_TYPES,
    MAY_BE_ABSENT,
    BAD_HAS,
    BAD_ORDERING,
    BAD_ARITHMETIC,
    BAD_EQUALITY,
    UNTYPED_EMPTY_SET,
    OPTIONAL_NOT_ALLOWED,
    IF_BRANCHES_DIFFER,
    WRONG_ARITY,
    NOT_CALLABLE,
    WINDOW_AS_VALUE,
    NOT_A_WINDOW,
    NOT_A_RELATION,
    MISPLACED_INVERSE,
    RELATION_END_MISMATCH,
    BAD_APPROVERS,
    NOT_A_VALUE,
    COALESCE_NOT_OPTIONAL,
    BAD_REGEX,
    REGEX_NOT_LITERAL,
    UNKNOWN_TIMEZONE,
    TIMEZONE_NOT_LITERAL,
    BACKWARDS_WEEKLY,
    DUPLICATE_TIMEZONE,
    EXCEPT_CYCLE,
    BACKWARDS_BETWEEN,
    CALL_CYCLE,
    CONST_CYCLE,
    RELATION_END_NOT_ENTITY,
    TOO_DEEP,
    ALWAYS_FAILS,
    TEST_VALUE_TYPE,
    TEST_VALUE_MISSING,
    TEST_VALUE_UNKNOWN,
    TEST_VALUE_NOT_CONSTANT,
    TEST_APPROVERS,
    DUPLICATE_TEST_ENTITY,
    DEFAULT_APPROVERS_LOCALS,
    BAD_STDLIB_ITEM,
    NEEDLESS_OPTIONAL_ACCESS,
    NEVER_OPEN,
    LITERAL_BRACES,
];
