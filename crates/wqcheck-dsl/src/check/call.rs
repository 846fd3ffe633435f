//! Calls: of model functions (arity and argument types against their signatures) and of
//! kernel API builtins, whose arguments are checked kind by kind against the table in
//! `builtins` (queues, shared variables, entries, dropped arguments). An argument of a call
//! that is already wrong is still checked loosely, so each mistake is reported once.

use wqcheck_model::ir::{self, FuncId, Span, Value, VarId};

use crate::ast::{self, ExprKind as AK, UnaryOp};
use crate::builtins::{self, ArgKind, LArg, Ret};
use crate::diag::{name_list, suggest, MAX_LISTED_NAMES};

use super::expr::bool_normalize;
use super::{err_expr, mk, Checker, Sym, TExpr, Ty};

impl<'a> Checker<'a> {
    pub(super) fn call(&mut self, name: &ast::Ident, args: &[ast::Expr], span: Span) -> TExpr {
        let n = name.name.as_str();
        if let Some((Sym::Func(id), _)) = self.globals.get(n).copied() {
            return self.call_function(id, name, args, span);
        }
        // `list_empty()` of a list head, a queue's (kernel/locking/semaphore.c's
        // `list_empty(&sem->wait_list)`), rather than of an entry's node: the list has
        // no entry, `!waitqueue_active()`.
        if n == "list_empty" && args.len() == 1 && self.names_queue(args[0].without_addr_of()) {
            let def = builtins::lookup("waitqueue_active").expect("a builtin");
            let active = self.call_builtin(def, args, span);
            return self.unary_typed(UnaryOp::Not, active, span);
        }
        // `list_add_tail(&head, &entry)`: C takes that too, and corrupts the list.
        if matches!(n, "list_add" | "list_add_tail") && args.len() == 2 {
            let head = args[0].without_addr_of();
            if self.names_queue(head) {
                let q = head.as_ident().unwrap_or("head");
                self.error_help(
                    args[0].span,
                    format!("`{n}` takes the new entry first, then the list head `{q}`"),
                    format!("write `{n}(&waiter.list, &{q})`"),
                );
                return err_expr(span);
            }
        }
        if let Some(def) = builtins::lookup(n) {
            return self.call_builtin(def, args, span);
        }
        if super::wait_event::form(n).is_some() {
            self.error_help(
                span,
                format!("`{n}()` is a statement here, not a value inside an expression"),
                format!("write it as a statement of its own, `{n}(q, CONDITION);`, or as the whole of `ret = {n}(...);`, `int ret = {n}(...);`, `if ({n}(...))` or `return {n}(...);`"),
            );
            for a in args {
                self.check_loose(a);
            }
            return err_expr(span);
        }
        if n == "DEFINE_WAIT" || n == "DEFINE_WAKE_Q" {
            let what = if n == "DEFINE_WAIT" { "wait" } else { "wake_q" };
            self.error_help(
                span,
                format!("`{n}()` is a declaration, not an expression"),
                format!("write it as a statement of its own: `{n}({what});`"),
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
        let help = if let Some(workaround) = builtins::not_a_builtin(n) {
            Some(workaround.to_string())
        } else if self.may_suggest() {
            suggest(
                n,
                self.sigs
                    .iter()
                    .map(|s| s.name.as_str())
                    .chain(builtins::all().map(|b| b.name))
                    .chain(super::wait_event::FORMS.iter().map(|f| f.0))
                    .chain(crate::wait_bit::helper_names()),
            )
        } else {
            None
        };
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
        if let AK::Index { base, .. } = &x.kind {
            if base.as_ident().and_then(|n| self.array_named(n)).is_some() {
                return;
            }
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
                s.display(|t| self.ty_name(t)),
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

    /// A builtin's argument that must have type `want` (a task, a wake_q head pointer):
    /// on another type, `need` and the type found, with `help`.
    fn typed_arg(
        &mut self,
        a: &ast::Expr,
        want: Ty,
        span: Span,
        need: String,
        help: String,
    ) -> Option<LArg> {
        let v = self.value(a);
        match v.ty {
            Ty::Err => None,
            t if t == want => Some(LArg::Value(v.e)),
            t => {
                self.error_help(span, format!("{need}, found `{}`", t.name()), help);
                None
            }
        }
    }

    fn call_builtin(
        &mut self,
        def: &'static builtins::BuiltinDef,
        args: &[ast::Expr],
        span: Span,
    ) -> TExpr {
        let n = def.name;
        if def.op == builtins::Op::WakeUpQ {
            for a in args {
                self.check_loose(a);
            }
            self.error_help(
                span,
                "`wake_up_q()` is a statement here, not a value inside an expression",
                "write it as a statement of its own: `wake_up_q(&wake_q);`",
            );
            return err_expr(span);
        }
        if matches!(def.op, builtins::Op::ScheduleTimeout { .. }) && self.cx.atomic.is_some() {
            self.error_help(
                span,
                format!("`{n}` sleeps: it cannot be inside an `atomic` block"),
                "an `atomic` block runs as one step; call it outside the block",
            );
        }
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
            // The rest of a call refused on a task pointer: only its own errors.
            if loc_ty == Ty::Err {
                let _ = self.value(a);
                continue;
            }
            // The values stored into a task pointer are tasks.
            if loc_ty == Ty::Task && kind == ArgKind::Value {
                let v = self.value(a);
                let v = self.coerce(v, Ty::Task, &format!("`{n}`'s value"));
                match v.ty {
                    Ty::Err => ok = false,
                    _ => lowered.push(LArg::Value(v.e)),
                }
                continue;
            }
            match self.builtin_arg(def, a, kind) {
                Some(l) => {
                    if let LArg::Loc(ir::Loc::Var(v), _) = &l {
                        loc_ty = self.var_ty(*v);
                        if loc_ty == Ty::Task && !builtins::acts_on_pointers(def) {
                            let name = self.vars[*v as usize].name.clone();
                            self.error_help(
                                a.span,
                                format!("`{n}` cannot act on the task pointer `{name}`"),
                                "a `struct task_struct *` is loaded, stored, exchanged and compared: `READ_ONCE`, `WRITE_ONCE`, `smp_load_acquire`, `smp_store_release`, `rcu_dereference`, `rcu_assign_pointer`, `xchg`, `cmpxchg`",
                            );
                            ok = false;
                            loc_ty = Ty::Err;
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
        if let (builtins::Op::ClearBitUnlockIsNegativeByte, [LArg::Bit(b), LArg::Bit(neg)]) =
            (def.op, lowered.as_slice())
        {
            if b.var != neg.var || self.vars[b.var as usize].bits.is_empty() {
                let name = |a: &ast::Expr| a.as_ident().unwrap_or("?").to_string();
                let (bn, nn) = (name(&args[0]), name(&args[1]));
                self.error_help(
                    span,
                    format!("`{n}` needs `{bn}` and `{nn}` to be bits of one word"),
                    format!(
                        "it clears `{bn}` and reads `{nn}` in one atomic operation on one byte; declare both in one word, as the kernel keeps them in `page->flags`: `unsigned long flags {{ {bn}, {nn} }};`"
                    ),
                );
                return err_expr(span);
            }
            if b.bit == neg.bit {
                self.error_help(
                    span,
                    format!(
                        "`{n}` clears a bit and reads another; both arguments name the same bit"
                    ),
                    "the second argument is the byte's sign bit, `PG_waiters` in the page lock",
                );
                return err_expr(span);
            }
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
            // atomic_dec_and_test(): the new value, compared with 0.
            Some((op, args))
                if matches!(def.op, builtins::Op::RmwOneReturn(..))
                    && def.ret == builtins::Ret::Bool =>
            {
                let new = mk(ir::ExprKind::Builtin { op, args }, Ty::Int, span);
                mk(
                    ir::ExprKind::Binary(ir::BinOp::Eq, Box::new(new.e), Box::new(konst(0))),
                    ret,
                    span,
                )
            }
            Some((op, args)) => mk(ir::ExprKind::Builtin { op, args }, ret, span),
            None => {
                // The table and `build` disagree: a bug in this crate, not in the model.
                self.error(span, format!("internal error: cannot lower `{n}`"));
                err_expr(span)
            }
        }
    }

    /// The help listing the declared wait queues (the first few), computed once: the
    /// queues are all declared before any function body is checked.
    pub(super) fn declared_queues(&self) -> String {
        self.queues_help
            .get_or_init(|| {
                let mut qs = self
                    .queues
                    .iter()
                    .filter(|q| q.kind == ir::QueueKind::WaitQueue)
                    .map(|q| q.name.as_str())
                    .peekable();
                if qs.peek().is_none() {
                    "no wait queue is declared; add `waitqueue NAME until CONDITION;` at top level"
                        .to_string()
                } else {
                    format!("declared wait queues: {}", name_list(qs, MAX_LISTED_NAMES))
                }
            })
            .clone()
    }

    /// A wait queue named by `n` (the identifier in `q`, `&q` or `&q->lock`).
    pub(super) fn queue_named(&mut self, n: &str, span: Span, bname: &str) -> Option<ir::QueueId> {
        match self.globals.get(n).copied() {
            Some((Sym::Queue(q), _)) => Some(q),
            Some((Sym::Array(a), _)) => {
                self.array_without_index(a, span);
                None
            }
            Some((Sym::Spinlock(_), _)) => {
                let help = format!(
                    "a `spinlock_t` is a lock alone: nothing sleeps or is listed on it, so `{bname}` takes a `waitqueue` ({})",
                    self.declared_queues()
                );
                self.error_help(span, format!("`{n}` is a spinlock, not a wait queue"), help);
                None
            }
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
                let suggestion = if self.may_suggest() {
                    suggest(
                        n,
                        self.queues
                            .iter()
                            .filter(|q| q.kind == ir::QueueKind::WaitQueue)
                            .map(|q| q.name.as_str()),
                    )
                } else {
                    None
                };
                let help = match suggestion {
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
            Some((Sym::Array(a), _)) => {
                self.array_without_index(a, span);
                None
            }
            Some((Sym::Bit(b), _)) => {
                let word = self
                    .vars
                    .get(b.var as usize)
                    .map_or("?", |v| v.name.as_str())
                    .to_string();
                self.error_help(
                    span,
                    format!("`{n}` is a bit of the word `{word}`; `{bname}` needs {need}"),
                    format!(
                        "use the bit operations on `{n}` (`test_bit({n})`, `set_bit({n})`, ...), or `{bname}` on the whole word `{word}`"
                    ),
                );
                None
            }
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

    pub(super) fn builtin_arg(
        &mut self,
        def: &'static builtins::BuiltinDef,
        a: &ast::Expr,
        kind: ArgKind,
    ) -> Option<LArg> {
        let bname = def.name;
        let span = a.span;
        // `&X` and `X` are both accepted where a variable or queue is expected.
        let stripped = a.without_addr_of();
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
                if let Some((Sym::Bit(b), _)) = self.globals.get(n).copied() {
                    if !self.cx.scope.contains_key(n) {
                        return Some(LArg::Bit(b));
                    }
                }
                let v = self.shared_named(n, stripped.span, bname, "a shared `bit` variable")?;
                match self.vars.get(v as usize).map(|x| x.ty) {
                    Some(ir::VarType::Bit) => Some(LArg::Bit(ir::BitRef { var: v, bit: 0 })),
                    Some(ir::VarType::Word { .. }) => {
                        let first = self.vars[v as usize]
                            .bits
                            .first()
                            .map_or("BIT", |b| b.name.as_str());
                        self.error_help(
                            stripped.span,
                            format!("`{n}` is a word; `{bname}` acts on one of its bits"),
                            format!("name the bit: `{bname}({first})`"),
                        );
                        None
                    }
                    Some(ir::VarType::Unsigned { bits }) => {
                        self.error_help(
                            stripped.span,
                            format!("`{n}` is an `unsigned int : {bits}`; `{bname}` needs a `bit` variable"),
                            format!("declare `{n}` as `bit`, or use `READ_ONCE`/`WRITE_ONCE`/atomics on it"),
                        );
                        None
                    }
                    Some(ir::VarType::Int { min, max }) => {
                        self.error_help(
                            stripped.span,
                            format!("`{n}` is an `int<{min}..{max}>`; `{bname}` needs a `bit` variable"),
                            format!("declare `{n}` as `bit`, or use `READ_ONCE`/`WRITE_ONCE`/atomics on it"),
                        );
                        None
                    }
                    Some(ir::VarType::Task) => {
                        self.error_help(
                            stripped.span,
                            format!("`{n}` is a task pointer; `{bname}` needs a `bit` variable"),
                            "a `struct task_struct *` is loaded, stored, exchanged and compared",
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
                // A `spinlock_t`: `&l` (or `&locks[i]`, rewritten to its element).
                let spinlock_named = |ck: &Self, e: &ast::Expr| {
                    let n = e.as_ident()?;
                    match ck.globals.get(n) {
                        Some((Sym::Spinlock(q), _)) if !ck.cx.scope.contains_key(n) => {
                            Some((n.to_string(), *q))
                        }
                        _ => None,
                    }
                };
                if let Some((n, q)) = spinlock_named(self, stripped) {
                    if !std::ptr::eq(stripped, a) {
                        return Some(LArg::Queue(q));
                    }
                    self.error_help(
                        span,
                        format!("`{bname}` takes the spinlock's address"),
                        format!("write `&{n}`"),
                    );
                    return None;
                }
                if let AK::Member { base, field, .. } = &stripped.kind {
                    if let Some((n, _)) = spinlock_named(self, base) {
                        self.error_help(
                            span,
                            format!(
                                "`{n}` is a spinlock_t, which is the lock itself: it has no `{}`",
                                field.name
                            ),
                            format!("write `&{n}`"),
                        );
                        return None;
                    }
                }
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
            ArgKind::Task => self.typed_arg(
                a,
                Ty::Task,
                span,
                format!("`{bname}` needs a task"),
                "a task is `current`, `wait->private` or a `struct task_struct *`".to_string(),
            ),
            ArgKind::WakeQ => {
                // `wake_q_add(&q, p)` with a wait queue `q`: say what the argument is for.
                if let Some(n) = stripped.as_ident() {
                    if matches!(self.globals.get(n), Some((Sym::Queue(_), _))) {
                        self.error_help(
                            stripped.span,
                            format!("`{bname}` needs a `struct wake_q_head *`; `{n}` is a wait queue"),
                            format!("a wake_q is a local list of tasks to wake: `DEFINE_WAKE_Q(wake_q);`, then `{}`", def.sig),
                        );
                        return None;
                    }
                }
                self.typed_arg(
                    a,
                    Ty::WakeQPtr,
                    span,
                    format!("`{bname}` needs a `struct wake_q_head *`"),
                    format!(
                        "pass `&wake_q` for a local `DEFINE_WAKE_Q(wake_q);`: `{}`",
                        def.sig
                    ),
                )
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
                    Ty::Null | Ty::Err => Some(LArg::Dropped),
                    _ if matches!(v.e.kind, ir::ExprKind::Const(0)) => Some(LArg::Dropped),
                    // `&key` of a struct of integers, or a `void *` that holds one.
                    Ty::VoidPtr | Ty::StructPtr(_) => Some(LArg::Value(v.e)),
                    t => {
                        self.error_help(
                            span,
                            format!(
                                "`{bname}` needs a wake key (`NULL`, `&key` of a struct, or a `void *`), found `{}`",
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
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
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
        ir::ExprKind::Select { index, arms, .. } => {
            has_effects(index) || arms.iter().any(has_effects)
        }
        _ => false,
    }
}
