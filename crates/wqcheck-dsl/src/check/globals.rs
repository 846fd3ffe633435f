//! Top-level declarations, checked before any function body: the global namespace
//! (reserved and duplicate names), function signatures, constants and their evaluation,
//! shared variables (ranges and initial values), and wait and futex queues with their
//! `until` conditions. Running first lets a body use any global, wherever it is declared.

use std::collections::HashMap;

use wqcheck_model::ir::{self, BinOp, FuncId, Value, VarId};

use crate::ast::{self, ExprKind as AK, UnaryOp};
use crate::builtins;
use crate::diag::suggest;

use super::{err_expr, Checker, ConstInfo, ConstState, Sig, Sym, TExpr, Ty};

impl<'a> Checker<'a> {
    /// Checks that `name` can be declared (not reserved, not taken).
    pub(super) fn check_new_name(&mut self, name: &ast::Ident, local: bool) -> bool {
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

    pub(super) fn declare_globals(&mut self, items: &[ast::Item]) {
        for item in items {
            match item {
                ast::Item::Var { name, span, ty, .. } => {
                    let id = self.vars.len() as VarId;
                    let bits = match ty {
                        ast::SharedTy::Word { bits } => bits
                            .iter()
                            .map(|(b, _)| ir::WordBit {
                                name: b.name.clone(),
                                span: b.span,
                            })
                            .collect(),
                        _ => Vec::new(),
                    };
                    self.vars.push(ir::SharedVar {
                        name: name.name.clone(),
                        ty: ir::VarType::Bit,
                        init: 0,
                        span: *span,
                        bits,
                    });
                    if self.check_new_name(name, false) {
                        self.globals
                            .insert(name.name.clone(), (Sym::Var(id), name.span));
                    }
                    if let ast::SharedTy::Word { bits } = ty {
                        for (i, (b, _)) in bits.iter().enumerate() {
                            if self.check_new_name(b, false) {
                                let bit = ir::BitRef {
                                    var: id,
                                    bit: i.min(u8::MAX as usize) as u8,
                                };
                                self.globals.insert(b.name.clone(), (Sym::Bit(bit), b.span));
                            }
                        }
                    }
                }
                ast::Item::Final { .. } => {}
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

    pub(super) fn suggest_var(&self, name: &str) -> Option<String> {
        if !self.may_suggest() {
            return None;
        }
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

    pub(super) fn eval_consts(&mut self, items: &[ast::Item]) {
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
                        let help = if self.may_suggest() {
                            suggest(
                                n,
                                self.globals
                                    .iter()
                                    .filter(|(_, (s, _))| matches!(s, Sym::Const(_)))
                                    .map(|(k, _)| k.as_str())
                                    .chain(builtins::CONSTANTS.iter().map(|(k, _)| *k)),
                            )
                        } else {
                            None
                        };
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

    pub(super) fn check_vars(&mut self, items: &[ast::Item]) {
        let mut idx = 0usize;
        for item in items {
            let ast::Item::Var { ty, name, init, .. } = item else {
                continue;
            };
            let my = idx;
            idx += 1;
            let vty = match ty {
                ast::SharedTy::Bit => Some(ir::VarType::Bit),
                ast::SharedTy::Task => Some(ir::VarType::Task),
                ast::SharedTy::Word { bits } => {
                    if bits.is_empty() || bits.len() > 8 {
                        self.error_help(
                            name.span,
                            format!(
                                "word `{}` has {} bits; a word has 1 to 8 named bits",
                                name.name,
                                bits.len()
                            ),
                            "name only the bits the protocol uses (the kernel's `page->flags` has more, but the model needs a few)",
                        );
                        None
                    } else {
                        Some(ir::VarType::Word {
                            bits: bits.len() as u8,
                        })
                    }
                }
                ast::SharedTy::Unbounded => {
                    self.error_help(
                        name.span,
                        format!("shared variable `{}` needs a range", name.name),
                        format!(
                            "write `int<MIN..MAX> {}` (at most 256 values), `unsigned int {} : BITS` (wraps modulo 2^BITS), or `bit`/`bool`",
                            name.name, name.name
                        ),
                    );
                    None
                }
                ast::SharedTy::Unsigned { bits } => match self.const_eval(bits) {
                    Some(b @ 1..=8) => Some(ir::VarType::Unsigned { bits: b as u8 }),
                    Some(b) => {
                        self.error_help(
                            bits.span,
                            format!("`{}` has {b} bits; a wrapping bit-field has 1 to 8", name.name),
                            "a few bits are enough for the wrap to show: a counter that wraps at 2^32 in the kernel wraps at 2^BITS here",
                        );
                        None
                    }
                    None => None,
                },
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
            let value = match (ty, init) {
                (ast::SharedTy::Word { bits }, _) => self.word_init(bits).map(|v| (v, name.span)),
                (ast::SharedTy::Task, Some(e)) if matches!(e.kind, ast::ExprKind::Null) => {
                    Some((0, e.span))
                }
                (ast::SharedTy::Task, Some(e)) => {
                    self.error_help(
                        e.span,
                        format!("`{}` is a task pointer; it starts NULL", name.name),
                        format!(
                            "write `struct task_struct *{} = NULL;` (or leave the initializer out); a thread publishes itself with `WRITE_ONCE({}, current)`, or a scenario's `init` names the thread it starts as",
                            name.name, name.name
                        ),
                    );
                    None
                }
                (_, Some(e)) => self.const_eval(e).map(|v| (v, e.span)),
                (_, None) => Some((0, name.span)),
            };
            if let (Some(vty), Some((v, span))) = (vty, value) {
                let (lo, hi) = vty.range();
                if v < lo || v > hi {
                    let what = match vty {
                        ir::VarType::Bit => "a bit: 0 or 1".to_string(),
                        ir::VarType::Int { min, max } => format!("int<{min}..{max}>"),
                        ir::VarType::Word { bits } => format!("a word of {bits} bits"),
                        ir::VarType::Task => "a task pointer".to_string(),
                        ir::VarType::Unsigned { bits } => {
                            format!("unsigned int : {bits}, 0..{hi}")
                        }
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

    /// A word's initial value from its bits' (`= 0` or `= 1`, default 0): bit `i` at
    /// `1 << i`.
    fn word_init(&mut self, bits: &[(ast::Ident, Option<ast::Expr>)]) -> Option<Value> {
        let mut word = 0;
        let mut ok = true;
        for (i, (b, init)) in bits.iter().enumerate() {
            let Some(e) = init else { continue };
            match self.const_eval(e) {
                Some(0) => {}
                Some(1) => word |= 1 << i,
                Some(v) => {
                    self.error_help(
                        e.span,
                        format!("initial value {v} of bit `{}` is out of range", b.name),
                        "a bit starts at 0 or 1",
                    );
                    ok = false;
                }
                None => ok = false,
            }
        }
        ok.then_some(word)
    }

    /// `final assert(COND);` items: conditions over shared variables, like `until`.
    pub(super) fn check_finals(&mut self, items: &[ast::Item]) -> Vec<ir::Expr> {
        let mut out = Vec::new();
        for item in items {
            if let ast::Item::Final { cond, .. } = item {
                let e = self.until_expr(cond);
                self.truthy(&e, cond.span, "a final assertion");
                out.push(e.e);
            }
        }
        out
    }

    // ================================================================ wake conditions

    pub(super) fn check_queues(&mut self, items: &[ast::Item]) {
        // Queue ids follow item order for wait queues; futex queues were appended after.
        let mut wq = 0usize;
        let mut futex_at: HashMap<(u32, u32), usize> = HashMap::new();
        for (i, q) in self.queues.iter().enumerate() {
            futex_at.entry((q.span.start, q.span.end)).or_insert(i);
        }
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
                    // The futex's queue, by its declaration's span (a map: a scan per
                    // futex was quadratic in models with many futexes).
                    let found = futex_at
                        .get(&(span.start, span.end))
                        .copied()
                        .and_then(|i| self.queues.get_mut(i))
                        .filter(|q| q.name == var.name);
                    if let Some(q) = found {
                        q.until = Some(e.e);
                    }
                }
                _ => {}
            }
        }
    }

    /// Whether `e` is a wake condition (shared variables, constants and operators only),
    /// as [`Checker::until_expr`] accepts one; reports nothing.
    pub(super) fn is_wake_condition(&self, e: &ast::Expr) -> bool {
        match &e.kind {
            AK::Int(_) | AK::True | AK::False | AK::Null => true,
            AK::Ident(n) => {
                !self.cx.scope.contains_key(n)
                    && matches!(
                        self.globals.get(n),
                        Some((Sym::Var(_) | Sym::Bit(_) | Sym::Const(_), _))
                    )
            }
            AK::Unary(UnaryOp::Neg | UnaryOp::Not | UnaryOp::BitNot, x) => {
                self.is_wake_condition(x)
            }
            AK::Binary(_, a, b) => self.is_wake_condition(a) && self.is_wake_condition(b),
            AK::Ternary(c, a, b) => {
                self.is_wake_condition(c) && self.is_wake_condition(a) && self.is_wake_condition(b)
            }
            _ => false,
        }
    }

    /// Lowers a wake condition: shared variables, constants and operators only.
    pub(super) fn until_expr(&mut self, e: &ast::Expr) -> TExpr {
        let span = e.span;
        const ONLY: &str =
            "a wake condition may use only shared variables, constants and operators";
        match &e.kind {
            AK::Int(_) | AK::True | AK::False | AK::Null => self.expr(e),
            AK::Ident(n) if self.cx.scope.contains_key(n) => {
                self.error_help(
                    span,
                    format!("the local `{n}` cannot be used in a wake condition"),
                    format!("{ONLY}: the oracle evaluates it in a stuck state, where a thread's locals mean nothing"),
                );
                err_expr(span)
            }
            AK::Ident(n) => match self.globals.get(n).copied() {
                Some((Sym::Var(_) | Sym::Bit(_) | Sym::Const(_), _)) => self.expr(e),
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
}

/// Constant folding of one binary operator.
fn fold(op: BinOp, x: Value, y: Value) -> Result<Value, String> {
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
