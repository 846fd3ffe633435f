//! The realistic models in `tests/fixtures/valid/` check without errors, and their IR
//! has the shape the DSL reference promises.

use std::fs;
use std::path::Path;

use wqcheck_dsl::{check_model, parse_scenario, render_all, resolve_scenario};
use wqcheck_model::ir::{
    self, task, Builtin, EntryField, Expr, ExprKind, Loc, Ordering, Place, QueueKind, RmwOp, Stmt,
    StmtKind, Type, VarType,
};

fn load(name: &str) -> (String, ir::Program) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/valid")
        .join(name);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match check_model(name, &text) {
        Ok(p) => (text, p),
        Err(d) => panic!("{name} has errors:\n{}", render_all(&d, |_| text.as_str())),
    }
}

fn func<'p>(p: &'p ir::Program, name: &str) -> (u16, &'p ir::Function) {
    p.functions
        .iter()
        .enumerate()
        .find(|(_, f)| f.name == name)
        .map(|(i, f)| (i as u16, f))
        .unwrap_or_else(|| panic!("no function {name}"))
}

/// Every expression of a function body, in order.
fn exprs(body: &[Stmt]) -> Vec<&Expr> {
    fn expr<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
        out.push(e);
        match &e.kind {
            ExprKind::Unary(_, x) => expr(x, out),
            ExprKind::Binary(_, a, b) => {
                expr(a, out);
                expr(b, out);
            }
            ExprKind::Ternary(c, a, b) => {
                expr(c, out);
                expr(a, out);
                expr(b, out);
            }
            ExprKind::Assign { place, value, .. } => {
                if let Place::Field(x, _) = place {
                    expr(x, out);
                }
                expr(value, out);
            }
            ExprKind::Call { args, .. } | ExprKind::Builtin { args, .. } => {
                args.iter().for_each(|a| expr(a, out))
            }
            ExprKind::Field { entry, .. } => expr(entry, out),
            _ => {}
        }
    }
    fn stmts<'a>(body: &'a [Stmt], out: &mut Vec<&'a Expr>) {
        for s in body {
            match &s.kind {
                StmtKind::Expr(e) | StmtKind::Assert(e) | StmtKind::Return(Some(e)) => expr(e, out),
                StmtKind::If {
                    cond,
                    then_branch,
                    else_branch,
                } => {
                    expr(cond, out);
                    stmts(then_branch, out);
                    stmts(else_branch, out);
                }
                StmtKind::Loop {
                    cond, body, step, ..
                } => {
                    if let Some(c) = cond {
                        expr(c, out);
                    }
                    stmts(body, out);
                    if let Some(s) = step {
                        expr(s, out);
                    }
                }
                StmtKind::Atomic(b) | StmtKind::Block(b) => stmts(b, out),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    stmts(body, &mut out);
    out
}

/// The builtins a function calls, with their argument kinds.
fn builtins(f: &ir::Function) -> Vec<(Builtin, Vec<ExprKind>)> {
    exprs(&f.body)
        .into_iter()
        .filter_map(|e| match &e.kind {
            ExprKind::Builtin { op, args } => {
                Some((*op, args.iter().map(|a| a.kind.clone()).collect()))
            }
            _ => None,
        })
        .collect()
}

fn ops(f: &ir::Function) -> Vec<Builtin> {
    builtins(f).into_iter().map(|(b, _)| b).collect()
}

#[test]
fn page_lock_model() {
    let (text, p) = load("page-lock.wq");
    assert_eq!(p.source.name, "page-lock.wq");
    assert_eq!(p.source.text, text);
    let names: Vec<(&str, VarType, i32)> = p
        .vars
        .iter()
        .map(|v| (v.name.as_str(), v.ty, v.init))
        .collect();
    assert_eq!(
        names,
        vec![
            ("PG_locked", VarType::Bit, 1),
            ("PG_waiters", VarType::Bit, 0)
        ]
    );
    let q = p.queues.first().expect("queue q");
    assert_eq!((q.name.as_str(), q.kind), ("q", QueueKind::WaitQueue));
    assert!(matches!(
        q.until.as_ref().map(|e| &e.kind),
        Some(ExprKind::Unary(ir::UnOp::Not, x)) if matches!(x.kind, ExprKind::Shared(0))
    ));

    // wake_page_function: a wake function that tail-calls autoremove_wake_function.
    let (wpf_id, wpf) = func(&p, "wake_page_function");
    assert_eq!((wpf.params, wpf.ret), (4, Type::Int));
    assert_eq!(
        ops(wpf),
        vec![Builtin::TestBit(0), Builtin::AutoremoveWakeFunction]
    );

    // wake_up_page_bit: lock, locked walk with (TASK_NORMAL, 1), waitqueue_active, unlock.
    let (_, wupb) = func(&p, "wake_up_page_bit");
    let b = builtins(wupb);
    assert_eq!(
        b.iter().map(|(o, _)| *o).collect::<Vec<_>>(),
        vec![
            Builtin::SpinLock(0),
            Builtin::WakeUp {
                queue: 0,
                takes_lock: false
            },
            Builtin::WaitqueueActive(0),
            Builtin::ClearBit(1),
            Builtin::SpinUnlock(0),
        ]
    );
    assert!(
        b.first().is_some_and(|(_, a)| a.is_empty()),
        "flags are not an argument"
    );
    assert!(matches!(
        b.get(1).map(|(_, a)| a.as_slice()),
        Some([ExprKind::Const(m), ExprKind::Const(1)]) if *m == task::TASK_NORMAL
    ));

    // wait_on_page_bit_common: the entry, the wake function, the for(;;) loop.
    let (_, common) = func(&p, "wait_on_page_bit_common");
    assert_eq!(common.params, 2);
    let locals: Vec<(&str, Type)> = common
        .locals
        .iter()
        .map(|l| (l.name.as_str(), l.ty))
        .collect();
    assert_eq!(
        locals,
        vec![
            ("state", Type::Int),
            ("lock", Type::Bool),
            ("wait", Type::Entry),
            ("ret", Type::Int)
        ]
    );
    let all = exprs(&common.body);
    assert!(all.iter().any(|e| matches!(
        &e.kind,
        ExprKind::Assign { place: Place::Field(entry, EntryField::Func), value, .. }
            if matches!(entry.kind, ExprKind::EntryAddr(2)) && matches!(value.kind, ExprKind::FuncRef(id) if id == wpf_id)
    )));
    assert!(common.body.iter().any(|s| matches!(
        s.kind,
        StmtKind::Loop {
            cond: None,
            test_first: true,
            ..
        }
    )));
    let o = ops(common);
    for want in [
        Builtin::InitWait,
        Builtin::SpinLock(0),
        Builtin::ListEmpty,
        Builtin::AddWaitQueue {
            queue: 0,
            exclusive: true,
            tail: true,
            takes_lock: false,
        },
        Builtin::AddWaitQueue {
            queue: 0,
            exclusive: false,
            tail: false,
            takes_lock: false,
        },
        Builtin::SetBit(1),
        Builtin::SetCurrentState { barrier: true },
        Builtin::SpinUnlock(0),
        Builtin::Schedule { io: true },
        Builtin::SignalPendingState,
        Builtin::TestAndSetBit { var: 0, lock: true },
        Builtin::FinishWait(0),
    ] {
        assert!(o.contains(&want), "missing {want:?} in {o:?}");
    }
    // `ret = -EINTR` is a constant store.
    assert!(all.iter().any(|e| matches!(
        &e.kind,
        ExprKind::Assign { place: Place::Local(3), value, .. } if matches!(value.kind, ExprKind::Const(-4))
    )));

    let (_, unlock) = func(&p, "unlock_page");
    assert_eq!(
        ops(unlock),
        vec![Builtin::ClearBitUnlockIsNegativeByte {
            var: 0,
            negative: 1
        }]
    );
    let (_, trylock) = func(&p, "trylock_page");
    assert_eq!(trylock.ret, Type::Bool);
}

#[test]
fn page_lock_scenario_resolves() {
    let (_, program) = load("page-lock.wq");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/valid/page-lock.ron");
    let text = fs::read_to_string(path).unwrap_or_default();
    let file = parse_scenario("page-lock.ron", &text)
        .unwrap_or_else(|d| panic!("{}", render_all(&d, |_| text.as_str())));
    assert_eq!(file.model, "page-lock.wq");
    assert_eq!(
        text.get(file.model_span.start as usize..file.model_span.end as usize),
        Some("\"page-lock.wq\"")
    );
    let (_, locker) = func(&program, "locker");
    let locker_name = locker.name.clone();
    let inst = resolve_scenario("scenarios/page-lock.ron", &text, &file, program)
        .unwrap_or_else(|d| panic!("{}", render_all(&d, |_| text.as_str())));
    assert_eq!(inst.name, "scenarios/page-lock.ron");
    assert_eq!(inst.init, vec![(0, 1)]);
    let threads: Vec<(&str, &str)> = inst
        .threads
        .iter()
        .map(|t| {
            (
                t.name.as_str(),
                inst.program
                    .functions
                    .get(t.func as usize)
                    .map_or("?", |f| f.name.as_str()),
            )
        })
        .collect();
    assert_eq!(
        threads,
        vec![
            ("thread1", locker_name.as_str()),
            ("thread2", "locker"),
            ("thread3", "holder")
        ]
    );
    assert!(matches!(
        inst.actors.as_slice(),
        [ir::Actor::Signal { name, targets, fatal: true }] if name == "signal" && targets == &vec![0]
    ));
    assert_eq!(
        inst.bounds,
        ir::Bounds {
            max_states: Some(1_000_000),
            max_seconds: Some(60)
        }
    );
    assert_eq!(inst.expect, ir::Expectation::LostWakeup);
}

#[test]
fn check_then_sleep_model() {
    let (_, p) = load("check-then-sleep.wq");
    let (_, racy) = func(&p, "sleeper_racy");
    assert_eq!(
        ops(racy),
        vec![
            Builtin::InitWait,
            Builtin::Load {
                loc: Loc::Var(0),
                ord: Ordering::Relaxed
            },
            Builtin::PrepareToWait {
                queue: 0,
                exclusive: false
            },
            Builtin::Schedule { io: false },
            Builtin::FinishWait(0),
        ]
    );
    let (_, lockless) = func(&p, "waker_lockless");
    assert_eq!(
        ops(lockless),
        vec![
            Builtin::Store {
                loc: Loc::Var(0),
                ord: Ordering::Relaxed
            },
            Builtin::Fence(ir::Fence::Full),
            Builtin::WaitqueueActive(0),
            Builtin::WakeUp {
                queue: 0,
                takes_lock: true
            },
        ]
    );
}

#[test]
fn futex_mutex_model() {
    let (_, p) = load("futex-mutex.wq");
    let fq = p.queues.first().expect("futex queue");
    assert_eq!(
        (fq.name.as_str(), fq.kind),
        ("lock_word", QueueKind::Futex(0))
    );
    assert!(matches!(
        fq.until.as_ref().map(|e| &e.kind),
        Some(ExprKind::Binary(ir::BinOp::Eq, _, _))
    ));
    let (_, lock) = func(&p, "mutex_lock");
    assert_eq!(
        ops(lock),
        vec![
            Builtin::CmpXchg {
                loc: Loc::Var(0),
                ord: Ordering::SeqCst
            },
            Builtin::Rmw {
                loc: Loc::Var(0),
                op: RmwOp::Xchg,
                ord: Ordering::SeqCst
            },
            Builtin::FutexWait(0),
            Builtin::Rmw {
                loc: Loc::Var(0),
                op: RmwOp::Xchg,
                ord: Ordering::SeqCst
            },
        ]
    );
    let (_, unlock) = func(&p, "mutex_unlock");
    assert_eq!(
        ops(unlock),
        vec![
            Builtin::Rmw {
                loc: Loc::Var(0),
                op: RmwOp::Sub,
                ord: Ordering::SeqCst
            },
            Builtin::Store {
                loc: Loc::Var(0),
                ord: Ordering::Relaxed
            },
            Builtin::FutexWake(0),
        ]
    );
    let (_, worker) = func(&p, "worker");
    assert_eq!(worker.params, 1);
    assert!(exprs(&worker.body).iter().any(|e| matches!(
        e.kind,
        ExprKind::Assign {
            place: Place::Shared(1),
            op: Some(ir::BinOp::Add),
            post: true,
            ..
        }
    )));
    assert!(worker.body.iter().any(|s| matches!(
        &s.kind,
        StmtKind::Loop { step: Some(_), body, .. } if body.iter().any(|b| matches!(b.kind, StmtKind::Assert(_)))
    )));
}
