//! The checker: resolves names and types in the AST and lowers it to
//! [`wqcheck_model::ir::Program`].
//!
//! It owns every static rule of docs/dsl.md (and the well-formedness rules documented in
//! `ir.rs`): unique global and local names, constant expressions and ranges, wake
//! conditions, builtin argument kinds, entry-typed operations, `break`/`continue`/`return`/
//! `goto` placement around loops and `atomic` blocks, return values, wake-function
//! signatures and the absence of recursion. It reports every problem it finds, not just
//! the first, and produces IR only when there is none.
//!
//! This module holds the checker's state, its types and the diagnostics plumbing; the
//! passes live in submodules, one per concern, in the order `check` runs them:
//! `globals` (declarations, constants, shared variables, queues), `stmt` (function bodies
//! and statements), `expr` (expressions, types, places), `arrays` (array elements and
//! their run-time indexes), `call` (model functions and builtins) and `callgraph`
//! (recursion and nested `atomic` blocks through calls).

mod arrays;
mod call;
mod callgraph;
mod expr;
mod globals;
mod objects;
mod stmt;
mod structs;
mod wait_event;
mod wake_q;

use std::cell::{Cell, OnceCell};
use std::collections::HashMap;
use std::sync::Arc;

use wqcheck_model::ir::{self, FuncId, LocalId, Span, Value, VarId};

use crate::ast::{self, TypeName};
use crate::diag::{Diagnostic, Kept, LineIndex, MAX_SUGGESTIONS};

/// The checker's types: the IR's, plus `void *`, the type of `NULL`, and an error type
/// that is compatible with everything (so one mistake is reported once).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ty {
    Void,
    Int,
    Bool,
    Entry,
    EntryPtr,
    Task,
    WakeFn,
    /// A `DEFINE_WAKE_Q(h)` local, and `&h`.
    WakeQ,
    WakeQPtr,
    VoidPtr,
    Null,
    Err,
    /// A local of a struct of integers (a wake key): its fields are locals.
    Struct(u8),
    /// A local of a struct with a wait entry member: it *is* that wait entry, and its
    /// other fields are the entry's [`ir::EntryField::Data`].
    Container(u8),
    /// `struct NAME *` of a struct of integers: a [`ir::frame_ptr`].
    StructPtr(u8),
    /// `struct NAME *` of a struct with a wait entry member: the entry's pointer.
    ContainerPtr(u8),
    /// `struct NAME *` of a shared object type: the object's number, from 1
    /// ([`ir::Type::ObjectPtr`]).
    ObjectPtr(u8),
}

impl Ty {
    fn from_ast(t: TypeName) -> Ty {
        match t {
            TypeName::Void => Ty::Void,
            TypeName::Int => Ty::Int,
            TypeName::Bool => Ty::Bool,
            TypeName::Entry => Ty::Entry,
            TypeName::EntryPtr => Ty::EntryPtr,
            TypeName::Task => Ty::Task,
            TypeName::VoidPtr => Ty::VoidPtr,
            TypeName::WakeQPtr => Ty::WakeQPtr,
            // Resolved by `Checker::ty_of`.
            TypeName::Struct(_) | TypeName::StructPtr(_) => Ty::Err,
        }
    }

    /// The IR has no `void *`: such a value is always NULL, so it is typed as a NULL
    /// entry pointer (this also keeps `void *` parameters out of thread bodies).
    pub(crate) fn ir(self) -> ir::Type {
        match self {
            Ty::Void => ir::Type::Void,
            Ty::Int | Ty::Null | Ty::Err => ir::Type::Int,
            Ty::Bool => ir::Type::Bool,
            Ty::Entry => ir::Type::Entry,
            Ty::EntryPtr | Ty::VoidPtr => ir::Type::EntryPtr,
            Ty::Task => ir::Type::Task,
            Ty::WakeFn => ir::Type::WakeFn,
            Ty::WakeQ => ir::Type::WakeQ,
            Ty::WakeQPtr => ir::Type::WakeQPtr,
            // A struct's first field (its other fields are locals of their own).
            Ty::Struct(_) => ir::Type::Int,
            Ty::Container(_) => ir::Type::Entry,
            // Pointers are kept out of thread bodies, as `void *` is.
            Ty::StructPtr(_) | Ty::ContainerPtr(_) => ir::Type::EntryPtr,
            Ty::ObjectPtr(_) => ir::Type::ObjectPtr,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Ty::Void => "void",
            Ty::Int => "int",
            Ty::Bool => "bool",
            Ty::Entry => "wait_queue_entry_t",
            Ty::EntryPtr => "wait_queue_entry_t *",
            Ty::Task => "struct task_struct *",
            Ty::WakeFn => "wake function",
            Ty::WakeQ => "wake_q head",
            Ty::WakeQPtr => "struct wake_q_head *",
            Ty::VoidPtr => "void *",
            Ty::Null => "NULL",
            Ty::Err => "<error>",
            Ty::Struct(_) | Ty::Container(_) => "struct",
            Ty::StructPtr(_) | Ty::ContainerPtr(_) | Ty::ObjectPtr(_) => "struct *",
        }
    }

    fn is_int(self) -> bool {
        matches!(self, Ty::Int | Ty::Bool | Ty::Err)
    }

    fn is_ptr(self) -> bool {
        matches!(
            self,
            Ty::EntryPtr
                | Ty::Task
                | Ty::WakeFn
                | Ty::VoidPtr
                | Ty::Null
                | Ty::StructPtr(_)
                | Ty::ContainerPtr(_)
                | Ty::ObjectPtr(_)
        )
    }

    /// Usable as a condition (`if`, `!`, `&&`).
    fn is_truthy(self) -> bool {
        self.is_int() || self.is_ptr()
    }
}

/// A lowered expression with its checker type.
#[derive(Clone, Debug)]
pub(crate) struct TExpr {
    pub e: ir::Expr,
    pub ty: Ty,
}

fn mk(kind: ir::ExprKind, ty: Ty, span: Span) -> TExpr {
    TExpr {
        e: ir::Expr {
            kind,
            ty: ty.ir(),
            span,
        },
        ty,
    }
}

fn err_expr(span: Span) -> TExpr {
    mk(ir::ExprKind::Const(0), Ty::Err, span)
}

/// What a global name is.
#[derive(Clone, Copy, Debug)]
enum Sym {
    Var(VarId),
    /// A bit of a word (`PG_locked` of `unsigned long flags { PG_locked, ... }`).
    Bit(ir::BitRef),
    Const(usize),
    Queue(ir::QueueId),
    /// A `spinlock_t`: a queue of kind [`ir::QueueKind::Spinlock`], which only the
    /// spin lock builtins take (`spin_lock(&l)`).
    Spinlock(ir::QueueId),
    Func(FuncId),
    /// An array of variables, bits, queues or objects ([`arrays::ArrayInfo`]).
    Array(usize),
    /// A shared object (`struct completion done;`, [`objects::ObjectInfo`]).
    Object(usize),
}

impl Sym {
    fn what(self) -> &'static str {
        match self {
            Sym::Var(_) => "a shared variable",
            Sym::Bit(_) => "a bit of a shared word",
            Sym::Const(_) => "a constant",
            Sym::Queue(_) => "a wait queue",
            Sym::Spinlock(_) => "a spinlock",
            Sym::Func(_) => "a function",
            Sym::Array(_) => "an array",
            Sym::Object(_) => "a shared object",
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum ConstState {
    Pending,
    Done(Value, Ty),
    Failed,
}

struct ConstInfo {
    state: ConstState,
}

struct Sig {
    name: String,
    params: Vec<(String, Ty, Span)>,
    ret: Ty,
    is_wake: bool,
}

impl Sig {
    /// `int f(struct completion *x)`: `ty_name` names the types (with their structs).
    fn display(&self, ty_name: impl Fn(Ty) -> String) -> String {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|(n, t, _)| format!("{} {n}", ty_name(*t)))
            .map(|s| s.replace("* ", "*"))
            .collect();
        let params = if params.is_empty() {
            "void".to_string()
        } else {
            params.join(", ")
        };
        format!("{} {}({params})", ty_name(self.ret), self.name)
    }
}

/// Per-function lowering state.
#[derive(Default)]
struct FnCx {
    locals: Vec<ir::Local>,
    local_tys: Vec<Ty>,
    scope: HashMap<String, LocalId>,
    /// Every local declared anywhere in the function, for "declared later" hints.
    all_decls: HashMap<String, Span>,
    labels: HashMap<String, LabelInfo>,
    label_count: usize,
    loop_depth: usize,
    /// The enclosing atomic block: its start offset (its identity) and the loop depth
    /// when it was entered.
    atomic: Option<(u32, usize)>,
    calls: Vec<(FuncId, Span, bool)>,
    has_atomic: bool,
    /// The function being lowered (`&key` of a struct local names it).
    func: FuncId,
}

#[derive(Clone, Copy)]
struct LabelInfo {
    id: ir::LabelId,
    atomic: Option<u32>,
}

pub(crate) struct Checker<'a> {
    source: &'a ir::Source,
    file: &'a str,
    text: &'a str,
    diags: Kept,
    globals: HashMap<String, (Sym, Span)>,
    consts: Vec<ConstInfo>,
    vars: Vec<ir::SharedVar>,
    queues: Vec<ir::Queue>,
    futex_of: HashMap<VarId, ir::QueueId>,
    sigs: Vec<Sig>,
    cx: FnCx,
    /// The text's line starts, built on the first "declared at line N" hint (so that
    /// many hints cost a binary search each, not a scan of the file each).
    lines: OnceCell<LineIndex>,
    /// See `declared_queues`.
    queues_help: OnceCell<String>,
    /// How many more "did you mean" suggestions this file may compute (each is a pass
    /// over every candidate name; past the diagnostics anyone will read, they are not
    /// worth a quadratic cost).
    suggestions_left: Cell<usize>,
    /// The conditions of `schedule() until COND;` sleeps ([`ir::Program::sleeps`]).
    sleeps: Vec<ir::Expr>,
    arrays: Vec<arrays::ArrayInfo>,
    /// How many variables each `Var` item declares, in item order: 1, or an array's
    /// length (0 if that is wrong).
    var_lens: Vec<usize>,
    /// The same for `Queue` items.
    queue_lens: Vec<usize>,
    /// Set while an array's second and later elements are lowered: the same code on
    /// another element, whose problems were reported for the first.
    quiet: Cell<bool>,
    structs: Vec<structs::StructInfo>,
    struct_ids: HashMap<String, u8>,
    /// Shared objects, each element of an array of them apart.
    objects: Vec<objects::ObjectInfo>,
    /// Whether a function calls `list_first_entry()` ([`ir::Program::entry_home`]).
    uses_list_first: bool,
    /// What the condition `until_expr()` lowers is, for its messages: "a wake
    /// condition", or "a final assertion" while `check_finals()` runs.
    condition: &'static str,
}

/// Checks a parsed model and lowers it. `source` holds the model's text and the headers
/// it includes; every span is one of its text, and every diagnostic is reported in the
/// model's file (lib.rs moves those in a header to the header's file).
pub(crate) fn check(
    source: &ir::Source,
    items: &[ast::Item],
) -> Result<ir::Program, Vec<Diagnostic>> {
    let file = source.name.as_str();
    let text = source.text.as_str();
    let mut ck = Checker {
        source,
        file,
        text,
        diags: Kept::default(),
        globals: HashMap::new(),
        consts: Vec::new(),
        vars: Vec::new(),
        queues: Vec::new(),
        futex_of: HashMap::new(),
        sigs: Vec::new(),
        cx: FnCx::default(),
        lines: OnceCell::new(),
        queues_help: OnceCell::new(),
        suggestions_left: Cell::new(MAX_SUGGESTIONS),
        sleeps: Vec::new(),
        arrays: Vec::new(),
        var_lens: Vec::new(),
        queue_lens: Vec::new(),
        quiet: Cell::new(false),
        structs: Vec::new(),
        struct_ids: HashMap::new(),
        objects: Vec::new(),
        uses_list_first: false,
        condition: "a wake condition",
    };
    ck.declare_structs(items);
    let items = &*ck.expand_objects(items);
    ck.declare_globals(items);
    ck.declare_field_arrays();
    ck.eval_consts(items);
    ck.check_vars(items);
    ck.check_queues(items);
    let finals = ck.check_finals(items);
    let functions = ck.lower_functions(items);
    ck.check_call_graph(&functions);
    if !ck.diags.is_empty() {
        let own_len = source
            .includes
            .first()
            .map_or(text.len(), |f| f.start as usize - 1);
        return Err(ck.diags.finish(file, own_len));
    }
    let functions = functions.into_iter().map(|(f, _)| f).collect();
    let (entry_data, entry_home) = ck.entry_data();
    Ok(ir::Program {
        source: Arc::new(source.clone()),
        vars: ck.vars,
        queues: ck.queues,
        functions,
        finals,
        sleeps: ck.sleeps,
        entry_data,
        entry_home,
        arrays: ck.arrays.into_iter().map(|a| a.name).collect(),
    })
}

impl<'a> Checker<'a> {
    fn error(&mut self, span: Span, msg: impl Into<String>) {
        self.error_opt(span, msg, None);
    }

    fn error_help(&mut self, span: Span, msg: impl Into<String>, help: impl Into<String>) {
        self.error_opt(span, msg, Some(help.into()));
    }

    fn error_opt(&mut self, span: Span, msg: impl Into<String>, help: Option<String>) {
        if !self.quiet.get() {
            self.diags
                .push(Diagnostic::new(self.file, span, msg).with_opt_help(help));
        }
    }

    /// Whether one more "did you mean" may be computed (and counts it).
    fn may_suggest(&self) -> bool {
        let left = self.suggestions_left.get();
        self.suggestions_left.set(left.saturating_sub(1));
        left > 0
    }

    /// Where a span starts, for hints: `line 12` in the model, or
    /// `<prelude>/linux/completion.wq:12` in an included header.
    fn line_of(&self, span: Span) -> String {
        let (_, start) = self.source.file_of(span.start);
        if start > 0 {
            return self.source.line_name(span.start);
        }
        let index = self.lines.get_or_init(|| LineIndex::new(self.text));
        format!("line {}", index.line(span.start as usize).0)
    }
}
