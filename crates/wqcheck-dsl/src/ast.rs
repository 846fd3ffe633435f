//! The syntax tree the parser builds: names are still strings, nothing is typed yet.
//! Every node carries the byte [`Span`] of the text it was parsed from.

use wqcheck_model::ir::{BinOp, Span};

#[derive(Clone, Debug)]
pub(crate) struct Ident {
    pub name: String,
    pub span: Span,
}

/// A type as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TypeName {
    Void,
    /// `int`, `unsigned`, `unsigned int`, `long`, `unsigned long`.
    Int,
    /// `bool` (and `bit`, which is accepted for locals too).
    Bool,
    /// `wait_queue_entry_t`.
    Entry,
    /// `wait_queue_entry_t *`.
    EntryPtr,
    /// `struct task_struct *`.
    Task,
    /// `void *`.
    VoidPtr,
    /// `struct wake_q_head *`.
    WakeQPtr,
    /// `struct NAME` of a struct the model declares; the span is NAME's.
    Struct(Span),
    /// `struct NAME *`.
    StructPtr(Span),
}

impl TypeName {
    pub fn spelling(self) -> &'static str {
        match self {
            TypeName::Void => "void",
            TypeName::Int => "int",
            TypeName::Bool => "bool",
            TypeName::Entry => "wait_queue_entry_t",
            TypeName::EntryPtr => "wait_queue_entry_t *",
            TypeName::Task => "struct task_struct *",
            TypeName::VoidPtr => "void *",
            TypeName::WakeQPtr => "struct wake_q_head *",
            TypeName::Struct(_) => "struct",
            TypeName::StructPtr(_) => "struct *",
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct TypeAst {
    pub ty: TypeName,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub(crate) enum SharedTy {
    /// `bit` or `bool`.
    Bit,
    /// `int<MIN..MAX>`.
    Int { min: Expr, max: Expr },
    /// `int` without a range (an error the checker reports).
    Unbounded,
    /// `unsigned long NAME { BIT [= v], ... }`: a word of named bits.
    Word { bits: Vec<(Ident, Option<Expr>)> },
    /// `struct task_struct *NAME`: NULL or a task.
    Task,
    /// `unsigned int NAME : BITS`: an unsigned bit-field, wrapping modulo `2^BITS`.
    Unsigned { bits: Expr },
}

/// A shared variable's initializer: `= v`, or `= { v0, v1, ... }` for an array.
#[derive(Clone, Debug)]
pub(crate) enum Init {
    Value(Expr),
    List(Vec<Expr>, Span),
}

impl Init {
    pub fn span(&self) -> Span {
        match self {
            Init::Value(e) => e.span,
            Init::List(_, span) => *span,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) enum Item {
    Var {
        ty: SharedTy,
        name: Ident,
        /// `NAME[LEN]`: an array of `LEN` variables (`x[0]`, `x[1]`, ...).
        len: Option<Expr>,
        init: Option<Init>,
        span: Span,
    },
    Const {
        ty: TypeAst,
        name: Ident,
        value: Expr,
    },
    Queue {
        name: Ident,
        /// `waitqueue NAME[LEN]`: an array of queues.
        len: Option<Expr>,
        until: Option<Expr>,
        span: Span,
        /// `spinlock_t NAME;` (or `raw_spinlock_t`, `DEFINE_SPINLOCK(NAME);`): a lock
        /// alone, which the checker lowers as a queue nothing may sleep on
        /// ([`ir::QueueKind::Spinlock`](wqcheck_model::ir::QueueKind::Spinlock)).
        spinlock: bool,
    },
    Futex {
        var: Ident,
        until: Option<Expr>,
        span: Span,
    },
    Func(Func),
    /// `struct NAME { int f; ...; wait_queue_entry_t wait; };`: a wait entry with fields
    /// of its own (`struct wait_page_queue`), or a struct of integers (a wake key,
    /// `struct wait_page_key`).
    Struct {
        name: Ident,
        fields: Vec<(TypeAst, Ident)>,
        /// Fields declared as shared state is (`int<0..2> done;`, `wait_queue_head_t
        /// wait;`): the struct is a **shared object** type (`struct completion`), whose
        /// instances are declared at top level ([`Item::Object`]).
        shared: Vec<Item>,
    },
    /// `struct NAME obj;` or `struct NAME objs[LEN];` at top level: shared objects, each
    /// a set of shared variables and queues named `obj.field`.
    Object {
        ty: Ident,
        name: Ident,
        len: Option<Expr>,
    },
    /// `final assert(COND);`: a condition over shared variables that must hold once every
    /// thread has returned.
    Final {
        cond: Expr,
    },
    /// `#include <linux/completion.h>`: a header of the prelude (lib.rs reads it).
    Include {
        /// The header's name, between `<` and `>`.
        header: Ident,
        /// Written `#include "..."` (refused: a model is one file and the prelude).
        quoted: bool,
        span: Span,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct Param {
    pub ty: TypeAst,
    pub name: Ident,
}

#[derive(Clone, Debug)]
pub(crate) struct Func {
    pub ret: TypeAst,
    pub name: Ident,
    pub params: Vec<Param>,
    pub body: Vec<Stmt>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub(crate) struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub(crate) enum StmtKind {
    Expr(Expr),
    /// `schedule() until COND;`: a sleep that says what it waits for.
    SleepUntil {
        call: Expr,
        until: Expr,
    },
    /// `TYPE a = 1, b;`
    Decl {
        ty: TypeAst,
        vars: Vec<(Ident, Option<Expr>)>,
    },
    /// `DEFINE_WAIT(name);`
    DefineWait(Ident),
    /// `DEFINE_WAKE_Q(name);`
    DefineWakeQ(Ident),
    If {
        cond: Expr,
        then_branch: Box<Stmt>,
        else_branch: Option<Box<Stmt>>,
    },
    While {
        cond: Expr,
        body: Box<Stmt>,
    },
    DoWhile {
        body: Box<Stmt>,
        cond: Expr,
    },
    For {
        init: Option<Box<Stmt>>,
        cond: Option<Expr>,
        step: Option<Expr>,
        body: Box<Stmt>,
    },
    Break,
    Continue,
    Return(Option<Expr>),
    Goto(Ident),
    Label(Ident),
    Atomic(Vec<Stmt>),
    Block(Vec<Stmt>),
    Assert(Expr),
    Empty,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UnaryOp {
    Neg,
    Not,
    BitNot,
    AddrOf,
    Deref,
}

#[derive(Clone, Debug)]
pub(crate) struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub(crate) enum ExprKind {
    Int(i64),
    Ident(String),
    True,
    False,
    Null,
    Current,
    Unary(UnaryOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `lhs = rhs` (`op == None`) or `lhs op= rhs`.
    Assign {
        op: Option<BinOp>,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `++e`, `e--`, ...
    IncDec {
        inc: bool,
        post: bool,
        operand: Box<Expr>,
    },
    Ternary(Box<Expr>, Box<Expr>, Box<Expr>),
    Call {
        name: Ident,
        args: Vec<Expr>,
    },
    /// `container_of(ptr, struct NAME, member)`; with `list_first`,
    /// `list_first_entry(head, struct NAME, member)` (`ptr` is the list's head).
    ContainerOf {
        ptr: Box<Expr>,
        ty: TypeAst,
        member: Ident,
        list_first: bool,
    },
    /// `base[index]`: an element of an array of shared variables or queues.
    Index {
        base: Box<Expr>,
        index: Box<Expr>,
    },
    /// `base->field` (`arrow`) or `base.field`.
    Member {
        base: Box<Expr>,
        field: Ident,
        arrow: bool,
    },
}

impl Stmt {
    /// Calls `on_stmt` on this statement and every statement inside it, and `on_expr` on
    /// every expression in them, each outermost first: the one walk of a function body
    /// that rewrites (include.rs's renaming, wait_bit.rs's calls).
    pub fn visit_mut(
        &mut self,
        on_stmt: &mut dyn FnMut(&mut Stmt),
        on_expr: &mut dyn FnMut(&mut Expr),
    ) {
        on_stmt(self);
        match &mut self.kind {
            StmtKind::Expr(x) | StmtKind::Assert(x) | StmtKind::Return(Some(x)) => {
                x.visit_mut(on_expr)
            }
            StmtKind::SleepUntil { call, until } => {
                call.visit_mut(on_expr);
                until.visit_mut(on_expr);
            }
            StmtKind::Decl { vars, .. } => {
                for x in vars.iter_mut().filter_map(|(_, init)| init.as_mut()) {
                    x.visit_mut(on_expr);
                }
            }
            StmtKind::If {
                cond,
                then_branch,
                else_branch,
            } => {
                cond.visit_mut(on_expr);
                then_branch.visit_mut(on_stmt, on_expr);
                if let Some(b) = else_branch {
                    b.visit_mut(on_stmt, on_expr);
                }
            }
            StmtKind::While { cond, body } | StmtKind::DoWhile { body, cond } => {
                cond.visit_mut(on_expr);
                body.visit_mut(on_stmt, on_expr);
            }
            StmtKind::For {
                init,
                cond,
                step,
                body,
            } => {
                if let Some(i) = init {
                    i.visit_mut(on_stmt, on_expr);
                }
                if let Some(c) = cond {
                    c.visit_mut(on_expr);
                }
                if let Some(x) = step {
                    x.visit_mut(on_expr);
                }
                body.visit_mut(on_stmt, on_expr);
            }
            StmtKind::Atomic(b) | StmtKind::Block(b) => {
                for s in b {
                    s.visit_mut(on_stmt, on_expr);
                }
            }
            StmtKind::DefineWait(_)
            | StmtKind::DefineWakeQ(_)
            | StmtKind::Return(None)
            | StmtKind::Break
            | StmtKind::Continue
            | StmtKind::Goto(_)
            | StmtKind::Label(_)
            | StmtKind::Empty => {}
        }
    }
}

impl Expr {
    /// Calls `f` on this expression and every expression inside it, outermost first.
    pub fn visit_mut(&mut self, f: &mut dyn FnMut(&mut Expr)) {
        f(self);
        match &mut self.kind {
            ExprKind::Ident(_)
            | ExprKind::Int(_)
            | ExprKind::True
            | ExprKind::False
            | ExprKind::Null
            | ExprKind::Current => {}
            ExprKind::Unary(_, a) | ExprKind::IncDec { operand: a, .. } => a.visit_mut(f),
            ExprKind::Binary(_, a, b) | ExprKind::Assign { lhs: a, rhs: b, .. } => {
                a.visit_mut(f);
                b.visit_mut(f);
            }
            ExprKind::Ternary(c, a, b) => {
                c.visit_mut(f);
                a.visit_mut(f);
                b.visit_mut(f);
            }
            ExprKind::Call { args, .. } => args.iter_mut().for_each(|a| a.visit_mut(f)),
            ExprKind::ContainerOf { ptr, .. } => ptr.visit_mut(f),
            ExprKind::Index { base, index } => {
                base.visit_mut(f);
                index.visit_mut(f);
            }
            ExprKind::Member { base, .. } => base.visit_mut(f),
        }
    }

    /// The identifier this expression is, if it is a bare name.
    pub fn as_ident(&self) -> Option<&str> {
        match &self.kind {
            ExprKind::Ident(n) => Some(n),
            _ => None,
        }
    }

    /// `x` for `&x`, else this expression: where a builtin takes a variable or queue,
    /// `&X` and `X` are the same.
    pub fn without_addr_of(&self) -> &Expr {
        match &self.kind {
            ExprKind::Unary(UnaryOp::AddrOf, inner) => inner,
            _ => self,
        }
    }
}
