//! A seed-driven generator of random, well-typed Ward programs with matching estates and
//! requests, for differential testing of the JIT against the reference interpreter.
//!
//! Programs are built directly as `ward_ir::Program` values over a fixed schema (two entity
//! types, an enum, three relations, optional attributes and context fields, two actions, two
//! windows, two functions), typed by construction (every generated program must pass
//! `ward_ir::verify`). Expressions are drawn type-directed from every IR construct, with literals
//! that provoke overflow, timestamps out of range, unknown entity literals and absent optionals.
//! The same seed (or the same fuzzer input) always gives the same case. It is used by the
//! differential test of this crate, the `cargo fuzz` target and the `differential` binary in
//! `fuzz/`.

use serde_json::{Value as Json, json};
use ward_ir::*;

/// Where the generator's choices come from: a seeded splitmix64 stream, or a fuzzer's input
/// (eight bytes per choice, then a stream seeded by the input once it is used up), so that the
/// fuzzer's mutations change the program's shape rather than only a seed.
#[derive(Debug)]
pub struct Rng {
    state: u64,
    input: Vec<u8>,
    pos: usize,
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng {
            state: seed ^ 0x9e37_79b9_7f4a_7c15,
            input: Vec::new(),
            pos: 0,
        }
    }

    /// Choices read from `data` first.
    pub fn from_bytes(data: &[u8]) -> Rng {
        let seed = data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        Rng {
            input: data.to_vec(),
            ..Rng::new(seed)
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        if let Some(chunk) = self.input.get(self.pos..self.pos + 8) {
            self.pos += 8;
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(chunk);
            return u64::from_le_bytes(bytes);
        }
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// One generated case: a program, an entities document and requests.
#[derive(Debug)]
pub struct Case {
    pub program: Program,
    pub entities: Json,
    pub requests: Vec<Json>,
}

const HOST: Type = Type::Entity(EntityTypeId(0));
const USER: Type = Type::Entity(EntityTypeId(1));
const TIER: Type = Type::Enum(EnumId(0));
const DEPENDS_ON: RelationId = RelationId(0);
const REPORTS_TO: RelationId = RelationId(1);
const OWNS: RelationId = RelationId(2);
const STRINGS: [&str; 6] = ["a", "b", "prod", "db-1", "Ops", ""];
const HOSTS: usize = 5;
const USERS: usize = 4;
/// 2026-11-02T00:00:00Z, a Monday.
const BASE: i64 = 1_793_577_600;

fn set_of(t: Type) -> Type {
    Type::Set(Box::new(t))
}
fn opt(t: Type) -> Type {
    Type::Optional(Box::new(t))
}
fn ex(ty: Type, kind: ExprKind) -> Expr {
    Expr { ty, kind }
}
fn bx(e: Expr) -> Box<Expr> {
    Box::new(e)
}
fn field(name: &str, ty: Type) -> Field {
    Field {
        name: name.into(),
        ty,
    }
}

fn schema() -> Schema {
    Schema {
        enums: vec![EnumType {
            name: "Tier".into(),
            variants: vec!["low".into(), "mid".into(), "high".into()],
        }],
        entities: vec![
            EntityType {
                name: "Host".into(),
                attrs: vec![
                    field("name", Type::String),
                    field("tier", TIER),
                    field("owner", opt(USER)),
                    field("tags", set_of(Type::String)),
                    field("score", Type::Int),
                    field("up", Type::Duration),
                    field("note", opt(Type::String)),
                    field("live", Type::Bool),
                ],
            },
            EntityType {
                name: "User".into(),
                attrs: vec![
                    field("name", Type::String),
                    field("level", Type::Int),
                    field("manager", opt(USER)),
                    field("groups", set_of(Type::String)),
                    field("limit", opt(Type::Int)),
                ],
            },
        ],
        relations: vec![
            Relation {
                name: "depends_on".into(),
                from: EntityTypeId(0),
                to: EntityTypeId(0),
            },
            Relation {
                name: "reports_to".into(),
                from: EntityTypeId(1),
                to: EntityTypeId(1),
            },
            Relation {
                name: "owns".into(),
                from: EntityTypeId(1),
                to: EntityTypeId(0),
            },
        ],
        context: vec![
            field("agent", USER),
            field("ticket", opt(Type::String)),
            field("budget", opt(Type::Int)),
        ],
        actions: vec![
            Action {
                name: "change".into(),
                fields: vec![
                    field("host", HOST),
                    field("k", Type::Int),
                    field("user", USER),
                    field("s", Type::String),
                    field("d", Type::Duration),
                ],
            },
            Action {
                name: "reboot".into(),
                fields: vec![field("k", Type::Int), field("host", HOST)],
            },
        ],
    }
}

/// Rule arguments: the shared fields (`host`, `k`) or all of `change`'s.
fn rule_args(all: bool) -> Vec<Field> {
    let mut args = vec![field("host", HOST), field("k", Type::Int)];
    if all {
        args.push(field("user", USER));
        args.push(field("s", Type::String));
        args.push(field("d", Type::Duration));
    }
    args
}

struct Gen<'r> {
    rng: &'r mut Rng,
    /// Fields of the rule in scope (`None` in functions and the default).
    args: Option<Vec<Field>>,
    /// Bound locals: (slot, type).
    locals: Vec<(u32, Type)>,
    n_locals: u32,
    /// Whether `Call` may be used (not inside function bodies: no recursion).
    calls: bool,
}

impl Gen<'_> {
    fn arg(&mut self, ty: &Type) -> Option<Expr> {
        let args = self.args.as_ref()?;
        let candidates: Vec<u32> = (0u32..)
            .zip(args)
            .filter(|(_, f)| f.ty == *ty)
            .map(|(i, _)| i)
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let i = *self.rng.pick(&candidates);
        Some(ex(ty.clone(), ExprKind::Arg(i)))
    }

    fn local(&mut self, ty: &Type) -> Option<Expr> {
        let candidates: Vec<u32> = self
            .locals
            .iter()
            .filter(|(_, t)| t == ty)
            .map(|(s, _)| *s)
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let s = *self.rng.pick(&candidates);
        Some(ex(ty.clone(), ExprKind::Local(LocalId(s))))
    }

    fn int_lit(&mut self) -> i64 {
        match self.rng.below(6) {
            0 => i64::MAX,
            1 => i64::MIN + self.rng.below(3) as i64,
            2 => -(self.rng.below(5) as i64),
            _ => self.rng.below(20) as i64,
        }
    }

    fn attr(&mut self, of: Expr, attr: u32, ty: Type) -> Expr {
        ex(ty, ExprKind::Attr { of: bx(of), attr })
    }

    fn expr(&mut self, ty: &Type, depth: u32) -> Expr {
        let leaf = depth == 0 || self.rng.chance(25);
        match ty {
            Type::Bool => self.bool(depth, leaf),
            Type::Int => self.int(depth, leaf),
            Type::Duration => self.duration(depth, leaf),
            Type::Timestamp => self.timestamp(depth, leaf),
            Type::String => self.string(depth, leaf),
            Type::Enum(_) => self.tier(depth, leaf),
            Type::Entity(t) => self.entity(t.0, depth, leaf),
            Type::Set(inner) => self.set(inner, depth, leaf),
            Type::Optional(inner) => self.optional(inner, depth, leaf),
        }
    }

    fn quantifier_or_filter(&mut self, depth: u32, filter: Option<Type>) -> Expr {
        let elem = self
            .rng
            .pick(&[HOST, USER, Type::String, Type::Int])
            .clone();
        let elem = match &filter {
            Some(Type::Set(inner)) => (**inner).clone(),
            _ => elem,
        };
        let set = self.expr(&set_of(elem.clone()), depth - 1);
        let slot = self.n_locals;
        self.n_locals += 1;
        self.locals.push((slot, elem.clone()));
        let body = self.expr(&Type::Bool, depth - 1);
        self.locals.pop();
        match filter {
            Some(ty) => ex(
                ty,
                ExprKind::Filter {
                    var: LocalId(slot),
                    set: bx(set),
                    cond: bx(body),
                },
            ),
            None => ex(
                Type::Bool,
                ExprKind::Quantifier {
                    all: self.rng.chance(50),
                    var: LocalId(slot),
                    set: bx(set),
                    body: bx(body),
                },
            ),
        }
    }

    fn bool(&mut self, depth: u32, leaf: bool) -> Expr {
        if leaf {
            return match self.rng.below(4) {
                0 => ex(Type::Bool, ExprKind::Bool(self.rng.chance(50))),
                1 => {
                    let h = self.entity(0, 0, true);
                    self.attr(h, 7, Type::Bool)
                }
                2 => self
                    .local(&Type::Bool)
                    .unwrap_or_else(|| ex(Type::Bool, ExprKind::Bool(true))),
                _ => {
                    let t = self.timestamp(0, true);
                    ex(
                        Type::Bool,
                        ExprKind::InWindow {
                            window: WindowId(self.rng.below(2) as u32),
                            at: bx(t),
                        },
                    )
                }
            };
        }
        let d = depth - 1;
        match self.rng.below(22) {
            0 | 1 => {
                let op = *self.rng.pick(&[BinOp::And, BinOp::Or]);
                let (a, b) = (self.expr(&Type::Bool, d), self.expr(&Type::Bool, d));
                ex(
                    Type::Bool,
                    ExprKind::Binary {
                        op,
                        lhs: bx(a),
                        rhs: bx(b),
                    },
                )
            }
            2 => ex(Type::Bool, ExprKind::Not(bx(self.expr(&Type::Bool, d)))),
            3 | 4 => {
                let op = *self.rng.pick(&[BinOp::Lt, BinOp::Le, BinOp::Gt, BinOp::Ge]);
                let ty = self
                    .rng
                    .pick(&[Type::Int, Type::Duration, Type::Timestamp, opt(Type::Int)])
                    .clone();
                let a = self.expr(&ty, d);
                let inner = ty.strip_optional().clone();
                let b = self.expr(&inner, d);
                ex(
                    Type::Bool,
                    ExprKind::Binary {
                        op,
                        lhs: bx(a),
                        rhs: bx(b),
                    },
                )
            }
            5 | 6 => {
                let op = *self.rng.pick(&[BinOp::Eq, BinOp::Ne]);
                let ty = self
                    .rng
                    .pick(&[
                        Type::Int,
                        Type::String,
                        HOST,
                        USER,
                        TIER,
                        opt(Type::String),
                        opt(USER),
                        opt(Type::Int),
                        set_of(Type::String),
                        Type::Bool,
                    ])
                    .clone();
                let a = self.expr(&ty, d);
                let bty = if ty.is_optional() && self.rng.chance(50) {
                    ty.strip_optional().clone()
                } else {
                    ty.clone()
                };
                let b = self.expr(&bty, d);
                ex(
                    Type::Bool,
                    ExprKind::Binary {
                        op,
                        lhs: bx(a),
                        rhs: bx(b),
                    },
                )
            }
            7 => {
                let ty = self
                    .rng
                    .pick(&[Type::String, HOST, USER, Type::Int, opt(Type::String)])
                    .clone();
                let elem = self.expr(&ty, d);
                let set = self.expr(&set_of(ty.strip_optional().clone()), d);
                ex(
                    Type::Bool,
                    ExprKind::In {
                        elem: bx(elem),
                        set: bx(set),
                    },
                )
            }
            8 => {
                let s = self.expr(&Type::String, d);
                ex(
                    Type::Bool,
                    ExprKind::Matches {
                        operand: bx(s),
                        regex: RegexId(self.rng.below(3) as u32),
                    },
                )
            }
            9 => {
                let (of, attr) = if self.rng.chance(50) {
                    (self.expr(&HOST, d), *self.rng.pick(&[2u32, 6]))
                } else if self.rng.chance(50) {
                    (self.expr(&opt(USER), d), *self.rng.pick(&[2u32, 4]))
                } else {
                    (self.expr(&USER, d), *self.rng.pick(&[2u32, 4]))
                };
                ex(Type::Bool, ExprKind::Has { of: bx(of), attr })
            }
            10 | 11 => self.quantifier_or_filter(depth, None),
            12 => {
                let c = self.expr(&Type::Bool, d);
                let (a, b) = (self.expr(&Type::Bool, d), self.expr(&Type::Bool, d));
                ex(
                    Type::Bool,
                    ExprKind::If {
                        cond: bx(c),
                        then: bx(a),
                        otherwise: bx(b),
                    },
                )
            }
            13 if self.calls => {
                let h = self.expr(&HOST, d);
                let n = self.expr(&Type::Int, d);
                ex(
                    Type::Bool,
                    ExprKind::Call {
                        func: FnId(0),
                        args: vec![h, n],
                    },
                )
            }
            14 => {
                let (a, b) = (self.expr(&USER, d), self.expr(&USER, d));
                ex(
                    Type::Bool,
                    ExprKind::Path {
                        rel: REPORTS_TO,
                        inverse: self.rng.chance(30),
                        from: bx(a),
                        to: bx(b),
                    },
                )
            }
            15 => {
                let t = self.expr(&Type::Timestamp, d);
                let du = self.expr(&Type::Duration, d);
                ex(
                    Type::Bool,
                    ExprKind::Fits {
                        window: WindowId(self.rng.below(2) as u32),
                        at: bx(t),
                        duration: bx(du),
                    },
                )
            }
            16 => {
                let b =
                    *self
                        .rng
                        .pick(&[Builtin::StartsWith, Builtin::EndsWith, Builtin::StrContains]);
                let (a, c) = (self.expr(&Type::String, d), self.expr(&Type::String, d));
                ex(
                    Type::Bool,
                    ExprKind::Builtin {
                        builtin: b,
                        args: vec![a, c],
                    },
                )
            }
            17 => {
                let b = *self.rng.pick(&[Builtin::Intersects, Builtin::IsSubset]);
                let ty = set_of(self.rng.pick(&[Type::String, HOST]).clone());
                let (a, c) = (self.expr(&ty, d), self.expr(&ty, d));
                ex(
                    Type::Bool,
                    ExprKind::Builtin {
                        builtin: b,
                        args: vec![a, c],
                    },
                )
            }
            18 => {
                let ty = self.rng.pick(&[Type::String, HOST, USER]).clone();
                let s = self.expr(&set_of(ty.clone()), d);
                let x = self.expr(&ty, d);
                ex(
                    Type::Bool,
                    ExprKind::Builtin {
                        builtin: Builtin::SetContains,
                        args: vec![s, x],
                    },
                )
            }
            _ => {
                let h = self.expr(&HOST, d);
                self.attr(h, 7, Type::Bool)
            }
        }
    }

    fn int(&mut self, depth: u32, leaf: bool) -> Expr {
        if leaf {
            return match self.rng.below(5) {
                0 | 1 => ex(Type::Int, ExprKind::Int(self.int_lit())),
                2 => self
                    .arg(&Type::Int)
                    .unwrap_or_else(|| ex(Type::Int, ExprKind::Int(3))),
                3 => self
                    .local(&Type::Int)
                    .unwrap_or_else(|| ex(Type::Int, ExprKind::Int(7))),
                _ => {
                    let h = self.entity(0, 0, true);
                    self.attr(h, 4, Type::Int)
                }
            };
        }
        let d = depth - 1;
        match self.rng.below(11) {
            0..=2 => {
                let op = *self.rng.pick(&[BinOp::Add, BinOp::Sub, BinOp::Mul]);
                let (a, b) = (self.expr(&Type::Int, d), self.expr(&Type::Int, d));
                ex(
                    Type::Int,
                    ExprKind::Binary {
                        op,
                        lhs: bx(a),
                        rhs: bx(b),
                    },
                )
            }
            3 => ex(Type::Int, ExprKind::Neg(bx(self.expr(&Type::Int, d)))),
            4 => {
                let ty = set_of(self.rng.pick(&[Type::String, HOST, USER]).clone());
                let s = self.expr(&ty, d);
                ex(
                    Type::Int,
                    ExprKind::Builtin {
                        builtin: Builtin::Count,
                        args: vec![s],
                    },
                )
            }
            5 => {
                let s = self.expr(&Type::String, d);
                ex(
                    Type::Int,
                    ExprKind::Builtin {
                        builtin: Builtin::Len,
                        args: vec![s],
                    },
                )
            }
            6 => {
                let t = self.expr(&Type::Timestamp, d);
                let part = *self.rng.pick(&[TimePart::Hour, TimePart::Weekday]);
                let tz = self
                    .rng
                    .pick(&["UTC", "Europe/Paris", "America/New_York"])
                    .to_string();
                ex(
                    Type::Int,
                    ExprKind::LocalTime {
                        part,
                        at: bx(t),
                        timezone: tz,
                    },
                )
            }
            7 => {
                let v = self.expr(&opt(Type::Int), d);
                let f = self.expr(&Type::Int, d);
                ex(
                    Type::Int,
                    ExprKind::Coalesce {
                        value: bx(v),
                        fallback: bx(f),
                    },
                )
            }
            8 => {
                let c = self.expr(&Type::Bool, d);
                let (a, b) = (self.expr(&Type::Int, d), self.expr(&Type::Int, d));
                ex(
                    Type::Int,
                    ExprKind::If {
                        cond: bx(c),
                        then: bx(a),
                        otherwise: bx(b),
                    },
                )
            }
            9 => {
                let u = self.expr(&USER, d);
                self.attr(u, 1, Type::Int)
            }
            _ => {
                let h = self.expr(&HOST, d);
                self.attr(h, 4, Type::Int)
            }
        }
    }

    fn duration(&mut self, depth: u32, leaf: bool) -> Expr {
        if leaf {
            return match self.rng.below(3) {
                0 => ex(
                    Type::Duration,
                    ExprKind::Int(*self.rng.pick(&[0, 60, 3600, 86_400, i64::MAX, 7 * 86_400])),
                ),
                1 => self
                    .arg(&Type::Duration)
                    .unwrap_or_else(|| ex(Type::Duration, ExprKind::Int(1800))),
                _ => {
                    let h = self.entity(0, 0, true);
                    self.attr(h, 5, Type::Duration)
                }
            };
        }
        let d = depth - 1;
        match self.rng.below(5) {
            0 => {
                let op = *self.rng.pick(&[BinOp::Add, BinOp::Sub]);
                let (a, b) = (self.expr(&Type::Duration, d), self.expr(&Type::Duration, d));
                ex(
                    Type::Duration,
                    ExprKind::Binary {
                        op,
                        lhs: bx(a),
                        rhs: bx(b),
                    },
                )
            }
            1 => {
                let (a, b) = (self.expr(&Type::Duration, d), self.expr(&Type::Int, d));
                ex(
                    Type::Duration,
                    ExprKind::Binary {
                        op: BinOp::Mul,
                        lhs: bx(a),
                        rhs: bx(b),
                    },
                )
            }
            2 => {
                let t = self.expr(&Type::Timestamp, d);
                ex(
                    Type::Duration,
                    ExprKind::Remaining {
                        window: WindowId(self.rng.below(2) as u32),
                        at: bx(t),
                    },
                )
            }
            3 => {
                let (a, b) = (
                    self.expr(&Type::Timestamp, d),
                    self.expr(&Type::Timestamp, d),
                );
                ex(
                    Type::Duration,
                    ExprKind::Binary {
                        op: BinOp::Sub,
                        lhs: bx(a),
                        rhs: bx(b),
                    },
                )
            }
            _ => ex(
                Type::Duration,
                ExprKind::Neg(bx(self.expr(&Type::Duration, d))),
            ),
        }
    }

    fn timestamp(&mut self, depth: u32, leaf: bool) -> Expr {
        if leaf {
            return if self.rng.chance(70) {
                ex(Type::Timestamp, ExprKind::Now)
            } else {
                ex(
                    Type::Timestamp,
                    ExprKind::Int(BASE + self.rng.below(30 * 86_400) as i64),
                )
            };
        }
        let d = depth - 1;
        match self.rng.below(3) {
            0 => {
                let op = *self.rng.pick(&[BinOp::Add, BinOp::Sub]);
                let (a, b) = (
                    self.expr(&Type::Timestamp, d),
                    self.expr(&Type::Duration, d),
                );
                ex(
                    Type::Timestamp,
                    ExprKind::Binary {
                        op,
                        lhs: bx(a),
                        rhs: bx(b),
                    },
                )
            }
            1 => {
                let t = self.expr(&Type::Timestamp, d);
                ex(
                    Type::Timestamp,
                    ExprKind::NextOpen {
                        window: WindowId(self.rng.below(2) as u32),
                        at: bx(t),
                    },
                )
            }
            _ => ex(Type::Timestamp, ExprKind::Now),
        }
    }

    fn string(&mut self, depth: u32, leaf: bool) -> Expr {
        if leaf {
            return match self.rng.below(5) {
                0 | 1 => ex(
                    Type::String,
                    ExprKind::Str(self.rng.pick(&STRINGS).to_string()),
                ),
                2 => self
                    .arg(&Type::String)
                    .unwrap_or_else(|| ex(Type::String, ExprKind::Str("s".into()))),
                3 => self
                    .local(&Type::String)
                    .unwrap_or_else(|| ex(Type::String, ExprKind::Str("l".into()))),
                _ => {
                    let h = self.entity(0, 0, true);
                    self.attr(h, 0, Type::String)
                }
            };
        }
        let d = depth - 1;
        match self.rng.below(5) {
            0 => ex(
                Type::String,
                ExprKind::Builtin {
                    builtin: Builtin::Lower,
                    args: vec![self.expr(&Type::String, d)],
                },
            ),
            1 => {
                let v = self.expr(&opt(Type::String), d);
                let f = self.expr(&Type::String, d);
                ex(
                    Type::String,
                    ExprKind::Coalesce {
                        value: bx(v),
                        fallback: bx(f),
                    },
                )
            }
            2 => {
                let c = self.expr(&Type::Bool, d);
                let (a, b) = (self.expr(&Type::String, d), self.expr(&Type::String, d));
                ex(
                    Type::String,
                    ExprKind::If {
                        cond: bx(c),
                        then: bx(a),
                        otherwise: bx(b),
                    },
                )
            }
            3 => {
                let u = self.expr(&USER, d);
                self.attr(u, 0, Type::String)
            }
            _ => {
                let h = self.expr(&HOST, d);
                self.attr(h, 0, Type::String)
            }
        }
    }

    fn tier(&mut self, depth: u32, leaf: bool) -> Expr {
        if leaf || self.rng.chance(40) {
            return ex(TIER, ExprKind::Enum(self.rng.below(3) as u32));
        }
        let h = self.expr(&HOST, depth - 1);
        self.attr(h, 1, TIER)
    }

    fn entity(&mut self, t: u32, depth: u32, leaf: bool) -> Expr {
        let ty = Type::Entity(EntityTypeId(t));
        let (prefix, n) = if t == 0 { ("h", HOSTS) } else { ("u", USERS) };
        if leaf || self.rng.chance(50) {
            return match self.rng.below(4) {
                0 => {
                    // Sometimes an id the estate does not have.
                    let i = self.rng.below(n as u64 + 1);
                    ex(ty, ExprKind::Entity(format!("{prefix}{i}")))
                }
                1 => self
                    .local(&ty)
                    .unwrap_or_else(|| ex(ty.clone(), ExprKind::Entity(format!("{prefix}0")))),
                _ if t == 1 && self.rng.chance(50) => ex(USER, ExprKind::Context(0)),
                _ => self
                    .arg(&ty)
                    .unwrap_or_else(|| ex(ty.clone(), ExprKind::Entity(format!("{prefix}1")))),
            };
        }
        let d = depth - 1;
        if t == 1 {
            let v = self.expr(&opt(USER), d);
            let f = self.expr(&USER, d);
            return ex(
                USER,
                ExprKind::Coalesce {
                    value: bx(v),
                    fallback: bx(f),
                },
            );
        }
        let c = self.expr(&Type::Bool, d);
        let (a, b) = (self.expr(&HOST, d), self.expr(&HOST, d));
        ex(
            HOST,
            ExprKind::If {
                cond: bx(c),
                then: bx(a),
                otherwise: bx(b),
            },
        )
    }

    fn set(&mut self, inner: &Type, depth: u32, leaf: bool) -> Expr {
        let ty = set_of(inner.clone());
        if leaf || depth < 2 {
            let n = self.rng.below(4);
            let items = (0..n).map(|_| self.expr(inner, 0)).collect();
            return ex(ty, ExprKind::Set(items));
        }
        let d = depth - 1;
        match (inner, self.rng.below(4)) {
            (_, 0) => self.quantifier_or_filter(depth, Some(ty)),
            (Type::String, 1) => {
                let h = self.expr(&HOST, d);
                self.attr(h, 3, ty)
            }
            (Type::String, _) => {
                let u = self.expr(&USER, d);
                self.attr(u, 3, ty)
            }
            (Type::Entity(EntityTypeId(0)), 1) => {
                let u = self.expr(&USER, d);
                ex(
                    ty,
                    ExprKind::Related {
                        rel: OWNS,
                        inverse: false,
                        of: bx(u),
                    },
                )
            }
            (Type::Entity(EntityTypeId(0)), _) => {
                let h = self.expr(&HOST, d);
                let kind = if self.rng.chance(50) {
                    ExprKind::Closure {
                        rel: DEPENDS_ON,
                        inverse: self.rng.chance(50),
                        of: bx(h),
                    }
                } else {
                    ExprKind::Related {
                        rel: DEPENDS_ON,
                        inverse: self.rng.chance(50),
                        of: bx(h),
                    }
                };
                ex(ty, kind)
            }
            (Type::Entity(_), 1) => {
                let h = self.expr(&HOST, d);
                ex(
                    ty,
                    ExprKind::Related {
                        rel: OWNS,
                        inverse: true,
                        of: bx(h),
                    },
                )
            }
            (Type::Entity(_), _) if self.calls => {
                let u = self.expr(&USER, d);
                ex(
                    ty,
                    ExprKind::Call {
                        func: FnId(1),
                        args: vec![u],
                    },
                )
            }
            _ => {
                let n = self.rng.below(4);
                let items = (0..n).map(|_| self.expr(inner, d)).collect();
                ex(ty, ExprKind::Set(items))
            }
        }
    }

    fn optional(&mut self, inner: &Type, depth: u32, leaf: bool) -> Expr {
        let ty = opt(inner.clone());
        let choice = self.rng.below(4);
        if choice == 0 {
            return ex(ty, ExprKind::None);
        }
        if choice == 1 || leaf {
            let v = self.expr(inner, if leaf { 0 } else { depth - 1 });
            return ex(ty, ExprKind::Some(bx(v)));
        }
        let d = depth - 1;
        match inner {
            Type::String if self.rng.chance(50) => ex(ty, ExprKind::Context(1)),
            Type::String => {
                let h = self.expr(&HOST, d);
                self.attr(h, 6, ty)
            }
            Type::Int if self.rng.chance(50) => ex(ty, ExprKind::Context(2)),
            Type::Int => {
                let u = self.expr(&opt(USER), d);
                ex(ty, ExprKind::OptAttr { of: bx(u), attr: 4 })
            }
            Type::Entity(EntityTypeId(1)) => match self.rng.below(3) {
                0 => {
                    let h = self.expr(&HOST, d);
                    self.attr(h, 2, ty)
                }
                1 => {
                    let u = self.expr(&USER, d);
                    self.attr(u, 2, ty)
                }
                _ => {
                    let u = self.expr(&opt(USER), d);
                    ex(ty, ExprKind::OptAttr { of: bx(u), attr: 2 })
                }
            },
            _ => {
                let v = self.expr(inner, d);
                ex(ty, ExprKind::Some(bx(v)))
            }
        }
    }
}

fn windows() -> Vec<Window> {
    vec![
        Window {
            name: "business".into(),
            timezone: "Europe/Paris".into(),
            lines: vec![WindowLine::Daily {
                start: 9 * 60,
                end: 17 * 60,
                days: 0b001_1111,
            }],
            except: vec![WindowId(1)],
        },
        Window {
            name: "freeze".into(),
            timezone: "UTC".into(),
            lines: vec![
                WindowLine::Between {
                    from: BASE + 10 * 86_400,
                    to: BASE + 12 * 86_400,
                },
                WindowLine::Weekly {
                    start_day: 6,
                    start: 0,
                    end_day: 7,
                    end: 12 * 60,
                },
            ],
            except: vec![],
        },
    ]
}

fn loc(line: u32) -> Location {
    Location {
        file: "gen.ward".into(),
        line,
        column: 1,
    }
}

/// Generates case `seed`.
pub fn case(seed: u64) -> Case {
    case_from(Rng::new(seed))
}

/// A case whose choices come from a fuzzer's input.
pub fn case_from_bytes(data: &[u8]) -> Case {
    case_from(Rng::from_bytes(data))
}

fn case_from(mut rng: Rng) -> Case {
    let depth = 2 + rng.below(3) as u32;
    // f0(h: Host, n: Int) -> Bool, f1(u: User) -> Set<User>.
    let mut g = Gen {
        rng: &mut rng,
        args: None,
        locals: vec![(0, HOST), (1, Type::Int)],
        n_locals: 2,
        calls: false,
    };
    let body0 = g.expr(&Type::Bool, 2);
    let n0 = g.n_locals;
    g.locals = vec![(0, USER)];
    g.n_locals = 1;
    let body1 = if g.rng.chance(50) {
        ex(
            set_of(USER),
            ExprKind::Closure {
                rel: REPORTS_TO,
                inverse: g.rng.chance(50),
                of: bx(ex(USER, ExprKind::Local(LocalId(0)))),
            },
        )
    } else {
        g.expr(&set_of(USER), 2)
    };
    let n1 = g.n_locals;
    let functions = vec![
        Function {
            name: "f0".into(),
            params: vec![HOST, Type::Int],
            ret: Type::Bool,
            n_locals: n0,
            body: body0,
        },
        Function {
            name: "f1".into(),
            params: vec![USER],
            ret: set_of(USER),
            n_locals: n1,
            body: body1,
        },
    ];
    let n_rules = 1 + rng.below(6);
    let mut rules = Vec::new();
    for r in 0..n_rules {
        let both = rng.chance(40);
        let actions = if both {
            vec![ActionId(0), ActionId(1)]
        } else {
            vec![ActionId(rng.below(2) as u32)]
        };
        let all_args = actions == [ActionId(0)];
        let mut g = Gen {
            rng: &mut rng,
            args: Some(rule_args(all_args)),
            locals: vec![],
            n_locals: 0,
            calls: true,
        };
        let n_conds = g.rng.below(4);
        let conditions = (0..n_conds)
            .map(|i| Condition {
                source: format!("c{i}"),
                location: loc(r as u32 + 1),
                expr: g.expr(&Type::Bool, depth),
            })
            .collect();
        let kind = *g.rng.pick(&[
            EffectKind::Allow,
            EffectKind::Deny,
            EffectKind::RequireApproval,
        ]);
        let approvers = (kind == EffectKind::RequireApproval && g.rng.chance(80)).then(|| {
            let ty = g
                .rng
                .pick(&[
                    Type::String,
                    set_of(Type::String),
                    USER,
                    set_of(USER),
                    set_of(HOST),
                ])
                .clone();
            g.expr(&ty, 2)
        });
        let message = g.rng.chance(70).then(|| Message {
            parts: (0..1 + g.rng.below(3))
                .flat_map(|_| {
                    let ty = g
                        .rng
                        .pick(&[
                            Type::Int,
                            Type::Duration,
                            Type::Timestamp,
                            Type::String,
                            HOST,
                            TIER,
                            opt(USER),
                            opt(Type::String),
                            set_of(Type::String),
                            set_of(HOST),
                            Type::Bool,
                        ])
                        .clone();
                    [
                        MessagePart::Text(" x=".into()),
                        MessagePart::Expr(g.expr(&ty, 2)),
                    ]
                })
                .collect(),
        });
        let n_locals = g.n_locals;
        rules.push(Rule {
            name: format!("r{r}"),
            location: loc(r as u32 + 1),
            actions,
            args: rule_args(all_args),
            conditions,
            effect: Effect { kind, approvers },
            message,
            n_locals,
        });
    }
    let default_kind = *rng.pick(&[
        EffectKind::Allow,
        EffectKind::Deny,
        EffectKind::RequireApproval,
    ]);
    let default_approvers = (default_kind == EffectKind::RequireApproval).then(|| {
        let mut g = Gen {
            rng: &mut rng,
            args: None,
            locals: vec![],
            n_locals: 0,
            calls: true,
        };
        g.expr(&set_of(Type::String), 2)
    });
    let program = Program {
        schema: schema(),
        windows: windows(),
        functions,
        rules,
        default: Effect {
            kind: default_kind,
            approvers: default_approvers,
        },
        regexes: vec!["^db-".into(), "[A-Z]".into(), "^$".into()],
        tests: vec![],
    };
    let entities = estate(&mut rng);
    let requests = (0..4).map(|_| request(&mut rng)).collect();
    Case {
        program,
        entities,
        requests,
    }
}

fn estate(rng: &mut Rng) -> Json {
    let mut hosts = serde_json::Map::new();
    for i in 0..HOSTS {
        let mut h = json!({
            "name": rng.pick(&STRINGS), "tier": rng.pick(&["low", "mid", "high"]),
            "tags": (0..rng.below(3)).map(|_| *rng.pick(&STRINGS)).collect::<std::collections::BTreeSet<_>>(),
            "score": *rng.pick(&[0i64, 5, 11, i64::MAX, -3]),
            "up": *rng.pick(&["0s", "1h", "30m", "7d"]), "live": rng.chance(50),
        });
        if rng.chance(60) {
            h["owner"] = json!(format!("u{}", rng.below(USERS as u64)));
        }
        if rng.chance(50) {
            h["note"] = json!(rng.pick(&STRINGS));
        }
        hosts.insert(format!("h{i}"), h);
    }
    let mut users = serde_json::Map::new();
    for i in 0..USERS {
        let mut u = json!({
            "name": rng.pick(&STRINGS), "level": rng.below(5),
            "groups": (0..rng.below(3)).map(|_| *rng.pick(&STRINGS)).collect::<std::collections::BTreeSet<_>>(),
        });
        if rng.chance(60) {
            u["manager"] = json!(format!("u{}", rng.below(USERS as u64)));
        }
        if rng.chance(50) {
            u["limit"] = json!(*rng.pick(&[0i64, 3, i64::MAX]));
        }
        users.insert(format!("u{i}"), u);
    }
    let edges = |rng: &mut Rng, a: (&str, usize), b: (&str, usize)| -> Vec<Json> {
        let mut out = std::collections::BTreeSet::new();
        for _ in 0..rng.below(8) {
            out.insert((
                format!("{}{}", a.0, rng.below(a.1 as u64)),
                format!("{}{}", b.0, rng.below(b.1 as u64)),
            ));
        }
        out.into_iter().map(|(x, y)| json!([x, y])).collect()
    };
    json!({
        "entities": {"Host": hosts, "User": users},
        "relations": {
            "depends_on": edges(rng, ("h", HOSTS), ("h", HOSTS)),
            "reports_to": edges(rng, ("u", USERS), ("u", USERS)),
            "owns": edges(rng, ("u", USERS), ("h", HOSTS)),
        }
    })
}

fn request(rng: &mut Rng) -> Json {
    let at = BASE + rng.below(30 * 86_400) as i64;
    let at = literal::format_timestamp(at);
    let host = format!("h{}", rng.below(HOSTS as u64));
    let k = *rng.pick(&[0i64, 1, 10, i64::MAX, -5]);
    let mut context = json!({"agent": format!("u{}", rng.below(USERS as u64))});
    if rng.chance(50) {
        context["ticket"] = json!(rng.pick(&STRINGS));
    }
    if rng.chance(50) {
        context["budget"] = json!(rng.below(10));
    }
    if rng.chance(50) {
        json!({"action": "reboot", "at": at, "args": {"host": host, "k": k}, "context": context})
    } else {
        json!({"action": "change", "at": at, "args": {
            "host": host, "k": k, "user": format!("u{}", rng.below(USERS as u64)),
            "s": rng.pick(&STRINGS), "d": rng.pick(&["0s", "1h", "45m", "3d"])}, "context": context})
    }
}
