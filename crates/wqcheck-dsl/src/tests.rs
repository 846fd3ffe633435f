//! Unit tests of the checker: lowering of each builtin family and statement form, and
//! one test per class of error (messages and help).

use wqcheck_model::ir::{
    self, errno, task, BitRef, Builtin, EntryField, ExprKind, Fence, Loc, Ordering, Place, RmwOp,
    StmtKind, Type,
};

use crate::check_model;

const PRELUDE: &str = "\
bit B;
bit N;
int<0..3> X;
unsigned long W { WL = 1, WW };
waitqueue q until !B;
futex X until X == 0;
int wf(wait_queue_entry_t *w, unsigned mode, int sync, void *key) { return 0; }
";

/// Checks `PRELUDE` plus a function `t` whose body is `body`.
fn prog(body: &str) -> ir::Program {
    let src = format!(
        "{PRELUDE}void t(void)\n{{\n\tDEFINE_WAIT(wait);\n\twait_queue_entry_t *w = &wait;\n\
         \tunsigned long flags;\n\tint v;\n\tstruct task_struct *tk = current;\n{body}\n}}\n"
    );
    match check_model("t.wq", &src) {
        Ok(p) => p,
        Err(d) => panic!("unexpected errors: {d:#?}\n{src}"),
    }
}

fn func<'p>(p: &'p ir::Program, name: &str) -> &'p ir::Function {
    p.functions
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no function {name}"))
}

/// The builtin call of the last statement of `t` (an expression statement).
fn builtin(stmt: &str) -> (Builtin, Vec<ExprKind>, Type) {
    let p = prog(stmt);
    let t = func(&p, "t");
    let Some(last) = t.body.last() else {
        panic!("empty body")
    };
    let StmtKind::Expr(e) = &last.kind else {
        panic!("not an expression statement: {last:?}")
    };
    let ExprKind::Builtin { op, args } = &e.kind else {
        panic!("not a builtin: {e:?}")
    };
    (*op, args.iter().map(|a| a.kind.clone()).collect(), e.ty)
}

fn consts(args: &[ExprKind]) -> Vec<Option<i32>> {
    args.iter()
        .map(|a| match a {
            ExprKind::Const(v) => Some(*v),
            _ => None,
        })
        .collect()
}

/// All diagnostics (message + help) of a model that must fail.
fn errors(src: &str) -> Vec<String> {
    match check_model("e.wq", src) {
        Ok(_) => panic!("expected errors in:\n{src}"),
        Err(d) => d
            .into_iter()
            .map(|d| match d.help {
                Some(h) => format!("{} [help: {h}]", d.message),
                None => d.message,
            })
            .collect(),
    }
}

fn errors_in_body(body: &str) -> Vec<String> {
    errors(&format!(
        "{PRELUDE}void t(int a)\n{{\n\twait_queue_entry_t wait;\n\twait_queue_entry_t *w = &wait;\n\
         \tint flags;\n{body}\n}}\n"
    ))
}

#[track_caller]
fn assert_error(errs: &[String], needle: &str) {
    assert!(
        errs.iter().any(|e| e.contains(needle)),
        "no error containing {needle:?} in {errs:#?}"
    );
}

// ------------------------------------------------------------------ lowering

#[test]
fn bit_operations() {
    let b = BitRef { var: 0, bit: 0 };
    let n = BitRef { var: 1, bit: 0 };
    assert_eq!(builtin("test_bit(B);").0, Builtin::TestBit(b));
    assert_eq!(builtin("test_bit(&N);").0, Builtin::TestBit(n));
    assert_eq!(builtin("set_bit(B);").0, Builtin::SetBit(b));
    assert_eq!(builtin("clear_bit(B);").0, Builtin::ClearBit(b));
    assert_eq!(
        builtin("test_and_set_bit(B);").0,
        Builtin::TestAndSetBit {
            bit: b,
            lock: false
        }
    );
    let (op, args, ty) = builtin("test_and_set_bit_lock(B);");
    assert_eq!(op, Builtin::TestAndSetBit { bit: b, lock: true });
    assert!(args.is_empty());
    assert_eq!(ty, Type::Bool);
    assert_eq!(
        builtin("test_and_clear_bit(B);").0,
        Builtin::TestAndClearBit(b)
    );
    assert_eq!(
        builtin("clear_bit_unlock(B);").0,
        Builtin::ClearBitUnlock(b)
    );
}

#[test]
fn bits_of_a_word_are_one_location() {
    let (wl, ww) = (BitRef { var: 3, bit: 0 }, BitRef { var: 3, bit: 1 });
    let p = prog("");
    assert_eq!(p.vars[3].ty, ir::VarType::Word { bits: 2 });
    assert_eq!(p.vars[3].init, 1, "WL = 1 is bit 0");
    assert_eq!(builtin("test_bit(WW);").0, Builtin::TestBit(ww));
    assert_eq!(builtin("set_bit(&WW);").0, Builtin::SetBit(ww));
    assert_eq!(
        builtin("clear_bit_unlock_is_negative_byte(WL, WW);").0,
        Builtin::ClearBitUnlockIsNegativeByte {
            bit: wl,
            negative: ww
        }
    );
    // A plain read of a bit is a read of the word; the whole word is an int location.
    let (_, args, _) = builtin("WRITE_ONCE(X, WL);");
    assert!(matches!(args.as_slice(), [ExprKind::SharedBit(b)] if *b == wl));
    assert_eq!(
        builtin("atomic_fetch_or(&W, 2);").0,
        Builtin::Rmw {
            loc: Loc::Var(3),
            op: RmwOp::Or,
            ord: Ordering::Full
        }
    );
}

#[test]
fn bits_of_a_word_are_written_only_by_bit_operations() {
    let e = errors_in_body("\tWL = 0;");
    assert_error(&e, "cannot assign to `WL`: it is a bit of the word `W`");
    assert_error(&e, "set_bit(WL)");
    let e = errors_in_body("\tset_bit(W);");
    assert_error(&e, "`W` is a word; `set_bit` acts on one of its bits");
    let e = errors_in_body("\tREAD_ONCE(WL);");
    assert_error(&e, "`WL` is a bit of the word `W`");
    let e = errors("unsigned long E { };\n");
    assert_error(&e, "a word has 1 to 8 named bits");
}

#[test]
fn negative_byte_needs_two_bits_of_one_word() {
    let e = errors_in_body("\tclear_bit_unlock_is_negative_byte(B, N);");
    assert_error(&e, "needs `B` and `N` to be bits of one word");
    assert_error(&e, "unsigned long flags { B, N };");
    let e = errors_in_body("\tclear_bit_unlock_is_negative_byte(WL, WL);");
    assert_error(&e, "both arguments name the same bit");
}

#[test]
fn final_assertions_are_conditions_on_shared_state() {
    let p = check_model("f.wq", &format!("{PRELUDE}final assert(X + WL == 1);\n")).expect("checks");
    assert_eq!(p.finals.len(), 1);
    let e = errors(&format!(
        "{PRELUDE}final assert(wf(NULL, 0, 0, NULL) == 0);\n"
    ));
    // Named as what it is, not as a queue's wake condition (the checker shares the code).
    assert_error(&e, "calls are not allowed in a final assertion");
}

#[test]
fn atomics_on_variables() {
    let (op, args, ty) = builtin("READ_ONCE(X);");
    assert_eq!(
        op,
        Builtin::Load {
            loc: Loc::Var(2),
            ord: Ordering::Relaxed
        }
    );
    assert!(args.is_empty());
    assert_eq!(ty, Type::Int);
    assert_eq!(builtin("READ_ONCE(B);").2, Type::Bool);
    assert_eq!(
        builtin("smp_load_acquire(&X);").0,
        Builtin::Load {
            loc: Loc::Var(2),
            ord: Ordering::Acquire
        }
    );
    assert_eq!(
        builtin("atomic_read(&X);").0,
        Builtin::Load {
            loc: Loc::Var(2),
            ord: Ordering::Relaxed
        }
    );
    assert_eq!(
        builtin("atomic_load(&X, memory_order_acquire);").0,
        Builtin::Load {
            loc: Loc::Var(2),
            ord: Ordering::Acquire
        }
    );
    let (op, args, ty) = builtin("smp_store_release(&X, 2);");
    assert_eq!(
        op,
        Builtin::Store {
            loc: Loc::Var(2),
            ord: Ordering::Release
        }
    );
    assert_eq!(consts(&args), vec![Some(2)]);
    assert_eq!(ty, Type::Void);
    assert_eq!(
        builtin("WRITE_ONCE(X, 1);").0,
        Builtin::Store {
            loc: Loc::Var(2),
            ord: Ordering::Relaxed
        }
    );
    assert_eq!(
        builtin("atomic_set(&X, 1);").0,
        Builtin::Store {
            loc: Loc::Var(2),
            ord: Ordering::Relaxed
        }
    );
    assert_eq!(
        builtin("smp_store_mb(X, 1);").0,
        Builtin::Store {
            loc: Loc::Var(2),
            ord: Ordering::Full
        }
    );
    let (op, args, _) = builtin("atomic_store(&X, 3, memory_order_seq_cst);");
    assert_eq!(
        op,
        Builtin::Store {
            loc: Loc::Var(2),
            ord: Ordering::SeqCst
        }
    );
    assert_eq!(consts(&args), vec![Some(3)]);
    let (op, args, ty) = builtin("atomic_inc(&X);");
    assert_eq!(
        op,
        Builtin::Rmw {
            loc: Loc::Var(2),
            op: RmwOp::Add,
            ord: Ordering::Relaxed
        }
    );
    assert_eq!(consts(&args), vec![Some(1)]);
    assert_eq!(ty, Type::Void);
    assert_eq!(
        builtin("atomic_dec(&X);").0,
        Builtin::Rmw {
            loc: Loc::Var(2),
            op: RmwOp::Sub,
            ord: Ordering::Relaxed
        }
    );
    let cases = [
        ("atomic_xchg", RmwOp::Xchg),
        ("atomic_fetch_add", RmwOp::Add),
        ("atomic_fetch_sub", RmwOp::Sub),
        ("atomic_fetch_or", RmwOp::Or),
        ("atomic_fetch_and", RmwOp::And),
        ("atomic_fetch_andnot", RmwOp::AndNot),
    ];
    for (name, rop) in cases {
        for (suffix, ord) in [
            ("", Ordering::Full),
            ("_relaxed", Ordering::Relaxed),
            ("_acquire", Ordering::Acquire),
            ("_release", Ordering::Release),
        ] {
            let (op, args, ty) = builtin(&format!("{name}{suffix}(&X, 1);"));
            assert_eq!(
                op,
                Builtin::Rmw {
                    loc: Loc::Var(2),
                    op: rop,
                    ord
                },
                "{name}{suffix}"
            );
            assert_eq!(consts(&args), vec![Some(1)]);
            assert_eq!(ty, Type::Int);
        }
    }
    let (op, args, _) = builtin("atomic_cmpxchg(&X, 0, 1);");
    assert_eq!(
        op,
        Builtin::CmpXchg {
            loc: Loc::Var(2),
            ord: Ordering::Full
        }
    );
    assert_eq!(consts(&args), vec![Some(0), Some(1)]);
}

#[test]
fn atomics_on_entry_flags_put_the_entry_first() {
    let (op, args, _) = builtin("smp_load_acquire(&wait.flags);");
    assert_eq!(
        op,
        Builtin::Load {
            loc: Loc::EntryFlags,
            ord: Ordering::Acquire
        }
    );
    assert!(matches!(args.as_slice(), [ExprKind::EntryAddr(0)]));
    let (op, args, _) = builtin("smp_store_release(&w->flags, 0);");
    assert_eq!(
        op,
        Builtin::Store {
            loc: Loc::EntryFlags,
            ord: Ordering::Release
        }
    );
    assert!(matches!(
        args.as_slice(),
        [ExprKind::Local(1), ExprKind::Const(0)]
    ));
    let (_, args, _) = builtin("atomic_cmpxchg(&w->flags, 1, 2);");
    assert!(matches!(
        args.as_slice(),
        [ExprKind::Local(1), ExprKind::Const(1), ExprKind::Const(2)]
    ));
}

#[test]
fn fences() {
    for (name, f) in [
        ("smp_mb", Fence::Full),
        ("smp_rmb", Fence::Read),
        ("smp_wmb", Fence::Write),
        ("smp_mb__before_atomic", Fence::Full),
        ("smp_mb__after_atomic", Fence::Full),
        ("smp_mb__after_spinlock", Fence::Full),
        ("barrier", Fence::Compiler),
    ] {
        assert_eq!(
            builtin(&format!("{name}();")).0,
            Builtin::Fence(f),
            "{name}"
        );
    }
}

#[test]
fn task_builtins() {
    let (op, args, _) = builtin("set_current_state(TASK_KILLABLE);");
    assert_eq!(op, Builtin::SetCurrentState { barrier: true });
    assert_eq!(consts(&args), vec![Some(task::TASK_KILLABLE)]);
    assert_eq!(
        builtin("__set_current_state(TASK_RUNNING);").0,
        Builtin::SetCurrentState { barrier: false }
    );
    assert_eq!(
        builtin("schedule();").0,
        Builtin::Schedule {
            io: false,
            until: None
        }
    );
    assert_eq!(
        builtin("io_schedule();").0,
        Builtin::Schedule {
            io: true,
            until: None
        }
    );
    for src in [
        "signal_pending_state(TASK_INTERRUPTIBLE, current);",
        "signal_pending_state(TASK_INTERRUPTIBLE);",
    ] {
        let (op, args, ty) = builtin(src);
        assert_eq!(op, Builtin::SignalPendingState);
        assert_eq!(consts(&args), vec![Some(task::TASK_INTERRUPTIBLE)]);
        assert_eq!(ty, Type::Bool);
    }
    assert_eq!(
        builtin("signal_pending(current);").0,
        Builtin::SignalPending
    );
    assert_eq!(
        builtin("fatal_signal_pending(current);").0,
        Builtin::FatalSignalPending
    );
    let (op, args, _) = builtin("wake_up_process(w->private);");
    assert_eq!(op, Builtin::TryToWakeUp);
    assert!(matches!(
        args.as_slice(),
        [ExprKind::Field { field: EntryField::Private, .. }, ExprKind::Const(c)] if *c == task::TASK_NORMAL
    ));
    let (op, args, _) = builtin("try_to_wake_up(tk, TASK_NORMAL, 0);");
    assert_eq!(op, Builtin::TryToWakeUp);
    assert!(matches!(
        args.as_slice(),
        [ExprKind::Local(4), ExprKind::Const(3)]
    ));
    let (op, args, _) = builtin("wake_up_state(current, TASK_INTERRUPTIBLE);");
    assert_eq!(op, Builtin::TryToWakeUp);
    assert!(matches!(
        args.as_slice(),
        [ExprKind::Current, ExprKind::Const(1)]
    ));
}

#[test]
fn wait_queue_builtins() {
    for s in [
        "spin_lock(&q->lock);",
        "spin_lock_irq(&q->lock);",
        "spin_lock_irqsave(&q->lock, flags);",
    ] {
        let (op, args, _) = builtin(s);
        assert_eq!(op, Builtin::SpinLock(0), "{s}");
        assert!(args.is_empty());
    }
    for s in [
        "spin_unlock(&q->lock);",
        "spin_unlock_irq(&q->lock);",
        "spin_unlock_irqrestore(&q->lock, flags);",
    ] {
        assert_eq!(builtin(s).0, Builtin::SpinUnlock(0), "{s}");
    }
    let (op, args, _) = builtin("init_wait(&wait);");
    assert_eq!(op, Builtin::InitWait);
    assert!(matches!(args.as_slice(), [ExprKind::EntryAddr(0)]));
    let add = |exclusive, tail, takes_lock| Builtin::AddWaitQueue {
        queue: 0,
        exclusive,
        tail,
        takes_lock,
    };
    assert_eq!(
        builtin("__add_wait_queue(q, &wait);").0,
        add(false, false, false)
    );
    assert_eq!(
        builtin("__add_wait_queue_entry_tail(&q, w);").0,
        add(false, true, false)
    );
    assert_eq!(
        builtin("__add_wait_queue_exclusive(q, w);").0,
        add(true, false, false)
    );
    assert_eq!(
        builtin("__add_wait_queue_entry_tail_exclusive(q, w);").0,
        add(true, true, false)
    );
    assert_eq!(builtin("add_wait_queue(q, w);").0, add(false, false, true));
    assert_eq!(
        builtin("add_wait_queue_exclusive(q, w);").0,
        add(true, true, true)
    );
    assert_eq!(
        builtin("remove_wait_queue(q, w);").0,
        Builtin::RemoveWaitQueue(0)
    );
    for (s, careful) in [
        ("list_del_init(&w->entry);", false),
        ("list_del_init_careful(&wait.entry);", true),
    ] {
        let (op, args, _) = builtin(s);
        assert_eq!(op, Builtin::ListDelInit { careful });
        assert_eq!(args.len(), 1);
    }
    assert_eq!(
        builtin("list_empty(&w->entry);").0,
        Builtin::ListEmpty { careful: false }
    );
    assert_eq!(
        builtin("list_empty_careful(&w->entry);").0,
        Builtin::ListEmpty { careful: true }
    );
    assert_eq!(builtin("list_empty_careful(&w->entry);").2, Type::Bool);
    let (op, args, _) = builtin("prepare_to_wait_exclusive(q, &wait, TASK_INTERRUPTIBLE);");
    assert_eq!(
        op,
        Builtin::PrepareToWait {
            queue: 0,
            exclusive: true
        }
    );
    assert!(matches!(
        args.as_slice(),
        [ExprKind::EntryAddr(0), ExprKind::Const(1)]
    ));
    assert_eq!(
        builtin("prepare_to_wait(q, w, TASK_UNINTERRUPTIBLE);").0,
        Builtin::PrepareToWait {
            queue: 0,
            exclusive: false
        }
    );
    assert_eq!(builtin("finish_wait(q, w);").0, Builtin::FinishWait(0));
    assert_eq!(
        builtin("waitqueue_active(q);").0,
        Builtin::WaitqueueActive(0)
    );
    assert_eq!(builtin("wq_has_sleeper(&q);").0, Builtin::WqHasSleeper(0));
}

#[test]
fn wake_up_family_supplies_constants() {
    let locked = Builtin::WakeUp {
        queue: 0,
        takes_lock: true,
    };
    let unlocked = Builtin::WakeUp {
        queue: 0,
        takes_lock: false,
    };
    let n = task::TASK_NORMAL;
    let i = task::TASK_INTERRUPTIBLE;
    for (src, op, want) in [
        ("wake_up(q);", locked, vec![Some(n), Some(1), Some(0)]),
        ("wake_up_nr(q, 2);", locked, vec![Some(n), Some(2), Some(0)]),
        ("wake_up_all(q);", locked, vec![Some(n), Some(0), Some(0)]),
        (
            "wake_up_interruptible(q);",
            locked,
            vec![Some(i), Some(1), Some(0)],
        ),
        (
            "__wake_up(q, TASK_NORMAL, 3, NULL);",
            locked,
            vec![Some(n), Some(3), Some(0)],
        ),
        (
            "__wake_up_locked(q, TASK_INTERRUPTIBLE, 0);",
            unlocked,
            vec![Some(i), Some(0), Some(0)],
        ),
        (
            "__wake_up_locked_key(q, TASK_NORMAL, NULL);",
            unlocked,
            vec![Some(n), Some(1), Some(0)],
        ),
    ] {
        let (got, args, ty) = builtin(src);
        assert_eq!(got, op, "{src}");
        assert_eq!(consts(&args), want, "{src}");
        assert_eq!(ty, Type::Void);
    }
}

#[test]
fn wake_functions_and_futexes() {
    let (op, args, ty) = builtin("autoremove_wake_function(w, TASK_NORMAL, 0, NULL);");
    assert_eq!(op, Builtin::AutoremoveWakeFunction);
    assert!(matches!(
        args.as_slice(),
        [ExprKind::Local(1), ExprKind::Const(3)]
    ));
    assert_eq!(ty, Type::Int);
    assert_eq!(
        builtin("default_wake_function(w, TASK_NORMAL);").0,
        Builtin::DefaultWakeFunction
    );
    let (op, args, _) = builtin("futex_wait(&X, 2);");
    assert_eq!(op, Builtin::FutexWait(1));
    assert_eq!(consts(&args), vec![Some(2)]);
    assert_eq!(builtin("futex_wake(X, 1);").0, Builtin::FutexWake(1));
}

#[test]
fn define_wait_declares_an_entry_and_calls_init_wait() {
    let p = prog("");
    let t = func(&p, "t");
    assert_eq!(t.locals.first().map(|l| l.ty), Some(Type::Entry));
    let Some(StmtKind::Expr(e)) = t.body.first().map(|s| &s.kind) else {
        panic!("no init_wait")
    };
    assert!(matches!(
        &e.kind,
        ExprKind::Builtin { op: Builtin::InitWait, args } if matches!(args.as_slice(), [a] if matches!(a.kind, ExprKind::EntryAddr(0)))
    ));
}

#[test]
fn program_shape() {
    let p = prog("");
    assert_eq!(p.vars.len(), 4);
    assert_eq!(
        p.vars.get(2).map(|v| v.ty),
        Some(ir::VarType::Int { min: 0, max: 3 })
    );
    assert_eq!(p.queues.len(), 2);
    assert_eq!(
        p.queues.get(1).map(|q| q.kind),
        Some(ir::QueueKind::Futex(2))
    );
    assert!(matches!(
        p.queues.first().and_then(|q| q.until.as_ref()).map(|e| &e.kind),
        Some(ExprKind::Unary(ir::UnOp::Not, x)) if matches!(x.kind, ExprKind::Shared(0))
    ));
    let wf = func(&p, "wf");
    assert_eq!(wf.params, 4);
    assert_eq!(wf.ret, Type::Int);
    assert_eq!(p.source.name, "t.wq");
}

#[test]
fn statements_lower_as_documented() {
    let p = prog(
        "\tfor (int i = 0; i < 2; i++) { if (i == 1) continue; v += i; }\n\
         \tdo { v--; } while (v > 0);\n\
         \tfor (;;) { break; }\n\
         \tgoto out;\n\
         \tatomic { v = X; X = v + 1; }\n\
         out:\n\
         \tassert(v >= 0);\n\
         \twait.func = wf;\n\
         \tif (w->func == autoremove_wake_function) v = -EINTR;\n",
    );
    let t = func(&p, "t");
    assert_eq!(t.labels, 1);
    let kinds: Vec<&StmtKind> = t.body.iter().map(|s| &s.kind).collect();
    // init_wait, w = &wait, tk = current, i = 0, loop, do-while, for(;;), goto, atomic,
    // label, assert, func store, if
    assert_eq!(kinds.len(), 13, "{kinds:#?}");
    assert!(matches!(kinds.get(3), Some(StmtKind::Expr(_))));
    assert!(matches!(
        kinds.get(4),
        Some(StmtKind::Loop {
            cond: Some(_),
            test_first: true,
            step: Some(_),
            ..
        })
    ));
    assert!(matches!(
        kinds.get(5),
        Some(StmtKind::Loop {
            test_first: false,
            step: None,
            ..
        })
    ));
    assert!(matches!(
        kinds.get(6),
        Some(StmtKind::Loop { cond: None, .. })
    ));
    assert!(matches!(kinds.get(7), Some(StmtKind::Goto(0))));
    assert!(matches!(kinds.get(8), Some(StmtKind::Atomic(b)) if b.len() == 2));
    assert!(matches!(kinds.get(9), Some(StmtKind::Label(0))));
    assert!(matches!(kinds.get(10), Some(StmtKind::Assert(_))));
    let Some(StmtKind::Expr(store)) = kinds.get(11) else {
        panic!()
    };
    assert!(matches!(
        &store.kind,
        ExprKind::Assign { place: Place::Field(e, EntryField::Func), value, .. }
            if matches!(e.kind, ExprKind::EntryAddr(0)) && matches!(value.kind, ExprKind::FuncRef(0))
    ));
    let Some(StmtKind::If {
        cond, then_branch, ..
    }) = kinds.get(12)
    else {
        panic!()
    };
    assert_eq!(cond.ty, Type::Bool);
    let Some(StmtKind::Expr(assign)) = then_branch.first().map(|s| &s.kind) else {
        panic!()
    };
    assert!(matches!(
        &assign.kind,
        ExprKind::Assign { value, .. } if matches!(value.kind, ExprKind::Const(c) if c == -errno::EINTR)
    ));
}

#[test]
fn expressions_are_typed() {
    let p = prog("\tv = X + 1 < 2 ? tk == current : !B;\n\tv++;\n");
    let t = func(&p, "t");
    let Some(StmtKind::Expr(e)) = t.body.get(3).map(|s| &s.kind) else {
        panic!()
    };
    assert_eq!(e.ty, Type::Int);
    let ExprKind::Assign {
        value,
        post: false,
        op: None,
        ..
    } = &e.kind
    else {
        panic!()
    };
    let ExprKind::Ternary(c, a, b) = &value.kind else {
        panic!()
    };
    assert_eq!((c.ty, a.ty, b.ty), (Type::Bool, Type::Bool, Type::Bool));
    let Some(StmtKind::Expr(inc)) = t.body.get(4).map(|s| &s.kind) else {
        panic!()
    };
    assert!(matches!(
        inc.kind,
        ExprKind::Assign {
            op: Some(ir::BinOp::Add),
            post: true,
            ..
        }
    ));
}

#[test]
fn constants_fold_and_ranges() {
    let p = check_model(
        "c.wq",
        "const int N = 2 * 3 - 1;\nconst int M = N << 1;\nint<-N..M> x = -5;\nbool b = true;\nint<0..255> wide = 255;\n",
    )
    .unwrap_or_else(|d| panic!("{d:?}"));
    assert_eq!(
        p.vars.first().map(|v| (v.ty, v.init)),
        Some((ir::VarType::Int { min: -5, max: 10 }, -5))
    );
    assert_eq!(p.vars.get(1).map(|v| v.init), Some(1));
}

// ------------------------------------------------------------------ errors

#[test]
fn unknown_names() {
    let e =
        errors_in_body("\tspin_lock(&r->lock);\n\twake_upp(q);\n\tfoo();\n\tv = 1;\n\tlockk();");
    assert_error(&e, "unknown queue `r` [help: declared wait queues: q]");
    assert_error(
        &e,
        "unknown function or builtin `wake_upp` [help: did you mean `wake_up`?]",
    );
    assert_error(&e, "unknown function or builtin `foo`");
    assert_error(&e, "undeclared variable `v`");
    assert_eq!(e.len(), 5, "{e:#?}");
}

#[test]
fn argument_counts_show_the_signature() {
    let e = errors_in_body("\twake_up(q, 1);\n\twf(w);\n\tsignal_pending_state();");
    assert_error(
        &e,
        "`wake_up` takes 1 argument but 2 were given [help: the signature is `wake_up(q)`]",
    );
    assert_error(
        &e,
        "`wf` takes 4 arguments but 1 was given [help: the signature is `int wf(wait_queue_entry_t *w, int mode, int sync, void *key)`]",
    );
    assert_error(
        &e,
        "`signal_pending_state` takes 1 to 2 arguments but 0 were given",
    );
    assert_eq!(e.len(), 3, "{e:#?}");
}

#[test]
fn argument_kinds() {
    let e = errors_in_body(
        "\tinit_wait(wait);\n\ttest_bit(q);\n\ttest_bit(X);\n\tspin_lock(q);\n\twake_up(&q->lock);\n\
         \tlist_empty(w);\n\tsignal_pending(a);\n\tatomic_load(&X, 2);\n\tspin_lock_irqsave(&q->lock, X);\n\
         \twake_up_process(a);\n\tREAD_ONCE(a);\n\ttry_to_wake_up(current, 1, a++);",
    );
    assert_error(
        &e,
        "found the wait entry `wait` itself [help: write `&wait`]",
    );
    assert_error(
        &e,
        "`q` is a wait queue; `test_bit` needs a shared `bit` variable",
    );
    assert_error(
        &e,
        "`X` is an `int<0..3>`; `test_bit` needs a `bit` variable",
    );
    assert_error(
        &e,
        "`spin_lock` takes a wait queue's lock [help: write `&q->lock`",
    );
    assert_error(
        &e,
        "`wake_up` takes the wait queue itself, not its lock [help: write `q`",
    );
    assert_error(
        &e,
        "`list_empty` takes an entry's list node [help: write `&w->entry`]",
    );
    assert_error(&e, "`signal_pending` can only test the current task");
    assert_error(&e, "expected a memory ordering constant");
    assert_error(
        &e,
        "the `flags` argument of `spin_lock_irqsave` must be an `int` local variable",
    );
    assert_error(&e, "`wake_up_process` needs a task, found `int`");
    assert_error(
        &e,
        "`a` is a local variable; `READ_ONCE` needs a shared variable",
    );
    assert_error(
        &e,
        "this argument is ignored by the model, so it must not have side effects",
    );
    assert_eq!(e.len(), 12, "{e:#?}");
}

#[test]
fn control_flow_placement() {
    let e = errors_in_body(
        "\tbreak;\n\tcontinue;\n\twhile (a) { atomic { break; } }\n\tatomic { while (a) { break; } }\n\
         \tatomic { return; }\n\tatomic { atomic { a = 1; } }\n\tgoto inside;\n\tatomic { inside: a = 2; goto out; }\n\
         \tgoto nowhere;\nout:\n\t;\nout:\n\t;",
    );
    assert_error(&e, "`break` outside of a loop");
    assert_error(&e, "`continue` outside of a loop");
    assert_error(&e, "`break` would leave the `atomic` block");
    assert_error(&e, "`return` inside an `atomic` block");
    assert_error(&e, "`atomic` blocks do not nest");
    assert_error(&e, "`goto` into an `atomic` block");
    assert_error(&e, "`goto` out of an `atomic` block");
    assert_error(&e, "undefined label `nowhere`");
    assert_error(&e, "label `out` is defined twice");
    assert_eq!(e.len(), 9, "{e:#?}");
}

#[test]
fn returns_match_the_function_type() {
    let e = errors("int f(void) { return; }\nvoid g(void) { return 1; }\nint h(void) { return h2(); }\nvoid h2(void) {}\n");
    assert_error(&e, "`f` returns `int`, but this `return` has no value");
    assert_error(&e, "`g` returns `void`, but this `return` has a value");
    assert_error(&e, "this expression has no value (it is `void`)");
}

#[test]
fn recursion_reports_the_cycle() {
    let e = errors("int a(void) { return b(); }\nint b(void) { return c(); }\nint c(void) { return a(); }\nvoid d(void) { d(); }\n");
    assert_error(
        &e,
        "recursion is not allowed: `a` calls `b` calls `c` calls `a`",
    );
    assert_error(&e, "recursion is not allowed: `d` calls itself");
    assert_eq!(e.len(), 2, "{e:#?}");
}

#[test]
fn nested_atomic_through_calls() {
    let e =
        errors("bit x;\nvoid g(void) { atomic { x = 1; } }\nvoid f(void) { atomic { g(); } }\n");
    assert_error(
        &e,
        "`g` contains an `atomic` block and is called inside one",
    );
}

#[test]
fn duplicates_and_reserved_names() {
    let e = errors(
        "bit x;\nint<0..1> x;\nwaitqueue wake_up;\nconst int TASK_RUNNING = 1;\nvoid f(int a) { int a; int q2; int q2; }\nwaitqueue q;\nvoid g(void) { int q; }\n",
    );
    assert_error(&e, "`x` is declared twice");
    assert_error(&e, "`wake_up` is a builtin and cannot be redeclared");
    assert_error(&e, "`TASK_RUNNING` is a predefined constant");
    assert_error(&e, "`a` is declared twice in this function");
    assert_error(&e, "`q2` is declared twice in this function");
    assert_error(&e, "local `q` shadows the global wait queue `q`");
}

#[test]
fn ranges_and_initial_values() {
    let e = errors(
        "int<0..256> a;\nint<3..1> b;\nint<0..3> c = 4;\nbit d = 2;\nint<1..2> e;\nint f;\nconst int Z = 1 / 0;\n",
    );
    assert_error(
        &e,
        "the range 0..256 has 257 values; at most 256 are allowed",
    );
    assert_error(&e, "empty range: 3 is greater than 1");
    assert_error(&e, "initial value 4 of `c` is out of range (int<0..3>)");
    assert_error(&e, "initial value 2 of `d` is out of range (a bit: 0 or 1)");
    assert_error(&e, "`e` starts at 0, which is out of range (int<1..2>)");
    assert_error(&e, "shared variable `f` needs a range");
    assert_error(&e, "division by zero in constant expression");
}

#[test]
fn assignments_to_read_only_places() {
    let e = errors_in_body("\tTASK_RUNNING = 1;\n\tw->private = current;\n\twait = *w;\n\tq = 1;");
    assert_error(
        &e,
        "cannot assign to the predefined constant `TASK_RUNNING`",
    );
    assert_error(&e, "cannot assign to `wait->private`: it is read-only");
    assert_error(&e, "cannot assign to the wait entry `wait`");
    assert_error(&e, "cannot assign to `q`: it is a wait queue");
    let e = errors("const int N = 1;\nvoid f(void) { N = 2; }\n");
    assert_error(&e, "cannot assign to the constant `N`");
}

#[test]
fn futex_needs_a_declaration() {
    let e = errors("int<0..2> m;\nvoid f(void) { futex_wait(&m, 1); futex_wake(&m, 1); }\n");
    assert_error(
        &e,
        "`m` has no futex queue [help: declare one at top level: `futex m until CONDITION;`",
    );
    assert_eq!(e.len(), 2);
    let e = errors("futex nope until 1;\nwaitqueue q;\nfutex q until 1;\n");
    assert_error(&e, "undeclared variable `nope` in futex declaration");
    assert_error(
        &e,
        "`q` is a wait queue, but a futex belongs to a shared variable",
    );
}

#[test]
fn wake_conditions_are_pure() {
    let e = errors(
        "bit b;\nint<0..2> n;\nvoid f(void) {}\nwaitqueue q1 until test_bit(b);\nwaitqueue q2 until f;\nwaitqueue q3 until current;\nwaitqueue q4 until n = 1;\nwaitqueue q5 until q1;\nwaitqueue ok until !b && n == 2 ? 1 : b;\n",
    );
    assert_error(&e, "calls are not allowed in a wake condition [help: a wake condition may use only shared variables, constants and operators: write `b` instead of `test_bit(b)`]");
    assert_error(&e, "`f` (a function) cannot be used in a wake condition");
    assert_error(&e, "`current` cannot be used in a wake condition");
    assert_error(&e, "an assignment cannot be used in a wake condition");
    assert_error(&e, "`q1` (a wait queue) cannot be used in a wake condition");
    assert_eq!(e.len(), 5, "{e:#?}");
}

#[test]
fn wake_function_signatures() {
    let e = errors(
        "int notwake(int a) { return a; }\nvoid wrongret(wait_queue_entry_t *w, unsigned mode) {}\n\
         int ok2(wait_queue_entry_t *w, unsigned mode) { return 1; }\n\
         void f(void) { DEFINE_WAIT(w); w.func = notwake; w.func = wrongret; w.func = wake_up; w.func = ok2; w.func = default_wake_function; }\n",
    );
    assert_error(&e, "`notwake` is not a wake function [help: a wake function has the signature `int f(wait_queue_entry_t *wait, unsigned mode, int sync, void *key)`");
    assert_error(&e, "`wrongret` is not a wake function");
    assert_error(&e, "`wake_up` is not a wake function");
    assert_eq!(e.len(), 3, "{e:#?}");
}

#[test]
fn entry_misuse() {
    let e = errors_in_body(
        "\ta = &a;\n\tw = w + 1;\n\ta = w;\n\ta = &X;\n\tw->flags = w;\n\tw.flags = 1;\n\twait->flags = 1;\n\
         \ta = w->entry;\n\ta = w->flag;\n\ta = wait;\n\ta = *w;\n\tw = &wait + 1;",
    );
    assert_error(&e, "cannot take the address of `a`: it is not a wait entry");
    assert_error(&e, "arithmetic on a wait entry pointer is not allowed");
    assert_error(
        &e,
        "mismatched types in the assignment: expected `int`, found `wait_queue_entry_t *`",
    );
    assert_error(&e, "cannot take the address of the shared variable `X`");
    assert_error(
        &e,
        "`w` is a pointer: its fields are reached with `->` [help: write `->flags`]",
    );
    assert_error(
        &e,
        "`wait` is a wait entry, not a pointer [help: write `wait.flags`]",
    );
    assert_error(&e, "`->entry` is the list node of a wait entry");
    assert_error(
        &e,
        "a wait entry has no field `flag` [help: did you mean `flags`?]",
    );
    assert_error(
        &e,
        "`wait` is a wait entry, not a value [help: write `&wait` for a pointer to it]",
    );
    assert_error(&e, "pointer dereference `*p` is not supported");
    assert_eq!(e.len(), 12, "{e:#?}");
}

#[test]
fn all_problems_are_reported_sorted() {
    let src = "void f(void) { x = 1; }\nvoid g(void) { break; }\nvoid h(void) { y(); }\n";
    let Err(d) = check_model("m.wq", src) else {
        panic!()
    };
    assert_eq!(d.len(), 3);
    assert!(d.windows(2).all(|w| w[0].span.start <= w[1].span.start));
    assert!(d.iter().all(|x| x.file == "m.wq"));
}

#[test]
fn syntax_errors_are_reported_alone() {
    let Err(d) = check_model(
        "m.wq",
        "void f(void) { x = 1 }\nvoid g(void) { undeclared(); }\n",
    ) else {
        panic!()
    };
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(d[0].message.contains("expected `;`"));
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    for n in [199usize, 201, 100_000] {
        let src = format!(
            "int f(void) {{ return {}1{}; }}",
            "(".repeat(n),
            ")".repeat(n)
        );
        let r = check_model("deep.wq", &src);
        if n < 200 {
            assert!(r.is_ok(), "{n}: {:?}", r.err());
        } else {
            let d = r.err().unwrap_or_default();
            assert!(
                d.iter().any(|x| x.message.contains("nesting too deep")),
                "{n}"
            );
        }
    }
    let src = format!("int f(void) {{ return 1{}; }}", " + 1".repeat(100_000));
    assert!(check_model("long.wq", &src).is_err());
    let src = format!("void f(void) {{ {} }}", "if (1) ".repeat(300));
    assert!(check_model("ifs.wq", &src).is_err());
}
