//! The checker: resolves names and types in the AST and lowers it to
//! [`wqcheck_model::ir::Program`].
//!
//! It owns every static rule of docs/dsl.md (and the well-formedness rules documented in
//! `ir.rs`): unique global and local names, constant expressions and ranges, wake
//! conditions, builtin argument kinds, entry-typed operations, `break`/`continue`/`return`/
//! `goto` placement around loops and `atomic` blocks, return values, wake-function
//! signatures and the absence of recursion. It reports every problem it finds, not just
//! the first, and produces IR only when there is none.

use std::collections::HashMap;
use std::sync::Arc;

use wqcheck_model::ir::{self, BinOp, EntryField, FuncId, LocalId, Place, Span, Value, VarId};

use crate::ast::{self, ExprKind as AK, StmtKind as SK, TypeName, UnaryOp};
use crate::builtins::{self, ArgKind, LArg, Ret};
use crate::diag::{suggest, Diagnostic};

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
    VoidPtr,
    Null,
    Err,
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
            Ty::VoidPtr => "void *",
            Ty::Null => "NULL",
            Ty::Err => "<error>",
        }
    }

    fn is_int(self) -> bool {
        matches!(self, Ty::Int | Ty::Bool | Ty::Err)
    }

    fn is_ptr(self) -> bool {
        matches!(
            self,
            Ty::EntryPtr | Ty::Task | Ty::WakeFn | Ty::VoidPtr | Ty::Null
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
    Const(usize),
    Queue(ir::QueueId),
    Func(FuncId),
}

impl Sym {
    fn what(self) -> &'static str {
        match self {
            Sym::Var(_) => "a shared variable",
            Sym::Const(_) => "a constant",
            Sym::Queue(_) => "a wait queue",
            Sym::Func(_) => "a function",
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
    fn display(&self) -> String {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|(n, t, _)| format!("{} {n}", t.name()))
            .map(|s| s.replace("* ", "*"))
            .collect();
        let params = if params.is_empty() {
            "void".to_string()
        } else {
            params.join(", ")
        };
        format!("{} {}({params})", self.ret.name(), self.name)
    }
}

const WAKE_FN_SIG: &str = "int f(wait_queue_entry_t *wait, unsigned mode, int sync, void *key)";

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
}

#[derive(Clone, Copy)]
struct LabelInfo {
    id: ir::LabelId,
    atomic: Option<u32>,
}

pub(crate) struct Checker<'a> {
    file: &'a str,
    text: &'a str,
    diags: Vec<Diagnostic>,
    globals: HashMap<String, (Sym, Span)>,
    consts: Vec<ConstInfo>,
    vars: Vec<ir::SharedVar>,
    queues: Vec<ir::Queue>,
    futex_of: HashMap<VarId, ir::QueueId>,
    sigs: Vec<Sig>,
    cx: FnCx,
}

/// Checks a parsed model and lowers it.
pub(crate) fn check(
    file: &str,
    text: &str,
    items: &[ast::Item],
) -> Result<ir::Program, Vec<Diagnostic>> {
    let mut ck = Checker {
        file,
        text,
        diags: Vec::new(),
        globals: HashMap::new(),
        consts: Vec::new(),
        vars: Vec::new(),
        queues: Vec::new(),
        futex_of: HashMap::new(),
        sigs: Vec::new(),
        cx: FnCx::default(),
    };
    ck.declare_globals(items);
    ck.eval_consts(items);
    ck.check_vars(items);
    ck.check_queues(items);
    let functions = ck.lower_functions(items);
    ck.check_call_graph(&functions);
    if !ck.diags.is_empty() {
        let mut d = ck.diags;
        d.sort_by_key(|d| (d.span.start, d.span.end));
        return Err(d);
    }
    let functions = functions.into_iter().map(|(f, _)| f).collect();
    Ok(ir::Program {
        source: Arc::new(ir::Source {
            name: file.to_string(),
            text: text.to_string(),
        }),
        vars: ck.vars,
        queues: ck.queues,
        functions,
    })
}

impl<'a> Checker<'a> {
    fn error(&mut self, span: Span, msg: impl Into<String>) {
        self.diags.push(Diagnostic::new(self.file, span, msg));
    }

    fn error_help(&mut self, span: Span, msg: impl Into<String>, help: impl Into<String>) {
        self.diags
            .push(Diagnostic::new(self.file, span, msg).with_help(help));
    }

    fn error_opt(&mut self, span: Span, msg: impl Into<String>, help: Option<String>) {
        self.diags
            .push(Diagnostic::new(self.file, span, msg).with_opt_help(help));
    }

    fn line_of(&self, span: Span) -> usize {
        crate::diag::line_col(self.text, span.start as usize).0
    }

    // ================================================================ globals

    /// Checks that `name` can be declared (not reserved, not taken).
    fn check_new_name(&mut self, name: &ast::Ident, local: bool) -> bool {
        let n = name.name.as_str();
        if builtins::lookup(n).is_some() || builtins::RESERVED_FORMS.contains(&n) {
            self.error_help(
                name.span,
                format!("`{n}` is a builtin and cannot be redeclared"),
                "choose another name",
            );
            return false;
        }
        if builtins::constant(n).is_some() {
            self.error_help(
                name.span,
                format!("`{n}` is a predefined constant and cannot be redeclared"),
                "choose another name",
            );
            return false;
        }
        if let Some((sym, span)) = self.globals.get(n).copied() {
            let line = self.line_of(span);
            if local {
                self.error_help(
                    name.span,
                    format!(
                        "local `{n}` shadows the global {} `{n}`",
                        sym.what().trim_start_matches("a ")
                    ),
                    format!("`{n}` is declared at line {line}; rename the local"),
                );
            } else {
                self.error_help(
                    name.span,
                    format!("`{n}` is declared twice"),
                    format!(
                        "`{n}` is already {} (line {line}); names are global and unique",
                        sym.what()
                    ),
                );
            }
            return false;
        }
        true
    }

    fn declare_globals(&mut self, items: &[ast::Item]) {
        for item in items {
            match item {
                ast::Item::Var { name, span, .. } => {
                    let id = self.vars.len() as VarId;
                    self.vars.push(ir::SharedVar {
                        name: name.name.clone(),
                        ty: ir::VarType::Bit,
                        init: 0,
                        span: *span,
                    });
                    if self.check_new_name(name, false) {
                        self.globals
                            .insert(name.name.clone(), (Sym::Var(id), name.span));
                    }
                }
                ast::Item::Const { name, .. } => {
                    let id = self.consts.len();
                    self.consts.push(ConstInfo {
                        state: ConstState::Pending,
                    });
                    if self.check_new_name(name, false) {
                        self.globals
                            .insert(name.name.clone(), (Sym::Const(id), name.span));
                    }
                }
                ast::Item::Queue { name, span, .. } => {
                    let id = self.queues.len() as ir::QueueId;
                    self.queues.push(ir::Queue {
                        name: name.name.clone(),
                        kind: ir::QueueKind::WaitQueue,
                        until: None,
                        span: *span,
                    });
                    if self.check_new_name(name, false) {
                        self.globals
                            .insert(name.name.clone(), (Sym::Queue(id), name.span));
                    }
                }
                ast::Item::Futex { .. } => {}
                ast::Item::Func(f) => {
                    let id = self.sigs.len() as FuncId;
                    let sig = self.signature(f);
                    self.sigs.push(sig);
                    if self.check_new_name(&f.name, false) {
                        self.globals
                            .insert(f.name.name.clone(), (Sym::Func(id), f.name.span));
                    }
                }
            }
        }
        // Futex queues: after the variables, so that their order does not matter.
        for item in items {
            let ast::Item::Futex { var, span, .. } = item else {
                continue;
            };
            match self.globals.get(&var.name).copied() {
                Some((Sym::Var(vid), _)) => {
                    if let Some(prev) = self.futex_of.get(&vid).copied() {
                        let line = self
                            .queues
                            .get(prev as usize)
                            .map_or(0, |q| self.line_of(q.span));
                        self.error_help(
                            var.span,
                            format!("`{}` already has a futex queue", var.name),
                            format!("it is declared at line {line}; declare it once"),
                        );
                        continue;
                    }
                    let id = self.queues.len() as ir::QueueId;
                    self.queues.push(ir::Queue {
                        name: var.name.clone(),
                        kind: ir::QueueKind::Futex(vid),
                        until: None,
                        span: *span,
                    });
                    self.futex_of.insert(vid, id);
                }
                Some((sym, _)) => self.error_help(
                    var.span,
                    format!(
                        "`{}` is {}, but a futex belongs to a shared variable",
                        var.name,
                        sym.what()
                    ),
                    "write `futex VAR until CONDITION;` with a `bit` or `int<..>` variable",
                ),
                None => {
                    let help = self.suggest_var(&var.name).unwrap_or_else(|| {
                        format!("declare it first, e.g. `int<0..2> {} = 0;`", var.name)
                    });
                    self.error_help(
                        var.span,
                        format!("undeclared variable `{}` in futex declaration", var.name),
                        help,
                    );
                }
            }
        }
    }

    fn suggest_var(&self, name: &str) -> Option<String> {
        suggest(name, self.vars.iter().map(|v| v.name.as_str()))
    }

    fn signature(&mut self, f: &ast::Func) -> Sig {
        let ret = Ty::from_ast(f.ret.ty);
        if ret == Ty::Entry {
            self.error_help(
                f.ret.span,
                "a function cannot return a wait entry",
                "return a `wait_queue_entry_t *` instead",
            );
        }
        let mut params = Vec::new();
        for p in &f.params {
            let ty = Ty::from_ast(p.ty.ty);
            match ty {
                Ty::Entry => self.error_help(
                    p.ty.span,
                    format!(
                        "parameter `{}` cannot be a wait entry passed by value",
                        p.name.name
                    ),
                    "write `wait_queue_entry_t *`",
                ),
                Ty::Void => self.error_help(
                    p.ty.span,
                    format!("parameter `{}` cannot have type `void`", p.name.name),
                    "an empty parameter list is written `(void)`",
                ),
                _ => {}
            }
            params.push((p.name.name.clone(), ty, p.name.span));
        }
        let is_wake = ret == Ty::Int
            && (2..=4).contains(&params.len())
            && params.iter().enumerate().all(|(i, (_, t, _))| {
                matches!(
                    (i, t),
                    (0, Ty::EntryPtr) | (1, Ty::Int) | (2, Ty::Int) | (3, Ty::VoidPtr)
                )
            });
        Sig {
            name: f.name.name.clone(),
            params,
            ret,
            is_wake,
        }
    }

    // ================================================================ constants

    fn eval_consts(&mut self, items: &[ast::Item]) {
        let mut idx = 0;
        for item in items {
            let ast::Item::Const {
                ty, value, name, ..
            } = item
            else {
                continue;
            };
            let my = idx;
            idx += 1;
            let cty = Ty::from_ast(ty.ty);
            let state = if !cty.is_int() {
                self.error_help(
                    ty.span,
                    format!("constant `{}` must be `int` or `bool`", name.name),
                    "write `const int NAME = VALUE;`",
                );
                ConstState::Failed
            } else {
                match self.const_eval(value) {
                    Some(v) if cty == Ty::Bool && !(0..=1).contains(&v) => {
                        self.error(
                            value.span,
                            format!("`bool` constant `{}` must be 0 or 1, not {v}", name.name),
                        );
                        ConstState::Failed
                    }
                    Some(v) => ConstState::Done(v, cty),
                    None => ConstState::Failed,
                }
            };
            if let Some(c) = self.consts.get_mut(my) {
                c.state = state;
            }
        }
    }

    /// Evaluates a constant expression (numbers, constants, operators), reporting
    /// problems. `None` means an error was reported.
    fn const_eval(&mut self, e: &ast::Expr) -> Option<Value> {
        let span = e.span;
        match &e.kind {
            AK::Int(v) => match Value::try_from(*v) {
                Ok(v) => Some(v),
                Err(_) => {
                    self.error(span, format!("integer {v} does not fit in 32 bits"));
                    None
                }
            },
            AK::True => Some(1),
            AK::False | AK::Null => Some(0),
            AK::Ident(n) => {
                if let Some(v) = builtins::constant(n) {
                    return Some(v);
                }
                match self.globals.get(n).copied() {
                    Some((Sym::Const(i), decl)) => match self.consts.get(i).map(|c| c.state) {
                        Some(ConstState::Done(v, _)) => Some(v),
                        Some(ConstState::Failed) | None => None,
                        Some(ConstState::Pending) => {
                            let line = self.line_of(decl);
                            self.error_help(
                                span,
                                format!("constant `{n}` is used before its declaration"),
                                format!("`{n}` is declared at line {line}; move it up"),
                            );
                            None
                        }
                    },
                    Some((sym, _)) => {
                        self.error_help(
                            span,
                            format!("`{n}` is {}, not a constant", sym.what()),
                            "a constant expression may use only numbers, constants and operators",
                        );
                        None
                    }
                    None => {
                        let help = suggest(
                            n,
                            self.globals
                                .iter()
                                .filter(|(_, (s, _))| matches!(s, Sym::Const(_)))
                                .map(|(k, _)| k.as_str())
                                .chain(builtins::CONSTANTS.iter().map(|(k, _)| *k)),
                        );
                        self.error_opt(span, format!("unknown constant `{n}`"), help);
                        None
                    }
                }
            }
            AK::Unary(op, x) => {
                if let (UnaryOp::Neg, AK::Int(v)) = (op, &x.kind) {
                    return match Value::try_from(-*v) {
                        Ok(v) => Some(v),
                        Err(_) => {
                            self.error(span, format!("integer -{v} does not fit in 32 bits"));
                            None
                        }
                    };
                }
                let v = self.const_eval(x)?;
                match op {
                    UnaryOp::Neg => v.checked_neg().or_else(|| {
                        self.error(span, "overflow in constant expression");
                        None
                    }),
                    UnaryOp::Not => Some(Value::from(v == 0)),
                    UnaryOp::BitNot => Some(!v),
                    UnaryOp::AddrOf | UnaryOp::Deref => {
                        self.error(
                            span,
                            "a constant expression may use only numbers, constants and operators",
                        );
                        None
                    }
                }
            }
            AK::Binary(op, a, b) => {
                let x = self.const_eval(a);
                match (op, x) {
                    (BinOp::And, Some(0)) => return Some(0),
                    (BinOp::Or, Some(v)) if v != 0 => return Some(1),
                    _ => {}
                }
                let y = self.const_eval(b);
                let (x, y) = (x?, y?);
                match fold(*op, x, y) {
                    Ok(v) => Some(v),
                    Err(m) => {
                        self.error(span, m);
                        None
                    }
                }
            }
            AK::Ternary(c, a, b) => {
                let c = self.const_eval(c);
                let a = self.const_eval(a);
                let b = self.const_eval(b);
                Some(if c? != 0 { a? } else { b? })
            }
            _ => {
                self.error_help(
                    span,
                    "this is not a constant expression",
                    "a constant expression may use only numbers, constants and operators",
                );
                None
            }
        }
    }

    // ================================================================ shared variables

    fn check_vars(&mut self, items: &[ast::Item]) {
        let mut idx = 0usize;
        for item in items {
            let ast::Item::Var { ty, name, init, .. } = item else {
                continue;
            };
            let my = idx;
            idx += 1;
            let vty = match ty {
                ast::SharedTy::Bit => Some(ir::VarType::Bit),
                ast::SharedTy::Unbounded => {
                    self.error_help(
                        name.span,
                        format!("shared variable `{}` needs a range", name.name),
                        format!(
                            "write `int<MIN..MAX> {}` (at most 256 values), or `bit`/`bool`",
                            name.name
                        ),
                    );
                    None
                }
                ast::SharedTy::Int { min, max } => {
                    let lo = self.const_eval(min);
                    let hi = self.const_eval(max);
                    match (lo, hi) {
                        (Some(lo), Some(hi)) => {
                            let span = min.span.to(max.span);
                            if lo > hi {
                                self.error_help(
                                    span,
                                    format!("empty range: {lo} is greater than {hi}"),
                                    "write `int<MIN..MAX>` with MIN <= MAX",
                                );
                                None
                            } else if i64::from(hi) - i64::from(lo) > 255 {
                                self.error_help(
                                    span,
                                    format!(
                                        "the range {lo}..{hi} has {} values; at most 256 are allowed",
                                        i64::from(hi) - i64::from(lo) + 1
                                    ),
                                    "shared integers are small so that the state space stays finite",
                                );
                                None
                            } else {
                                Some(ir::VarType::Int { min: lo, max: hi })
                            }
                        }
                        _ => None,
                    }
                }
            };
            let value = match init {
                Some(e) => self.const_eval(e).map(|v| (v, e.span)),
                None => Some((0, name.span)),
            };
            if let (Some(vty), Some((v, span))) = (vty, value) {
                let (lo, hi) = match vty {
                    ir::VarType::Bit => (0, 1),
                    ir::VarType::Int { min, max } => (min, max),
                };
                if v < lo || v > hi {
                    let what = match vty {
                        ir::VarType::Bit => "a bit: 0 or 1".to_string(),
                        ir::VarType::Int { min, max } => format!("int<{min}..{max}>"),
                    };
                    if init.is_some() {
                        self.error(
                            span,
                            format!(
                                "initial value {v} of `{}` is out of range ({what})",
                                name.name
                            ),
                        );
                    } else {
                        self.error_help(
                            span,
                            format!(
                                "`{}` starts at 0, which is out of range ({what})",
                                name.name
                            ),
                            format!("give it an initial value: `{} = {lo}`", name.name),
                        );
                    }
                }
            }
            if let Some(var) = self.vars.get_mut(my) {
                if let Some(t) = vty {
                    var.ty = t;
                }
                if let Some((v, _)) = value {
                    var.init = v;
                }
            }
        }
    }

    // ================================================================ wake conditions

    fn check_queues(&mut self, items: &[ast::Item]) {
        // Queue ids follow item order for wait queues; futex queues were appended after.
        let mut wq = 0usize;
        for item in items {
            match item {
                ast::Item::Queue { until, .. } => {
                    let id = wq;
                    wq += 1;
                    if let Some(u) = until {
                        let e = self.until_expr(u);
                        self.truthy(&e, u.span, "a wake condition");
                        if let Some(q) = self.queues.get_mut(id) {
                            q.until = Some(e.e);
                        }
                    }
                }
                ast::Item::Futex { var, until, span } => {
                    let Some(u) = until else { continue };
                    let e = self.until_expr(u);
                    self.truthy(&e, u.span, "a wake condition");
                    let found = self
                        .queues
                        .iter_mut()
                        .find(|q| q.span == *span && q.name == var.name);
                    if let Some(q) = found {
                        q.until = Some(e.e);
                    }
                }
                _ => {}
            }
        }
    }

    /// Lowers a wake condition: shared variables, constants and operators only.
    fn until_expr(&mut self, e: &ast::Expr) -> TExpr {
        let span = e.span;
        const ONLY: &str =
            "a wake condition may use only shared variables, constants and operators";
        match &e.kind {
            AK::Int(_) | AK::True | AK::False | AK::Null => self.expr(e),
            AK::Ident(n) => match self.globals.get(n).copied() {
                Some((Sym::Var(_) | Sym::Const(_), _)) => self.expr(e),
                Some((sym, _)) => {
                    self.error_help(
                        span,
                        format!("`{n}` ({}) cannot be used in a wake condition", sym.what()),
                        ONLY,
                    );
                    err_expr(span)
                }
                None => self.expr(e),
            },
            AK::Unary(op @ (UnaryOp::Neg | UnaryOp::Not | UnaryOp::BitNot), x) => {
                let x = self.until_expr(x);
                self.unary_typed(*op, x, span)
            }
            AK::Binary(op, a, b) => {
                let a = self.until_expr(a);
                let b = self.until_expr(b);
                self.binary_typed(*op, a, b, span)
            }
            AK::Ternary(c, a, b) => {
                let c = self.until_expr(c);
                let a = self.until_expr(a);
                let b = self.until_expr(b);
                self.ternary_typed(c, a, b, span)
            }
            AK::Call { name, args } => {
                let help = match (name.name.as_str(), args.first().and_then(|a| a.as_ident())) {
                    ("test_bit" | "READ_ONCE" | "atomic_read", Some(x)) => {
                        format!("{ONLY}: write `{x}` instead of `{}({x})`", name.name)
                    }
                    _ => format!("{ONLY}; it is evaluated by the checker, never executed"),
                };
                self.error_help(span, "calls are not allowed in a wake condition", help);
                err_expr(span)
            }
            AK::Current => {
                self.error_help(span, "`current` cannot be used in a wake condition", ONLY);
                err_expr(span)
            }
            other => {
                let what = match other {
                    AK::Assign { .. } | AK::IncDec { .. } => "an assignment",
                    AK::Member { .. } => "a wait entry field",
                    AK::Unary(UnaryOp::AddrOf, _) => "an address (`&`)",
                    _ => "this expression",
                };
                self.error_help(
                    span,
                    format!("{what} cannot be used in a wake condition"),
                    ONLY,
                );
                err_expr(span)
            }
        }
    }

    // ================================================================ functions

    fn lower_functions(&mut self, items: &[ast::Item]) -> Vec<(ir::Function, FnCx)> {
        let mut out = Vec::new();
        let mut id: FuncId = 0;
        for item in items {
            let ast::Item::Func(f) = item else { continue };
            out.push(self.lower_function(id, f));
            id += 1;
        }
        out
    }

    fn lower_function(&mut self, id: FuncId, f: &ast::Func) -> (ir::Function, FnCx) {
        self.cx = FnCx::default();
        let ret = self.sigs.get(id as usize).map_or(Ty::Err, |s| s.ret);
        for p in &f.params {
            let ty = Ty::from_ast(p.ty.ty);
            self.declare_local(&p.name, ty);
        }
        let params = self.cx.locals.len();
        self.prepass(&f.body, None);
        let body = self.block(&f.body, ret, &f.name.name);
        let cx = std::mem::take(&mut self.cx);
        let func = ir::Function {
            name: f.name.name.clone(),
            params,
            locals: cx.locals.clone(),
            ret: ret.ir(),
            body,
            labels: cx.label_count,
            span: f.span,
        };
        (func, cx)
    }

    fn declare_local(&mut self, name: &ast::Ident, ty: Ty) -> Option<LocalId> {
        let n = &name.name;
        if let Some(prev) = self.cx.scope.get(n).copied() {
            let line = self
                .cx
                .locals
                .get(prev as usize)
                .map_or(0, |l| self.line_of(l.span));
            self.error_help(
                name.span,
                format!("`{n}` is declared twice in this function"),
                format!("the first declaration is at line {line}; local names are unique within a function"),
            );
            return None;
        }
        // Declared even if the name is reserved, so that its uses do not cascade.
        let _ = self.check_new_name(name, true);
        let id = self.cx.locals.len() as LocalId;
        self.cx.locals.push(ir::Local {
            name: n.clone(),
            ty: ty.ir(),
            span: name.span,
        });
        self.cx.local_tys.push(ty);
        self.cx.scope.insert(n.clone(), id);
        Some(id)
    }

    /// Collects labels (reporting duplicates) and every local declaration.
    fn prepass(&mut self, stmts: &[ast::Stmt], atomic: Option<u32>) {
        for s in stmts {
            self.prepass_stmt(s, atomic);
        }
    }

    fn prepass_stmt(&mut self, s: &ast::Stmt, atomic: Option<u32>) {
        match &s.kind {
            SK::Label(l) => {
                if self.cx.labels.contains_key(&l.name) {
                    self.error_help(
                        l.span,
                        format!("label `{}` is defined twice", l.name),
                        "labels must be unique within a function",
                    );
                } else {
                    let id = self.cx.label_count as ir::LabelId;
                    self.cx.label_count += 1;
                    self.cx
                        .labels
                        .insert(l.name.clone(), LabelInfo { id, atomic });
                }
            }
            SK::Decl { vars, .. } => {
                for (n, _) in vars {
                    self.cx.all_decls.entry(n.name.clone()).or_insert(n.span);
                }
            }
            SK::DefineWait(n) => {
                self.cx.all_decls.entry(n.name.clone()).or_insert(n.span);
            }
            SK::If {
                then_branch,
                else_branch,
                ..
            } => {
                self.prepass_stmt(then_branch, atomic);
                if let Some(e) = else_branch {
                    self.prepass_stmt(e, atomic);
                }
            }
            SK::While { body, .. } | SK::DoWhile { body, .. } => self.prepass_stmt(body, atomic),
            SK::For { init, body, .. } => {
                if let Some(i) = init {
                    self.prepass_stmt(i, atomic);
                }
                self.prepass_stmt(body, atomic);
            }
            SK::Atomic(b) => self.prepass(b, Some(atomic.unwrap_or(s.span.start))),
            SK::Block(b) => self.prepass(b, atomic),
            _ => {}
        }
    }

    fn block(&mut self, stmts: &[ast::Stmt], ret: Ty, fname: &str) -> Vec<ir::Stmt> {
        let mut out = Vec::new();
        for s in stmts {
            self.stmt(s, ret, fname, &mut out);
        }
        out
    }

    /// The body of an `if`, `else` or loop: a braced block becomes its statements.
    fn sub(&mut self, s: &ast::Stmt, ret: Ty, fname: &str) -> Vec<ir::Stmt> {
        if let SK::Block(body) = &s.kind {
            return self.block(body, ret, fname);
        }
        let mut out = Vec::new();
        self.stmt(s, ret, fname, &mut out);
        out
    }

    fn leaves_atomic(&self) -> bool {
        matches!(self.cx.atomic, Some((_, base)) if self.cx.loop_depth == base)
    }

    fn stmt(&mut self, s: &ast::Stmt, ret: Ty, fname: &str, out: &mut Vec<ir::Stmt>) {
        let span = s.span;
        let push = |out: &mut Vec<ir::Stmt>, kind| out.push(ir::Stmt { kind, span });
        const ATOMIC_HELP: &str =
            "an `atomic` block runs as one step: no `goto`, `break`, `continue` or `return` may leave it";
        match &s.kind {
            SK::Expr(e) => {
                let e = self.expr(e);
                push(out, ir::StmtKind::Expr(e.e));
            }
            SK::Decl { ty, vars } => {
                let lty = Ty::from_ast(ty.ty);
                if lty == Ty::Void {
                    self.error_help(ty.span, "a local cannot have type `void`", "use `int`");
                }
                for (name, init) in vars {
                    let id = self.declare_local(name, lty);
                    let Some(init) = init else { continue };
                    if lty == Ty::Entry {
                        self.error_help(
                            init.span,
                            format!(
                                "the wait entry `{}` cannot be initialized with a value",
                                name.name
                            ),
                            format!(
                                "write `DEFINE_WAIT({});` or call `init_wait(&{})`",
                                name.name, name.name
                            ),
                        );
                        continue;
                    }
                    let v = self.value(init);
                    let v = self.coerce(v, lty, &format!("the initializer of `{}`", name.name));
                    let v = bool_normalize(v, lty);
                    if let Some(id) = id {
                        let e = mk(
                            ir::ExprKind::Assign {
                                place: Place::Local(id),
                                op: None,
                                value: Box::new(v.e),
                                post: false,
                            },
                            lty,
                            name.span.to(init.span),
                        );
                        push(out, ir::StmtKind::Expr(e.e));
                    }
                }
            }
            SK::DefineWait(name) => {
                if let Some(id) = self.declare_local(name, Ty::Entry) {
                    let addr = mk(ir::ExprKind::EntryAddr(id), Ty::EntryPtr, name.span);
                    let e = mk(
                        ir::ExprKind::Builtin {
                            op: ir::Builtin::InitWait,
                            args: vec![addr.e],
                        },
                        Ty::Void,
                        span,
                    );
                    push(out, ir::StmtKind::Expr(e.e));
                }
            }
            SK::If {
                cond,
                then_branch,
                else_branch,
            } => {
                let c = self.cond(cond, "`if`");
                let t = self.sub(then_branch, ret, fname);
                let e = match else_branch {
                    Some(b) => self.sub(b, ret, fname),
                    None => Vec::new(),
                };
                push(
                    out,
                    ir::StmtKind::If {
                        cond: c.e,
                        then_branch: t,
                        else_branch: e,
                    },
                );
            }
            SK::While { cond, body } => {
                let c = self.cond(cond, "`while`");
                let body = self.loop_body(body, ret, fname);
                push(
                    out,
                    ir::StmtKind::Loop {
                        cond: Some(c.e),
                        test_first: true,
                        body,
                        step: None,
                    },
                );
            }
            SK::DoWhile { body, cond } => {
                let body = self.loop_body(body, ret, fname);
                let c = self.cond(cond, "`do ... while`");
                push(
                    out,
                    ir::StmtKind::Loop {
                        cond: Some(c.e),
                        test_first: false,
                        body,
                        step: None,
                    },
                );
            }
            SK::For {
                init,
                cond,
                step,
                body,
            } => {
                if let Some(i) = init {
                    self.stmt(i, ret, fname, out);
                }
                let c = cond.as_ref().map(|c| self.cond(c, "`for`").e);
                let st = step.as_ref().map(|s| self.expr(s).e);
                let body = self.loop_body(body, ret, fname);
                push(
                    out,
                    ir::StmtKind::Loop {
                        cond: c,
                        test_first: true,
                        body,
                        step: st,
                    },
                );
            }
            SK::Break | SK::Continue => {
                let word = if matches!(s.kind, SK::Break) {
                    "break"
                } else {
                    "continue"
                };
                if self.cx.loop_depth == 0 {
                    self.error_help(
                        span,
                        format!("`{word}` outside of a loop"),
                        format!("`{word}` may only appear inside `while`, `do` or `for`"),
                    );
                } else if self.leaves_atomic() {
                    self.error_help(
                        span,
                        format!("`{word}` would leave the `atomic` block"),
                        ATOMIC_HELP,
                    );
                }
                push(
                    out,
                    if word == "break" {
                        ir::StmtKind::Break
                    } else {
                        ir::StmtKind::Continue
                    },
                );
            }
            SK::Return(value) => {
                if self.cx.atomic.is_some() {
                    self.error_help(span, "`return` inside an `atomic` block", ATOMIC_HELP);
                }
                let v = match (value, ret) {
                    (Some(v), Ty::Void) => {
                        self.error_help(
                            v.span,
                            format!("`{fname}` returns `void`, but this `return` has a value"),
                            "remove the value, or declare the function with a return type",
                        );
                        None
                    }
                    (Some(v), _) => {
                        let x = self.value(v);
                        let x = self.coerce(x, ret, "the return value");
                        Some(bool_normalize(x, ret).e)
                    }
                    (None, Ty::Void | Ty::Err) => None,
                    (None, _) => {
                        self.error_help(
                            span,
                            format!(
                                "`{fname}` returns `{}`, but this `return` has no value",
                                ret.name()
                            ),
                            "write `return VALUE;`",
                        );
                        None
                    }
                };
                push(out, ir::StmtKind::Return(v));
            }
            SK::Goto(label) => match self.cx.labels.get(&label.name).copied() {
                Some(info) => {
                    let here = self.cx.atomic.map(|(a, _)| a);
                    if info.atomic != here {
                        let msg = match (here, info.atomic) {
                            (None, Some(_)) => "`goto` into an `atomic` block",
                            (Some(_), None) => "`goto` out of an `atomic` block",
                            _ => "`goto` from one `atomic` block into another",
                        };
                        self.error_help(label.span, msg, ATOMIC_HELP);
                    }
                    push(out, ir::StmtKind::Goto(info.id));
                }
                None => {
                    let help = suggest(&label.name, self.cx.labels.keys().map(|k| k.as_str()))
                        .or_else(|| Some(format!("define it in this function: `{}:`", label.name)));
                    self.error_opt(
                        label.span,
                        format!("undefined label `{}`", label.name),
                        help,
                    );
                }
            },
            SK::Label(l) => {
                // Duplicate definitions were reported by the prepass.
                if let Some(info) = self.cx.labels.get(&l.name).copied() {
                    push(out, ir::StmtKind::Label(info.id));
                }
            }
            SK::Atomic(body) => {
                let saved = self.cx.atomic;
                if let Some((outer, _)) = saved {
                    let line = self.line_of(Span::new(outer as usize, outer as usize));
                    self.error_help(
                        span,
                        "`atomic` blocks do not nest",
                        format!("this is inside the `atomic` block at line {line}; remove the inner `atomic`"),
                    );
                } else {
                    self.cx.atomic = Some((span.start, self.cx.loop_depth));
                }
                self.cx.has_atomic = true;
                let b = self.block(body, ret, fname);
                self.cx.atomic = saved;
                push(out, ir::StmtKind::Atomic(b));
            }
            SK::Block(body) => {
                let b = self.block(body, ret, fname);
                push(out, ir::StmtKind::Block(b));
            }
            SK::Assert(c) => {
                let c = self.cond(c, "`assert`");
                push(out, ir::StmtKind::Assert(c.e));
            }
            SK::Empty => {}
        }
    }

    fn loop_body(&mut self, body: &ast::Stmt, ret: Ty, fname: &str) -> Vec<ir::Stmt> {
        self.cx.loop_depth += 1;
        let b = self.sub(body, ret, fname);
        self.cx.loop_depth -= 1;
        b
    }

    // ================================================================ expressions

    /// A condition: any integer or pointer value.
    fn cond(&mut self, e: &ast::Expr, what: &str) -> TExpr {
        let v = self.value(e);
        self.truthy(&v, e.span, &format!("the condition of {what}"));
        v
    }

    fn truthy(&mut self, v: &TExpr, span: Span, what: &str) {
        if !v.ty.is_truthy() {
            self.error(
                span,
                format!(
                    "{what} must be an integer or a pointer, found `{}`",
                    v.ty.name()
                ),
            );
        }
    }

    /// An expression whose value is used (so it must not be `void`, nor an entry itself).
    fn value(&mut self, e: &ast::Expr) -> TExpr {
        let v = self.expr(e);
        match v.ty {
            Ty::Void => {
                self.error_help(
                    e.span,
                    "this expression has no value (it is `void`)",
                    "call it as a statement of its own",
                );
                err_expr(e.span)
            }
            _ => v,
        }
    }

    /// Converts `v` to type `want`, reporting a mismatch. `NULL` becomes a pointer.
    fn coerce(&mut self, mut v: TExpr, want: Ty, what: &str) -> TExpr {
        if v.ty == Ty::Err || want == Ty::Err || v.ty == want {
            return v;
        }
        if want.is_int() && v.ty.is_int() {
            return v;
        }
        if want.is_ptr() && v.ty == Ty::Null {
            v.ty = want;
            v.e.ty = want.ir();
            return v;
        }
        let help = match (want, v.ty) {
            (Ty::EntryPtr, Ty::Int | Ty::Bool) => {
                Some("a wait entry pointer is `&wait` or a `wait_queue_entry_t *`".to_string())
            }
            (Ty::Task, _) => Some("a task is `current` or `wait->private`".to_string()),
            (Ty::Int | Ty::Bool, p) if p.is_ptr() => {
                Some("pointers are not integers in the DSL".to_string())
            }
            _ => None,
        };
        self.error_opt(
            v.e.span,
            format!(
                "mismatched types in {what}: expected `{}`, found `{}`",
                want.name(),
                v.ty.name()
            ),
            help,
        );
        err_expr(v.e.span)
    }

    pub(crate) fn expr(&mut self, e: &ast::Expr) -> TExpr {
        let span = e.span;
        match &e.kind {
            AK::Int(v) => match Value::try_from(*v) {
                Ok(v) => mk(ir::ExprKind::Const(v), Ty::Int, span),
                Err(_) => {
                    self.error(span, format!("integer {v} does not fit in 32 bits"));
                    err_expr(span)
                }
            },
            AK::True => mk(ir::ExprKind::Const(1), Ty::Bool, span),
            AK::False => mk(ir::ExprKind::Const(0), Ty::Bool, span),
            AK::Null => mk(ir::ExprKind::Const(0), Ty::Null, span),
            AK::Current => mk(ir::ExprKind::Current, Ty::Task, span),
            AK::Ident(n) => self.ident_value(n, span),
            AK::Unary(UnaryOp::AddrOf, x) => self.addr_of(x, span),
            AK::Unary(UnaryOp::Deref, _) => {
                self.error_help(
                    span,
                    "pointer dereference `*p` is not supported",
                    "use the fields of an entry pointer: `w->flags`, `w->func`, `w->private`",
                );
                err_expr(span)
            }
            AK::Unary(UnaryOp::Neg, x) if matches!(x.kind, AK::Int(_)) => {
                let AK::Int(v) = x.kind else {
                    return err_expr(span);
                };
                match Value::try_from(-v) {
                    Ok(v) => mk(ir::ExprKind::Const(v), Ty::Int, span),
                    Err(_) => {
                        self.error(span, format!("integer -{v} does not fit in 32 bits"));
                        err_expr(span)
                    }
                }
            }
            AK::Unary(op, x) => {
                let x = self.value(x);
                self.unary_typed(*op, x, span)
            }
            AK::Binary(op, a, b) => {
                let a = self.value(a);
                let b = self.value(b);
                self.binary_typed(*op, a, b, span)
            }
            AK::Ternary(c, a, b) => {
                let c = self.value(c);
                let a = self.value(a);
                let b = self.value(b);
                self.ternary_typed(c, a, b, span)
            }
            AK::Assign { op, lhs, rhs } => self.assign(*op, lhs, rhs, span),
            AK::IncDec { inc, post, operand } => {
                let place = self.place(operand);
                let op = if *inc { BinOp::Add } else { BinOp::Sub };
                let word = if *inc { "++" } else { "--" };
                match place {
                    Some((place, ty)) => {
                        if !ty.is_int() {
                            self.error(
                                operand.span,
                                format!("`{word}` needs an integer, found `{}`", ty.name()),
                            );
                            return err_expr(span);
                        }
                        let one = mk(ir::ExprKind::Const(1), Ty::Int, span);
                        mk(
                            ir::ExprKind::Assign {
                                place,
                                op: Some(op),
                                value: Box::new(one.e),
                                post: *post,
                            },
                            ty,
                            span,
                        )
                    }
                    None => err_expr(span),
                }
            }
            AK::Call { name, args } => self.call(name, args, span),
            AK::Member { base, field, arrow } => self.member_value(base, field, *arrow, span),
        }
    }

    fn ident_value(&mut self, n: &str, span: Span) -> TExpr {
        if let Some(id) = self.cx.scope.get(n).copied() {
            let ty = self
                .cx
                .local_tys
                .get(id as usize)
                .copied()
                .unwrap_or(Ty::Err);
            if ty == Ty::Entry {
                self.error_help(
                    span,
                    format!("`{n}` is a wait entry, not a value"),
                    format!("write `&{n}` for a pointer to it"),
                );
                return err_expr(span);
            }
            return mk(ir::ExprKind::Local(id), ty, span);
        }
        if let Some(v) = builtins::constant(n) {
            return mk(ir::ExprKind::Const(v), Ty::Int, span);
        }
        if let Some(v) = builtins::wake_fn_value(n) {
            return mk(ir::ExprKind::Const(v), Ty::WakeFn, span);
        }
        match self.globals.get(n).copied() {
            Some((Sym::Var(id), _)) => {
                let ty = match self.vars.get(id as usize).map(|v| v.ty) {
                    Some(ir::VarType::Bit) => Ty::Bool,
                    _ => Ty::Int,
                };
                mk(ir::ExprKind::Shared(id), ty, span)
            }
            Some((Sym::Const(i), _)) => match self.consts.get(i).map(|c| c.state) {
                Some(ConstState::Done(v, ty)) => mk(ir::ExprKind::Const(v), ty, span),
                _ => err_expr(span),
            },
            Some((Sym::Queue(_), _)) => {
                self.error_help(
                    span,
                    format!("`{n}` is a wait queue, not a value"),
                    format!("pass it to a wait-queue builtin, e.g. `wake_up({n})`"),
                );
                err_expr(span)
            }
            Some((Sym::Func(id), _)) => {
                let is_wake = self.sigs.get(id as usize).is_some_and(|s| s.is_wake);
                if is_wake {
                    mk(ir::ExprKind::FuncRef(id), Ty::WakeFn, span)
                } else {
                    self.error_help(
                        span,
                        format!("`{n}` is a function, not a value"),
                        format!("call it: `{n}(...)`"),
                    );
                    err_expr(span)
                }
            }
            None => {
                if builtins::lookup(n).is_some() {
                    self.error_help(
                        span,
                        format!("`{n}` is a builtin, not a value"),
                        format!("call it: `{n}(...)`"),
                    );
                    return err_expr(span);
                }
                self.undeclared(n, span);
                err_expr(span)
            }
        }
    }

    fn undeclared(&mut self, n: &str, span: Span) {
        if let Some(decl) = self.cx.all_decls.get(n).copied() {
            let line = self.line_of(decl);
            self.error_help(
                span,
                format!("`{n}` is used before its declaration"),
                format!("`{n}` is declared at line {line}; declare it before its first use"),
            );
            return;
        }
        let locals: Vec<String> = self.cx.scope.keys().cloned().collect();
        let help = suggest(
            n,
            locals
                .iter()
                .map(|s| s.as_str())
                .chain(self.globals.keys().map(|s| s.as_str()))
                .chain(builtins::CONSTANTS.iter().map(|(k, _)| *k)),
        );
        self.error_opt(span, format!("undeclared variable `{n}`"), help);
    }

    fn addr_of(&mut self, x: &ast::Expr, span: Span) -> TExpr {
        if let AK::Ident(n) = &x.kind {
            if let Some(id) = self.cx.scope.get(n).copied() {
                if self.cx.local_tys.get(id as usize) == Some(&Ty::Entry) {
                    return mk(ir::ExprKind::EntryAddr(id), Ty::EntryPtr, span);
                }
            }
            if matches!(self.globals.get(n), Some((Sym::Var(_), _))) {
                self.error_help(
                    span,
                    format!("cannot take the address of the shared variable `{n}`"),
                    format!(
                        "`&{n}` is only written as a builtin argument (e.g. `atomic_read(&{n})`); \
                         elsewhere read it as `{n}`"
                    ),
                );
                return err_expr(span);
            }
            if self.cx.scope.contains_key(n) {
                self.error_help(
                    span,
                    format!("cannot take the address of `{n}`: it is not a wait entry"),
                    "only `wait_queue_entry_t` locals have addresses",
                );
                return err_expr(span);
            }
        }
        if let AK::Member { field, .. } = &x.kind {
            if field.name == "flags" || field.name == "entry" || field.name == "lock" {
                self.error_help(
                    span,
                    format!(
                        "`&...->{}` is only meaningful as a builtin argument",
                        field.name
                    ),
                    match field.name.as_str() {
                        "flags" => {
                            "e.g. `smp_load_acquire(&wait->flags)`; read it as `wait->flags`"
                        }
                        "entry" => "e.g. `list_empty(&wait->entry)`",
                        _ => "e.g. `spin_lock(&q->lock)`",
                    },
                );
                return err_expr(span);
            }
        }
        // Anything else: check it for its own errors, then report.
        let v = self.expr(x);
        if v.ty != Ty::Err {
            self.error_help(
                span,
                "cannot take the address of this expression",
                "only `wait_queue_entry_t` locals have addresses (`&wait`)",
            );
        }
        err_expr(span)
    }

    fn unary_typed(&mut self, op: UnaryOp, x: TExpr, span: Span) -> TExpr {
        match op {
            UnaryOp::Not => {
                if !x.ty.is_truthy() {
                    self.error(
                        span,
                        format!("`!` needs an integer or a pointer, found `{}`", x.ty.name()),
                    );
                    return err_expr(span);
                }
                mk(
                    ir::ExprKind::Unary(ir::UnOp::Not, Box::new(x.e)),
                    Ty::Bool,
                    span,
                )
            }
            UnaryOp::Neg | UnaryOp::BitNot => {
                let sym = if op == UnaryOp::Neg { "-" } else { "~" };
                if !x.ty.is_int() {
                    self.arith_error(sym, x.ty, span);
                    return err_expr(span);
                }
                // `-EINTR` and friends become constants.
                if let ir::ExprKind::Const(c) = x.e.kind {
                    let folded = if op == UnaryOp::Neg {
                        c.checked_neg()
                    } else {
                        Some(!c)
                    };
                    if let Some(v) = folded {
                        return mk(ir::ExprKind::Const(v), Ty::Int, span);
                    }
                }
                let uop = if op == UnaryOp::Neg {
                    ir::UnOp::Neg
                } else {
                    ir::UnOp::BitNot
                };
                mk(ir::ExprKind::Unary(uop, Box::new(x.e)), Ty::Int, span)
            }
            UnaryOp::AddrOf | UnaryOp::Deref => err_expr(span),
        }
    }

    fn arith_error(&mut self, sym: &str, ty: Ty, span: Span) {
        if matches!(ty, Ty::EntryPtr | Ty::VoidPtr) {
            self.error_help(
                span,
                "arithmetic on a wait entry pointer is not allowed",
                "entry pointers can only be compared (`==`, `!=`) and passed to builtins",
            );
        } else {
            self.error(
                span,
                format!("`{sym}` needs integers, found `{}`", ty.name()),
            );
        }
    }

    fn binary_typed(&mut self, op: BinOp, a: TExpr, b: TExpr, span: Span) -> TExpr {
        let bin = |a: TExpr, b: TExpr, ty: Ty| {
            mk(
                ir::ExprKind::Binary(op, Box::new(a.e), Box::new(b.e)),
                ty,
                span,
            )
        };
        match op {
            BinOp::And | BinOp::Or => {
                for x in [&a, &b] {
                    if !x.ty.is_truthy() {
                        self.error(
                            x.e.span,
                            format!(
                                "`{}` needs integers or pointers, found `{}`",
                                binop_str(op),
                                x.ty.name()
                            ),
                        );
                        return err_expr(span);
                    }
                }
                bin(a, b, Ty::Bool)
            }
            BinOp::Eq | BinOp::Ne => {
                if a.ty.is_int() && b.ty.is_int() {
                    return bin(a, b, Ty::Bool);
                }
                // Pointers of one type, or a pointer and NULL.
                let (a, b) = match (a.ty, b.ty) {
                    (x, y) if x == y => (a, b),
                    (Ty::Null, y) if y.is_ptr() => {
                        let a = self.coerce(a, y, "a comparison");
                        (a, b)
                    }
                    (x, Ty::Null) if x.is_ptr() => {
                        let b = self.coerce(b, x, "a comparison");
                        (a, b)
                    }
                    (Ty::Err, _) | (_, Ty::Err) => return err_expr(span),
                    (x, y) => {
                        self.error(
                            span,
                            format!("cannot compare `{}` with `{}`", x.name(), y.name()),
                        );
                        return err_expr(span);
                    }
                };
                bin(a, b, Ty::Bool)
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                for x in [&a, &b] {
                    if !x.ty.is_int() {
                        self.error(
                            x.e.span,
                            format!(
                                "`{}` needs integers, found `{}`",
                                binop_str(op),
                                x.ty.name()
                            ),
                        );
                        return err_expr(span);
                    }
                }
                bin(a, b, Ty::Bool)
            }
            _ => {
                for x in [&a, &b] {
                    if !x.ty.is_int() {
                        let (sym, ty, sp) = (binop_str(op), x.ty, x.e.span);
                        self.arith_error(sym, ty, sp);
                        return err_expr(span);
                    }
                }
                bin(a, b, Ty::Int)
            }
        }
    }

    fn ternary_typed(&mut self, c: TExpr, a: TExpr, b: TExpr, span: Span) -> TExpr {
        if !c.ty.is_truthy() {
            self.error(
                c.e.span,
                format!(
                    "the condition of `?:` must be an integer or a pointer, found `{}`",
                    c.ty.name()
                ),
            );
            return err_expr(span);
        }
        let ty = match (a.ty, b.ty) {
            (Ty::Err, _) | (_, Ty::Err) => Ty::Err,
            (Ty::Bool, Ty::Bool) => Ty::Bool,
            (x, y) if x.is_int() && y.is_int() => Ty::Int,
            (x, y) if x == y => x,
            (Ty::Null, y) if y.is_ptr() => y,
            (x, Ty::Null) if x.is_ptr() => x,
            (x, y) => {
                self.error(
                    span,
                    format!(
                        "the branches of `?:` have different types: `{}` and `{}`",
                        x.name(),
                        y.name()
                    ),
                );
                return err_expr(span);
            }
        };
        let a = self.coerce(a, ty, "a `?:` branch");
        let b = self.coerce(b, ty, "a `?:` branch");
        mk(
            ir::ExprKind::Ternary(Box::new(c.e), Box::new(a.e), Box::new(b.e)),
            ty,
            span,
        )
    }

    /// An assignable place and its type; `None` when an error was reported.
    fn place(&mut self, e: &ast::Expr) -> Option<(Place, Ty)> {
        let span = e.span;
        match &e.kind {
            AK::Ident(n) => {
                if let Some(id) = self.cx.scope.get(n).copied() {
                    let ty = self
                        .cx
                        .local_tys
                        .get(id as usize)
                        .copied()
                        .unwrap_or(Ty::Err);
                    if ty == Ty::Entry {
                        self.error_help(
                            span,
                            format!("cannot assign to the wait entry `{n}`"),
                            format!("set its fields instead, e.g. `{n}.flags = 0`"),
                        );
                        return None;
                    }
                    return Some((Place::Local(id), ty));
                }
                if builtins::constant(n).is_some() {
                    self.error(
                        span,
                        format!("cannot assign to the predefined constant `{n}`"),
                    );
                    return None;
                }
                match self.globals.get(n).copied() {
                    Some((Sym::Var(id), _)) => {
                        let ty = match self.vars.get(id as usize).map(|v| v.ty) {
                            Some(ir::VarType::Bit) => Ty::Bool,
                            _ => Ty::Int,
                        };
                        Some((Place::Shared(id), ty))
                    }
                    Some((Sym::Const(_), _)) => {
                        self.error_help(
                            span,
                            format!("cannot assign to the constant `{n}`"),
                            "declare a shared variable (`int<MIN..MAX>` or `bit`) if it must change",
                        );
                        None
                    }
                    Some((sym, _)) => {
                        self.error(
                            span,
                            format!("cannot assign to `{n}`: it is {}", sym.what()),
                        );
                        None
                    }
                    None => {
                        self.undeclared(n, span);
                        None
                    }
                }
            }
            AK::Member { base, field, arrow } => {
                let entry = self.entry_base(base, *arrow, field)?;
                match field.name.as_str() {
                    "flags" => Some((Place::Field(Box::new(entry.e), EntryField::Flags), Ty::Int)),
                    "func" => Some((
                        Place::Field(Box::new(entry.e), EntryField::Func),
                        Ty::WakeFn,
                    )),
                    "private" => {
                        self.error_help(
                            span,
                            "cannot assign to `wait->private`: it is read-only",
                            "`init_wait()` and `DEFINE_WAIT()` set it to the current task",
                        );
                        None
                    }
                    _ => {
                        self.field_error(field);
                        None
                    }
                }
            }
            _ => {
                // Report errors inside it first.
                let v = self.expr(e);
                if v.ty != Ty::Err {
                    self.error_help(
                        span,
                        "cannot assign to this expression",
                        "assign to a local, a shared variable, `wait->flags` or `wait->func`",
                    );
                }
                None
            }
        }
    }

    fn assign(&mut self, op: Option<BinOp>, lhs: &ast::Expr, rhs: &ast::Expr, span: Span) -> TExpr {
        let place = self.place(lhs);
        let Some((place, ty)) = place else {
            let _ = self.expr(rhs);
            return err_expr(span);
        };
        if ty == Ty::WakeFn {
            if op.is_some() {
                self.error(span, "compound assignment to `wait->func` is not allowed");
                return err_expr(span);
            }
            if let Some(n) = rhs.as_ident() {
                let non_wake = match self.globals.get(n) {
                    Some((Sym::Func(id), _)) => {
                        !self.sigs.get(*id as usize).is_some_and(|s| s.is_wake)
                    }
                    _ => builtins::lookup(n).is_some() && builtins::wake_fn_value(n).is_none(),
                };
                if non_wake {
                    let sig = match self.globals.get(n) {
                        Some((Sym::Func(id), _)) => {
                            self.sigs.get(*id as usize).map(|s| s.display())
                        }
                        _ => None,
                    };
                    let has = sig.map(|s| format!("; `{n}` is `{s}`")).unwrap_or_default();
                    self.error_help(
                        rhs.span,
                        format!("`{n}` is not a wake function"),
                        format!("a wake function has the signature `{WAKE_FN_SIG}` (`sync` and `key` may be left out){has}"),
                    );
                    return err_expr(span);
                }
            }
        }
        let v = self.value(rhs);
        let v = match op {
            None => {
                let v = self.coerce(v, ty, "the assignment");
                if matches!(place, Place::Local(_)) {
                    bool_normalize(v, ty)
                } else {
                    v
                }
            }
            Some(bop) => {
                if !ty.is_int() || !v.ty.is_int() {
                    let bad = if ty.is_int() { v.ty } else { ty };
                    self.arith_error(&format!("{}=", binop_str(bop)), bad, span);
                    return err_expr(span);
                }
                v
            }
        };
        mk(
            ir::ExprKind::Assign {
                place,
                op,
                value: Box::new(v.e),
                post: false,
            },
            ty,
            span,
        )
    }

    /// The entry pointer an access `base->field` / `base.field` goes through.
    fn entry_base(&mut self, base: &ast::Expr, arrow: bool, field: &ast::Ident) -> Option<TExpr> {
        if let AK::Ident(n) = &base.kind {
            if let Some(id) = self.cx.scope.get(n).copied() {
                if self.cx.local_tys.get(id as usize) == Some(&Ty::Entry) {
                    if arrow {
                        self.error_help(
                            base.span,
                            format!("`{n}` is a wait entry, not a pointer"),
                            format!("write `{n}.{}`", field.name),
                        );
                        return None;
                    }
                    return Some(mk(ir::ExprKind::EntryAddr(id), Ty::EntryPtr, base.span));
                }
            }
            if arrow && field.name == "lock" {
                if let Some((Sym::Queue(_), _)) = self.globals.get(n) {
                    self.error_help(
                        base.span.to(field.span),
                        format!(
                            "`{n}->lock` can only be used as `&{n}->lock` in a spin lock builtin"
                        ),
                        format!("e.g. `spin_lock(&{n}->lock)`"),
                    );
                    return None;
                }
            }
        }
        let b = self.value(base);
        match b.ty {
            Ty::Err => None,
            Ty::EntryPtr if arrow => Some(b),
            Ty::EntryPtr => {
                let msg = match base.as_ident() {
                    Some(n) => format!("`{n}` is a pointer: its fields are reached with `->`"),
                    None => "this is a pointer: its fields are reached with `->`".to_string(),
                };
                self.error_help(field.span, msg, format!("write `->{}`", field.name));
                None
            }
            Ty::Task => {
                self.error_help(
                    field.span,
                    format!("the fields of a task are not modelled (`->{}`)", field.name),
                    "use the task builtins: `set_current_state`, `signal_pending`, `wake_up_process`",
                );
                None
            }
            t => {
                self.error(
                    base.span,
                    format!(
                        "`{}{}` needs a wait entry, found `{}`",
                        if arrow { "->" } else { "." },
                        field.name,
                        t.name()
                    ),
                );
                None
            }
        }
    }

    fn field_error(&mut self, field: &ast::Ident) {
        if field.name == "entry" {
            self.error_help(
                field.span,
                "`->entry` is the list node of a wait entry",
                "it can only be passed as `&wait->entry` to `list_empty`, `list_empty_careful`, `list_del_init` or `list_del_init_careful`",
            );
            return;
        }
        let help =
            suggest(&field.name, ["flags", "func", "private", "entry"]).unwrap_or_else(|| {
                "a wait entry has the fields `flags`, `func`, `private` and `entry`".to_string()
            });
        self.error_help(
            field.span,
            format!("a wait entry has no field `{}`", field.name),
            help,
        );
    }

    fn member_value(
        &mut self,
        base: &ast::Expr,
        field: &ast::Ident,
        arrow: bool,
        span: Span,
    ) -> TExpr {
        let Some(entry) = self.entry_base(base, arrow, field) else {
            return err_expr(span);
        };
        let (f, ty) = match field.name.as_str() {
            "flags" => (EntryField::Flags, Ty::Int),
            "func" => (EntryField::Func, Ty::WakeFn),
            "private" => (EntryField::Private, Ty::Task),
            _ => {
                self.field_error(field);
                return err_expr(span);
            }
        };
        mk(
            ir::ExprKind::Field {
                entry: Box::new(entry.e),
                field: f,
            },
            ty,
            span,
        )
    }

    // ================================================================ calls

    fn call(&mut self, name: &ast::Ident, args: &[ast::Expr], span: Span) -> TExpr {
        let n = name.name.as_str();
        if let Some((Sym::Func(id), _)) = self.globals.get(n).copied() {
            return self.call_function(id, name, args, span);
        }
        if let Some(def) = builtins::lookup(n) {
            return self.call_builtin(def, args, span);
        }
        if n == "DEFINE_WAIT" {
            self.error_help(
                span,
                "`DEFINE_WAIT(w)` is a declaration, not an expression",
                "write it as a statement of its own: `DEFINE_WAIT(wait);`",
            );
            return err_expr(span);
        }
        // Check the arguments anyway, for their own errors.
        for a in args {
            self.check_loose(a);
        }
        if let Some((sym, _)) = self.globals.get(n).copied() {
            self.error(
                name.span,
                format!("`{n}` is {}, not a function", sym.what()),
            );
            return err_expr(span);
        }
        if self.cx.scope.contains_key(n) {
            self.error(
                name.span,
                format!("`{n}` is a local variable, not a function"),
            );
            return err_expr(span);
        }
        let funcs: Vec<String> = self.sigs.iter().map(|s| s.name.clone()).collect();
        let help = suggest(
            n,
            funcs
                .iter()
                .map(|s| s.as_str())
                .chain(builtins::all().map(|b| b.name)),
        );
        self.error_opt(
            name.span,
            format!("unknown function or builtin `{n}`"),
            help,
        );
        err_expr(span)
    }

    /// Checks an argument of a call that is already wrong (unknown callee, wrong count)
    /// for its own errors, accepting the global names builtins take (`q`, `&q->lock`,
    /// `&X`) without complaint.
    fn check_loose(&mut self, a: &ast::Expr) {
        let mut x = a;
        if let AK::Unary(UnaryOp::AddrOf, inner) = &x.kind {
            x = inner;
        }
        if let AK::Member { base, .. } = &x.kind {
            if base
                .as_ident()
                .is_some_and(|n| self.globals.contains_key(n))
            {
                return;
            }
        }
        if x.as_ident()
            .is_some_and(|n| self.globals.contains_key(n) || builtins::constant(n).is_some())
        {
            return;
        }
        let _ = self.expr(a);
    }

    fn call_function(
        &mut self,
        id: FuncId,
        name: &ast::Ident,
        args: &[ast::Expr],
        span: Span,
    ) -> TExpr {
        let Some((params, ret, display)) = self.sigs.get(id as usize).map(|s| {
            (
                s.params.iter().map(|p| p.1).collect::<Vec<_>>(),
                s.ret,
                s.display(),
            )
        }) else {
            return err_expr(span);
        };
        let in_atomic = self.cx.atomic.is_some();
        self.cx.calls.push((id, name.span, in_atomic));
        if args.len() != params.len() {
            for a in args {
                self.check_loose(a);
            }
            self.error_help(
                span,
                format!(
                    "`{}` takes {} but {} {} given",
                    name.name,
                    plural(params.len(), "argument"),
                    args.len(),
                    if args.len() == 1 { "was" } else { "were" }
                ),
                format!("the signature is `{display}`"),
            );
            return err_expr(span);
        }
        let mut lowered = Vec::new();
        for (i, (a, pty)) in args.iter().zip(params).enumerate() {
            let v = self.arg_value(a, pty);
            let v = self.coerce(v, pty, &format!("argument {} of `{}`", i + 1, name.name));
            lowered.push(bool_normalize(v, pty).e);
        }
        mk(
            ir::ExprKind::Call {
                func: id,
                args: lowered,
            },
            ret,
            span,
        )
    }

    /// An argument value; an entry local where a pointer is expected gets the `&` hint.
    fn arg_value(&mut self, a: &ast::Expr, want: Ty) -> TExpr {
        if want == Ty::EntryPtr {
            if let Some(n) = a.as_ident() {
                if let Some(id) = self.cx.scope.get(n).copied() {
                    if self.cx.local_tys.get(id as usize) == Some(&Ty::Entry) {
                        self.error_help(
                            a.span,
                            format!("expected a `wait_queue_entry_t *`, found the wait entry `{n}` itself"),
                            format!("write `&{n}`"),
                        );
                        return err_expr(a.span);
                    }
                }
            }
        }
        self.value(a)
    }

    fn call_builtin(
        &mut self,
        def: &'static builtins::BuiltinDef,
        args: &[ast::Expr],
        span: Span,
    ) -> TExpr {
        let n = def.name;
        if args.len() < def.min_args || args.len() > def.args.len() {
            for a in args {
                self.check_loose(a);
            }
            let expected = if def.min_args == def.args.len() {
                plural(def.args.len(), "argument")
            } else {
                format!("{} to {} arguments", def.min_args, def.args.len())
            };
            self.error_help(
                span,
                format!(
                    "`{n}` takes {expected} but {} {} given",
                    args.len(),
                    if args.len() == 1 { "was" } else { "were" }
                ),
                format!("the signature is `{}`", def.sig),
            );
            return err_expr(span);
        }
        let mut lowered = Vec::new();
        let mut ok = true;
        let mut loc_ty = Ty::Int;
        for (a, kind) in args.iter().zip(def.args.iter().copied()) {
            match self.builtin_arg(def, a, kind) {
                Some(l) => {
                    if let LArg::Loc(ir::Loc::Var(v), _) = &l {
                        if let Some(ir::VarType::Bit) = self.vars.get(*v as usize).map(|x| x.ty) {
                            loc_ty = Ty::Bool;
                        }
                    }
                    lowered.push(l);
                }
                None => ok = false,
            }
        }
        if !ok {
            return err_expr(span);
        }
        let ret = match def.ret {
            Ret::Void => Ty::Void,
            Ret::Int => Ty::Int,
            Ret::Bool => Ty::Bool,
            Ret::OfLoc => loc_ty,
        };
        let konst = |v: Value| ir::Expr {
            kind: ir::ExprKind::Const(v),
            ty: ir::Type::Int,
            span,
        };
        match builtins::build(def.op, lowered, &konst) {
            Some((op, args)) => mk(ir::ExprKind::Builtin { op, args }, ret, span),
            None => {
                // The table and `build` disagree: a bug in this crate, not in the model.
                self.error(span, format!("internal error: cannot lower `{n}`"));
                err_expr(span)
            }
        }
    }

    fn declared_queues(&self) -> String {
        let qs: Vec<&str> = self
            .queues
            .iter()
            .filter(|q| q.kind == ir::QueueKind::WaitQueue)
            .map(|q| q.name.as_str())
            .collect();
        if qs.is_empty() {
            "no wait queue is declared; add `waitqueue NAME until CONDITION;` at top level"
                .to_string()
        } else {
            format!("declared wait queues: {}", qs.join(", "))
        }
    }

    /// A wait queue named by `n` (the identifier in `q`, `&q` or `&q->lock`).
    fn queue_named(&mut self, n: &str, span: Span, bname: &str) -> Option<ir::QueueId> {
        match self.globals.get(n).copied() {
            Some((Sym::Queue(q), _)) => Some(q),
            Some((sym, _)) => {
                let help = self.declared_queues();
                let extra =
                    if matches!(sym, Sym::Var(_)) && self.futex_of.contains_key(&self.var_id(n)) {
                        " (its futex queue is used with `futex_wait`/`futex_wake`)"
                    } else {
                        ""
                    };
                self.error_help(
                    span,
                    format!("`{n}` is {}, not a wait queue{extra}", sym.what()),
                    help,
                );
                None
            }
            None => {
                let help = self.declared_queues();
                let queues: Vec<String> = self
                    .queues
                    .iter()
                    .filter(|q| q.kind == ir::QueueKind::WaitQueue)
                    .map(|q| q.name.clone())
                    .collect();
                let help = match suggest(n, queues.iter().map(|s| s.as_str())) {
                    Some(s) => format!("{s} ({help})"),
                    None => help,
                };
                let msg = if self.cx.scope.contains_key(n) {
                    format!("`{n}` is a local variable, not a wait queue (in `{bname}`)")
                } else {
                    format!("unknown queue `{n}`")
                };
                self.error_help(span, msg, help);
                None
            }
        }
    }

    fn var_id(&self, n: &str) -> VarId {
        match self.globals.get(n) {
            Some((Sym::Var(v), _)) => *v,
            _ => VarId::MAX,
        }
    }

    /// A shared variable named `n`, for a builtin that needs one.
    fn shared_named(&mut self, n: &str, span: Span, bname: &str, need: &str) -> Option<VarId> {
        if self.cx.scope.contains_key(n) {
            self.error_help(
                span,
                format!("`{n}` is a local variable; `{bname}` needs {need}"),
                "builtins act on shared variables, declared at top level",
            );
            return None;
        }
        match self.globals.get(n).copied() {
            Some((Sym::Var(v), _)) => Some(v),
            Some((sym, _)) => {
                let sig = builtins::lookup(bname).map_or("", |b| b.sig);
                self.error_help(
                    span,
                    format!("`{n}` is {}; `{bname}` needs {need}", sym.what()),
                    format!("the signature is `{sig}`"),
                );
                None
            }
            None => {
                let help = self
                    .suggest_var(n)
                    .or_else(|| Some(format!("declare it at top level, e.g. `bit {n};`")));
                self.error_opt(span, format!("undeclared variable `{n}`"), help);
                None
            }
        }
    }

    fn builtin_arg(
        &mut self,
        def: &'static builtins::BuiltinDef,
        a: &ast::Expr,
        kind: ArgKind,
    ) -> Option<LArg> {
        let bname = def.name;
        let span = a.span;
        // `&X` and `X` are both accepted where a variable or queue is expected.
        let stripped = match &a.kind {
            AK::Unary(UnaryOp::AddrOf, inner) => inner.as_ref(),
            _ => a,
        };
        match kind {
            ArgKind::Bit => {
                let Some(n) = stripped.as_ident() else {
                    let _ = self.expr(a);
                    self.error_help(
                        span,
                        format!("`{bname}` needs a shared `bit` variable here"),
                        format!("write the variable's name, e.g. `{}`", def.sig),
                    );
                    return None;
                };
                let v = self.shared_named(n, stripped.span, bname, "a shared `bit` variable")?;
                match self.vars.get(v as usize).map(|x| x.ty) {
                    Some(ir::VarType::Bit) => Some(LArg::Var(v)),
                    Some(ir::VarType::Int { min, max }) => {
                        self.error_help(
                            stripped.span,
                            format!("`{n}` is an `int<{min}..{max}>`; `{bname}` needs a `bit` variable"),
                            format!("declare `{n}` as `bit`, or use `READ_ONCE`/`WRITE_ONCE`/atomics on it"),
                        );
                        None
                    }
                    None => None,
                }
            }
            ArgKind::Loc => {
                if let AK::Member { base, field, arrow } = &stripped.kind {
                    if field.name != "flags" {
                        self.error_help(
                            stripped.span,
                            format!("`{bname}` cannot act on `->{}`", field.name),
                            "the only entry field atomics act on is `flags`: write `&wait->flags`",
                        );
                        return None;
                    }
                    let e = self.entry_base(base, *arrow, field)?;
                    return Some(LArg::Loc(ir::Loc::EntryFlags, Some(e.e)));
                }
                let Some(n) = stripped.as_ident() else {
                    let _ = self.expr(a);
                    self.error_help(
                        span,
                        format!("`{bname}` needs a shared variable here"),
                        format!(
                            "write `&X` for a shared variable `X` (or `&wait->flags`): `{}`",
                            def.sig
                        ),
                    );
                    return None;
                };
                let v = self.shared_named(n, stripped.span, bname, "a shared variable")?;
                Some(LArg::Loc(ir::Loc::Var(v), None))
            }
            ArgKind::Futex => {
                let Some(n) = stripped.as_ident() else {
                    let _ = self.expr(a);
                    self.error_help(
                        span,
                        format!("`{bname}` needs a shared variable with a futex queue"),
                        format!("write `{}`", def.sig),
                    );
                    return None;
                };
                let v = self.shared_named(
                    n,
                    stripped.span,
                    bname,
                    "a shared variable with a futex queue",
                )?;
                match self.futex_of.get(&v).copied() {
                    Some(q) => Some(LArg::Queue(q)),
                    None => {
                        self.error_help(
                            stripped.span,
                            format!("`{n}` has no futex queue"),
                            format!("declare one at top level: `futex {n} until CONDITION;` (the condition its waiters wait for)"),
                        );
                        None
                    }
                }
            }
            ArgKind::Queue => {
                if let AK::Member { base, field, .. } = &stripped.kind {
                    if field.name == "lock" {
                        if let Some(n) = base.as_ident() {
                            self.error_help(
                                span,
                                format!("`{bname}` takes the wait queue itself, not its lock"),
                                format!("write `{n}`: `{}`", def.sig),
                            );
                            return None;
                        }
                    }
                }
                let Some(n) = stripped.as_ident() else {
                    let _ = self.expr(a);
                    let help = self.declared_queues();
                    self.error_help(span, format!("`{bname}` needs a wait queue here"), help);
                    return None;
                };
                self.queue_named(n, stripped.span, bname).map(LArg::Queue)
            }
            ArgKind::Lock => {
                let help = |qn: &str| format!("write `&{qn}->lock`: `{}`", def.sig);
                if let AK::Member {
                    base,
                    field,
                    arrow: true,
                } = &stripped.kind
                {
                    if field.name == "lock" && !std::ptr::eq(stripped, a) {
                        if let Some(n) = base.as_ident() {
                            // `&q->lock`: the expected form.
                            return self.queue_named(n, base.span, bname).map(LArg::Queue);
                        }
                    }
                }
                // Near misses: `q`, `&q`, `q->lock`, `&q.lock`, `&q->list`.
                let near = match &stripped.kind {
                    AK::Ident(n) => Some((n.as_str(), stripped.span)),
                    AK::Member { base, .. } => base.as_ident().map(|n| (n, base.span)),
                    _ => None,
                };
                if let Some((qn, qspan)) = near {
                    self.queue_named(qn, qspan, bname)?;
                    self.error_help(
                        span,
                        format!("`{bname}` takes a wait queue's lock"),
                        help(qn),
                    );
                    return None;
                }
                let _ = self.expr(a);
                self.error_help(
                    span,
                    format!("`{bname}` takes a wait queue's lock"),
                    help("q"),
                );
                None
            }
            ArgKind::Entry => {
                let v = self.arg_value(a, Ty::EntryPtr);
                match v.ty {
                    Ty::Err => None,
                    Ty::EntryPtr => Some(LArg::Value(v.e)),
                    t => {
                        self.error_help(
                            span,
                            format!(
                                "`{bname}` needs a `wait_queue_entry_t *`, found `{}`",
                                t.name()
                            ),
                            format!(
                                "pass `&wait` for a local `wait_queue_entry_t wait`: `{}`",
                                def.sig
                            ),
                        );
                        None
                    }
                }
            }
            ArgKind::EntryNode => {
                if let AK::Member { base, field, arrow } = &stripped.kind {
                    if field.name == "entry" && !std::ptr::eq(stripped, a) {
                        let e = self.entry_base(base, *arrow, field)?;
                        return Some(LArg::Value(e.e));
                    }
                }
                let hint = match stripped.as_ident() {
                    Some(n)
                        if self
                            .cx
                            .scope
                            .get(n)
                            .and_then(|id| self.cx.local_tys.get(*id as usize))
                            == Some(&Ty::Entry) =>
                    {
                        format!("write `&{n}.entry`")
                    }
                    Some(n) => format!("write `&{n}->entry`"),
                    None => format!("write `{}`", def.sig),
                };
                let _ = self.expr(a);
                self.error_help(span, format!("`{bname}` takes an entry's list node"), hint);
                None
            }
            ArgKind::Value => {
                let v = self.value(a);
                if !v.ty.is_int() {
                    self.error_help(
                        span,
                        format!("`{bname}` needs an integer here, found `{}`", v.ty.name()),
                        format!("the signature is `{}`", def.sig),
                    );
                    return None;
                }
                if v.ty == Ty::Err {
                    return None;
                }
                Some(LArg::Value(v.e))
            }
            ArgKind::Task => {
                let v = self.value(a);
                match v.ty {
                    Ty::Task => Some(LArg::Value(v.e)),
                    Ty::Err => None,
                    t => {
                        self.error_help(
                            span,
                            format!("`{bname}` needs a task, found `{}`", t.name()),
                            "a task is `current`, `wait->private` or a `struct task_struct *`",
                        );
                        None
                    }
                }
            }
            ArgKind::Current => {
                if matches!(a.kind, AK::Current) {
                    Some(LArg::Dropped)
                } else {
                    let _ = self.expr(a);
                    self.error_help(
                        span,
                        format!("`{bname}` can only test the current task"),
                        format!("write `current`: `{}`", def.sig),
                    );
                    None
                }
            }
            ArgKind::Order => {
                let ord = a.as_ident().and_then(builtins::ordering);
                match ord {
                    Some(o) => Some(LArg::Order(o)),
                    None => {
                        let _ = self.expr(a);
                        self.error_help(
                            span,
                            "expected a memory ordering constant",
                            "one of `memory_order_relaxed`, `memory_order_acquire`, `memory_order_release`, `memory_order_acq_rel`, `memory_order_seq_cst`",
                        );
                        None
                    }
                }
            }
            ArgKind::FlagsLocal => {
                let ok = a.as_ident().is_some_and(|n| {
                    self.cx
                        .scope
                        .get(n)
                        .and_then(|id| self.cx.local_tys.get(*id as usize))
                        .is_some_and(|t| *t == Ty::Int)
                });
                if ok {
                    Some(LArg::Dropped)
                } else {
                    let _ = self.expr(a);
                    self.error_help(
                        span,
                        format!(
                            "the `flags` argument of `{bname}` must be an `int` local variable"
                        ),
                        "declare `unsigned long flags;` in the function (its value is ignored)",
                    );
                    None
                }
            }
            ArgKind::Key => {
                let v = self.value(a);
                match v.ty {
                    Ty::Null | Ty::VoidPtr | Ty::Err => Some(LArg::Dropped),
                    _ if matches!(v.e.kind, ir::ExprKind::Const(0)) => Some(LArg::Dropped),
                    t => {
                        self.error_help(
                            span,
                            format!(
                                "`{bname}` needs a wake key (`NULL` or a `void *`), found `{}`",
                                t.name()
                            ),
                            format!("the signature is `{}`", def.sig),
                        );
                        None
                    }
                }
            }
            ArgKind::Ignored => {
                let v = self.value(a);
                if !v.ty.is_int() {
                    self.error_help(
                        span,
                        format!("`{bname}` needs an integer here, found `{}`", v.ty.name()),
                        format!("the signature is `{}`", def.sig),
                    );
                    return None;
                }
                if has_effects(&v.e) {
                    self.error_help(
                        span,
                        "this argument is ignored by the model, so it must not have side effects",
                        "pass a constant such as `0`",
                    );
                    return None;
                }
                Some(LArg::Dropped)
            }
        }
    }

    // ================================================================ call graph

    fn check_call_graph(&mut self, functions: &[(ir::Function, FnCx)]) {
        let n = functions.len();
        let edges: Vec<Vec<(FuncId, Span)>> = functions
            .iter()
            .map(|(_, cx)| cx.calls.iter().map(|(f, s, _)| (*f, *s)).collect())
            .collect();
        // Iterative DFS; a back edge closes a cycle.
        #[derive(Clone, Copy, PartialEq)]
        enum Color {
            White,
            Gray,
            Black,
        }
        let mut color = vec![Color::White; n];
        let mut reported: Vec<Vec<usize>> = Vec::new();
        let mut any_cycle = false;
        for root in 0..n {
            if color.get(root) != Some(&Color::White) {
                continue;
            }
            // Stack of (node, next edge index); `path` mirrors the gray nodes.
            let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
            if let Some(c) = color.get_mut(root) {
                *c = Color::Gray;
            }
            while let Some((node, ei)) = stack.last().copied() {
                let next = edges.get(node).and_then(|e| e.get(ei)).copied();
                let Some((callee, call_span)) = next else {
                    if let Some(c) = color.get_mut(node) {
                        *c = Color::Black;
                    }
                    stack.pop();
                    continue;
                };
                if let Some(top) = stack.last_mut() {
                    top.1 += 1;
                }
                let callee = callee as usize;
                match color.get(callee).copied() {
                    Some(Color::White) => {
                        if let Some(c) = color.get_mut(callee) {
                            *c = Color::Gray;
                        }
                        stack.push((callee, 0));
                    }
                    Some(Color::Gray) => {
                        any_cycle = true;
                        let pos = stack.iter().position(|(f, _)| *f == callee).unwrap_or(0);
                        let cycle: Vec<usize> = stack
                            .get(pos..)
                            .unwrap_or(&[])
                            .iter()
                            .map(|(f, _)| *f)
                            .collect();
                        let mut key = cycle.clone();
                        key.sort_unstable();
                        if reported.contains(&key) {
                            continue;
                        }
                        reported.push(key);
                        let name =
                            |i: usize| functions.get(i).map_or("?", |(f, _)| f.name.as_str());
                        let msg = if cycle.len() == 1 {
                            format!("recursion is not allowed: `{}` calls itself", name(callee))
                        } else {
                            let mut path: Vec<String> =
                                cycle.iter().map(|i| format!("`{}`", name(*i))).collect();
                            path.push(format!("`{}`", name(callee)));
                            format!("recursion is not allowed: {}", path.join(" calls "))
                        };
                        self.error_help(
                            call_span,
                            msg,
                            "wqcheck explores a finite state space: rewrite the recursion as a loop",
                        );
                    }
                    _ => {}
                }
            }
        }
        if any_cycle {
            return;
        }
        // Atomic blocks do not nest, not even through calls.
        let mut has_atomic: Vec<bool> = functions.iter().map(|(_, cx)| cx.has_atomic).collect();
        let mut changed = true;
        let mut rounds = 0;
        while changed && rounds <= n {
            changed = false;
            rounds += 1;
            for (i, e) in edges.iter().enumerate() {
                if has_atomic.get(i) == Some(&true) {
                    continue;
                }
                if e.iter()
                    .any(|(c, _)| has_atomic.get(*c as usize) == Some(&true))
                {
                    if let Some(h) = has_atomic.get_mut(i) {
                        *h = true;
                    }
                    changed = true;
                }
            }
        }
        for (_, cx) in functions {
            for (callee, span, in_atomic) in &cx.calls {
                if *in_atomic && has_atomic.get(*callee as usize) == Some(&true) {
                    let name = functions
                        .get(*callee as usize)
                        .map_or("?", |(f, _)| f.name.as_str());
                    self.error_help(
                        *span,
                        format!("`{name}` contains an `atomic` block and is called inside one"),
                        "`atomic` blocks do not nest, not even through calls",
                    );
                }
            }
        }
    }
}

/// Constant folding of one binary operator.
pub(crate) fn fold(op: BinOp, x: Value, y: Value) -> Result<Value, String> {
    let ovf = || "overflow in constant expression".to_string();
    Ok(match op {
        BinOp::Add => x.checked_add(y).ok_or_else(ovf)?,
        BinOp::Sub => x.checked_sub(y).ok_or_else(ovf)?,
        BinOp::Mul => x.checked_mul(y).ok_or_else(ovf)?,
        BinOp::Div => {
            if y == 0 {
                return Err("division by zero in constant expression".to_string());
            }
            x.checked_div(y).ok_or_else(ovf)?
        }
        BinOp::Rem => {
            if y == 0 {
                return Err("division by zero in constant expression".to_string());
            }
            x.checked_rem(y).ok_or_else(ovf)?
        }
        BinOp::BitAnd => x & y,
        BinOp::BitOr => x | y,
        BinOp::BitXor => x ^ y,
        BinOp::Shl | BinOp::Shr => {
            let s = u32::try_from(y)
                .ok()
                .filter(|s| *s < 32)
                .ok_or_else(|| format!("shift by {y} in constant expression (must be 0..31)"))?;
            if op == BinOp::Shl {
                x.wrapping_shl(s)
            } else {
                x.wrapping_shr(s)
            }
        }
        BinOp::Eq => Value::from(x == y),
        BinOp::Ne => Value::from(x != y),
        BinOp::Lt => Value::from(x < y),
        BinOp::Le => Value::from(x <= y),
        BinOp::Gt => Value::from(x > y),
        BinOp::Ge => Value::from(x >= y),
        BinOp::And => Value::from(x != 0 && y != 0),
        BinOp::Or => Value::from(x != 0 || y != 0),
    })
}

fn binop_str(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::Rem => "%",
        BinOp::BitAnd => "&",
        BinOp::BitOr => "|",
        BinOp::BitXor => "^",
        BinOp::Shl => "<<",
        BinOp::Shr => ">>",
        BinOp::Eq => "==",
        BinOp::Ne => "!=",
        BinOp::Lt => "<",
        BinOp::Le => "<=",
        BinOp::Gt => ">",
        BinOp::Ge => ">=",
        BinOp::And => "&&",
        BinOp::Or => "||",
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// A C `bool` stores 0 or 1: an `int` value assigned to a `bool` becomes `v != 0`.
fn bool_normalize(v: TExpr, want: Ty) -> TExpr {
    if want == Ty::Bool && v.ty == Ty::Int {
        if let ir::ExprKind::Const(c) = v.e.kind {
            return mk(ir::ExprKind::Const(Value::from(c != 0)), Ty::Bool, v.e.span);
        }
        let span = v.e.span;
        let zero = mk(ir::ExprKind::Const(0), Ty::Int, span);
        return mk(
            ir::ExprKind::Binary(BinOp::Ne, Box::new(v.e), Box::new(zero.e)),
            Ty::Bool,
            span,
        );
    }
    v
}

/// Whether evaluating `e` does anything besides computing a value.
fn has_effects(e: &ir::Expr) -> bool {
    match &e.kind {
        ir::ExprKind::Assign { .. } | ir::ExprKind::Call { .. } | ir::ExprKind::Builtin { .. } => {
            true
        }
        ir::ExprKind::Unary(_, x) => has_effects(x),
        ir::ExprKind::Binary(_, a, b) => has_effects(a) || has_effects(b),
        ir::ExprKind::Ternary(c, a, b) => has_effects(c) || has_effects(a) || has_effects(b),
        ir::ExprKind::Field { entry, .. } => has_effects(entry),
        _ => false,
    }
}
