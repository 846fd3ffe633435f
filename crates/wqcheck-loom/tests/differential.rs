//! Differential test: the native explorer against the loom backend.
//!
//! The generator writes small wait-queue protocols in the DSL (one `wq` with a wake
//! condition on a shared `cond`, 2-3 threads, sometimes a `Signal` actor) in which every
//! access to shared memory is sequentially consistent: `atomic_load`/`atomic_store` with
//! `memory_order_seq_cst`, `smp_store_mb`, a seq_cst `atomic_fetch_add`; a lockless
//! `wq_has_sleeper()` (never a bare `waitqueue_active()`); and, when a waker checks the queue
//! locklessly, a full barrier on the waiting side between queueing and testing the condition
//! (`set_current_state()`, `prepare_to_wait()`, or an explicit `smp_mb()`). The list head that
//! `wq_has_sleeper()` reads is written with a relaxed store under the queue lock, as in the
//! kernel, so without that barrier store buffering is a real C11 outcome, not an engine
//! difference.
//!
//! On such programs C11 (loom) and sequential consistency (the native explorer) allow the
//! same outcomes, so:
//!
//! - loom finds a violation exactly when the native explorer does; and
//! - when both do, loom's verdict is the native one or another violation that a reference
//!   search (a plain BFS over [`Model::step`]) reaches too. The engines stop at the first
//!   violation they meet (native: a shortest one; loom: the first in its schedule order),
//!   so when a program can fail in two ways they may legitimately name different ones;
//! - loom, following the native counterexample step by step (`check_directed`), reaches
//!   the native violation itself: C11 allows every sequentially consistent execution.
//!
//! loom searches exhaustively when it runs two threads; with three or more it runs
//! iterative preemption bounding (see [`Search`]), and a bounded `Holds` against a native
//! violation is searched again deeper before it counts as a disagreement. A case on which
//! loom runs out of time is skipped (at most 20% may be).
//!
//! Knobs: `PROPTEST_CASES`, `PROPTEST_RNG_SEED`, `PROPTEST_MAX_SHRINK_ITERS`;
//! `WQCHECK_DIFF_STATS=1` prints the verdict distribution (with `--nocapture`),
//! `WQCHECK_DIFF_VERBOSE=1` one line per case, `WQCHECK_DIFF_DUMP=1` also its text.
//!
//! The generator draws every choice from a byte string in which 0 is the textbook choice
//! (`prepare_to_wait(); if (cond) break; schedule();` against `cond = 1; wake_up();`), so
//! proptest shrinks a failure towards the simplest protocol that still disagrees; other
//! bytes pick the usual bugs: the condition tested before queueing, the task state set after
//! the test, a wake-up before the store or none at all, `wake_up_interruptible()` for an
//! uninterruptible sleeper, exclusive waiters with a single wake-up, a missing `finish_wait()`.
//! Loops always set the task state before `schedule()` and, when a signal can make
//! `schedule()` return at once, test for it: neither engine can then spin forever.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use wqcheck_model::{Model, Mover, StepResult, Verdict};

const CASES: u32 = 48;
const LOOM_SECONDS: u64 = 20;

// ---------------------------------------------------------------- choices

/// The generator's source of decisions: byte `i` decides the `i`-th choice; past the end
/// (and for byte 0) every choice is the simplest one.
struct Choices<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Choices<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.bytes.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }

    /// `0..n`.
    fn pick(&mut self, n: usize) -> usize {
        self.byte() as usize % n
    }

    /// True with probability about `pct`%; false for byte 0.
    fn chance(&mut self, pct: u32) -> bool {
        u32::from(self.byte()) * 100 >= (100 - pct) * 256
    }

    /// 0 (the canonical choice) unless a deviation (probability `pct`%) picks `1..n`.
    fn deviate(&mut self, pct: u32, n: usize) -> usize {
        if self.chance(pct) {
            1 + self.pick(n - 1)
        } else {
            0
        }
    }

    /// Shuffle `v` (Fisher-Yates on the choices; all zeros leave it as it is).
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = i - self.pick(i + 1);
            v.swap(i, j);
        }
    }
}

// ---------------------------------------------------------------- generator

#[derive(Clone, Copy, PartialEq, Eq)]
enum Cond {
    Bit,
    /// `int<0..3> cond`, waited for as `cond >= k`.
    Int(i32),
}

impl Cond {
    fn decl(self) -> String {
        match self {
            Cond::Bit => "bool cond = false;\nwaitqueue wq until cond;\n".into(),
            Cond::Int(k) => format!("int<0..3> cond = 0;\nwaitqueue wq until cond >= {k};\n"),
        }
    }

    fn test(self) -> String {
        match self {
            Cond::Bit => "atomic_load(&cond, memory_order_seq_cst)".into(),
            Cond::Int(k) => format!("atomic_load(&cond, memory_order_seq_cst) >= {k}"),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum QueueKind {
    PrepareToWait,
    PrepareToWaitExclusive,
    AddWaitQueue,
    AddWaitQueueExclusive,
    /// `spin_lock(); __add_wait_queue(); spin_unlock();`
    LockedAdd,
}

impl QueueKind {
    fn sets_state(self) -> bool {
        matches!(
            self,
            QueueKind::PrepareToWait | QueueKind::PrepareToWaitExclusive
        )
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Item {
    /// Queue the entry (`prepare_to_wait()` also sets the task state).
    Queue,
    /// `set_current_state(S)` (a full barrier).
    SetState,
    /// Test the condition; leave when it holds.
    Test,
    /// Test for a signal; leave when one is pending.
    Signal,
    Schedule,
}

#[derive(Clone, Copy)]
struct SignalActor {
    fatal: bool,
    /// Bit `i`: waiter `i` is a target.
    targets: u8,
}

const STATES: [&str; 3] = [
    "TASK_UNINTERRUPTIBLE",
    "TASK_INTERRUPTIBLE",
    "TASK_KILLABLE",
];

struct Protocol {
    model: String,
    scenario: String,
}

fn indent(out: &mut String, depth: usize, line: &str) {
    for l in line.lines() {
        for _ in 0..depth {
            out.push('\t');
        }
        out.push_str(l);
        out.push('\n');
    }
}

fn waker(c: &mut Choices, cond: Cond, name: &str) -> (String, bool) {
    let set = match cond {
        Cond::Bit => match c.deviate(30, 2) {
            0 => "atomic_store(&cond, 1, memory_order_seq_cst);".to_string(),
            _ => "smp_store_mb(cond, 1);".to_string(),
        },
        Cond::Int(k) => match c.deviate(50, 4) {
            0 => format!("atomic_store(&cond, {k}, memory_order_seq_cst);"),
            1 => "atomic_fetch_add(&cond, 1);".to_string(),
            2 => format!("smp_store_mb(cond, {k});"),
            _ => "atomic_store(&cond, 1, memory_order_seq_cst);".to_string(),
        },
    };
    let wake_kind = c.deviate(45, 7);
    let lockless = matches!(wake_kind, 2 | 3);
    let wake = match wake_kind {
        0 => "wake_up(&wq);",
        1 => "wake_up_all(&wq);",
        2 => "if (wq_has_sleeper(&wq))\n\twake_up(&wq);",
        3 => "if (wq_has_sleeper(&wq))\n\twake_up_all(&wq);",
        4 => "__wake_up_locked(&wq, TASK_NORMAL, 1);",
        5 => "wake_up_interruptible(&wq);",
        _ => "",
    };
    // 0: store, wake; 1: wake, store; 2: wake only.
    let order = c.deviate(25, 3);
    let set_in_lock = wake_kind == 4 && c.chance(50);
    let mut body = Vec::new();
    let (first, second) = match order {
        0 => (set.as_str(), wake),
        1 => (wake, set.as_str()),
        _ => (wake, ""),
    };
    for part in [first, second] {
        if part.is_empty() {
            continue;
        }
        if part.starts_with("__wake_up_locked") {
            body.push("spin_lock(&wq->lock);".to_string());
            if set_in_lock && order != 2 {
                body.push(set.clone());
            }
            body.push(part.to_string());
            body.push("spin_unlock(&wq->lock);".to_string());
        } else if set_in_lock && part == set {
            // The store happens inside the locked wake-up above or below.
        } else {
            body.push(part.to_string());
        }
    }
    let mut out = format!("void {name}(void)\n{{\n");
    for s in &body {
        indent(&mut out, 1, s);
    }
    out.push_str("}\n");
    (out, lockless)
}

fn waiter(
    c: &mut Choices,
    cond: Cond,
    name: &str,
    targeted: bool,
    signal: Option<SignalActor>,
    lockless_waker: bool,
) -> String {
    let state = if targeted {
        STATES[c.pick(3)]
    } else {
        STATES[c.deviate(25, 2)]
    };
    let fatal = signal.is_some_and(|s| s.fatal);
    // Whether a pending signal makes this waiter's schedule() return at once.
    let admits = targeted && (state == "TASK_INTERRUPTIBLE" || (state == "TASK_KILLABLE" && fatal));
    let kind = match c.deviate(50, 5) {
        0 => QueueKind::PrepareToWait,
        1 => QueueKind::PrepareToWaitExclusive,
        2 => QueueKind::AddWaitQueue,
        3 => QueueKind::AddWaitQueueExclusive,
        _ => QueueKind::LockedAdd,
    };
    let looped = !c.chance(25);
    // prepare_to_wait() belongs in the loop; an add_wait_queue() goes before it.
    let queue_in_loop = kind.sets_state() || c.chance(20);
    // add_wait_queue() callers use default_wake_function (the entry stays queued across
    // wake-ups); prepare_to_wait() callers autoremove_wake_function.
    let default_func = if kind.sets_state() {
        c.chance(15)
    } else {
        !c.chance(30)
    };
    let with_signal_check = admits || (targeted && c.chance(30));
    let signal_test = {
        // A test that sees every signal the sleep state admits (else a loop would spin).
        let fatal_ok = state != "TASK_INTERRUPTIBLE" || fatal;
        match c.pick(3) {
            0 => format!("signal_pending_state({state}, current)"),
            1 => "signal_pending(current)".to_string(),
            _ if fatal_ok => "fatal_signal_pending(current)".to_string(),
            _ => "signal_pending(current)".to_string(),
        }
    };
    let mut items = Vec::new();
    if !looped || queue_in_loop {
        items.push(Item::Queue);
    }
    if !kind.sets_state() {
        items.push(Item::SetState);
    }
    items.push(Item::Test);
    if with_signal_check {
        items.push(Item::Signal);
    }
    items.push(Item::Schedule);
    if c.chance(if looped { 35 } else { 45 }) {
        c.shuffle(&mut items);
    }
    if looped {
        // Every iteration sets the task state before schedule(): no busy loop.
        let setter = if kind.sets_state() {
            Item::Queue
        } else {
            Item::SetState
        };
        let si = items.iter().position(|&i| i == setter).unwrap();
        let sch = items.iter().position(|&i| i == Item::Schedule).unwrap();
        if si > sch {
            let s = items.remove(sch);
            items.push(s);
        }
    }
    // A lockless waker pairs its smp_mb() with one here, between the list add and the
    // condition test: set_current_state() (also inside prepare_to_wait()) or smp_mb().
    let needs_mb = lockless_waker && !kind.sets_state() && {
        // The accesses after the queueing, up to the next condition test.
        let after: Vec<Item> = if looped && !queue_in_loop {
            items.clone()
        } else {
            let q = items.iter().position(|&i| i == Item::Queue).unwrap();
            let mut v: Vec<Item> = items[q + 1..].to_vec();
            if looped {
                v.extend_from_slice(&items[..q]);
            }
            v
        };
        let first = after
            .iter()
            .find(|&&i| i == Item::SetState || i == Item::Test);
        first == Some(&Item::Test)
    };
    let queue_stmt = {
        let mut q = match kind {
            QueueKind::PrepareToWait => format!("prepare_to_wait(&wq, &wait, {state});"),
            QueueKind::PrepareToWaitExclusive => {
                format!("prepare_to_wait_exclusive(&wq, &wait, {state});")
            }
            QueueKind::AddWaitQueue => "add_wait_queue(&wq, &wait);".into(),
            QueueKind::AddWaitQueueExclusive => "add_wait_queue_exclusive(&wq, &wait);".into(),
            QueueKind::LockedAdd => {
                "spin_lock(&wq->lock);\n__add_wait_queue(&wq, &wait);\nspin_unlock(&wq->lock);"
                    .into()
            }
        };
        if needs_mb {
            q.push_str("\nsmp_mb();");
        }
        q
    };
    let leave = if looped { "break;" } else { "goto out;" };
    let end = match c.deviate(25, 4) {
        0 => "finish_wait(&wq, &wait);",
        1 => "__set_current_state(TASK_RUNNING);\nremove_wait_queue(&wq, &wait);",
        2 => "set_current_state(TASK_RUNNING);\nremove_wait_queue(&wq, &wait);",
        _ => ";",
    };

    let mut out = format!("void {name}(void)\n{{\n\tDEFINE_WAIT(wait);\n\n");
    if default_func {
        indent(&mut out, 1, "wait.func = default_wake_function;");
    }
    if looped && !queue_in_loop {
        indent(&mut out, 1, &queue_stmt);
    }
    let depth = if looped {
        indent(&mut out, 1, "for (;;) {");
        2
    } else {
        1
    };
    for item in &items {
        let text = match item {
            Item::Queue => queue_stmt.clone(),
            Item::SetState => format!("set_current_state({state});"),
            Item::Test => format!("if ({})\n\t{leave}", cond.test()),
            Item::Signal => format!("if ({signal_test})\n\t{leave}"),
            Item::Schedule => "schedule();".into(),
        };
        indent(&mut out, depth, &text);
    }
    if looped {
        indent(&mut out, 1, "}");
        indent(&mut out, 1, end);
    } else {
        out.push_str("out:\n");
        indent(&mut out, 1, end);
    }
    out.push_str("}\n");
    out
}

fn generate(bytes: &[u8]) -> Protocol {
    let c = &mut Choices { bytes, at: 0 };
    let cond = match c.deviate(30, 3) {
        0 => Cond::Bit,
        1 => Cond::Int(1),
        _ => Cond::Int(2),
    };
    // (waiters, wakers): 2 or 3 threads.
    let (nwaiters, nwakers) = [(1, 1), (2, 1), (1, 2)][c.deviate(45, 3)];
    let signal = c.chance(40).then(|| SignalActor {
        fatal: c.chance(50),
        targets: if nwaiters == 1 {
            1
        } else {
            [1u8, 2, 3][c.pick(3)]
        },
    });
    let mut wakers = Vec::new();
    let mut lockless = false;
    for k in 0..nwakers {
        let (text, l) = waker(c, cond, &format!("waker{k}"));
        lockless |= l;
        wakers.push(text);
    }
    let mut model = String::from("// generated by tests/differential.rs\n");
    model.push_str(&cond.decl());
    for w in 0..nwaiters {
        let targeted = signal.is_some_and(|s| s.targets & (1 << w) != 0);
        model.push('\n');
        model.push_str(&waiter(
            c,
            cond,
            &format!("waiter{w}"),
            targeted,
            signal,
            lockless,
        ));
    }
    for w in &wakers {
        model.push('\n');
        model.push_str(w);
    }

    let mut scenario = String::from("Scenario(\n    model: \"gen.wq\",\n    threads: [\n");
    for w in 0..nwaiters {
        let _ = writeln!(
            scenario,
            "        Thread(name: \"w{w}\", run: \"waiter{w}\"),"
        );
    }
    for k in 0..nwakers {
        let _ = writeln!(
            scenario,
            "        Thread(name: \"k{k}\", run: \"waker{k}\"),"
        );
    }
    scenario.push_str("    ],\n    actors: [");
    if let Some(s) = signal {
        let targets: Vec<String> = (0..nwaiters)
            .filter(|w| s.targets & (1 << w) != 0)
            .map(|w| format!("\"w{w}\""))
            .collect();
        let _ = write!(
            scenario,
            "\n        Signal(target: [{}], fatal: {}),\n    ",
            targets.join(", "),
            s.fatal
        );
    }
    scenario.push_str("],\n    expect: Holds,\n)\n");
    Protocol { model, scenario }
}

// ---------------------------------------------------------------- engines

fn build(p: &Protocol) -> Model {
    let program = wqcheck_dsl::check_model("gen.wq", &p.model).unwrap_or_else(|d| {
        panic!(
            "generator bug: the checker rejects the model\n{}\n--- gen.wq\n{}",
            wqcheck_dsl::render_all(&d, |_| p.model.as_str()),
            numbered(&p.model)
        )
    });
    let file = wqcheck_dsl::parse_scenario("gen.ron", &p.scenario).unwrap_or_else(|d| {
        panic!(
            "generator bug: the scenario does not parse\n{}\n--- gen.ron\n{}",
            wqcheck_dsl::render_all(&d, |_| p.scenario.as_str()),
            p.scenario
        )
    });
    let inst = wqcheck_dsl::resolve_scenario("gen.ron", &p.scenario, &file, program)
        .unwrap_or_else(|d| {
            panic!(
                "generator bug: the scenario does not resolve\n{}\n--- gen.ron\n{}",
                wqcheck_dsl::render_all(&d, |_| p.scenario.as_str()),
                p.scenario
            )
        });
    let model = Model::new(inst).unwrap_or_else(|e| {
        panic!(
            "generator bug: the model does not compile: {e:?}\n--- gen.wq\n{}",
            p.model
        )
    });
    assert!(
        wqcheck_loom::thread_limit_error(&model).is_none(),
        "generator bug: too many threads for loom\n{}",
        p.scenario
    );
    model
}

/// Every verdict a plain BFS over [`Model::step`] reaches (a violation ends its branch).
fn reachable_verdicts(model: &Model) -> HashSet<Verdict> {
    let mut found = HashSet::new();
    let init = match model.initial_state() {
        Ok(s) => s,
        Err(_) => {
            found.insert(Verdict::AssertionFailed);
            return found;
        }
    };
    let mut seen = HashSet::new();
    let mut queue = VecDeque::new();
    seen.insert(init.clone());
    queue.push_back(init);
    let nthreads = model.layout.nthreads;
    while let Some(s) = queue.pop_front() {
        assert!(seen.len() < 2_000_000, "reference search: too many states");
        let mut moved = false;
        let mut moves: Vec<Mover> = (0..nthreads).map(|t| Mover::Thread(t as u8)).collect();
        for a in 0..model.inst.actors.len() {
            for ch in 0..model.actor_choices(&s, a) {
                moves.push(Mover::Actor {
                    actor: a as u8,
                    choice: ch as u8,
                });
            }
        }
        for m in moves {
            let mut n = s.clone();
            match model.step(&mut n, m, None) {
                StepResult::Moved => {
                    moved = true;
                    if seen.insert(n.clone()) {
                        queue.push_back(n);
                    }
                }
                StepResult::Blocked => {}
                StepResult::Fault(_) => {
                    moved = true;
                    found.insert(Verdict::AssertionFailed);
                }
            }
        }
        if !moved && !model.all_done(&s) {
            found.insert(model.classify_stuck(&s).verdict);
        }
    }
    if found.is_empty() {
        found.insert(Verdict::Holds);
    }
    found
}

fn numbered(text: &str) -> String {
    text.lines()
        .enumerate()
        .map(|(i, l)| format!("{:>3} {l}\n", i + 1))
        .collect()
}

#[derive(Default)]
struct Stats {
    cases: usize,
    skipped: usize,
    /// Loom verdicts of the compared cases.
    verdicts: BTreeMap<String, usize>,
    /// Cases where the engines named different (both reachable) violations.
    different_violation: usize,
    loom_time: Duration,
    native_time: Duration,
    /// Cases searched exhaustively / with a preemption bound.
    exhaustive: usize,
    bounded: usize,
    /// Bounded searches that held against a native violation and were run deeper.
    escalated: usize,
    /// Native counterexamples that loom reproduced by following them.
    followed: usize,
}

/// How loom searches a case. Exhaustive loom is cheap with two loom threads (hundreds of
/// executions) but not with more: a two-thread protocol plus a signal actor takes 300,000
/// executions (10 s), a three-thread one does not finish in a minute. So three or more
/// loom threads get iterative preemption bounding, which still refutes every loom
/// violation the native explorer does not find (a bound only hides behaviours); a bounded
/// `Holds` against a native violation is searched again with a deeper bound.
#[derive(Clone, Copy)]
enum Search {
    Exhaustive,
    Bounded(u32),
}

/// How much deeper a bounded search goes before a missed native violation is a failure.
const ESCALATE_BY: u32 = 2;

impl Search {
    fn for_threads(loom_threads: usize) -> Search {
        match loom_threads {
            0..=2 => Search::Exhaustive,
            3 => Search::Bounded(3),
            _ => Search::Bounded(2),
        }
    }

    fn options(self) -> wqcheck_loom::Options {
        wqcheck_loom::Options {
            exhaustive: matches!(self, Search::Exhaustive),
            max_preemptions: match self {
                Search::Exhaustive => 0,
                Search::Bounded(b) => b,
            },
            max_time: Duration::from_secs(LOOM_SECONDS),
            ..wqcheck_loom::Options::default()
        }
    }
}

enum CaseResult {
    Agree,
    /// loom ran out of budget.
    Skipped,
}

fn run_case(p: &Protocol, stats: &Mutex<Stats>) -> CaseResult {
    let model = build(p);
    let t0 = Instant::now();
    let native = wqcheck_explore::explore(
        &model,
        &wqcheck_explore::Options {
            // The step cache never changes the result; its default 256 MiB is for big models.
            step_cache: 1 << 12,
            ..wqcheck_explore::Options::default()
        },
    );
    let native_time = t0.elapsed();
    if !native.path.is_empty() {
        // On these programs C11 allows every sequentially consistent execution, so loom,
        // following the native counterexample, must reach the same violation.
        let followed = loom_directed(&model, &native.path, &Search::Bounded(0).options())
            .unwrap_or_else(|e| {
                panic!(
                    "loom internal error: {e}\n--- gen.wq\n{}",
                    numbered(&p.model)
                )
            });
        assert_eq!(
            followed.verdict,
            native.verdict,
            "loom, following the native counterexample ({} executions)\n--- gen.wq\n{}--- gen.ron\n{}",
            followed.executions,
            numbered(&p.model),
            p.scenario
        );
        stats.lock().unwrap_or_else(|e| e.into_inner()).followed += 1;
    }
    let loom_threads = model.inst.threads.len() + model.inst.actors.len();
    let search = Search::for_threads(loom_threads);
    let run = |search: Search| {
        loom_check(&model, &search.options()).unwrap_or_else(|e| {
            panic!(
                "loom internal error: {e}\n--- gen.wq\n{}--- gen.ron\n{}",
                numbered(&p.model),
                p.scenario
            )
        })
    };
    let mut loom = run(search);
    let mut loom_time = loom.elapsed;
    let mut escalated = false;
    if let Search::Bounded(b) = search {
        // A bounded search that holds proves nothing against a native violation: search
        // deeper before calling it a disagreement.
        if loom.verdict == Verdict::Holds && native.verdict != Verdict::Holds {
            escalated = true;
            loom = run(Search::Bounded(b + ESCALATE_BY));
            loom_time += loom.elapsed;
        }
    }
    if std::env::var_os("WQCHECK_DIFF_VERBOSE").is_some() {
        eprintln!(
            "case: {loom_threads} loom threads | native {:?} {} states {:.3}s | loom {:?} {} executions {:.3}s ({}){}",
            native.verdict,
            native.states,
            native_time.as_secs_f64(),
            loom.verdict,
            loom.executions,
            loom_time.as_secs_f64(),
            loom.bounds,
            if escalated { " escalated" } else { "" },
        );
        if std::env::var_os("WQCHECK_DIFF_DUMP").is_some() {
            eprintln!("{}{}", p.model, p.scenario);
        }
    }
    let mut st = stats.lock().unwrap_or_else(|e| e.into_inner());
    st.cases += 1;
    st.native_time += native_time;
    st.loom_time += loom_time;
    match search {
        Search::Exhaustive => st.exhaustive += 1,
        Search::Bounded(_) => st.bounded += 1,
    }
    st.escalated += usize::from(escalated);
    assert_ne!(
        native.verdict,
        Verdict::Inconclusive,
        "the native explorer has no budget here\n--- gen.wq\n{}",
        numbered(&p.model)
    );
    if loom.verdict == Verdict::Inconclusive {
        st.skipped += 1;
        return CaseResult::Skipped;
    }
    *st.verdicts
        .entry(format!("{:?}", loom.verdict))
        .or_default() += 1;
    if native.verdict == loom.verdict {
        return CaseResult::Agree;
    }
    // Different verdicts: fine only if both are violations the reference search reaches.
    let reachable = reachable_verdicts(&model);
    let both_violations = native.verdict != Verdict::Holds && loom.verdict != Verdict::Holds;
    if both_violations && reachable.contains(&native.verdict) && reachable.contains(&loom.verdict) {
        st.different_violation += 1;
        return CaseResult::Agree;
    }
    drop(st);

    let mut msg = String::from("native and loom disagree\n");
    let _ = writeln!(
        msg,
        "--- gen.wq\n{}--- gen.ron\n{}",
        numbered(&p.model),
        p.scenario
    );
    let _ = writeln!(
        msg,
        "--- native: {:?} ({} states){}",
        native.verdict,
        native.states,
        native
            .violation
            .as_ref()
            .map(|v| format!(": {}", v.message))
            .unwrap_or_default()
    );
    if !native.path.is_empty() {
        match model.replay(&native.path) {
            Ok(t) => write_trace(&mut msg, &t.steps),
            Err(e) => {
                let _ = writeln!(msg, "  (replay failed: {e:?}) path {:?}", native.path);
            }
        }
    }
    let _ = writeln!(
        msg,
        "--- loom: {:?} ({} executions, {}{}){}",
        loom.verdict,
        loom.executions,
        loom.bounds,
        if escalated {
            ", after a shallower search held"
        } else {
            ""
        },
        loom.violation
            .as_ref()
            .map(|v| format!(": {}", v.message))
            .unwrap_or_default()
    );
    write_trace(&mut msg, &loom.trace);
    let _ = writeln!(msg, "--- reference search reaches: {reachable:?}");
    panic!("{msg}");
}

/// One line per step: who, the DSL line, what changed.
fn write_trace(msg: &mut String, steps: &[wqcheck_model::trace::TraceStep]) {
    for s in steps {
        let _ = writeln!(
            msg,
            "  {:>8} | {} | {}",
            s.thread,
            s.text,
            s.effects.join(", ")
        );
    }
}

thread_local! {
    /// Set while this thread runs a loom check (loom runs its threads as coroutines on
    /// the calling thread).
    static IN_LOOM: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// loom reports a deadlock (our lost wakeups) by panicking; keep those off stderr, and
/// every other panic as the default hook prints it.
fn silence_loom_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_LOOM.with(|f| f.get()) {
                default(info);
            }
        }));
    });
}

fn loom_check(
    model: &Model,
    opts: &wqcheck_loom::Options,
) -> Result<wqcheck_loom::Outcome, String> {
    IN_LOOM.with(|f| f.set(true));
    let r = wqcheck_loom::check(model, opts);
    IN_LOOM.with(|f| f.set(false));
    r
}

fn loom_directed(
    model: &Model,
    schedule: &[Mover],
    opts: &wqcheck_loom::Options,
) -> Result<wqcheck_loom::Outcome, String> {
    IN_LOOM.with(|f| f.set(true));
    let r = wqcheck_loom::check_directed(model, schedule, opts);
    IN_LOOM.with(|f| f.set(false));
    r
}

fn report(stats: &Stats) -> String {
    format!(
        "{} cases ({} exhaustive, {} bounded, {} escalated, {} native counterexamples followed on loom), {} skipped (loom budget), loom verdicts {:?}, {} with different but reachable violations, native {:.1}s, loom {:.1}s",
        stats.cases,
        stats.exhaustive,
        stats.bounded,
        stats.escalated,
        stats.followed,
        stats.skipped,
        stats.verdicts,
        stats.different_violation,
        stats.native_time.as_secs_f64(),
        stats.loom_time.as_secs_f64()
    )
}

#[test]
fn native_and_loom_agree_on_sc_protocols() {
    silence_loom_panics();
    let stats = Mutex::new(Stats::default());
    // PROPTEST_CASES, PROPTEST_RNG_SEED, PROPTEST_MAX_SHRINK_ITERS override the defaults.
    let mut config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = CASES;
    }
    if std::env::var_os("PROPTEST_MAX_SHRINK_ITERS").is_none() {
        // A case runs loom exhaustively: shrinking may take a while, but not forever.
        config.max_shrink_iters = 256;
    }
    // A new seed each run covers more protocols over time; it is printed with any failure
    // (and with WQCHECK_DIFF_STATS) so that the run can be repeated.
    let seed = match config.rng_seed {
        RngSeed::Fixed(s) => s,
        RngSeed::Random => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    };
    config.rng_seed = RngSeed::Fixed(seed);
    let mut runner = TestRunner::new(config);
    let result = runner.run(&prop::collection::vec(any::<u8>(), 48), |bytes| {
        let p = generate(&bytes);
        match run_case(&p, &stats) {
            CaseResult::Agree => Ok(()),
            CaseResult::Skipped => Err(TestCaseError::reject("loom ran out of budget")),
        }
    });
    let stats = stats.into_inner().unwrap_or_else(|e| e.into_inner());
    let again = format!("PROPTEST_RNG_SEED={seed} repeats this run");
    if let Err(e) = result {
        panic!("{e}\n{}\n{again}", report(&stats));
    }
    if std::env::var_os("WQCHECK_DIFF_STATS").is_some() {
        eprintln!("{}; {again}", report(&stats));
    }
    assert!(
        stats.skipped * 5 < stats.cases,
        "too many cases ran out of loom's budget: {}; {again}",
        report(&stats)
    );
    let holds = stats.verdicts.get("Holds").copied().unwrap_or(0);
    assert!(
        holds > 0 && holds < stats.cases - stats.skipped,
        "the generator must produce both holding and violating protocols: {}; {again}",
        report(&stats)
    );
}

/// The waker of models/classic/prepare-then-check.wq and check-then-sleep.wq, written as
/// the generator writes it (seq_cst accesses); with it, `prepare_to_wait(); if (cond)
/// break; schedule();` holds and testing the condition first loses the wake-up.
const TEXTBOOK_WAKER: &str = "void waker0(void)
{
	atomic_store(&cond, 1, memory_order_seq_cst);
	wake_up(&wq);
}
";

const TWO_THREADS: &str = "Scenario(
    model: \"gen.wq\",
    threads: [
        Thread(name: \"w0\", run: \"waiter0\"),
        Thread(name: \"k0\", run: \"waker0\"),
    ],
    actors: [],
    expect: Holds,
)
";

fn textbook(waiter: &str) -> Protocol {
    Protocol {
        model: format!(
            "bool cond = false;\nwaitqueue wq until cond;\n\n{waiter}\n{TEXTBOOK_WAKER}"
        ),
        scenario: TWO_THREADS.into(),
    }
}

/// splitmix64: fixed byte strings for the deterministic cases.
fn fixed_bytes(seed: u64) -> Vec<u8> {
    let mut x = seed;
    (0..48)
        .map(|_| {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            (z ^ (z >> 31)) as u8
        })
        .collect()
}

/// Fixed protocols and fixed seeds: both verdicts are exercised whatever proptest's seed.
#[test]
fn fixed_cases_agree() {
    silence_loom_panics();
    let stats = Mutex::new(Stats::default());
    let mut cases = vec![
        (
            textbook(
                "void waiter0(void)
{
\tDEFINE_WAIT(wait);

\tfor (;;) {
\t\tprepare_to_wait(&wq, &wait, TASK_UNINTERRUPTIBLE);
\t\tif (atomic_load(&cond, memory_order_seq_cst))
\t\t\tbreak;
\t\tschedule();
\t}
\tfinish_wait(&wq, &wait);
}
",
            ),
            Some(Verdict::Holds),
        ),
        (
            textbook(
                "void waiter0(void)
{
\tDEFINE_WAIT(wait);

\tif (!atomic_load(&cond, memory_order_seq_cst)) {
\t\tprepare_to_wait(&wq, &wait, TASK_UNINTERRUPTIBLE);
\t\tschedule();
\t\tfinish_wait(&wq, &wait);
\t}
}
",
            ),
            Some(Verdict::LostWakeup),
        ),
        // All choices canonical: the textbook protocol again, from the generator.
        (generate(&[]), Some(Verdict::Holds)),
    ];
    cases.extend((1..=16).map(|seed| (generate(&fixed_bytes(seed)), None)));
    for (p, expect) in &cases {
        let before = stats.lock().unwrap().verdicts.clone();
        let agreed = matches!(run_case(p, &stats), CaseResult::Agree);
        assert!(
            agreed,
            "loom ran out of budget on a fixed case\n{}",
            p.model
        );
        if let Some(v) = expect {
            let after = stats.lock().unwrap().verdicts.clone();
            let key = format!("{v:?}");
            assert_eq!(
                after.get(&key).copied().unwrap_or(0),
                before.get(&key).copied().unwrap_or(0) + 1,
                "expected {v:?} for\n{}{}",
                numbered(&p.model),
                p.scenario
            );
        }
    }
    let stats = stats.into_inner().unwrap();
    let holds = stats.verdicts.get("Holds").copied().unwrap_or(0);
    assert!(
        holds >= 2 && holds < stats.cases,
        "the fixed cases must include holding and violating protocols: {}",
        report(&stats)
    );
}

/// Why the generator puts a full barrier between a waiter's `add_wait_queue()` and its
/// condition test when a waker uses `wq_has_sleeper()`: the list head is written with a
/// relaxed store under the queue lock (as in the kernel) and `spin_unlock()` is only a
/// release, so without the barrier the waiter's seq_cst load of `cond` may read the old
/// value while the waker's `wq_has_sleeper()` reads the old, empty list: store buffering,
/// a lost wake-up that C11 (and the kernel's memory model) allows and sequential
/// consistency does not. This is the pairing the comment above prepare_to_wait() in
/// kernel/sched/wait.c asks for. With `smp_mb()` both engines hold.
#[test]
fn lockless_waker_needs_the_waiters_barrier() {
    silence_loom_panics();
    let waiter = |barrier: &str| {
        format!(
            "bool cond = false;
waitqueue wq until cond;

void waiter0(void)
{{
\tDEFINE_WAIT(wait);

\tset_current_state(TASK_UNINTERRUPTIBLE);
\tadd_wait_queue(&wq, &wait);
{barrier}\tif (atomic_load(&cond, memory_order_seq_cst))
\t\tgoto out;
\tschedule();
out:
\tfinish_wait(&wq, &wait);
}}

void waker0(void)
{{
\tatomic_store(&cond, 1, memory_order_seq_cst);
\tif (wq_has_sleeper(&wq))
\t\twake_up(&wq);
}}
"
        )
    };
    for (barrier, on_loom) in [("", Verdict::LostWakeup), ("\tsmp_mb();\n", Verdict::Holds)] {
        let p = Protocol {
            model: waiter(barrier),
            scenario: TWO_THREADS.into(),
        };
        let model = build(&p);
        let native = wqcheck_explore::explore(
            &model,
            &wqcheck_explore::Options {
                step_cache: 1 << 12,
                ..wqcheck_explore::Options::default()
            },
        );
        assert_eq!(native.verdict, Verdict::Holds, "{}", p.model);
        let loom = loom_check(&model, &Search::Exhaustive.options()).unwrap();
        assert_eq!(loom.verdict, on_loom, "{}", p.model);
    }
}
