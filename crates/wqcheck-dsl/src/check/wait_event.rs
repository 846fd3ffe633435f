//! The `wait_event*()` family: include/linux/wait.h's macros, expanded into the IR of the
//! code they expand to in the kernel, statement for statement (v4.13 and later):
//!
//! ```c
//! if (!(condition)) {                         // might_sleep(); if (condition) break;
//!         struct wait_queue_entry __wq_entry;  // ___wait_event()
//!         init_wait_entry(&__wq_entry, exclusive ? WQ_FLAG_EXCLUSIVE : 0);
//!         for (;;) {
//!                 long __int = prepare_to_wait_event(&wq_head, &__wq_entry, state);
//!                 if (condition)
//!                         break;
//!                 if (___wait_is_interruptible(state) && __int) {
//!                         __ret = __int;
//!                         goto __out;
//!                 }
//!                 schedule();
//!         }
//!         finish_wait(&wq_head, &__wq_entry);
//! __out:  ;
//! }
//! ```
//!
//! `wait_var_event()`, `wait_var_event_killable()` and `wait_var_event_timeout()`
//! (include/linux/wait_bit.h's `___wait_var_event()`) are the same code on the hashed
//! queue `bit_wait_table` of the header wait_bit.rs writes, with an entry that
//! `init_wait_var_entry()` gives `var_wake_function()` and the variable's key (the
//! key wait_bit.rs put in place of `&var`).
//!
//! The condition is evaluated where the macro evaluates it, each time, as the kernel's
//! text substitution does. A form that returns a value (`wait_event_interruptible()`:
//! 0 or `-ERESTARTSYS`) is a statement of its own or the value of an assignment or
//! declaration; elsewhere it is an error that says so. The sleeper's wake condition, for
//! the verdict oracle, is still its queue's `until`.

use wqcheck_model::ir::{self, task, EntryField, LocalId, Place, Span, Value};

use crate::ast;

use super::{mk, Checker, Ty};

/// One member of the family.
#[derive(Clone, Copy, Debug)]
pub(super) struct Form {
    state: Value,
    exclusive: bool,
    /// The macro is an expression (`int __ret`): 0, or `-ERESTARTSYS` when a signal the
    /// state admits ended the wait.
    returns: bool,
    /// A `_timeout` form: a third argument, the timeout; the sleep is
    /// `__ret = schedule_timeout(__ret)` and the condition `___wait_cond_timeout()`. Its
    /// value is what is left of the timeout (at least 1) when the condition held, 0 when
    /// the timeout elapsed first, or `-ERESTARTSYS`.
    timeout: bool,
    /// A `wait_var_event*()` form: the first argument is a variable's key, not a queue.
    var: bool,
}

/// A form that waits and has no value, or a `_killable`/`_interruptible` one with a
/// value; `var`: a `wait_var_event*()` form.
const fn plain(state: Value, exclusive: bool, returns: bool, var: bool) -> Form {
    Form {
        state,
        exclusive,
        returns,
        timeout: false,
        var,
    }
}

/// A `_timeout` form.
const fn timed(state: Value, exclusive: bool, var: bool) -> Form {
    Form {
        state,
        exclusive,
        returns: true,
        timeout: true,
        var,
    }
}

/// The forms wqcheck expands, by name (also the names "did you mean" offers).
pub(super) const FORMS: &[(&str, Form)] = {
    use task::{TASK_IDLE, TASK_INTERRUPTIBLE, TASK_KILLABLE, TASK_UNINTERRUPTIBLE};
    &[
        (
            "wait_var_event",
            plain(TASK_UNINTERRUPTIBLE, false, false, true),
        ),
        (
            "wait_var_event_killable",
            plain(TASK_KILLABLE, false, true, true),
        ),
        (
            "wait_var_event_timeout",
            timed(TASK_UNINTERRUPTIBLE, false, true),
        ),
        (
            "wait_event",
            plain(TASK_UNINTERRUPTIBLE, false, false, false),
        ),
        ("wait_event_idle", plain(TASK_IDLE, false, false, false)),
        (
            "wait_event_idle_exclusive",
            plain(TASK_IDLE, true, false, false),
        ),
        (
            "wait_event_interruptible",
            plain(TASK_INTERRUPTIBLE, false, true, false),
        ),
        (
            "wait_event_interruptible_exclusive",
            plain(TASK_INTERRUPTIBLE, true, true, false),
        ),
        (
            "wait_event_killable",
            plain(TASK_KILLABLE, false, true, false),
        ),
        (
            "wait_event_killable_exclusive",
            plain(TASK_KILLABLE, true, true, false),
        ),
        (
            "wait_event_timeout",
            timed(TASK_UNINTERRUPTIBLE, false, false),
        ),
        (
            "wait_event_interruptible_timeout",
            timed(TASK_INTERRUPTIBLE, false, false),
        ),
        (
            "wait_event_killable_timeout",
            timed(TASK_KILLABLE, false, false),
        ),
        ("wait_event_idle_timeout", timed(TASK_IDLE, false, false)),
        (
            "wait_event_idle_exclusive_timeout",
            timed(TASK_IDLE, true, false),
        ),
    ]
};

/// The form named `name`.
pub(super) fn form(name: &str) -> Option<Form> {
    FORMS.iter().find(|f| f.0 == name).map(|f| f.1)
}

impl Checker<'_> {
    /// `name(q, condition)` as a statement; its value, if the form has one, goes to
    /// `result`. Appends the expansion to `out`.
    pub(super) fn wait_event(
        &mut self,
        form: Form,
        name: &ast::Ident,
        args: &[ast::Expr],
        result: Option<(Place, Ty)>,
        span: Span,
        out: &mut Vec<ir::Stmt>,
    ) {
        let n = name.name.as_str();
        let arity = 2 + form.timeout as usize;
        // A variable wait's arity and variable were checked by wait_bit.rs, which put the
        // variable's key in its place (for an array's element, the array's first key
        // less the index, a local or a constant).
        let var_key = (form.var && args.len() == arity).then(|| self.value(&args[0]));
        if args.len() != arity {
            let (what, example) = if form.timeout {
                (
                    "3 arguments, the queue, the condition and the timeout",
                    "(q, CONDITION, HZ)",
                )
            } else {
                ("2 arguments, the queue and the condition", "(q, CONDITION)")
            };
            self.error_help(
                span,
                format!("`{n}` takes {what}; found {}", args.len()),
                format!("write `{n}{example};`"),
            );
            return;
        }
        if self.cx.atomic.is_some() {
            self.error_help(
                span,
                format!("`{n}` sleeps: it cannot be inside an `atomic` block"),
                "an `atomic` block runs as one step; call it outside the block",
            );
        }
        // `wait_event(page_wait[i], ...)`: one expansion per queue of the array.
        if !form.var
            && self.with_elements_stmt(&args[..1], span, out, &mut |ck, q, out| {
                let mut args = args.to_vec();
                args[0] = q[0].clone();
                ck.wait_event(form, name, &args, result.clone(), span, out)
            })
        {
            return;
        }
        let qarg = args[0].without_addr_of();
        let queue = match qarg.as_ident() {
            _ if form.var => self.queue_named(super::super::wait_bit::TABLE, span, n),
            Some(qn) => self.queue_named(qn, qarg.span, n),
            None => {
                let help = self.declared_queues();
                self.error_help(qarg.span, format!("`{n}` needs a wait queue here"), help);
                None
            }
        };
        let cond = self.cond(&args[1], &format!("`{n}`"));
        let timeout = form.timeout.then(|| self.value(&args[2]));
        if let Some(v) = &timeout {
            if !v.ty.is_int() {
                self.error_help(
                    args[2].span,
                    format!(
                        "the timeout of `{n}` must be an integer, found `{}`",
                        v.ty.name()
                    ),
                    "a timeout in jiffies: `HZ`, a local, or `MAX_SCHEDULE_TIMEOUT`",
                );
            }
        }
        if result.is_some() && !form.returns {
            self.error_help(
                span,
                format!("`{n}` has no value"),
                "call it as a statement of its own; `wait_event_interruptible()` and `wait_event_killable()` return 0 or -ERESTARTSYS",
            );
        }
        let Some(q) = queue else { return };
        // What the sleeper waits for, for the oracle: the condition itself when it is a
        // wake condition (shared variables, constants, operators), else the queue's.
        let until = (cond.ty != Ty::Err && self.is_wake_condition(&args[1]))
            .then(|| u16::try_from(self.sleeps.len()).ok())
            .flatten();
        if until.is_some() {
            self.sleeps.push(cond.e.clone());
        }

        let stmt = |kind| ir::Stmt { kind, span };
        let expr = |kind, ty: Ty| mk(kind, ty, span).e;
        let konst = |v: Value| expr(ir::ExprKind::Const(v), Ty::Int);
        let entry = self.hidden_local("__wq_entry", Ty::Entry, span);
        let int = self.hidden_local("__int", Ty::Int, span);
        let addr = || expr(ir::ExprKind::EntryAddr(entry), Ty::EntryPtr);
        let builtin = |op, args| {
            stmt(ir::StmtKind::Expr(expr(
                ir::ExprKind::Builtin { op, args },
                Ty::Void,
            )))
        };
        let assign = |place: Place, value: ir::Expr, ty: Ty| {
            stmt(ir::StmtKind::Expr(expr(
                ir::ExprKind::Assign {
                    place,
                    op: None,
                    value: Box::new(value),
                    post: false,
                },
                ty,
            )))
        };
        let interruptible =
            form.state == task::TASK_INTERRUPTIBLE || form.state == task::TASK_KILLABLE;
        let local = |id| expr(ir::ExprKind::Local(id), Ty::Int);
        let binary = |op, a, b| expr(ir::ExprKind::Binary(op, Box::new(a), Box::new(b)), Ty::Bool);
        let not = |a| expr(ir::ExprKind::Unary(ir::UnOp::Not, Box::new(a)), Ty::Bool);

        // A `_timeout` form keeps the timeout left in `long __ret = timeout;`, and its
        // condition is `___wait_cond_timeout(condition)`, as statements:
        //     __cond = (condition); if (__cond && !__ret) __ret = 1;
        // and the test `__cond || !__ret`.
        let timed = match timeout {
            Some(t) => {
                let ret = self.hidden_local("__ret", Ty::Int, span);
                let c = self.hidden_local("__cond", Ty::Bool, span);
                out.push(assign(Place::Local(ret), t.e, Ty::Int));
                Some((ret, c))
            }
            None => None,
        };
        let test_cond = |stmts: &mut Vec<ir::Stmt>| match timed {
            Some((ret, c)) => {
                stmts.push(assign(Place::Local(c), cond.e.clone(), Ty::Bool));
                stmts.push(stmt(ir::StmtKind::If {
                    cond: binary(ir::BinOp::And, local(c), not(local(ret))),
                    then_branch: vec![assign(Place::Local(ret), konst(1), Ty::Int)],
                    else_branch: Vec::new(),
                }));
                binary(ir::BinOp::Or, local(c), not(local(ret)))
            }
            None => cond.e.clone(),
        };

        // int __ret = 0;
        if let (Some((place, ty)), None) = (&result, timed) {
            out.push(assign(place.clone(), konst(0), *ty));
        }
        let mut wait = vec![builtin(ir::Builtin::InitWait, vec![addr()])];
        if let Some(key) = var_key {
            // init_wait_var_entry(&__wbq_entry, var, 0): var_wake_function() and the key
            // (`struct wait_bit_queue_entry`'s first field, `key_bit_nr`).
            let func = self.value(&ast::Expr {
                kind: ast::ExprKind::Ident(super::super::wait_bit::VAR_WAKE_FUNCTION.to_string()),
                span,
            });
            wait.push(assign(
                Place::Field(Box::new(addr()), EntryField::Func),
                func.e,
                Ty::WakeFn,
            ));
            wait.push(assign(
                Place::Field(Box::new(addr()), EntryField::Data(0)),
                key.e,
                Ty::Int,
            ));
        }
        if form.exclusive {
            // init_wait_entry(&__wq_entry, WQ_FLAG_EXCLUSIVE)
            wait.push(assign(
                Place::Field(Box::new(addr()), EntryField::Flags),
                konst(ir::wq_flag::WQ_FLAG_EXCLUSIVE),
                Ty::Int,
            ));
        }
        let out_label = interruptible.then(|| {
            let id = self.cx.label_count as ir::LabelId;
            self.cx.label_count += 1;
            id
        });
        let mut body = vec![assign(
            Place::Local(int),
            expr(
                ir::ExprKind::Builtin {
                    op: ir::Builtin::PrepareToWaitEvent(q),
                    args: vec![addr(), konst(form.state)],
                },
                Ty::Int,
            ),
            Ty::Int,
        )];
        let test = test_cond(&mut body);
        body.push(stmt(ir::StmtKind::If {
            cond: test,
            then_branch: vec![stmt(ir::StmtKind::Break)],
            else_branch: Vec::new(),
        }));
        if let Some(label) = out_label {
            let mut leave = Vec::new();
            let to = match timed {
                Some((ret, _)) => Some((Place::Local(ret), Ty::Int)),
                None => result.clone(),
            };
            if let Some((place, ty)) = to {
                leave.push(assign(place, expr(ir::ExprKind::Local(int), Ty::Int), ty));
            }
            leave.push(stmt(ir::StmtKind::Goto(label)));
            body.push(stmt(ir::StmtKind::If {
                cond: expr(ir::ExprKind::Local(int), Ty::Int),
                then_branch: leave,
                else_branch: Vec::new(),
            }));
        }
        match timed {
            // __ret = schedule_timeout(__ret);
            Some((ret, _)) => body.push(assign(
                Place::Local(ret),
                expr(
                    ir::ExprKind::Builtin {
                        op: ir::Builtin::ScheduleTimeout { until, state: None },
                        args: vec![local(ret)],
                    },
                    Ty::Int,
                ),
                Ty::Int,
            )),
            None => body.push(builtin(
                ir::Builtin::Schedule { io: false, until },
                Vec::new(),
            )),
        }
        wait.push(stmt(ir::StmtKind::Loop {
            cond: None,
            test_first: true,
            body,
            step: None,
        }));
        wait.push(builtin(ir::Builtin::FinishWait(q), vec![addr()]));
        let test = test_cond(out);
        out.push(stmt(ir::StmtKind::If {
            cond: not(test),
            then_branch: wait,
            else_branch: Vec::new(),
        }));
        // __out: past finish_wait(), which prepare_to_wait_event() made unnecessary.
        if let Some(label) = out_label {
            out.push(stmt(ir::StmtKind::Label(label)));
        }
        if let (Some((place, ty)), Some((ret, _))) = (result, timed) {
            out.push(assign(place, local(ret), ty));
        }
    }

    /// A `wait_event*()` call whose value `e` uses, as the whole of `e`, the value of an
    /// assignment, the operand of a unary operator or an operand of a binary one other than
    /// `&&`/`||` (so hoisting it changes no short-circuit): its expansion is appended to
    /// `out`, and `e` is returned with the call replaced by the name of the local that
    /// holds its value (a name the model cannot write). `None`: `e` has no such call, and
    /// nothing was appended.
    pub(super) fn hoist_wait_event(
        &mut self,
        e: &ast::Expr,
        out: &mut Vec<ir::Stmt>,
    ) -> Option<ast::Expr> {
        let call_at = |x: &ast::Expr| self.wait_event_call(x).is_some();
        let mut new = e.clone();
        let slot: &mut ast::Expr = match &mut new.kind {
            _ if call_at(e) => &mut new,
            ast::ExprKind::Assign { rhs, .. } if call_at(rhs) => rhs,
            ast::ExprKind::Unary(op, inner)
                if !matches!(op, ast::UnaryOp::AddrOf | ast::UnaryOp::Deref) && call_at(inner) =>
            {
                inner
            }
            ast::ExprKind::Binary(op, l, r) if !matches!(op, ir::BinOp::And | ir::BinOp::Or) => {
                if call_at(l) {
                    l
                } else if call_at(r) {
                    r
                } else {
                    return None;
                }
            }
            _ => return None,
        };
        let call = std::mem::replace(
            slot,
            ast::Expr {
                kind: ast::ExprKind::Int(0),
                span: slot.span,
            },
        );
        let (form, name, args) = self.wait_event_call(&call)?;
        let r = self.hidden_local("__ret", Ty::Int, call.span);
        let key = format!("\u{0}wait_event{r}");
        self.cx.scope.insert(key.clone(), r);
        self.wait_event(
            form,
            name,
            args,
            Some((Place::Local(r), Ty::Int)),
            call.span,
            out,
        );
        *slot = ast::Expr {
            kind: ast::ExprKind::Ident(key),
            span: call.span,
        };
        Some(new)
    }

    /// `e` is a call of a `wait_event*()` form (and the model defines no function of that
    /// name): the form, its name and its arguments.
    pub(super) fn wait_event_call<'e>(
        &self,
        e: &'e ast::Expr,
    ) -> Option<(Form, &'e ast::Ident, &'e [ast::Expr])> {
        let ast::ExprKind::Call { name, args } = &e.kind else {
            return None;
        };
        if matches!(self.globals.get(&name.name), Some((super::Sym::Func(_), _))) {
            return None;
        }
        form(&name.name).map(|f| (f, name, args.as_slice()))
    }

    /// A local the expansion declares: not in scope, so the model cannot name it.
    pub(super) fn hidden_local(&mut self, name: &str, ty: Ty, span: Span) -> LocalId {
        let id = self.cx.locals.len() as LocalId;
        self.cx.locals.push(ir::Local {
            name: name.to_string(),
            ty: ty.ir(),
            span,
            addressed: false,
        });
        self.cx.local_tys.push(ty);
        id
    }
}
