//! Expressions: typing and lowering of names, operators, `&`, `?:`, conditions and
//! coercions (`NULL` to a pointer, `int` to `bool`), assignable places and assignments
//! (including wake functions stored in an entry), and `wait_queue_entry_t` fields.
//! Statements, wake conditions and call arguments all go through `expr`/`value`/`coerce`.

use wqcheck_model::ir::{self, BinOp, EntryField, Place, Span, Value};

use crate::ast::{self, ExprKind as AK, UnaryOp};
use crate::builtins;
use crate::diag::suggest;

use super::{err_expr, mk, Checker, ConstState, Sym, TExpr, Ty};

const WAKE_FN_SIG: &str = "int f(wait_queue_entry_t *wait, unsigned mode, int sync, void *key)";

impl<'a> Checker<'a> {
    /// A condition: any integer or pointer value.
    pub(super) fn cond(&mut self, e: &ast::Expr, what: &str) -> TExpr {
        let v = self.value(e);
        self.truthy(&v, e.span, &format!("the condition of {what}"));
        v
    }

    pub(super) fn truthy(&mut self, v: &TExpr, span: Span, what: &str) {
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
    pub(super) fn value(&mut self, e: &ast::Expr) -> TExpr {
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

    /// The type a read of shared variable `id` has.
    pub(super) fn var_ty(&self, id: ir::VarId) -> Ty {
        match self.vars.get(id as usize).map(|v| v.ty) {
            Some(ir::VarType::Bit) => Ty::Bool,
            Some(ir::VarType::Task) => Ty::Task,
            _ => Ty::Int,
        }
    }

    /// Converts `v` to type `want`, reporting a mismatch. `NULL` becomes a pointer.
    pub(super) fn coerce(&mut self, mut v: TExpr, want: Ty, what: &str) -> TExpr {
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
        // `struct wait_page_key *key = arg;`: `void *` converts to a struct pointer and
        // back, as in C.
        if matches!(
            (want, v.ty),
            (Ty::StructPtr(_) | Ty::ContainerPtr(_), Ty::VoidPtr)
                | (Ty::VoidPtr, Ty::StructPtr(_) | Ty::ContainerPtr(_))
        ) {
            v.ty = want;
            v.e.ty = want.ir();
            return v;
        }
        let help = match (want, v.ty) {
            (Ty::EntryPtr, Ty::Int | Ty::Bool) => {
                Some("a wait entry pointer is `&wait` or a `wait_queue_entry_t *`".to_string())
            }
            (Ty::Task, _) => Some(
                "a task is `current`, `wait->private`, `NULL` or a `struct task_struct *` variable"
                    .to_string(),
            ),
            (Ty::Int | Ty::Bool, p) if p.is_ptr() => {
                Some("pointers are not integers in the DSL".to_string())
            }
            _ => None,
        };
        self.error_opt(
            v.e.span,
            format!(
                "mismatched types in {what}: expected `{}`, found `{}`",
                self.ty_name(want),
                self.ty_name(v.ty)
            ),
            help,
        );
        err_expr(v.e.span)
    }

    pub(super) fn expr(&mut self, e: &ast::Expr) -> TExpr {
        let span = e.span;
        // An array element names a global only once its index is known: resolve it at
        // the smallest call, assignment or read around it (arrays.rs).
        if matches!(
            e.kind,
            AK::Call { .. }
                | AK::Assign { .. }
                | AK::IncDec { .. }
                | AK::Index { .. }
                | AK::ContainerOf {
                    list_first: true,
                    ..
                }
        ) {
            if let Some(t) = self.with_element(e, Self::expr) {
                return t;
            }
        }
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
            AK::Index { base, index } => self.not_an_array(base, index, span),
            AK::ContainerOf {
                ptr,
                ty,
                member,
                list_first,
            } => self.container_of(ptr, ty, member, *list_first, span),
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
            // A wait entry or a wake_q head is an object on the stack, used by its address.
            let object = match ty {
                Ty::Entry => Some("a wait entry"),
                Ty::WakeQ => Some("a wake_q head"),
                _ => None,
            };
            if let Some(what) = object {
                self.error_help(
                    span,
                    format!("`{n}` is {what}, not a value"),
                    format!("write `&{n}` for a pointer to it"),
                );
                return err_expr(span);
            }
            if let Ty::Struct(_) | Ty::Container(_) = ty {
                self.error_help(
                    span,
                    format!("`{n}` is a struct, not a value"),
                    format!(
                        "name one of its fields (`{n}.FIELD`), or write `&{n}` for a pointer to it"
                    ),
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
                let ty = self.var_ty(id);
                mk(ir::ExprKind::Shared(id), ty, span)
            }
            Some((Sym::Bit(b), _)) => mk(ir::ExprKind::SharedBit(b), Ty::Bool, span),
            Some((Sym::Const(i), _)) => match self.consts.get(i).map(|c| c.state) {
                Some(ConstState::Done(v, ty)) => mk(ir::ExprKind::Const(v), ty, span),
                _ => err_expr(span),
            },
            Some((Sym::Array(a), _)) => self.array_without_index(a, span),
            Some((Sym::Object(o), _)) => self.object_as_value(n, o, span),
            Some((Sym::Queue(_), _)) => {
                self.error_help(
                    span,
                    format!("`{n}` is a wait queue, not a value"),
                    format!("pass it to a wait-queue builtin, e.g. `wake_up({n})`"),
                );
                err_expr(span)
            }
            Some((Sym::Spinlock(_), _)) => {
                self.error_help(
                    span,
                    format!("`{n}` is a spinlock, not a value"),
                    format!("take it with `spin_lock(&{n})`, release it with `spin_unlock(&{n})`"),
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
                format!("`{n}` is declared at {line}; declare it before its first use"),
            );
            return;
        }
        let help = if self.may_suggest() {
            suggest(
                n,
                self.cx
                    .scope
                    .keys()
                    .map(|s| s.as_str())
                    .chain(self.globals.keys().map(|s| s.as_str()))
                    .chain(builtins::CONSTANTS.iter().map(|(k, _)| *k)),
            )
        } else {
            None
        };
        self.error_opt(span, format!("undeclared variable `{n}`"), help);
    }

    fn addr_of(&mut self, x: &ast::Expr, span: Span) -> TExpr {
        if let Some(p) = self.object_addr(x, span) {
            return p;
        }
        if let AK::Index { base, .. } = &x.kind {
            let objects = base
                .as_ident()
                .and_then(|n| self.array_named(n))
                .is_some_and(|a| self.arrays.get(a).is_some_and(|a| a.what == "objects"));
            if objects {
                // `&objs[i]`: the element's pointer, chosen as any element is.
                let whole = ast::Expr {
                    kind: AK::Unary(UnaryOp::AddrOf, Box::new(x.clone())),
                    span,
                };
                return self
                    .with_element(&whole, Self::expr)
                    .unwrap_or_else(|| err_expr(span));
            }
        }
        if let AK::Member { base, field, arrow } = &x.kind {
            match self.struct_member(base, field, *arrow) {
                Some(Some(super::structs::Member::Entry(e))) => {
                    return TExpr {
                        e: ir::Expr { span, ..e.e },
                        ty: Ty::EntryPtr,
                    }
                }
                Some(Some(_)) => {
                    self.error_help(
                        span,
                        format!("cannot take the address of the field `{}`", field.name),
                        "pass the struct (`&key`) or its wait entry (`&wait_page.wait`)",
                    );
                    return err_expr(span);
                }
                Some(None) => return err_expr(span),
                None => {}
            }
        }
        if let AK::Ident(n) = &x.kind {
            if let Some(id) = self.cx.scope.get(n).copied() {
                if let Some(ty @ (Ty::Struct(_) | Ty::Container(_))) =
                    self.cx.local_tys.get(id as usize).copied()
                {
                    return self.struct_addr(id, ty, span);
                }
                if self.cx.local_tys.get(id as usize) == Some(&Ty::Entry) {
                    return mk(ir::ExprKind::EntryAddr(id), Ty::EntryPtr, span);
                }
                if self.cx.local_tys.get(id as usize) == Some(&Ty::WakeQ) {
                    return mk(ir::ExprKind::WakeQAddr(id), Ty::WakeQPtr, span);
                }
            }
            if matches!(self.globals.get(n), Some((Sym::Var(_) | Sym::Bit(_), _))) {
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

    pub(super) fn unary_typed(&mut self, op: UnaryOp, x: TExpr, span: Span) -> TExpr {
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

    pub(super) fn binary_typed(&mut self, op: BinOp, a: TExpr, b: TExpr, span: Span) -> TExpr {
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
                                op.symbol(),
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
                            format!("`{}` needs integers, found `{}`", op.symbol(), x.ty.name()),
                        );
                        return err_expr(span);
                    }
                }
                bin(a, b, Ty::Bool)
            }
            _ => {
                for x in [&a, &b] {
                    if !x.ty.is_int() {
                        let (sym, ty, sp) = (op.symbol(), x.ty, x.e.span);
                        self.arith_error(sym, ty, sp);
                        return err_expr(span);
                    }
                }
                bin(a, b, Ty::Int)
            }
        }
    }

    pub(super) fn ternary_typed(&mut self, c: TExpr, a: TExpr, b: TExpr, span: Span) -> TExpr {
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
    pub(super) fn place(&mut self, e: &ast::Expr) -> Option<(Place, Ty)> {
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
                    if ty == Ty::WakeQ {
                        self.error_help(
                            span,
                            format!("cannot assign to the wake_q head `{n}`"),
                            format!("`wake_q_add(&{n}, p)` queues a task on it; `wake_q_init(&{n})` empties it"),
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
                    Some((Sym::Var(id), _)) => Some((Place::Shared(id), self.var_ty(id))),
                    Some((Sym::Bit(b), _)) => {
                        let word = self
                            .vars
                            .get(b.var as usize)
                            .map_or("?", |v| v.name.as_str())
                            .to_string();
                        self.error_help(
                            span,
                            format!("cannot assign to `{n}`: it is a bit of the word `{word}`"),
                            format!(
                                "a bit of a word changes with `set_bit({n})`, `clear_bit({n})` and the other bit operations: one atomic read-modify-write of `{word}`, as in the kernel"
                            ),
                        );
                        None
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
                if let Some(m) = self.struct_member(base, field, *arrow) {
                    return self.member_place(m?, field, span);
                }
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
                        Some((Sym::Func(id), _)) => self
                            .sigs
                            .get(*id as usize)
                            .map(|s| s.display(|t| self.ty_name(t))),
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
                    self.arith_error(&format!("{}=", bop.symbol()), bad, span);
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
    pub(super) fn entry_base(
        &mut self,
        base: &ast::Expr,
        arrow: bool,
        field: &ast::Ident,
    ) -> Option<TExpr> {
        // `wait_page.wait.flags`, `wait_page->wait.func`: the wait entry of a struct.
        if let AK::Member {
            base: b,
            field: f,
            arrow: a,
        } = &base.kind
        {
            match self.struct_member(b, f, *a) {
                Some(Some(super::structs::Member::Entry(e))) if !arrow => return Some(e),
                Some(Some(super::structs::Member::Entry(_))) => {
                    self.error_help(
                        base.span,
                        format!("`{}` is a wait entry, not a pointer", f.name),
                        format!("write `.{}.{}`", f.name, field.name),
                    );
                    return None;
                }
                Some(None) => return None,
                Some(Some(_)) | None => {}
            }
        }
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
        if let Some(m) = self.struct_member(base, field, arrow) {
            return match m {
                Some(m) => self.member_read(m, field, span),
                None => err_expr(span),
            };
        }
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
}

/// A C `bool` stores 0 or 1: an `int` value assigned to a `bool` becomes `v != 0`.
pub(super) fn bool_normalize(v: TExpr, want: Ty) -> TExpr {
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
