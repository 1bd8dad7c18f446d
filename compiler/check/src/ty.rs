//! The checker's view of types: [`ward_ir::Type`] plus an error type that unifies with
//! everything, so one mistake does not cascade into many diagnostics.
//!
//! This module knows how to show a type in user syntax (`Set<String>`, `Identity?`) given the
//! schema's names; it knows nothing about expressions or diagnostics.

use ward_ir::{EntityTypeId, EnumId, Type};

/// A type during checking.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Ty {
    Bool,
    Int,
    String,
    Duration,
    Timestamp,
    Entity(u32),
    Enum(u32),
    Set(Box<Ty>),
    Optional(Box<Ty>),
    /// Something already reported; accepted everywhere.
    Error,
}

impl Ty {
    pub(crate) fn is_error(&self) -> bool {
        match self {
            Ty::Error => true,
            Ty::Set(inner) | Ty::Optional(inner) => inner.is_error(),
            _ => false,
        }
    }

    pub(crate) fn is_optional(&self) -> bool {
        matches!(self, Ty::Optional(_))
    }

    /// The type without its optional wrapper.
    pub(crate) fn strip_optional(&self) -> &Ty {
        match self {
            Ty::Optional(inner) => inner,
            other => other,
        }
    }

    /// `T?` for `T`; an optional stays as it is (never nested).
    pub(crate) fn optional(self) -> Ty {
        match self {
            Ty::Optional(_) | Ty::Error => self,
            other => Ty::Optional(Box::new(other)),
        }
    }

    pub(crate) fn set_elem(&self) -> Option<&Ty> {
        match self {
            Ty::Set(inner) => Some(inner),
            _ => None,
        }
    }

    /// Whether a value of type `self` is accepted where `expected` is wanted, without any
    /// optional lifting. The error type is compatible with everything.
    pub(crate) fn compatible(&self, expected: &Ty) -> bool {
        match (self, expected) {
            (Ty::Error, _) | (_, Ty::Error) => true,
            (Ty::Set(a), Ty::Set(b)) | (Ty::Optional(a), Ty::Optional(b)) => a.compatible(b),
            (a, b) => a == b,
        }
    }

    /// The IR type; the error type becomes `Bool` (a program with errors is never emitted).
    pub(crate) fn to_ir(&self) -> Type {
        match self {
            Ty::Bool | Ty::Error => Type::Bool,
            Ty::Int => Type::Int,
            Ty::String => Type::String,
            Ty::Duration => Type::Duration,
            Ty::Timestamp => Type::Timestamp,
            Ty::Entity(id) => Type::Entity(EntityTypeId(*id)),
            Ty::Enum(id) => Type::Enum(EnumId(*id)),
            Ty::Set(inner) => Type::Set(Box::new(inner.to_ir())),
            Ty::Optional(inner) => Type::Optional(Box::new(inner.to_ir())),
        }
    }
}

/// Names of the schema's types, to show a [`Ty`] as the user writes it.
pub(crate) trait TypeNames {
    fn entity_name(&self, id: u32) -> &str;
    fn enum_name(&self, id: u32) -> &str;

    fn show(&self, ty: &Ty) -> String {
        match ty {
            Ty::Bool => "Bool".into(),
            Ty::Int => "Int".into(),
            Ty::String => "String".into(),
            Ty::Duration => "Duration".into(),
            Ty::Timestamp => "Timestamp".into(),
            Ty::Entity(id) => self.entity_name(*id).into(),
            Ty::Enum(id) => self.enum_name(*id).into(),
            Ty::Set(inner) => format!("Set<{}>", self.show(inner)),
            Ty::Optional(inner) => format!("{}?", self.show(inner)),
            Ty::Error => "{unknown}".into(),
        }
    }
}
