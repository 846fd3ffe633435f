//! The step executor: a scenario on a sequentially consistent runtime (shuttle), one
//! scheduling point per step.
//!
//! Under sequential consistency the native explorer's steps are exactly the interleavings
//! that matter (docs/dsl.md §7): a step's local work and its one shared operation cannot
//! be told apart from one indivisible action. So here every step of every mover runs the
//! reference semantics ([`Model::step`], with the model's own sequentially consistent
//! memory) on the record's state under one runtime mutex, and that mutex is the step's
//! only scheduling point. A randomized scheduler then samples the native explorer's
//! interleavings, one choice per step, instead of one per atomic access of the
//! implementation; a step that blocks waits on a runtime condition variable, so a lost
//! wakeup is the runtime's deadlock, classified as everywhere else.
//!
//! A step costs a copy of the state in, the step, and a comparison of the state out (a
//! few hundred bytes), with no allocation but the row of the trace.

use std::sync::Arc;

use wqcheck_model::{Model, Mover, StepRecord, StepResult};

use crate::record::lock;
use crate::{mover_done, mover_index, Drive, FaultStop, Recorder, Runtime, Setup};

struct World<R: Runtime> {
    model: Arc<Model>,
    record: Recorder,
    /// Held by every step.
    step: R::Mutex,
    /// Signalled after every step while some thread waits for its blocked step.
    changed: R::Condvar,
    actor_delays: Vec<u32>,
}

/// Run one execution at step granularity; see the module docs. `drive.schedule` is not
/// supported here (it is loom's); actor delays and the panic hook are.
pub fn execution_sc<R: Runtime>(setup: &Setup, record: &Recorder, movers: &[Mover], drive: Drive) {
    record.start(&setup.initial, movers.len(), usize::MAX);
    let w = Arc::new(World::<R> {
        model: setup.model.clone(),
        record: record.clone(),
        step: R::mutex(),
        changed: R::condvar(),
        actor_delays: drive.actor_delays.to_vec(),
    });
    let threads: Vec<_> = movers[1..]
        .iter()
        .map(|&m| {
            let w = w.clone();
            R::spawn(move || run_mover(&w, m, false))
        })
        .collect();
    run_mover(&w, movers[0], drive.inject_panic);
    for t in threads {
        R::join(t);
    }
    crate::check_finals(&setup.model, record);
}

fn run_mover<R: Runtime>(w: &World<R>, m: Mover, inject_panic: bool) {
    let model = &*w.model;
    let n = model.layout.state_len();
    let who = mover_index(model, m);
    let mut scratch = vec![0u8; n];
    let mut rec = StepRecord::default();
    if let Mover::Actor { actor, .. } = m {
        for _ in 0..w.actor_delays.get(actor as usize).copied().unwrap_or(0) {
            R::yield_now();
        }
    }
    loop {
        let mut g = R::lock(&w.step);
        if inject_panic {
            panic!("injected panic (WQCHECK_INJECT_PANIC): a bug inside the engine");
        }
        loop {
            w.record.read(|s| scratch.copy_from_slice(s));
            if mover_done(&model.layout, &scratch, m) {
                return;
            }
            match model.step(&mut scratch, m, Some(&mut rec)) {
                StepResult::Moved => {
                    w.record.commit(who, m, &rec, &scratch, &[0..n]);
                    if lock(&w.record.0).waiting > 0 {
                        R::notify_all(&w.changed);
                    }
                    break;
                }
                StepResult::Blocked => {
                    lock(&w.record.0).waiting += 1;
                    g = R::wait(&w.changed, g);
                    lock(&w.record.0).waiting -= 1;
                }
                StepResult::Fault(f) => {
                    w.record.set_fault(m, &rec, f);
                    std::panic::panic_any(FaultStop);
                }
            }
        }
        drop(g);
        if let Mover::Actor { .. } = m {
            return;
        }
    }
}
