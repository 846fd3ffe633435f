//! Top-level declarations, checked before any function body: the global namespace
//! (reserved and duplicate names), function signatures, constants and their evaluation,
//! shared variables (ranges and initial values), and wait and futex queues with their
//! `until` conditions. Running first lets a body use any global, wherever it is declared.

use std::collections::HashMap;

use wqcheck_model::ir::{self, BinOp, FuncId, Span, Value, VarId};

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
                    format!("`{n}` is declared at {line}; rename the local"),
                );
            } else {
                self.error_help(
                    name.span,
                    format!("`{n}` is declared twice"),
                    format!(
                        "`{n}` is already {} ({line}); names are global and unique",
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
                ast::Item::Var {
                    name,
                    span,
                    ty,
                    len,
                    ..
                } => {
                    let n = self.declared_len(items, name, len.as_ref());
                    self.var_lens.push(n);
                    let first = self.vars.len() as VarId;
                    let bit_names: Vec<&ast::Ident> = match ty {
                        ast::SharedTy::Word { bits } => bits.iter().map(|(b, _)| b).collect(),
                        _ => Vec::new(),
                    };
                    for k in 0..n {
                        let elem = |x: &str| match len {
                            Some(_) => format!("{x}[{k}]"),
                            None => x.to_string(),
                        };
                        self.vars.push(ir::SharedVar {
                            name: elem(&name.name),
                            ty: ir::VarType::Bit,
                            init: 0,
                            span: *span,
                            bits: bit_names
                                .iter()
                                .map(|b| ir::WordBit {
                                    name: elem(&b.name),
                                    span: b.span,
                                })
                                .collect(),
                        });
                    }
                    let ok = self.check_new_name(name, false);
                    let bits_ok: Vec<bool> = bit_names
                        .iter()
                        .map(|b| self.check_new_name(b, false))
                        .collect();
                    let bit = |var: VarId, i: usize| ir::BitRef {
                        var,
                        bit: i.min(u8::MAX as usize) as u8,
                    };
                    if len.is_none() {
                        if ok {
                            self.globals
                                .insert(name.name.clone(), (Sym::Var(first), name.span));
                        }
                        for (i, b) in bit_names.iter().enumerate() {
                            if bits_ok[i] {
                                self.globals
                                    .insert(b.name.clone(), (Sym::Bit(bit(first, i)), b.span));
                            }
                        }
                        continue;
                    }
                    // An array: its elements by their names `x[k]` (which no identifier
                    // can spell), the array by its own.
                    let mut elems = Vec::with_capacity(n);
                    for k in 0..n {
                        let var = first + k as VarId;
                        let elem = self.vars[var as usize].name.clone();
                        self.globals
                            .insert(elem.clone(), (Sym::Var(var), name.span));
                        elems.push(elem);
                    }
                    if ok {
                        self.declare_array(name, elems, "shared variables");
                    }
                    for (i, b) in bit_names.iter().enumerate() {
                        let mut elems = Vec::with_capacity(n);
                        for k in 0..n {
                            let var = first + k as VarId;
                            let elem = self.vars[var as usize].bits[i].name.clone();
                            self.globals
                                .insert(elem.clone(), (Sym::Bit(bit(var, i)), b.span));
                            elems.push(elem);
                        }
                        if bits_ok[i] {
                            self.declare_array(b, elems, "bits");
                        }
                    }
                }
                ast::Item::Final { .. }
                | ast::Item::Struct { .. }
                | ast::Item::Object { .. }
                | ast::Item::Include { .. } => {}
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
                ast::Item::Queue {
                    name,
                    span,
                    len,
                    spinlock,
                    ..
                } => {
                    let n = self.declared_len(items, name, len.as_ref());
                    self.queue_lens.push(n);
                    let first = self.queues.len() as ir::QueueId;
                    let mut elems = Vec::with_capacity(n);
                    for k in 0..n {
                        let elem = match len {
                            Some(_) => format!("{}[{k}]", name.name),
                            None => name.name.clone(),
                        };
                        self.queues.push(ir::Queue {
                            name: elem.clone(),
                            kind: if *spinlock {
                                ir::QueueKind::Spinlock
                            } else {
                                ir::QueueKind::WaitQueue
                            },
                            until: None,
                            span: *span,
                        });
                        elems.push(elem);
                    }
                    if !self.check_new_name(name, false) {
                        continue;
                    }
                    let sym = |q| {
                        if *spinlock {
                            Sym::Spinlock(q)
                        } else {
                            Sym::Queue(q)
                        }
                    };
                    if len.is_none() {
                        self.globals
                            .insert(name.name.clone(), (sym(first), name.span));
                        continue;
                    }
                    for (k, elem) in elems.iter().enumerate() {
                        let q = first + k as ir::QueueId;
                        self.globals.insert(elem.clone(), (sym(q), name.span));
                    }
                    self.declare_array(
                        name,
                        elems,
                        if *spinlock {
                            "spinlocks"
                        } else {
                            "wait queues"
                        },
                    );
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
                            .map_or_else(String::new, |q| self.line_of(q.span));
                        self.error_help(
                            var.span,
                            format!("`{}` already has a futex queue", var.name),
                            format!("it is declared at {line}; declare it once"),
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

    fn declare_array(&mut self, name: &ast::Ident, elems: Vec<String>, what: &'static str) {
        let a = self.arrays.len();
        self.arrays.push(super::arrays::ArrayInfo {
            name: name.name.clone(),
            elems,
            what,
            pointer: None,
        });
        self.globals
            .insert(name.name.clone(), (Sym::Array(a), name.span));
    }

    /// How many elements a declaration has: 1 without a length, else its length (0 when
    /// it is wrong, reported). Lengths are evaluated before the constants are, so they
    /// follow a `const` through the items themselves.
    pub(super) fn declared_len(
        &mut self,
        items: &[ast::Item],
        name: &ast::Ident,
        len: Option<&ast::Expr>,
    ) -> usize {
        let Some(len) = len else {
            return 1;
        };
        match early_const(items, len, 0) {
            Some(n @ 1..=super::arrays::MAX_LEN) => n as usize,
            Some(n) => {
                self.error_help(
                    len.span,
                    format!(
                        "array `{}` has {n} elements; an array has 1 to {}",
                        name.name,
                        super::arrays::MAX_LEN
                    ),
                    "two or three objects are enough for the races between them to show",
                );
                0
            }
            None => {
                self.error_help(
                    len.span,
                    format!("the length of array `{}` must be a constant", name.name),
                    "write a number or a `const int` name: `bit x[2];`, `bit x[NR_PAGES];`",
                );
                0
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
        let ret = self.ty_of(&f.ret);
        if ret == Ty::Entry {
            self.error_help(
                f.ret.span,
                "a function cannot return a wait entry",
                "return a `wait_queue_entry_t *` instead",
            );
        }
        if let Ty::Struct(_) | Ty::Container(_) = ret {
            self.error_help(
                f.ret.span,
                "a function cannot return a struct by value",
                "return a pointer, `struct NAME *`, or set the fields of one the caller passes",
            );
        }
        let mut params = Vec::new();
        for p in &f.params {
            let ty = self.ty_of(&p.ty);
            match ty {
                Ty::Entry => self.error_help(
                    p.ty.span,
                    format!(
                        "parameter `{}` cannot be a wait entry passed by value",
                        p.name.name
                    ),
                    "write `wait_queue_entry_t *`",
                ),
                Ty::Struct(_) | Ty::Container(_) => self.error_help(
                    p.ty.span,
                    format!(
                        "parameter `{}` cannot be a struct passed by value",
                        p.name.name
                    ),
                    "pass a pointer, `struct NAME *`, as the kernel does",
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
    pub(super) fn const_eval(&mut self, e: &ast::Expr) -> Option<Value> {
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
                                format!("`{n}` is declared at {line}; move it up"),
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
        let mut first = 0usize;
        for item in items {
            let ast::Item::Var {
                ty,
                name,
                init,
                len,
                ..
            } = item
            else {
                continue;
            };
            let n = self.var_lens.get(idx).copied().unwrap_or(0);
            idx += 1;
            let elems = first..first + n;
            first += n;
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
            // One initial value per element.
            let values: Vec<Option<(Value, Span)>> = match (ty, init) {
                (ast::SharedTy::Word { bits }, _) => {
                    vec![self.word_init(bits).map(|v| (v, name.span)); n]
                }
                (ast::SharedTy::Task, Some(ast::Init::Value(e)))
                    if matches!(e.kind, ast::ExprKind::Null) =>
                {
                    vec![Some((0, e.span)); n]
                }
                (ast::SharedTy::Task, Some(init)) => {
                    let span = init.span();
                    self.error_help(
                        span,
                        format!("`{}` is a task pointer; it starts NULL", name.name),
                        format!(
                            "write `struct task_struct *{} = NULL;` (or leave the initializer out); a thread publishes itself with `WRITE_ONCE({}, current)`, or a scenario's `init` names the thread it starts as",
                            name.name, name.name
                        ),
                    );
                    vec![None; n]
                }
                (_, Some(ast::Init::Value(e))) if len.is_none() => {
                    vec![self.const_eval(e).map(|v| (v, e.span))]
                }
                (_, Some(ast::Init::Value(e))) => {
                    self.error_help(
                        e.span,
                        format!("array `{}` is initialised element by element", name.name),
                        format!(
                            "write `{} = {{ v0, v1, ... }}` (elements left out start at 0)",
                            name.name
                        ),
                    );
                    vec![None; n]
                }
                (_, Some(ast::Init::List(list, span))) if len.is_none() => {
                    self.error_help(
                        *span,
                        format!("`{}` is not an array", name.name),
                        format!("write `{} = VALUE;`", name.name),
                    );
                    vec![None]
                }
                (_, Some(ast::Init::List(list, span))) => {
                    if list.len() > n {
                        self.error(
                            *span,
                            format!(
                                "{} initial values for the {n} elements of `{}`",
                                list.len(),
                                name.name
                            ),
                        );
                    }
                    (0..n)
                        .map(|k| match list.get(k) {
                            Some(e) => self.const_eval(e).map(|v| (v, e.span)),
                            None => Some((0, name.span)),
                        })
                        .collect()
                }
                (_, None) => vec![Some((0, name.span)); n],
            };
            for (k, value) in values.iter().enumerate() {
                let (Some(vty), Some((v, span))) = (vty, *value) else {
                    continue;
                };
                let (lo, hi) = vty.range();
                if v >= lo && v <= hi {
                    continue;
                }
                let what = match vty {
                    ir::VarType::Bit => "a bit: 0 or 1".to_string(),
                    ir::VarType::Int { min, max } => format!("int<{min}..{max}>"),
                    ir::VarType::Word { bits } => format!("a word of {bits} bits"),
                    ir::VarType::Task => "a task pointer".to_string(),
                    ir::VarType::Unsigned { bits } => {
                        format!("unsigned int : {bits}, 0..{hi}")
                    }
                };
                let var = match len {
                    Some(_) => format!("{}[{k}]", name.name),
                    None => name.name.clone(),
                };
                if init.is_some() && span != name.span {
                    self.error(
                        span,
                        format!("initial value {v} of `{var}` is out of range ({what})"),
                    );
                } else {
                    self.error_help(
                        span,
                        format!("`{var}` starts at 0, which is out of range ({what})"),
                        format!("give it an initial value: `{} = {lo}`", name.name),
                    );
                }
            }
            for (var, value) in elems.zip(values) {
                if let Some(var) = self.vars.get_mut(var) {
                    if let Some(t) = vty {
                        var.ty = t;
                    }
                    if let Some((v, _)) = value {
                        var.init = v;
                    }
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
        self.condition = "a final assertion";
        for item in items {
            if let ast::Item::Final { cond, .. } = item {
                let cond = &self.objects_in_expr(cond);
                let e = self.until_expr(cond);
                self.truthy(&e, cond.span, "a final assertion");
                out.push(e.e);
            }
        }
        self.condition = "a wake condition";
        out
    }

    // ================================================================ wake conditions

    pub(super) fn check_queues(&mut self, items: &[ast::Item]) {
        // Queue ids follow item order for wait queues; futex queues were appended after.
        let mut wq = 0usize;
        let mut nq = 0usize;
        let mut futex_at: HashMap<(u32, u32), usize> = HashMap::new();
        for (i, q) in self.queues.iter().enumerate() {
            futex_at.entry((q.span.start, q.span.end)).or_insert(i);
        }
        for item in items {
            match item {
                ast::Item::Queue { until, .. } => {
                    let n = self.queue_lens.get(nq).copied().unwrap_or(0);
                    nq += 1;
                    let first = wq;
                    wq += n;
                    if let Some(u) = until {
                        // An array's elements all wait for the same condition.
                        let u = &self.objects_in_expr(u);
                        let e = self.until_expr(u);
                        self.truthy(&e, u.span, "a wake condition");
                        for q in self.queues.iter_mut().skip(first).take(n) {
                            q.until = Some(e.e.clone());
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
            AK::Index { base, index } => {
                base.as_ident()
                    .and_then(|n| self.array_named(n))
                    .and_then(|a| self.arrays.get(a))
                    .is_some_and(|a| !matches!(a.what, "wait queues" | "spinlocks"))
                    && self.is_constant(index)
            }
            _ => false,
        }
    }

    /// Lowers a wake condition: shared variables, constants and operators only.
    pub(super) fn until_expr(&mut self, e: &ast::Expr) -> TExpr {
        let span = e.span;
        let what_cond = self.condition;
        let only = format!("{what_cond} may use only shared variables, constants and operators");
        let only = only.as_str();
        match &e.kind {
            AK::Int(_) | AK::True | AK::False | AK::Null => self.expr(e),
            AK::Ident(n) if self.cx.scope.contains_key(n) => {
                self.error_help(
                    span,
                    format!("the local `{n}` cannot be used in {what_cond}"),
                    format!("{only}: the oracle evaluates it in a stuck state, where a thread's locals mean nothing"),
                );
                err_expr(span)
            }
            AK::Ident(n) => match self.globals.get(n).copied() {
                Some((Sym::Var(_) | Sym::Bit(_) | Sym::Const(_), _)) => self.expr(e),
                Some((sym, _)) => {
                    self.error_help(
                        span,
                        format!("`{n}` ({}) cannot be used in {what_cond}", sym.what()),
                        only,
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
                        format!("{only}: write `{x}` instead of `{}({x})`", name.name)
                    }
                    _ => format!("{only}; it is evaluated by the checker, never executed"),
                };
                self.error_help(span, format!("calls are not allowed in {what_cond}"), help);
                err_expr(span)
            }
            AK::Current => {
                self.error_help(
                    span,
                    format!("`current` cannot be used in {what_cond}"),
                    only,
                );
                err_expr(span)
            }
            AK::Index { base, index }
                if base.as_ident().and_then(|n| self.array_named(n)).is_some() =>
            {
                if self.is_constant(index) {
                    return self
                        .with_element(e, Self::until_expr)
                        .unwrap_or_else(|| err_expr(span));
                }
                self.error_help(
                    index.span,
                    format!("{what_cond} indexes an array with a constant"),
                    format!("{only}: write `x[0]`; a sleep that waits for the element a local names says so itself, `schedule() until !x[i];`, or waits in `wait_event(q, !x[i])`"),
                );
                err_expr(span)
            }
            other => {
                let what = match other {
                    AK::Assign { .. } | AK::IncDec { .. } => "an assignment",
                    AK::Member { .. } => "a wait entry field",
                    AK::Unary(UnaryOp::AddrOf, _) => "an address (`&`)",
                    _ => "this expression",
                };
                self.error_help(span, format!("{what} cannot be used in {what_cond}"), only);
                err_expr(span)
            }
        }
    }
}

/// A constant expression evaluated from the items alone (numbers, operators and `const`
/// items, wherever declared), before [`Checker::eval_consts`] runs; `None` for anything
/// else, which the caller reports.
fn early_const(items: &[ast::Item], e: &ast::Expr, depth: usize) -> Option<Value> {
    if depth > 32 {
        return None;
    }
    match &e.kind {
        AK::Int(v) => Value::try_from(*v).ok(),
        AK::Ident(n) => builtins::constant(n).or_else(|| {
            items.iter().find_map(|i| match i {
                ast::Item::Const { name, value, .. } if name.name == *n => {
                    early_const(items, value, depth + 1)
                }
                _ => None,
            })
        }),
        AK::Unary(UnaryOp::Neg, x) => early_const(items, x, depth + 1)?.checked_neg(),
        AK::Binary(op, a, b) => fold(
            *op,
            early_const(items, a, depth + 1)?,
            early_const(items, b, depth + 1)?,
        )
        .ok(),
        _ => None,
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
