//! Function bodies: each function's parameters and locals, the prepass that collects
//! labels and declarations, and every statement, with the placement rules for `break`,
//! `continue`, `return` and `goto` around loops and `atomic` blocks. Per-function state
//! lives in `FnCx`, reset for each function and handed on to the call-graph check.

use wqcheck_model::ir::{self, FuncId, LocalId, Place, Span};

use crate::ast::{self, StmtKind as SK};
use crate::diag::suggest;

use super::expr::bool_normalize;
use super::{mk, Checker, FnCx, LabelInfo, Ty};

impl<'a> Checker<'a> {
    pub(super) fn lower_functions(&mut self, items: &[ast::Item]) -> Vec<(ir::Function, FnCx)> {
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
        self.cx = FnCx {
            func: id,
            ..FnCx::default()
        };
        let ret = self.sigs.get(id as usize).map_or(Ty::Err, |s| s.ret);
        let params: Vec<Ty> = self
            .sigs
            .get(id as usize)
            .map(|s| s.params.iter().map(|p| p.1).collect())
            .unwrap_or_default();
        for (i, p) in f.params.iter().enumerate() {
            let ty = params.get(i).copied().unwrap_or(Ty::Err);
            self.declare_local(&p.name, ty);
        }
        let params = self.cx.locals.len();
        self.prepass(&f.body, None);
        let body = self.block(&f.body, ret, &f.name.name);
        let cx = std::mem::take(&mut self.cx);
        let mut label_names = vec![String::new(); cx.label_count];
        for (name, info) in &cx.labels {
            if let Some(slot) = label_names.get_mut(info.id as usize) {
                slot.clone_from(name);
            }
        }
        let func = ir::Function {
            name: f.name.name.clone(),
            params,
            locals: cx.locals.clone(),
            ret: ret.ir(),
            body,
            labels: cx.label_count,
            label_names,
            span: f.span,
        };
        (func, cx)
    }

    pub(super) fn declare_local(&mut self, name: &ast::Ident, ty: Ty) -> Option<LocalId> {
        let n = &name.name;
        if let Some(prev) = self.cx.scope.get(n).copied() {
            let line = self
                .cx
                .locals
                .get(prev as usize)
                .map_or_else(String::new, |l| self.line_of(l.span));
            self.error_help(
                name.span,
                format!("`{n}` is declared twice in this function"),
                format!(
                    "the first declaration is at {line}; local names are unique within a function"
                ),
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
            addressed: false,
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
            SK::DefineWait(n) | SK::DefineWakeQ(n) => {
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
        // `x->done` of a shared object is an array element (objects.rs).
        let s = &*self.objects_in_stmt(s);
        let span = s.span;
        let push = |out: &mut Vec<ir::Stmt>, kind| out.push(ir::Stmt { kind, span });
        const ATOMIC_HELP: &str =
            "an `atomic` block runs as one step: no `goto`, `break`, `continue` or `return` may leave it";
        match &s.kind {
            SK::Expr(e) => {
                if let Some((form, name, args)) = self.wait_event_call(e) {
                    self.wait_event(form, name, args, None, span, out);
                    return;
                }
                if let Some(args) = self.wake_up_q_call(e) {
                    self.wake_up_q(args, span, out);
                    return;
                }
                let hoisted = self.hoist_wait_event(e, out);
                let e = hoisted.as_ref().unwrap_or(e);
                let e = self.expr(e);
                push(out, ir::StmtKind::Expr(e.e));
            }
            SK::SleepUntil { call, until } => self.sleep_until(call, until, span, out),
            SK::Decl { ty, vars } => {
                let lty = self.ty_of(ty);
                if lty == Ty::Void {
                    self.error_help(ty.span, "a local cannot have type `void`", "use `int`");
                }
                for (name, init) in vars {
                    let id = match lty {
                        Ty::Struct(sid) => self.declare_struct_local(name, sid),
                        _ => self.declare_local(name, lty),
                    };
                    let Some(init) = init else { continue };
                    if let Ty::Struct(_) | Ty::Container(_) = lty {
                        self.error_help(
                            init.span,
                            format!(
                                "the struct `{}` cannot be initialized with a value",
                                name.name
                            ),
                            format!("set its fields one by one: `{}.FIELD = ...;`", name.name),
                        );
                        continue;
                    }
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
                    let hoisted = self.hoist_wait_event(init, out);
                    let v = self.value(hoisted.as_ref().unwrap_or(init));
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
            SK::DefineWait(name) => self.define_local_object(name, Ty::Entry, span, out),
            SK::DefineWakeQ(name) => self.define_local_object(name, Ty::WakeQ, span, out),
            SK::If {
                cond,
                then_branch,
                else_branch,
            } => {
                // `if (wait_event_interruptible(q, c) < 0)`: the wait, then the test.
                let hoisted = self.hoist_wait_event(cond, out);
                let c = self.cond(hoisted.as_ref().unwrap_or(cond), "`if`");
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
                        // `return wait_event_killable(q, c);`: the wait, then its value.
                        let hoisted = self.hoist_wait_event(v, out);
                        let x = self.value(hoisted.as_ref().unwrap_or(v));
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
                    let suggestion = if self.may_suggest() {
                        suggest(&label.name, self.cx.labels.keys().map(|k| k.as_str()))
                    } else {
                        None
                    };
                    let help = suggestion
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
                        format!("this is inside the `atomic` block at {line}; remove the inner `atomic`"),
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

    /// `schedule() until COND;`: the sleep, with what it waits for for the verdict oracle
    /// (a condition over shared variables, like a queue's `until`).
    /// `DEFINE_WAIT(name);` and `DEFINE_WAKE_Q(name);`: a local wait entry or wake_q
    /// head, initialised through its address where it is declared, as the kernel's
    /// macros expand (`init_wait(&name)`, `wake_q_init(&name)`).
    fn define_local_object(
        &mut self,
        name: &ast::Ident,
        ty: Ty,
        span: Span,
        out: &mut Vec<ir::Stmt>,
    ) {
        let Some(id) = self.declare_local(name, ty) else {
            return;
        };
        let (addr, ptr, init) = match ty {
            Ty::Entry => (
                ir::ExprKind::EntryAddr(id),
                Ty::EntryPtr,
                ir::Builtin::InitWait,
            ),
            _ => (
                ir::ExprKind::WakeQAddr(id),
                Ty::WakeQPtr,
                ir::Builtin::WakeQInit,
            ),
        };
        let addr = mk(addr, ptr, name.span);
        let e = mk(
            ir::ExprKind::Builtin {
                op: init,
                args: vec![addr.e],
            },
            Ty::Void,
            span,
        );
        out.push(ir::Stmt {
            kind: ir::StmtKind::Expr(e.e),
            span,
        });
    }

    fn sleep_until(
        &mut self,
        call: &ast::Expr,
        until: &ast::Expr,
        span: Span,
        out: &mut Vec<ir::Stmt>,
    ) {
        // `schedule() until !PG_locked[page];`: one sleep site per element, each with a
        // condition the oracle can evaluate.
        let parts = [call.clone(), until.clone()];
        if self.with_elements_stmt(&parts, span, out, &mut |ck, p, out| {
            ck.sleep_until(&p[0], &p[1], span, out)
        }) {
            return;
        }
        let io = match &call.kind {
            ast::ExprKind::Call { name, args }
                if matches!(name.name.as_str(), "schedule" | "io_schedule") =>
            {
                if !args.is_empty() {
                    // The call's own check says what is wrong with it.
                    let _ = self.expr(call);
                    return;
                }
                name.name == "io_schedule"
            }
            _ => {
                let _ = self.expr(call);
                self.error_help(
                    call.span,
                    "only a `schedule()` or `io_schedule()` statement can say what it waits for",
                    "write `schedule() until CONDITION;`, where CONDITION uses shared variables and constants",
                );
                return;
            }
        };
        let c = self.until_expr(until);
        self.truthy(&c, until.span, "a sleep's wake condition");
        let Ok(id) = u16::try_from(self.sleeps.len()) else {
            self.error(span, "too many `schedule() until` sleeps in one model");
            return;
        };
        self.sleeps.push(c.e);
        let e = mk(
            ir::ExprKind::Builtin {
                op: ir::Builtin::Schedule {
                    io,
                    until: Some(id),
                },
                args: Vec::new(),
            },
            Ty::Void,
            call.span,
        );
        out.push(ir::Stmt {
            kind: ir::StmtKind::Expr(e.e),
            span,
        });
    }

    fn loop_body(&mut self, body: &ast::Stmt, ret: Ty, fname: &str) -> Vec<ir::Stmt> {
        self.cx.loop_depth += 1;
        let b = self.sub(body, ret, fname);
        self.cx.loop_depth -= 1;
        b
    }
}
