//! The step executor: a scenario on a sequentially consistent runtime (shuttle), one
//! scheduling point per step.
//!
//! Under sequential consistency the native explorer's steps are exactly the interleavings
//! that matter (docs/dsl.md §7): a step's local work and its one shared operation cannot
//! be told apart from one indivisible action. So here every step of every mover runs the
//! reference semantics ([`Model::step`], with the model's own sequentially consistent
//! memory) on the record's state, after one scheduling point ([`Runtime::switch`]). The
//! runtime is cooperative (it switches threads only at its own operations), so nothing
//! else can run during the step and it needs no lock. A randomized scheduler then samples
//! the native explorer's interleavings, one choice per step, instead of one per atomic
//! access of the implementation.
//!
//! A step that blocks waits on a runtime condition variable of its own mover, and a step
//! that moves wakes exactly the blocked movers it enabled (it tries each one's step on a
//! copy of the state): a waiter woken only to block again would be a scheduling choice
//! that changes nothing, and a depth-first scheduler would enumerate it. When every
//! unfinished mover waits, the runtime reports a deadlock: a lost wakeup, classified as
//! everywhere else. Unless every mover left is a daemon asleep (scenario `daemon: true`):
//! then the daemons leave, and the end is checked as the native explorer checks it
//! ([`Model::end_violation`](wqcheck_model::Model::end_violation)).
//!
//! A step costs a copy of the state in, the step, a comparison of the state out (a few
//! hundred bytes), and a trial step per blocked mover, with no allocation but the row of
//! the trace.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use wqcheck_model::ir::Fairness;
use wqcheck_model::{Model, Mover, StepRecord, StepResult};

use crate::record::lock;
use crate::spin::{self, SpinWatch};
use crate::{mover_done, mover_index, timer_owner, Drive, FaultStop, Recorder, Runtime, Setup};

struct World<R: Runtime> {
    model: Arc<Model>,
    record: Recorder,
    /// Held by a blocked mover from its last try to its wait (the condition variables'
    /// mutex); never across a step of a mover that is not blocked.
    gate: R::Mutex,
    /// Per mover (by [`mover_index`]): signalled when another mover's step enables its
    /// blocked step.
    enabled: Vec<R::Condvar>,
    /// Per mover: blocked and not yet woken.
    blocked: std::sync::Mutex<Vec<Option<Mover>>>,
    /// Steps made so far in this execution.
    steps: AtomicUsize,
    actor_delays: Vec<u32>,
}

/// Run one execution at step granularity; see the module docs. `drive.schedule` is not
/// supported here (it is loom's); actor delays and the panic hook are.
pub fn execution_sc<R: Runtime>(setup: &Setup, record: &Recorder, movers: &[Mover], drive: Drive) {
    record.start(&setup.initial, movers.len(), usize::MAX);
    let nmovers = setup.model.inst.threads.len() + setup.model.inst.actors.len();
    let w = Arc::new(World::<R> {
        model: setup.model.clone(),
        record: record.clone(),
        gate: R::mutex(),
        enabled: (0..nmovers).map(|_| R::condvar()).collect(),
        blocked: std::sync::Mutex::new(vec![None; nmovers]),
        steps: AtomicUsize::new(0),
        actor_delays: drive.actor_delays.to_vec(),
    });
    let threads: Vec<_> = movers[1..]
        .iter()
        .map(|&m| {
            let w = w.clone();
            R::spawn(move || run_mover(&w, m, false))
        })
        .collect();
    // Spawning is no scheduling point: without this one the first mover's first step
    // would always come first.
    R::switch();
    run_mover(&w, movers[0], drive.inject_panic);
    for t in threads {
        R::join(t);
    }
    crate::check_finals(&setup.model, record);
}

/// A mover's buffers: the state it steps on, a copy for trying others' steps, its record.
struct Buffers {
    state: Vec<u8>,
    trial: Vec<u8>,
    rec: StepRecord,
}

fn run_mover<R: Runtime>(w: &World<R>, m: Mover, inject_panic: bool) {
    let model = &*w.model;
    let n = model.layout.state_len();
    let mut b = Buffers {
        state: vec![0u8; n],
        trial: vec![0u8; n],
        rec: StepRecord::default(),
    };
    if let Mover::Actor { actor, .. } = m {
        // Let `delay` steps pass first, unless every thread is blocked or done (then
        // nothing but an actor can move, and waiting would be a false deadlock).
        let delay = w.actor_delays.get(actor as usize).copied().unwrap_or(0) as usize;
        while w.steps.load(Ordering::Relaxed) < delay && !threads_stuck(w, &mut b.state) {
            R::switch();
        }
    }
    if inject_panic {
        panic!("injected panic (WQCHECK_INJECT_PANIC): a bug inside the engine");
    }
    // The scheduling point of a mover's first step is the one at which the runtime first
    // runs it (the first mover's: the switch after the spawns); of every later step, the
    // switch after the step before. A mover that is done leaves without one.
    let mut watch = SpinWatch::default();
    loop {
        match try_step(w, m, &mut b, false) {
            Some(true) => {
                if let Mover::Thread(t) = m {
                    give_way_if_spinning(w, t as usize, &mut watch, &mut b);
                }
            }
            Some(false) => {
                if !wait_and_step(w, m, &mut b) {
                    return;
                }
            }
            None => return end_daemons(w, &mut b),
        }
        // A signal acts once; a timer acts again after each arming, until its thread is done.
        let once = matches!(m, Mover::Actor { .. }) && timer_owner(model, m).is_none();
        if once || mover_done(model, &b.state, m) {
            return end_daemons(w, &mut b);
        }
        R::switch();
    }
}

/// After a step of thread `t`: if its own steps brought the state back to where it was
/// (module `spin`), nothing it does can change until another thread moves. Wait for
/// that; if no other thread can move, it spins for ever, which ends the execution.
fn give_way_if_spinning<R: Runtime>(
    w: &World<R>,
    t: usize,
    watch: &mut SpinWatch,
    b: &mut Buffers,
) {
    let (fingerprint, rows) = w.record.fingerprint();
    let Some(at) = watch.after_step(fingerprint, rows) else {
        return;
    };
    // With no fairness, the spin alone is a run the scenario counts.
    let unfair = spin::fairness(&w.model) == Some(Fairness::None);
    let steps = w.steps.load(Ordering::Relaxed);
    while w.steps.load(Ordering::Relaxed) == steps {
        let alone = !others_can_move(w, t, &mut b.trial);
        if alone || unfair {
            let what = w
                .record
                .read(|s| spin::judge(&w.model, s, t, (at, rows), alone));
            // Nothing to report while others can move: give way, as with fairness.
            if alone || what.is_ok() {
                w.record.stop_spinning(what, at);
            }
        }
        // shuttle's PCT lowers a yielding thread's priority.
        R::yield_now();
    }
}

/// Whether a thread other than `t` is neither done nor waiting for its blocked step
/// (read into `state`). Actors are owed nothing: a signal need not come.
fn others_can_move<R: Runtime>(w: &World<R>, t: usize, state: &mut [u8]) -> bool {
    w.record.read(|s| state.copy_from_slice(s));
    let blocked = lock(&w.blocked);
    (0..w.model.inst.threads.len())
        .any(|u| u != t && !w.model.layout.done(state, u) && blocked[u].is_none())
}

/// Whether the movers left are daemons that wait (read into `state`): nobody can wake
/// them any more.
fn daemons_left<R: Runtime>(w: &World<R>, state: &mut [u8]) -> bool {
    let model = &*w.model;
    w.record.read(|s| state.copy_from_slice(s));
    let blocked = lock(&w.blocked);
    let threads = &model.inst.threads;
    let daemon = |t: usize| threads[t].daemon;
    (0..threads.len()).any(|t| daemon(t) && !model.layout.done(state, t))
        && (0..threads.len())
            .all(|t| model.layout.done(state, t) || (daemon(t) && blocked[t].is_some()))
        && (0..model.inst.actors.len()).all(|a| {
            let m = Mover::Actor {
                actor: a as u8,
                choice: 0,
            };
            mover_done(model, state, m)
        })
}

/// A mover has finished: if only waiting daemons are left, wake them to leave.
fn end_daemons<R: Runtime>(w: &World<R>, b: &mut Buffers) {
    if !w.model.inst.threads.iter().any(|t| t.daemon) {
        return;
    }
    let g = R::lock(&w.gate);
    if daemons_left(w, &mut b.state) {
        wake_waiting(w, None);
    }
    drop(g);
}

/// With the gate held: wake every waiting mover but `except` (to leave: only daemons wait).
fn wake_waiting<R: Runtime>(w: &World<R>, except: Option<usize>) {
    for (j, d) in lock(&w.blocked).iter().enumerate() {
        if d.is_some() && Some(j) != except {
            R::notify_all(&w.enabled[j]);
        }
    }
}

/// Try `m`'s next step: `Some(true)` if it moved (and woke the movers it enabled),
/// `Some(false)` if it is blocked, `None` if `m` is done. `gated`: the caller holds the
/// gate.
fn try_step<R: Runtime>(w: &World<R>, m: Mover, b: &mut Buffers, gated: bool) -> Option<bool> {
    let model = &*w.model;
    w.record.read(|s| b.state.copy_from_slice(s));
    if mover_done(model, &b.state, m) {
        return None;
    }
    match model.step(&mut b.state, m, Some(&mut b.rec)) {
        StepResult::Moved => {
            // The whole state is the step's own: it ran on a copy of the record.
            let whole = 0..b.state.len();
            let whole = std::slice::from_ref(&whole);
            w.record
                .commit(mover_index(model, m), m, &b.rec, &b.state, whole);
            w.steps.fetch_add(1, Ordering::Relaxed);
            if enables_any(w, b) {
                if gated {
                    wake_enabled(w, b);
                } else {
                    // A waiter sets its flag before its wait releases the gate (a
                    // scheduling point): with the gate, every flagged waiter is waiting.
                    let g = R::lock(&w.gate);
                    wake_enabled(w, b);
                    drop(g);
                }
            }
            Some(true)
        }
        StepResult::Blocked => Some(false),
        StepResult::Fault(f) => {
            w.record.set_fault(m, &b.rec, f);
            std::panic::panic_any(FaultStop);
        }
    }
}

/// The blocked movers whose step `state` enables, tried on `b.trial`.
fn enabled_movers<R: Runtime>(w: &World<R>, b: &mut Buffers) -> Vec<usize> {
    let blocked = lock(&w.blocked).clone();
    let mut out = Vec::new();
    for (j, other) in blocked.iter().enumerate() {
        let Some(other) = *other else { continue };
        b.trial.copy_from_slice(&b.state);
        // A timer whose thread has returned is enabled to leave.
        if mover_done(&w.model, &b.trial, other)
            || !matches!(w.model.step(&mut b.trial, other, None), StepResult::Blocked)
        {
            out.push(j);
        }
    }
    out
}

fn enables_any<R: Runtime>(w: &World<R>, b: &mut Buffers) -> bool {
    lock(&w.blocked).iter().any(Option::is_some) && !enabled_movers(w, b).is_empty()
}

/// With the gate held: wake every blocked mover the current state enables (others may
/// have moved while this one took the gate).
fn wake_enabled<R: Runtime>(w: &World<R>, b: &mut Buffers) {
    w.record.read(|s| b.state.copy_from_slice(s));
    for j in enabled_movers(w, b) {
        lock(&w.blocked)[j] = None;
        R::notify_all(&w.enabled[j]);
    }
}

/// Whether every thread is done or waits for its blocked step (read into `state`).
fn threads_stuck<R: Runtime>(w: &World<R>, state: &mut [u8]) -> bool {
    w.record.read(|s| state.copy_from_slice(s));
    let blocked = lock(&w.blocked);
    (0..w.model.inst.threads.len()).all(|t| w.model.layout.done(state, t) || blocked[t].is_some())
}

/// `m`'s step is blocked: wait until another mover's step enables it, then make it
/// (`true`); or, a daemon, leave once only waiting daemons are left (`false`).
fn wait_and_step<R: Runtime>(w: &World<R>, m: Mover, b: &mut Buffers) -> bool {
    let who = mover_index(&w.model, m);
    let daemon = matches!(m, Mover::Thread(t) if w.model.inst.threads[t as usize].daemon);
    // Taking the gate is a scheduling point: others may move before the next try, which
    // is made with the gate held, so that a mover that enables this one must wait for
    // the gate, which `wait` releases only once this one waits.
    let mut g = R::lock(&w.gate);
    loop {
        match try_step(w, m, b, true) {
            Some(true) | None => return true,
            Some(false) => {
                lock(&w.blocked)[who] = Some(m);
                if daemon && daemons_left(w, &mut b.trial) {
                    // The last to wait: the other daemons leave with it.
                    wake_waiting(w, Some(who));
                    return false;
                }
                g = R::wait(&w.enabled[who], g);
            }
        }
    }
}
