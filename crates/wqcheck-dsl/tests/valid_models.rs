//! The realistic models in `tests/fixtures/valid/` check without errors, and their IR
//! has the shape the DSL reference promises.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use wqcheck_dsl::{check_model, parse_scenario, render_all, resolve_scenario};
use wqcheck_model::ir::{
    self, task, BitRef, Builtin, EntryField, Expr, ExprKind, Loc, Ordering, Place, QueueKind,
    RmwOp, Stmt, StmtKind, Type, VarType,
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
                if let Place::Field(x, _) | Place::FrameField(x, _) = place {
                    expr(x, out);
                }
                expr(value, out);
            }
            ExprKind::Call { args, .. } | ExprKind::Builtin { args, .. } => {
                args.iter().for_each(|a| expr(a, out))
            }
            ExprKind::Field { entry, .. } => expr(entry, out),
            ExprKind::Select { index, arms, .. } => {
                expr(index, out);
                arms.iter().for_each(|a| expr(a, out));
            }
            ExprKind::FrameField { ptr, .. } => expr(ptr, out),
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
/// The shared variables: name, type, initial value.
fn var_table(p: &ir::Program) -> Vec<(&str, VarType, ir::Value)> {
    p.vars
        .iter()
        .map(|v| (v.name.as_str(), v.ty, v.init))
        .collect()
}

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
    assert_eq!(names, vec![("page_flags", VarType::Word { bits: 2 }, 1)]);
    let bits: Vec<&str> = p.vars[0].bits.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(bits, ["PG_locked", "PG_waiters"]);
    let (locked, waiters) = (BitRef { var: 0, bit: 0 }, BitRef { var: 0, bit: 1 });
    let q = p.queues.first().expect("queue q");
    assert_eq!((q.name.as_str(), q.kind), ("q", QueueKind::WaitQueue));
    assert!(matches!(
        q.until.as_ref().map(|e| &e.kind),
        Some(ExprKind::Unary(ir::UnOp::Not, x)) if matches!(x.kind, ExprKind::SharedBit(b) if b == locked)
    ));

    // wake_page_function: a wake function that tail-calls autoremove_wake_function.
    let (wpf_id, wpf) = func(&p, "wake_page_function");
    assert_eq!((wpf.params, wpf.ret), (4, Type::Int));
    assert_eq!(
        ops(wpf),
        vec![Builtin::TestBit(locked), Builtin::AutoremoveWakeFunction]
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
            Builtin::ClearBit(waiters),
            Builtin::SpinUnlock(0),
        ]
    );
    assert!(
        b.first().is_some_and(|(_, a)| a.is_empty()),
        "flags are not an argument"
    );
    assert!(matches!(
        b.get(1).map(|(_, a)| a.as_slice()),
        Some([ExprKind::Const(m), ExprKind::Const(1), ExprKind::Const(0)]) if *m == task::TASK_NORMAL
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
        Builtin::ListEmpty { careful: false },
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
        Builtin::SetBit(waiters),
        Builtin::SetCurrentState { barrier: true },
        Builtin::SpinUnlock(0),
        Builtin::Schedule {
            io: true,
            until: None,
        },
        Builtin::SignalPendingState,
        Builtin::TestAndSetBit {
            bit: locked,
            lock: true,
        },
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
            bit: locked,
            negative: waiters
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
        [ir::Actor::Signal { name, targets, fatal: true, after: None }] if name == "signal" && targets == &vec![0]
    ));
    assert_eq!(
        inst.bounds,
        ir::Bounds {
            max_states: Some(1_000_000),
            max_seconds: Some(60),
            max_memory_mib: None,
        }
    );
    assert_eq!(inst.expect, ir::Expectation::LostWakeup);
}

/// The text `span` covers.
fn spanned(text: &str, span: ir::Span) -> &str {
    text.get(span.start as usize..span.end as usize)
        .unwrap_or("<bad span>")
}

/// The scenario's `backends`, each with the text its span covers.
fn backend_names<'a>(
    text: &'a str,
    file: &wqcheck_dsl::ScenarioFile,
) -> Vec<(ir::Backend, &'a str)> {
    file.backends
        .iter()
        .flatten()
        .map(|(b, s)| (*b, spanned(text, *s)))
        .collect()
}

/// Parses and resolves `text` against `page-lock.wq`, panicking with the diagnostics.
fn resolve_page_lock(text: &str) -> (wqcheck_dsl::ScenarioFile, ir::Instance) {
    let (_, program) = load("page-lock.wq");
    let file =
        parse_scenario("s.ron", text).unwrap_or_else(|d| panic!("{}", render_all(&d, |_| text)));
    let inst = resolve_scenario("s.ron", text, &file, program)
        .unwrap_or_else(|d| panic!("{}", render_all(&d, |_| text)));
    (file, inst)
}

#[test]
fn scenario_backends_and_loom_settings() {
    let text = r#"Scenario(
    model: "page-lock.wq",
    threads: [Thread(name: "thread1", run: "locker"), Thread(name: "thread2", run: "holder", args: [])],
    backends: [Loom, /* both */ Native],
    loom: (
        expect: Deadlock,
        max_preemptions: 10,
        exhaustive: true,
        max_branches: 20000,
        max_seconds: 90,
    ),
    expect: LostWakeup,
)"#;
    let (file, inst) = resolve_page_lock(text);
    let names = backend_names(text, &file);
    assert_eq!(
        names,
        vec![(ir::Backend::Loom, "Loom"), (ir::Backend::Native, "Native")]
    );
    assert_eq!(
        spanned(text, file.backends_span),
        "[Loom, /* both */ Native]"
    );
    assert_eq!(spanned(text, file.loom.max_preemptions_span), "10");
    assert_eq!(spanned(text, file.loom.max_branches_span), "20000");

    assert_eq!(inst.backends, vec![ir::Backend::Loom, ir::Backend::Native]);
    assert_eq!(
        inst.loom,
        ir::LoomSettings {
            expect: Some(ir::Expectation::Deadlock),
            max_preemptions: Some(10),
            exhaustive: true,
            max_branches: Some(20000),
            max_seconds: Some(90),
        }
    );
    assert_eq!(inst.expect, ir::Expectation::LostWakeup);
    assert_eq!(
        inst.expect_on(ir::Backend::Native),
        ir::Expectation::LostWakeup
    );
    assert_eq!(inst.expect_on(ir::Backend::Loom), ir::Expectation::Deadlock);
    // `loom` does not set shuttle's settings.
    assert_eq!(inst.shuttle, ir::ShuttleSettings::default());
    assert_eq!(
        inst.expect_on(ir::Backend::Shuttle),
        ir::Expectation::LostWakeup
    );
    // The scenario's `bounds` are not touched by `loom.max_seconds`.
    assert_eq!(inst.bounds, ir::Bounds::default());
    assert_eq!(
        spanned(text, inst.threads_span),
        r#"[Thread(name: "thread1", run: "locker"), Thread(name: "thread2", run: "holder", args: [])]"#
    );

    // `loom.expect` without `Loom` among the backends is allowed (the command line may
    // still select loom); a partial `loom` leaves the other fields unset.
    let text = r#"Scenario(
    model: "page-lock.wq",
    threads: [Thread(name: "thread1", run: "locker")],
    backends: [Native],
    loom: (expect: Holds, max_preemptions: 0),
    expect: Deadlock,
)"#;
    let (_, inst) = resolve_page_lock(text);
    assert_eq!(inst.backends, vec![ir::Backend::Native]);
    assert_eq!(
        inst.loom,
        ir::LoomSettings {
            expect: Some(ir::Expectation::Holds),
            max_preemptions: Some(0),
            ..ir::LoomSettings::default()
        }
    );
    assert_eq!(inst.expect_on(ir::Backend::Loom), ir::Expectation::Holds);
}

#[test]
fn scenario_shuttle_settings() {
    // Every field, each at the edge of its range.
    let text = r#"Scenario(
    model: "page-lock.wq",
    threads: [Thread(name: "thread1", run: "locker"), Thread(name: "thread2", run: "holder", args: [])],
    bounds: (max_seconds: 30),
    backends: [Native, Loom, Shuttle],
    loom: (expect: Deadlock),
    shuttle: (
        expect: AssertionFailed,
        scheduler: Pct,
        depth: 10,
        iterations: 10000000,
        seed: 18446744073709551615,
        max_seconds: 120,
    ),
    expect: LostWakeup,
)"#;
    let (file, inst) = resolve_page_lock(text);
    let names = backend_names(text, &file);
    assert_eq!(
        names,
        vec![
            (ir::Backend::Native, "Native"),
            (ir::Backend::Loom, "Loom"),
            (ir::Backend::Shuttle, "Shuttle")
        ]
    );
    assert_eq!(spanned(text, file.shuttle.scheduler_span), "Pct");
    assert_eq!(spanned(text, file.shuttle.depth_key_span), "depth");
    assert_eq!(spanned(text, file.shuttle.depth_span), "10");
    assert_eq!(spanned(text, file.shuttle.iterations_span), "10000000");

    assert_eq!(
        inst.backends,
        vec![ir::Backend::Native, ir::Backend::Loom, ir::Backend::Shuttle]
    );
    assert_eq!(
        inst.shuttle,
        ir::ShuttleSettings {
            expect: Some(ir::Expectation::AssertionFailed),
            scheduler: Some(ir::ShuttleScheduler::Pct),
            depth: Some(10),
            iterations: Some(10_000_000),
            seed: Some(u64::MAX),
            max_seconds: Some(120),
        }
    );
    assert_eq!(
        inst.expect_on(ir::Backend::Native),
        ir::Expectation::LostWakeup
    );
    assert_eq!(inst.expect_on(ir::Backend::Loom), ir::Expectation::Deadlock);
    assert_eq!(
        inst.expect_on(ir::Backend::Shuttle),
        ir::Expectation::AssertionFailed
    );
    // `shuttle` does not touch the other settings.
    assert_eq!(
        inst.loom,
        ir::LoomSettings {
            expect: Some(ir::Expectation::Deadlock),
            ..ir::LoomSettings::default()
        }
    );
    assert_eq!(
        inst.bounds,
        ir::Bounds {
            max_states: None,
            max_seconds: Some(30),
            max_memory_mib: None,
        }
    );

    // Each scheduler by name; `depth` goes with `Pct` or with no scheduler (the default
    // is PCT); the lowest values; the struct may be named `Shuttle(...)`.
    let cases = [
        ("(scheduler: Random)", ir::ShuttleScheduler::Random),
        (
            "(scheduler: Dfs, iterations: 1, seed: 0)",
            ir::ShuttleScheduler::Dfs,
        ),
        (
            "Shuttle(scheduler: Pct, depth: 1)",
            ir::ShuttleScheduler::Pct,
        ),
    ];
    for (shuttle, scheduler) in cases {
        let text = format!(
            r#"Scenario(
    model: "page-lock.wq",
    threads: [Thread(name: "thread1", run: "locker")],
    backends: [Shuttle],
    shuttle: {shuttle},
    expect: Holds,
)"#
        );
        let (file, inst) = resolve_page_lock(&text);
        assert_eq!(inst.backends, vec![ir::Backend::Shuttle], "{shuttle}");
        assert_eq!(inst.shuttle.scheduler, Some(scheduler), "{shuttle}");
        assert_eq!(inst.shuttle.expect, None, "{shuttle}");
        assert_eq!(inst.expect_on(ir::Backend::Shuttle), ir::Expectation::Holds);
        assert_eq!(inst.shuttle.max_seconds, None, "{shuttle}");
        let scheduler_text = spanned(&text, file.shuttle.scheduler_span);
        assert!(shuttle.contains(&format!("scheduler: {scheduler_text}")));
        match scheduler {
            ir::ShuttleScheduler::Random => {
                assert_eq!(
                    (
                        inst.shuttle.depth,
                        inst.shuttle.iterations,
                        inst.shuttle.seed
                    ),
                    (None, None, None)
                );
            }
            ir::ShuttleScheduler::Dfs => {
                assert_eq!(
                    (
                        inst.shuttle.depth,
                        inst.shuttle.iterations,
                        inst.shuttle.seed
                    ),
                    (None, Some(1), Some(0))
                );
            }
            ir::ShuttleScheduler::Pct => {
                assert_eq!(
                    (
                        inst.shuttle.depth,
                        inst.shuttle.iterations,
                        inst.shuttle.seed
                    ),
                    (Some(1), None, None)
                );
            }
        }
    }

    // `depth` without `scheduler`; `shuttle` without `Shuttle` among the backends (the
    // command line may still select shuttle); `shuttle: ()` is all defaults.
    let text = r#"Scenario(
    model: "page-lock.wq",
    threads: [Thread(name: "thread1", run: "locker")],
    shuttle: (depth: 5, seed: 0x2a),
    expect: Deadlock,
)"#;
    let (_, inst) = resolve_page_lock(text);
    assert_eq!(inst.backends, vec![ir::Backend::Native]);
    assert_eq!(
        inst.shuttle,
        ir::ShuttleSettings {
            depth: Some(5),
            seed: Some(42),
            ..ir::ShuttleSettings::default()
        }
    );
    assert_eq!(
        inst.expect_on(ir::Backend::Shuttle),
        ir::Expectation::Deadlock
    );
    let text = r#"Scenario(
    model: "page-lock.wq",
    threads: [Thread(name: "thread1", run: "locker")],
    shuttle: (),
    expect: Holds,
)"#;
    let (file, inst) = resolve_page_lock(text);
    assert_eq!(file.shuttle, wqcheck_dsl::ScenarioShuttle::default());
    assert_eq!(inst.shuttle, ir::ShuttleSettings::default());
}

#[test]
fn scenario_defaults_and_threads_span() {
    // The existing page-lock scenario has neither `backends` nor `loom`.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/valid/page-lock.ron");
    let text = fs::read_to_string(path).unwrap_or_default();
    let (file, inst) = resolve_page_lock(&text);
    assert_eq!(file.backends, None);
    assert_eq!(file.loom, wqcheck_dsl::ScenarioLoom::default());
    assert_eq!(file.shuttle, wqcheck_dsl::ScenarioShuttle::default());
    assert_eq!(inst.backends, vec![ir::Backend::Native]);
    assert_eq!(inst.loom, ir::LoomSettings::default());
    assert_eq!(inst.shuttle, ir::ShuttleSettings::default());
    assert_eq!(
        inst.expect_on(ir::Backend::Loom),
        ir::Expectation::LostWakeup
    );
    assert_eq!(
        inst.expect_on(ir::Backend::Shuttle),
        ir::Expectation::LostWakeup
    );
    // `threads_span` runs from the list's `[` to its `]`, over several lines.
    let start = text.find("threads: [").map(|i| i + "threads: ".len());
    let end = text.find("],\n    actors").map(|i| i + 1);
    assert_eq!(
        Some((
            inst.threads_span.start as usize,
            inst.threads_span.end as usize
        )),
        start.zip(end)
    );
    let listed = spanned(&text, inst.threads_span);
    assert!(
        listed.starts_with("[\n        Thread(name: \"thread1\""),
        "{listed}"
    );
    assert!(listed.ends_with("args: []),\n    ]"), "{listed}");
    // `ScenarioFile::threads_span` is still the field name (for "no threads").
    assert_eq!(spanned(&text, file.threads_span), "threads");

    // Brackets in strings and comments do not end the list.
    let text = r#"Scenario(
    model: "page-lock.wq",
    threads: [
        Thread(name: "a]", run: "locker"), // ] not the end
        /* ) ] */ Thread(name: "b", run: "locker"),
    ],
    expect: Holds,
)"#;
    let (_, inst) = resolve_page_lock(text);
    assert_eq!(
        spanned(text, inst.threads_span),
        "[\n        Thread(name: \"a]\", run: \"locker\"), // ] not the end\n        /* ) ] */ Thread(name: \"b\", run: \"locker\"),\n    ]"
    );
    assert_eq!(inst.backends, vec![ir::Backend::Native]);
}

#[test]
fn dsl_reference_scenario_examples_parse() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/dsl.md");
    let doc = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let blocks: Vec<&str> = doc
        .split("```ron\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .collect();
    assert_eq!(
        blocks.len(),
        5,
        "docs/dsl.md §10 has five scenario examples"
    );
    let files: Vec<wqcheck_dsl::ScenarioFile> = blocks
        .iter()
        .map(|b| {
            parse_scenario("dsl.md", b).unwrap_or_else(|d| panic!("{}", render_all(&d, |_| b)))
        })
        .collect();
    assert!(files.iter().take(1).all(|f| f.backends.is_none()));
    let [_, loom, tso, shuttle, liveness] = files.as_slice() else {
        panic!("five examples");
    };
    let live = liveness
        .liveness
        .as_ref()
        .expect("the liveness example has `liveness`");
    let returns: Vec<&str> = live.returns.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(returns, ["thread1", "thread2"]);
    assert_eq!(live.fairness, ir::Fairness::Weak);
    assert_eq!(liveness.expect, ir::Expectation::Starvation);
    let memory: Vec<ir::MemoryModel> = tso.memory.iter().flatten().map(|(m, _)| *m).collect();
    assert_eq!(memory, vec![ir::MemoryModel::Sc, ir::MemoryModel::Tso]);
    assert_eq!(
        tso.tso.settings,
        ir::TsoSettings {
            expect: Some(ir::Expectation::LostWakeup),
            store_buffer: Some(2),
        }
    );
    let backends: Vec<ir::Backend> = loom.backends.iter().flatten().map(|(b, _)| *b).collect();
    assert_eq!(backends, vec![ir::Backend::Native, ir::Backend::Loom]);
    // The examples write out every default (except `expect`).
    assert_eq!(
        loom.loom.settings,
        ir::LoomSettings {
            expect: Some(ir::Expectation::LostWakeup),
            max_preemptions: Some(3),
            exhaustive: false,
            max_branches: Some(10000),
            max_seconds: Some(60),
        }
    );
    let backends: Vec<ir::Backend> = shuttle.backends.iter().flatten().map(|(b, _)| *b).collect();
    assert_eq!(backends, vec![ir::Backend::Native, ir::Backend::Shuttle]);
    assert_eq!(
        shuttle.shuttle.settings,
        ir::ShuttleSettings {
            expect: None,
            scheduler: Some(ir::ShuttleScheduler::Pct),
            depth: Some(3),
            iterations: Some(1000),
            seed: Some(0),
            max_seconds: Some(60),
        }
    );
    assert_eq!(shuttle.loom, wqcheck_dsl::ScenarioLoom::default());
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
            Builtin::Schedule {
                io: false,
                until: None,
            },
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
                ord: Ordering::Full
            },
            Builtin::Rmw {
                loc: Loc::Var(0),
                op: RmwOp::Xchg,
                ord: Ordering::Full
            },
            Builtin::FutexWait(0),
            Builtin::Rmw {
                loc: Loc::Var(0),
                op: RmwOp::Xchg,
                ord: Ordering::Full
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
                ord: Ordering::Full
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

/// Every statement kind of a function body, in order (not descending into expressions).
fn stmt_kinds(body: &[Stmt]) -> Vec<&StmtKind> {
    let mut out = Vec::new();
    for s in body {
        out.push(&s.kind);
        match &s.kind {
            StmtKind::If {
                then_branch,
                else_branch,
                ..
            } => {
                out.extend(stmt_kinds(then_branch));
                out.extend(stmt_kinds(else_branch));
            }
            StmtKind::Loop { body, .. } | StmtKind::Atomic(body) | StmtKind::Block(body) => {
                out.extend(stmt_kinds(body))
            }
            _ => {}
        }
    }
    out
}

#[test]
fn wait_event_forms_expand_into_the_kernels_loop() {
    let (_, p) = load("wait-event.wq");
    let q = 0;
    // wait_event(): the condition first (`if (condition) break;` of the outer do-while),
    // then the loop, TASK_UNINTERRUPTIBLE, no signal exit, finish_wait() at the end.
    let (_, plain) = func(&p, "plain");
    let read = Builtin::Load {
        loc: Loc::Var(0),
        ord: Ordering::Relaxed,
    };
    assert_eq!(
        ops(plain),
        [
            read,
            Builtin::InitWait,
            Builtin::PrepareToWaitEvent(q),
            read,
            Builtin::Schedule {
                io: false,
                until: None,
            },
            Builtin::FinishWait(q),
        ]
    );
    let prepare = builtins(plain)
        .into_iter()
        .find(|(b, _)| matches!(b, Builtin::PrepareToWaitEvent(_)))
        .unwrap();
    assert!(matches!(
        prepare.1.as_slice(),
        [ExprKind::EntryAddr(_), ExprKind::Const(s)] if *s == task::TASK_UNINTERRUPTIBLE
    ));
    assert!(!stmt_kinds(&plain.body)
        .iter()
        .any(|k| matches!(k, StmtKind::Goto(_))));

    // _interruptible_exclusive: the entry is EXCLUSIVE, and a signal leaves by `goto __out`
    // past finish_wait(), to a label after the expansion.
    let (_, reader) = func(&p, "reader");
    let b = builtins(reader);
    assert!(matches!(
        b.iter().find(|(op, _)| matches!(op, Builtin::PrepareToWaitEvent(_))),
        Some((_, args)) if matches!(args.as_slice(), [_, ExprKind::Const(s)] if *s == task::TASK_INTERRUPTIBLE)
    ));
    let flags_written = exprs(&reader.body).iter().any(|e| {
        matches!(&e.kind, ExprKind::Assign { place: Place::Field(_, EntryField::Flags), value, .. }
            if matches!(value.kind, ExprKind::Const(1)))
    });
    assert!(
        flags_written,
        "init_wait_entry(&__wq_entry, WQ_FLAG_EXCLUSIVE)"
    );
    let kinds = stmt_kinds(&reader.body);
    let goto = kinds.iter().position(|k| matches!(k, StmtKind::Goto(_)));
    let finish = kinds.iter().position(
        |k| matches!(k, StmtKind::Expr(e) if matches!(e.kind, ExprKind::Builtin { op: Builtin::FinishWait(_), .. })),
    );
    let label = kinds.iter().position(|k| matches!(k, StmtKind::Label(_)));
    assert!(
        matches!((goto, finish, label), (Some(g), Some(f), Some(l)) if g < f && f < l),
        "goto {goto:?}, finish_wait {finish:?}, label {label:?}"
    );
    // The condition is tested before the signal, as ___wait_event() does.
    let loop_body = reader
        .body
        .iter()
        .find_map(|s| match &s.kind {
            StmtKind::If { then_branch, .. } => then_branch.iter().find_map(|s| match &s.kind {
                StmtKind::Loop { body, .. } => Some(body),
                _ => None,
            }),
            _ => None,
        })
        .expect("the wait loop");
    assert!(matches!(
        loop_body.as_slice(),
        [
            Stmt { kind: StmtKind::Expr(_), .. },
            Stmt { kind: StmtKind::If { then_branch: cond_exit, .. }, .. },
            Stmt { kind: StmtKind::If { then_branch: signal_exit, .. }, .. },
            Stmt { kind: StmtKind::Expr(_), .. },
        ] if matches!(cond_exit.as_slice(), [Stmt { kind: StmtKind::Break, .. }])
            && matches!(signal_exit.last().map(|s| &s.kind), Some(StmtKind::Goto(_)))
    ));

    let (_, killable) = func(&p, "killable");
    assert!(builtins(killable)
        .iter()
        .any(|(op, args)| matches!(op, Builtin::PrepareToWaitEvent(_))
            && matches!(args.as_slice(), [_, ExprKind::Const(s)] if *s == task::TASK_KILLABLE)));

    // The sleeps above wait for their queue's condition (theirs reads with READ_ONCE);
    // `cond && !cond2` is a wake condition, so that sleep carries it.
    assert!(ops(plain).contains(&Builtin::Schedule {
        io: false,
        until: None
    }));
    let (_, pure) = func(&p, "pure");
    assert!(ops(pure).contains(&Builtin::Schedule {
        io: false,
        until: Some(0)
    }));
    assert_eq!(p.sleeps.len(), 1);
    assert!(matches!(
        &p.sleeps[0].kind,
        ExprKind::Binary(ir::BinOp::And, a, _) if matches!(a.kind, ExprKind::Shared(0))
    ));

    // The model's own `wait_event_idle()`.
    let (id, _) = func(&p, "wait_event_idle");
    let (_, own) = func(&p, "own");
    assert!(ops(own).is_empty());
    assert!(exprs(&own.body)
        .iter()
        .any(|e| matches!(&e.kind, ExprKind::Call { func, .. } if *func == id)));
}

#[test]
fn thread_arguments_may_name_predefined_constants() {
    let model = "bool cond;\nwaitqueue q until cond;\nvoid waiter(int state, int n) { }\n";
    let scenario = r#"Scenario(model: "m.wq", threads: [Thread(name: "t", run: "waiter", args: ["TASK_KILLABLE", 3])], expect: Holds)"#;
    let program = check_model("m.wq", model).expect("valid model");
    let file = parse_scenario("s.ron", scenario).expect("parses");
    assert_eq!(file.threads[0].args, [i64::from(task::TASK_KILLABLE), 3]);
    let inst = resolve_scenario("s.ron", scenario, &file, program).expect("resolves");
    assert_eq!(inst.threads[0].args, [task::TASK_KILLABLE, 3]);
}

#[test]
fn task_pointers_are_shared_variables_of_tasks() {
    let (_, p) = load("task-pointer.wq");
    let names: Vec<(&str, VarType, ir::Value)> = p
        .vars
        .iter()
        .map(|v| (v.name.as_str(), v.ty, v.init))
        .collect();
    assert_eq!(
        names,
        [
            ("done", VarType::Bit, 0),
            ("waiter_task", VarType::Task, 0),
            ("owner", VarType::Task, 0)
        ]
    );
    // rcu_assign_pointer() is a release store, rcu_dereference() READ_ONCE().
    let (_, sleeper) = func(&p, "sleeper");
    assert_eq!(
        ops(sleeper)[0],
        Builtin::Store {
            loc: Loc::Var(1),
            ord: Ordering::Release
        }
    );
    let (_, waker) = func(&p, "waker");
    let waker_ops = ops(waker);
    assert!(waker_ops.contains(&Builtin::Load {
        loc: Loc::Var(1),
        ord: Ordering::Relaxed
    }));
    // wake_up_process() of the loaded task, and cmpxchg()/xchg() of a task pointer with
    // the kernel's full ordering.
    assert!(waker_ops.contains(&Builtin::TryToWakeUp));
    assert!(waker_ops.contains(&Builtin::CmpXchg {
        loc: Loc::Var(2),
        ord: Ordering::Full
    }));
    assert!(waker_ops.contains(&Builtin::Rmw {
        loc: Loc::Var(2),
        op: RmwOp::Xchg,
        ord: Ordering::Full
    }));
    // The load of a task pointer has the task type in the IR.
    let load = exprs(&waker.body)
        .into_iter()
        .find(|e| {
            matches!(
                e.kind,
                ExprKind::Builtin {
                    op: Builtin::Load {
                        loc: Loc::Var(1),
                        ..
                    },
                    ..
                }
            )
        })
        .expect("the rcu_dereference()");
    assert_eq!(load.ty, Type::Task);
    // `schedule() until done;`: the sleep carries its condition, a read of `done`.
    let (_, until) = func(&p, "sleeper_until");
    let sleep = ops(until)
        .into_iter()
        .find(|b| matches!(b, Builtin::Schedule { .. }))
        .expect("the schedule()");
    assert_eq!(
        sleep,
        Builtin::Schedule {
            io: false,
            until: Some(0)
        }
    );
    assert_eq!(p.sleeps.len(), 1);
    assert!(matches!(p.sleeps[0].kind, ExprKind::Shared(0)));
}

#[test]
fn wake_q_heads_live_on_the_stack_and_wake_up_q_is_the_kernels_loop() {
    let (_, p) = load("wake-q.wq");
    let (_, waker) = func(&p, "waker");
    // DEFINE_WAKE_Q(wake_q): a head local, initialised where it is declared.
    let head = waker
        .locals
        .iter()
        .position(|l| l.name == "wake_q")
        .expect("the head local");
    assert_eq!(waker.locals[head].ty, Type::WakeQ);
    let StmtKind::Expr(first) = &waker.body[0].kind else {
        panic!("DEFINE_WAKE_Q is lowered to an expression statement");
    };
    assert!(matches!(
        &first.kind,
        ExprKind::Builtin { op: Builtin::WakeQInit, args }
            if matches!(args.as_slice(), [a] if matches!(a.kind, ExprKind::WakeQAddr(h) if h as usize == head))
    ));
    // A helper takes the head by pointer and queues on it.
    let (_, mark) = func(&p, "mark_wake");
    assert_eq!(mark.locals[0].ty, Type::WakeQPtr);
    assert_eq!(ops(mark), [Builtin::WakeQAdd, Builtin::WakeQAdd]);
    // wake_up_q(): take a task off, wake it, until the head is empty.
    let waker_ops = ops(waker);
    let pop = waker_ops
        .iter()
        .position(|b| *b == Builtin::WakeQPop)
        .expect("wake_up_q() takes tasks off");
    assert_eq!(waker_ops[pop + 1], Builtin::WakeQWake);
    assert!(waker_ops.contains(&Builtin::WakeQEmpty));
    // The `_return` forms return the new value with their ordering; `atomic_long_*` are
    // the `atomic_*` builtins; `atomic_add()` is relaxed.
    assert!(waker_ops.contains(&Builtin::RmwReturn {
        loc: Loc::Var(1),
        op: RmwOp::Add,
        ord: Ordering::Acquire
    }));
    assert!(waker_ops.contains(&Builtin::RmwReturn {
        loc: Loc::Var(1),
        op: RmwOp::Sub,
        ord: Ordering::Full
    }));
    assert!(waker_ops.contains(&Builtin::Rmw {
        loc: Loc::Var(1),
        op: RmwOp::Add,
        ord: Ordering::Relaxed
    }));
}

#[test]
fn unsigned_bit_fields_are_wrapping_shared_variables() {
    let (_, p) = load("bit-field.wq");
    let vars = var_table(&p);
    assert_eq!(
        vars,
        [
            ("gen", VarType::Unsigned { bits: 2 }, 3),
            ("seq", VarType::Unsigned { bits: 8 }, 0)
        ]
    );
    assert_eq!(VarType::Unsigned { bits: 2 }.range(), (0, 3));
    assert_eq!(VarType::Unsigned { bits: 2 }.stored(4), 0);
    assert_eq!(VarType::Unsigned { bits: 2 }.stored(-1), 3);
    assert_eq!(VarType::Int { min: 0, max: 3 }.stored(4), 4);
}

#[test]
fn timed_sleeps_are_schedule_timeout_calls() {
    let (_, p) = load("timeout.wq");
    // schedule_timeout(T) is one IR builtin (the compiler splits it into __mod_timer(),
    // schedule() and del_timer_sync()); the `_interruptible` form sets the state first.
    let (_, sleeper) = func(&p, "sleeper");
    let timed: Vec<Builtin> = ops(sleeper)
        .into_iter()
        .filter(|b| matches!(b, Builtin::ScheduleTimeout { .. }))
        .collect();
    assert_eq!(
        timed,
        [
            Builtin::ScheduleTimeout {
                until: None,
                state: None
            },
            Builtin::ScheduleTimeout {
                until: None,
                state: Some(task::TASK_INTERRUPTIBLE)
            },
            Builtin::ScheduleTimeout {
                until: None,
                state: None
            },
        ]
    );
    // wait_event*_timeout(): ___wait_event()'s loop, whose sleep is
    // `__ret = schedule_timeout(__ret)` and says what it waits for (`done`).
    let (_, waiter) = func(&p, "waiter");
    let waiter_ops = ops(waiter);
    let sleeps = waiter_ops
        .iter()
        .filter(|b| {
            matches!(
                b,
                Builtin::ScheduleTimeout {
                    until: Some(_),
                    state: None
                }
            )
        })
        .count();
    assert_eq!(sleeps, 3);
    assert!(!waiter_ops
        .iter()
        .any(|b| matches!(b, Builtin::Schedule { .. })));
    assert_eq!(
        waiter_ops
            .iter()
            .filter(|b| matches!(b, Builtin::PrepareToWaitEvent(_)))
            .count(),
        3
    );
    // `bool __cond = (condition);` of ___wait_cond_timeout(), a hidden local per
    // expansion (beside `long __ret = timeout;`).
    let hidden = |name: &str| waiter.locals.iter().filter(|l| l.name == name).count();
    assert_eq!(hidden("__cond"), 3);
    assert!(hidden("__ret") >= 3);
}

#[test]
fn array_elements_are_variables_and_queues_of_their_own() {
    let (_, p) = load("arrays.wq");
    let vars = var_table(&p);
    assert_eq!(
        vars,
        [
            ("flags[0]", VarType::Word { bits: 2 }, 0),
            ("flags[1]", VarType::Word { bits: 2 }, 0),
            ("count[0]", VarType::Int { min: 0, max: 3 }, 1),
            ("count[1]", VarType::Int { min: 0, max: 3 }, 2),
            ("count[2]", VarType::Int { min: 0, max: 3 }, 0),
            ("seq[0]", VarType::Unsigned { bits: 2 }, 0),
            ("seq[1]", VarType::Unsigned { bits: 2 }, 0),
            ("owner[0]", VarType::Task, 0),
            ("owner[1]", VarType::Task, 0),
            ("done[0]", VarType::Bit, 0),
            ("done[1]", VarType::Bit, 1),
        ]
    );
    let bits: Vec<&str> = p.vars[1].bits.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(bits, ["PG_locked[1]", "PG_waiters[1]"]);
    let queues: Vec<&str> = p.queues.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(queues, ["page_wait[0]", "page_wait[1]", "all"]);
    // A constant index names the element itself: `count[0]`, `PG_locked[1]` (bit 0 of
    // `flags[1]`).
    let all = p.queues[2].until.as_ref().map(|e| format!("{:?}", e.kind));
    let all = all.unwrap_or_default();
    assert!(all.contains("Shared(2)"), "{all}");
    assert!(
        all.contains("SharedBit(BitRef { var: 1, bit: 0 })"),
        "{all}"
    );
    // An index known at run time: a Select over the elements, one arm each, which the
    // array names for the out-of-bounds error.
    let (_, lock) = func(&p, "lock");
    let selects = selects(&p, &lock.body);
    assert!(selects.contains(&(2, "page_wait")), "{selects:?}");
    assert!(selects.contains(&(2, "PG_locked")), "{selects:?}");
    assert!(selects.contains(&(3, "count")), "{selects:?}");
    // Elements with the same index are chosen together: one arm per page, each naming
    // two bits of that page's word, not one arm per combination.
    let (_, unlock) = func(&p, "unlock");
    let arms: Vec<String> = exprs(&unlock.body)
        .into_iter()
        .filter_map(|e| match &e.kind {
            ExprKind::Select { arms, array, .. } if p.arrays[*array as usize] == "PG_locked" => {
                Some(format!(
                    "{:?}",
                    arms.iter().map(|a| &a.kind).collect::<Vec<_>>()
                ))
            }
            _ => None,
        })
        .filter(|a| a.contains("ClearBitUnlockIsNegativeByte"))
        .collect();
    assert_eq!(arms.len(), 1, "{arms:?}");
    assert!(!arms[0].contains("Select"), "{arms:?}");
    assert!(
        arms[0].contains("ClearBitUnlockIsNegativeByte { bit: BitRef { var: 0, bit: 0 }, negative: BitRef { var: 0, bit: 1 } }")
            && arms[0].contains("ClearBitUnlockIsNegativeByte { bit: BitRef { var: 1, bit: 0 }, negative: BitRef { var: 1, bit: 1 } }"),
        "{arms:?}"
    );
    // `schedule() until !PG_locked[page]`: one sleep site per element, each with its own
    // condition, chosen by an `if` on the index.
    assert_eq!(p.sleeps.len(), 2);
    let sleeps: Vec<String> = p.sleeps.iter().map(|e| format!("{:?}", e.kind)).collect();
    assert!(sleeps[0].contains("var: 0"), "{sleeps:?}");
    assert!(sleeps[1].contains("var: 1"), "{sleeps:?}");
}

#[test]
fn struct_fields_are_entry_bytes_or_stack_slots_and_keys_reach_wake_functions() {
    let (_, p) = load("structs.wq");
    // A struct around a wait entry gives every entry its integer fields.
    assert_eq!(p.entry_data, 2);
    // The waiter's struct is one wait entry local; its fields are the entry's data.
    let (_, waiter) = func(&p, "waiter");
    let entry_locals: Vec<&str> = waiter
        .locals
        .iter()
        .filter(|l| l.ty == Type::Entry)
        .map(|l| l.name.as_str())
        .collect();
    assert_eq!(entry_locals, ["wait_page"]);
    let stores: Vec<String> = exprs(&waiter.body)
        .into_iter()
        .filter_map(|e| match &e.kind {
            ExprKind::Assign {
                place: Place::Field(_, f),
                ..
            } => Some(format!("{f:?}")),
            _ => None,
        })
        .collect();
    assert_eq!(stores, ["Func", "Data(0)", "Data(1)"]);
    // The waker's key is three locals kept live (a wake function reads them through
    // the pointer), and the walk gets `&key`: a frame pointer to the first.
    let (wid, waker) = func(&p, "waker");
    let key: Vec<(&str, bool)> = waker
        .locals
        .iter()
        .skip(1)
        .map(|l| (l.name.as_str(), l.addressed))
        .collect();
    assert_eq!(
        key,
        [
            ("key", true),
            ("key.bit_nr", true),
            ("key.page_match", true)
        ]
    );
    let walk = builtins(waker)
        .into_iter()
        .find(|(op, _)| matches!(op, Builtin::WakeUp { .. }))
        .map(|(_, args)| args);
    let ptr = ir::frame_ptr(wid, 1);
    assert!(
        matches!(
            walk.as_deref(),
            Some([ExprKind::Const(m), ExprKind::Const(1), ExprKind::Const(k)])
                if *m == task::TASK_NORMAL && Some(*k) == ptr
        ),
        "{walk:?}"
    );
    // The wake function reads the entry's data, and the key through the pointer.
    let (_, matcher) = func(&p, "wake_page_match");
    let reads: Vec<String> = exprs(&matcher.body)
        .into_iter()
        .filter_map(|e| match &e.kind {
            ExprKind::Field { field, .. } => Some(format!("{field:?}")),
            ExprKind::FrameField { field, .. } => Some(format!("key {field}")),
            _ => None,
        })
        .collect();
    assert_eq!(reads, ["Data(0)", "key 0", "Data(1)", "key 1"]);
}

#[test]
fn shared_object_fields_are_globals_and_pointers_choose_them() {
    let (text, p) = load("objects.wq");
    // The prelude's header comes first, then the model's own declarations; each
    // object's fields are globals named `obj.field` (`objs[k].field` in an array).
    let vars: Vec<(&str, VarType)> = var_table(&p).into_iter().map(|v| (v.0, v.1)).collect();
    let page = |o: &'static str| {
        [
            (format!("{o}.flags"), VarType::Word { bits: 2 }),
            (format!("{o}.count"), VarType::Int { min: 0, max: 2 }),
            (format!("{o}.dirty"), VarType::Bit),
            (format!("{o}.owner"), VarType::Task),
        ]
    };
    let mut want: Vec<(String, VarType)> =
        vec![("done.done".into(), VarType::Int { min: 0, max: 15 })];
    want.extend(page("pages[0]"));
    want.extend(page("pages[1]"));
    want.extend(page("single"));
    want.rotate_left(1); // the object `done` is declared after the pages
    let vars: Vec<(String, VarType)> = vars.into_iter().map(|(n, t)| (n.to_string(), t)).collect();
    assert_eq!(vars, want);
    let bits: Vec<&str> = p.vars[4].bits.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(bits, ["pages[1].PG_locked", "pages[1].PG_waiters"]);
    assert_eq!(p.vars[1].init, 1, "a field's initial value");
    // Each queue field waits for its own object's condition.
    let queues: Vec<&str> = p.queues.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(
        queues,
        [
            "pages[0].wait",
            "pages[1].wait",
            "single.wait",
            "done.wait",
            "all"
        ]
    );
    let until = |q: usize| format!("{:?}", p.queues[q].until.as_ref().map(|e| &e.kind));
    assert!(until(1).contains("var: 4, bit: 0"), "{}", until(1));
    assert!(until(3).contains("Shared(12)"), "{}", until(3));
    // `p->PG_locked` of a pointer local: a Select over every `struct page` object,
    // indexed by the pointer less one, named for the NULL dereference message.
    let (_, lock) = func(&p, "lock_page");
    let selects = selects(&p, &lock.body);
    assert!(selects.contains(&(3, "struct page *")), "{selects:?}");
    assert_eq!(lock.locals[0].ty, Type::ObjectPtr);
    // `&pages[i]` chooses a pointer constant (1 or 2: `single` is 3, the completion
    // `done` 1 among completions).
    let (_, locker) = func(&p, "locker");
    let consts: Vec<String> = exprs(&locker.body)
        .into_iter()
        .filter_map(|e| match &e.kind {
            ExprKind::Select { arms, array, .. } if p.arrays[*array as usize] == "pages" => Some(
                format!("{:?}", arms.iter().map(|a| &a.kind).collect::<Vec<_>>()),
            ),
            _ => None,
        })
        .collect();
    assert_eq!(consts, ["[Const(1), Const(2)]"]);
    // The header's text follows the model's, and its spans are its own.
    assert_eq!(p.source.includes.len(), 1);
    assert_eq!(p.source.includes[0].name, "<prelude>/linux/completion.wq");
    assert!(p.source.text.starts_with(&text));
    let (_, complete) = func(&p, "complete");
    let (file, start) = p.source.file_of(complete.span.start);
    assert_eq!(file, "<prelude>/linux/completion.wq");
    assert!(start as usize > text.len());
    assert!(p.source.line_of(complete.span.start) > 30);
}

/// Each run-time choice of an array element (`ExprKind::Select`) in `body`: its number of
/// arms and the array it names.
fn selects<'a>(p: &'a ir::Program, body: &'a [Stmt]) -> Vec<(usize, &'a str)> {
    exprs(body)
        .into_iter()
        .filter_map(|e| match &e.kind {
            ExprKind::Select { arms, array, .. } => {
                Some((arms.len(), p.arrays[*array as usize].as_str()))
            }
            _ => None,
        })
        .collect()
}

/// A header function's parameter or local with the name of one of the model's globals
/// is renamed in that function (`x'`, which no model can spell), so the model's names
/// are free, and each name means in each function what it does in C.
#[test]
fn prelude_locals_do_not_take_the_models_names() {
    let (_, p) = load("prelude-names.wq");
    let (_, killable) = func(&p, "wait_for_completion_killable");
    let names: Vec<&str> = killable.locals.iter().map(|l| l.name.as_str()).collect();
    assert!(names.contains(&"x'") && names.contains(&"t'"), "{names:?}");
    let (_, complete) = func(&p, "complete");
    let names: Vec<&str> = complete.locals.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["x'", "flags'"]);
    // Without a clash, a header function keeps the kernel's names.
    let (_, other) = load("objects.wq");
    let (_, complete) = func(&other, "complete");
    let names: Vec<&str> = complete.locals.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["x", "flags"]);
    // The model's own function writes the global `t`.
    let vars: Vec<&str> = var_table(&p).into_iter().map(|v| v.0).collect();
    assert!(vars.contains(&"t") && vars.contains(&"x.done"), "{vars:?}");
}

#[test]
fn standalone_spinlocks_are_queues_of_their_own_kind_that_only_lock() {
    let (_, p) = load("spinlock.wq");
    // Every spinlock is a queue of kind Spinlock, named as declared, in declaration
    // order (an object's fields where the object is declared); the wait queues, the
    // mutex's wait list among them, stay wait queues.
    let queues: Vec<(&str, QueueKind)> =
        p.queues.iter().map(|q| (q.name.as_str(), q.kind)).collect();
    assert_eq!(
        queues,
        [
            ("d.lock", QueueKind::Spinlock),
            ("d.wq", QueueKind::WaitQueue),
            ("global_lock", QueueKind::Spinlock),
            ("locks[0]", QueueKind::Spinlock),
            ("locks[1]", QueueKind::Spinlock),
            ("m.wait_list", QueueKind::WaitQueue),
        ]
    );
    // A trace names a spinlock as written, a wait queue's lock as `q->lock`.
    assert_eq!(p.queues[0].lock_name(), "d.lock");
    assert_eq!(p.queues[1].lock_name(), "d.wq->lock");
    // `spin_lock(&d.lock)` and `raw_spin_lock(&locks[i])` are the queue lock builtins on
    // those queues: the waker takes locks[i] (chosen at run time), global_lock, d.lock.
    let (_, waker) = func(&p, "waker");
    let locks: Vec<Builtin> = ops(waker)
        .into_iter()
        .filter(|b| matches!(b, Builtin::SpinLock(_)))
        .collect();
    assert_eq!(
        locks.last().copied(),
        Some(Builtin::SpinLock(0)),
        "{locks:?}"
    );
    assert!(locks.contains(&Builtin::SpinLock(2)), "{locks:?}");
    assert!(
        locks.contains(&Builtin::SpinLock(3)) && locks.contains(&Builtin::SpinLock(4)),
        "locks[i] is either element: {locks:?}"
    );
}

#[test]
fn bit_wait_helpers_are_written_per_bit_and_the_calls_renamed() {
    let (text, p) = load("wait-bit.wq");
    // The header follows the model's text, under its own file name, once.
    let files: Vec<&str> = p.source.includes.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(files, ["<prelude>/linux/wait_bit.wq"]);
    assert!(p.source.text.starts_with(&text));
    // One copy of each helper per bit, in the order the model first names the bits.
    for b in ["BH_Lock", "PG_locked"] {
        for f in [
            "wait_on_bit",
            "wait_on_bit_io",
            "wake_up_bit",
            "clear_and_wake_up_bit",
            "__wait_on_bit",
            "bit_wait",
            "bit_wait_io",
        ] {
            func(&p, &format!("{f}__{b}"));
        }
    }
    func(&p, "wake_bit_function");
    // The one hashed queue, which no waiter's own condition replaces.
    let queues: Vec<&str> = p.queues.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(queues, ["bit_wait_table"]);
    assert!(p.queues[0].until.is_none());
    // The model's calls are calls of the copies: `wait_on_buffer()` calls
    // `wait_on_bit_io__BH_Lock()`, `unlock_page()` `clear_and_wake_up_bit__PG_locked()`.
    let calls = |caller: &str| -> Vec<u16> {
        let (_, f) = func(&p, caller);
        exprs(&f.body)
            .into_iter()
            .filter_map(|e| match &e.kind {
                ExprKind::Call { func, .. } => Some(*func),
                _ => None,
            })
            .collect()
    };
    assert_eq!(
        calls("wait_on_buffer"),
        [func(&p, "wait_on_bit_io__BH_Lock").0]
    );
    assert_eq!(
        calls("unlock_page"),
        [func(&p, "clear_and_wake_up_bit__PG_locked").0]
    );
    // The keys are the bits' numbers: BH_Lock 0, PG_locked 1.
    let (_, wait) = func(&p, "__wait_on_bit__PG_locked");
    let stores_one = exprs(&wait.body)
        .into_iter()
        .any(|e| matches!(&e.kind, ExprKind::Const(1)));
    assert!(stores_one, "__wait_on_bit__PG_locked sets its key to 1");
}

#[test]
fn variable_waits_expand_in_place_with_a_key_per_variable() {
    let (_, p) = load("wait-var.wq");
    // wake_up_var() has a copy per variable, and var_wake_function() tests the key;
    // the bit lock has its copies per bit, as the bit waits do.
    for f in [
        "wake_up_var__i_dio_count",
        "wake_up_var__ready",
        "var_wake_function",
        "wait_on_bit_lock__PG_locked",
        "wait_on_bit_lock_io__PG_locked",
        "__wait_on_bit_lock__PG_locked",
    ] {
        func(&p, f);
    }
    assert!(p.functions.iter().all(|f| f.name != "wait_var_event"));
    let queues: Vec<&str> = p.queues.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(queues, ["bit_wait_table"]);
    // Each wait_var_event*() sets its entry's wake function to var_wake_function() and
    // its key (the first field of `struct wait_bit_queue_entry`) to its variable's:
    // i_dio_count -1, ready -2, in the order the model names them.
    let (var_wake, _) = func(&p, "var_wake_function");
    let entry_setup = |f: &str| -> (Vec<ir::Value>, usize) {
        let (_, f) = func(&p, f);
        let all = exprs(&f.body);
        let keys = all
            .iter()
            .filter_map(|e| match &e.kind {
                ExprKind::Assign {
                    place: Place::Field(_, EntryField::Data(0)),
                    value,
                    ..
                } => match value.kind {
                    ExprKind::Const(k) => Some(k),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        let funcs = all
            .iter()
            .filter(|e| match &e.kind {
                ExprKind::Assign {
                    place: Place::Field(_, EntryField::Func),
                    value,
                    ..
                } => matches!(value.kind, ExprKind::FuncRef(f) if f == var_wake),
                _ => false,
            })
            .count();
        (keys, funcs)
    };
    assert_eq!(entry_setup("inode_dio_wait"), (vec![-1], 1));
    assert_eq!(entry_setup("wait_ready"), (vec![-2, -2], 2));
    // wake_up_var(&ready) wakes with ready's key.
    let (_, wake) = func(&p, "wake_up_var__ready");
    let keyed = exprs(&wake.body).into_iter().any(|e| {
        matches!(&e.kind, ExprKind::Assign { value, .. } if matches!(value.kind, ExprKind::Const(-2)))
    });
    assert!(keyed, "wake_up_var__ready sets its key to -2");
}

#[test]
fn waits_on_array_elements_key_each_element_apart() {
    let (_, p) = load("wait-var.wq");
    // The copies for an array's bit or variable take the element's index last.
    for (f, params) in [
        ("wait_on_bit_io__BH_Lock", 2),
        ("__wait_on_bit__BH_Lock", 3),
        ("clear_and_wake_up_bit__BH_Lock", 1),
        ("wake_up_var__dio_count", 1),
        ("wait_on_bit_lock_io__PG_locked", 1),
        ("wake_up_var__ready", 0),
    ] {
        assert_eq!(func(&p, f).1.params, params, "{f}");
    }
    // Keys in the order the model names them: PG_locked 0, BH_Lock[i] 1 + i; the
    // variables i_dio_count -1, ready -2, dio_count[i] -3 - i.
    let key_of = |f: &str| -> String {
        let (_, f) = func(&p, f);
        let keys: Vec<String> = exprs(&f.body)
            .into_iter()
            .filter_map(|e| match &e.kind {
                ExprKind::Assign {
                    place: Place::Field(_, EntryField::Data(0)),
                    value,
                    ..
                } => Some(format!("{:?}", value.kind)),
                _ => None,
            })
            .collect();
        assert_eq!(keys.len(), 1, "{keys:?}");
        keys[0].clone()
    };
    let bh = key_of("__wait_on_bit__BH_Lock");
    assert!(
        bh.starts_with("Binary(Add, ") && bh.contains("Const(1)"),
        "{bh}"
    );
    let dio = key_of("dio_wait");
    assert!(
        dio.starts_with("Binary(Sub, ") && dio.contains("Const(-3)"),
        "{dio}"
    );
    assert_eq!(key_of("__wait_on_bit__PG_locked"), "Const(0)");
    // wake_bit_function() tests an array's bit only for the array's own keys, 1 and 2.
    let (_, wake) = func(&p, "wake_bit_function");
    let consts: BTreeSet<ir::Value> = exprs(&wake.body)
        .into_iter()
        .filter_map(|e| match e.kind {
            ExprKind::Const(k) => Some(k),
            _ => None,
        })
        .collect();
    assert!(consts.is_superset(&BTreeSet::from([0, 1, 3])), "{consts:?}");
}
