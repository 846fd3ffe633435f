//! Deferred wakeups (kernel/sched/core.c): `DEFINE_WAKE_Q(h);` declares a head on the
//! thread's stack, and `wake_up_q(&h);` is lowered here to the kernel's loop, so that each
//! task is taken off the list (its node cleared: "Task can safely be re-inserted now") in
//! one step and woken in the next, as `wake_up_q()` does with other CPUs running between.
//!
//! ```text
//! wake_up_q(&h);   =>   while ((__wake_q_task = <take the first, clear its node>(&h)) != NULL)
//!                           wake_up_process(__wake_q_task);   (WakeQWake)
//! ```

use wqcheck_model::ir::{self, Place, Span, Value};

use crate::ast;
use crate::builtins::{self, ArgKind, LArg};

use super::{mk, Checker, Sym, Ty};

impl<'a> Checker<'a> {
    /// The argument list of `wake_up_q(...)` written as a statement, unless the model
    /// defines a function of that name.
    pub(super) fn wake_up_q_call<'e>(&self, e: &'e ast::Expr) -> Option<&'e [ast::Expr]> {
        let ast::ExprKind::Call { name, args } = &e.kind else {
            return None;
        };
        if name.name != "wake_up_q"
            || matches!(self.globals.get(&name.name), Some((Sym::Func(_), _)))
        {
            return None;
        }
        Some(args.as_slice())
    }

    /// `wake_up_q(&h);` as the kernel's loop (see the module docs).
    pub(super) fn wake_up_q(&mut self, args: &[ast::Expr], span: Span, out: &mut Vec<ir::Stmt>) {
        let Some(def) = builtins::lookup("wake_up_q") else {
            return;
        };
        if args.len() != 1 {
            for a in args {
                let _ = self.value(a);
            }
            self.error_help(
                span,
                format!(
                    "`wake_up_q` takes 1 argument but {} {} given",
                    args.len(),
                    if args.len() == 1 { "was" } else { "were" }
                ),
                format!("the signature is `{}`", def.sig),
            );
            return;
        }
        let Some(LArg::Value(head)) = self.builtin_arg(def, &args[0], ArgKind::WakeQ) else {
            return;
        };
        let p = self.hidden_local("__wake_q_task", Ty::Task, span);
        let expr = |kind, ty: Ty| mk(kind, ty, span).e;
        let konst = |v: Value| expr(ir::ExprKind::Const(v), Ty::Int);
        let take = expr(
            ir::ExprKind::Assign {
                place: Place::Local(p),
                op: None,
                value: Box::new(expr(
                    ir::ExprKind::Builtin {
                        op: ir::Builtin::WakeQPop,
                        args: vec![head],
                    },
                    Ty::Task,
                )),
                post: false,
            },
            Ty::Task,
        );
        let wake = expr(
            ir::ExprKind::Builtin {
                op: ir::Builtin::WakeQWake,
                args: vec![expr(ir::ExprKind::Local(p), Ty::Task)],
            },
            Ty::Int,
        );
        out.push(ir::Stmt {
            kind: ir::StmtKind::Loop {
                cond: Some(expr(
                    ir::ExprKind::Binary(ir::BinOp::Ne, Box::new(take), Box::new(konst(0))),
                    Ty::Bool,
                )),
                test_first: true,
                body: vec![ir::Stmt {
                    kind: ir::StmtKind::Expr(wake),
                    span,
                }],
                step: None,
            },
            span,
        });
    }
}
