//! The record of an execution: the state in the native layout, kept sequentially
//! consistent, and the steps taken, from which a failing execution's trace is built.
//!
//! Every write a step makes to shared state (through `Mem`) lands in the record at once,
//! and is logged against the step's mover; when the step completes, its own part (pc,
//! frames, walk) is copied in and the step becomes a row holding exactly its writes. Per
//! step this costs what the step changed, not the size of the state: a trace is rebuilt
//! from the rows only when an execution fails.

use std::sync::{Arc, Mutex as StdMutex, MutexGuard as StdGuard};

use wqcheck_model::trace::TraceStep;
use wqcheck_model::{Fault, Model, Mover, StepRecord, Verdict, Violation};

/// A poisoned lock only means a runtime thread panicked while holding it; the data is ours.
pub(crate) fn lock<T>(m: &StdMutex<T>) -> StdGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What survives an execution that panicked: the state and the steps so far. Shared
/// between the executions a tool runs (reset at the start of each).
#[derive(Clone, Default)]
pub struct Recorder(pub(crate) Arc<StdMutex<Record>>);

#[derive(Default)]
pub(crate) struct Record {
    pub executions: u64,
    pub initial: Vec<u8>,
    /// The current state: lists, lock holders, every location's latest value, and each
    /// thread's part as of its last completed step.
    pub state: Vec<u8>,
    /// `state` as of the last logged write (to find what a write changed).
    shadow: Vec<u8>,
    /// Writes of each mover's step in progress: (offset, new byte).
    pending: Vec<Vec<(u32, u8)>>,
    pub rows: Vec<Row>,
    pub fault: Option<(Mover, StepRecord, Fault)>,
    /// A `final assert` that is false once every thread returned.
    pub final_violation: Option<Violation>,
    /// The execution was stopped at its deadline (see [`crate::Drive::deadline`]).
    pub out_of_time: bool,
    /// A thread that spins with nobody else able to move: the violation (or, without a
    /// `liveness` to judge it, the reason the run is inconclusive) and the row where the
    /// spin's cycle begins.
    pub spin: Option<(Result<Violation, String>, usize)>,
    /// Kept across executions: why some execution of this search gave way in a spin that
    /// the thread could keep up alone, where the scenario counts that run (no fairness),
    /// which loom then never runs ([`Recorder::unexplored_spin`]).
    pub unexplored_spin: Option<String>,
    /// A directed execution: the index of the next step of the schedule, or `usize::MAX`
    /// once the schedule is done or cannot be followed.
    pub turn: usize,
    /// The movers (threads, then actors) waiting for their turn in the schedule.
    pub turn_waiting: Vec<bool>,
}

pub(crate) struct Row {
    mover: Mover,
    rec: StepRecord,
    writes: Vec<(u32, u8)>,
}

/// Why an execution ended in a panic.
#[derive(Clone, Debug)]
pub enum Failure {
    /// A verdict: the violation and the execution's trace.
    Violation(Violation, Vec<TraceStep>),
    /// The execution reached its deadline and was stopped ([`crate::Drive::deadline`]):
    /// no verdict, and the execution did not finish.
    OutOfTime,
    /// A thread spins with nobody else able to move, in a scenario without `liveness`:
    /// no verdict (safety does not judge infinite runs); what it is, in words.
    Spin(String),
    /// A panic that is not a verdict (the tool's own limits, or a bug): its message.
    Other(String),
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder::default()
    }

    /// Executions started so far.
    pub fn executions(&self) -> u64 {
        lock(&self.0).executions
    }

    /// Start an execution from `initial` with `movers` movers.
    pub(crate) fn start(&self, initial: &[u8], movers: usize, turn: usize) {
        let mut r = lock(&self.0);
        r.executions += 1;
        r.initial.clear();
        r.initial.extend_from_slice(initial);
        r.state.clear();
        r.state.extend_from_slice(initial);
        r.shadow.clear();
        r.shadow.extend_from_slice(initial);
        r.pending.clear();
        r.pending.resize(movers, Vec::new());
        r.rows.clear();
        r.fault = None;
        r.final_violation = None;
        r.out_of_time = false;
        r.spin = None;
        r.turn = turn;
        r.turn_waiting.clear();
        r.turn_waiting.resize(movers, false);
    }

    pub(crate) fn read<T>(&self, f: impl FnOnce(&[u8]) -> T) -> T {
        f(&lock(&self.0).state)
    }

    /// Apply `f` to the state and log what it changed against `mover`'s step.
    pub(crate) fn write(&self, mover: usize, f: impl FnOnce(&mut [u8])) {
        let mut g = lock(&self.0);
        let r = &mut *g;
        f(&mut r.state);
        for (i, (a, b)) in r.state.iter().zip(r.shadow.iter_mut()).enumerate() {
            if a != b {
                *b = *a;
                r.pending[mover].push((i as u32, *a));
            }
        }
    }

    /// A step of `mover` (index `who`) completed: copy in its own bytes (`own` ranges of
    /// `mine`) and make its writes a row.
    pub(crate) fn commit(
        &self,
        who: usize,
        mover: Mover,
        rec: &StepRecord,
        mine: &[u8],
        own: &[std::ops::Range<usize>],
    ) {
        let mut g = lock(&self.0);
        let r = &mut *g;
        let mut writes = std::mem::take(&mut r.pending[who]);
        for range in own {
            for i in range.clone() {
                if r.state[i] != mine[i] {
                    r.state[i] = mine[i];
                    r.shadow[i] = mine[i];
                    writes.push((i as u32, mine[i]));
                }
            }
        }
        r.rows.push(Row {
            mover,
            rec: rec.clone(),
            writes,
        });
    }

    /// A fingerprint of the whole recorded state and the number of steps so far: a thread
    /// whose steps alone bring the state back to a fingerprint it had is spinning.
    pub(crate) fn fingerprint(&self) -> (u64, usize) {
        use std::hash::{Hash, Hasher};
        let r = lock(&self.0);
        let mut h = std::collections::hash_map::DefaultHasher::new();
        r.state.hash(&mut h);
        (h.finish(), r.rows.len())
    }

    /// Stop the execution: a thread spins for ever (see [`crate::spin`]).
    pub(crate) fn stop_spinning(&self, what: Result<Violation, String>, cycle_start: usize) -> ! {
        lock(&self.0).spin = Some((what, cycle_start));
        std::panic::panic_any(crate::FaultStop);
    }

    /// An execution gave way in a spin that could also go on for ever in a run the
    /// scenario counts: `why`, in words (the first one is kept).
    pub(crate) fn gave_way_in_spin(&self, why: impl FnOnce() -> String) {
        let mut r = lock(&self.0);
        if r.unexplored_spin.is_none() {
            r.unexplored_spin = Some(why());
        }
    }

    /// Why the search cannot say `Holds`: some execution gave way in a spin where the
    /// scenario also counts the run in which it spins for ever, and that run was not
    /// explored (module `spin`, "Under loom").
    pub fn unexplored_spin(&self) -> Option<String> {
        lock(&self.0).unexplored_spin.clone()
    }

    /// For a spin found: where its cycle begins in the trace.
    pub fn cycle_start(&self) -> Option<usize> {
        lock(&self.0).spin.as_ref().map(|s| s.1)
    }

    /// Stop the execution: its deadline has passed. Raises the panic that ends it.
    pub(crate) fn stop_out_of_time(&self) -> ! {
        lock(&self.0).out_of_time = true;
        std::panic::panic_any(crate::FaultStop);
    }

    pub(crate) fn set_fault(&self, m: Mover, rec: &StepRecord, f: Fault) {
        lock(&self.0).fault = Some((m, rec.clone(), f));
    }

    /// Turn the panic that ended the last execution into a verdict, if it is one: a model
    /// fault (`AssertionFailed`), or the runtime's deadlock report (classified by
    /// [`Model::classify_stuck`] on the recorded state).
    pub fn failure(&self, model: &Model, panic: &str) -> Failure {
        let rec = lock(&self.0);
        if rec.out_of_time {
            return Failure::OutOfTime;
        }
        if let Some((m, r, f)) = &rec.fault {
            let (mut trace, last) = rows(model, &rec.initial, &rec.rows);
            trace.push(model.trace_step(*m, r, &last, &last, Some(f)));
            return Failure::Violation(
                Violation {
                    verdict: Verdict::AssertionFailed,
                    message: f.message.clone(),
                    span: Some(f.span),
                },
                trace,
            );
        }
        if let Some((what, _)) = &rec.spin {
            return match what {
                Ok(v) => Failure::Violation(v.clone(), rows(model, &rec.initial, &rec.rows).0),
                Err(why) => Failure::Spin(why.clone()),
            };
        }
        if let Some(v) = &rec.final_violation {
            return Failure::Violation(v.clone(), rows(model, &rec.initial, &rec.rows).0);
        }
        if panic.contains("deadlock") && !rec.state.is_empty() && !model.all_done(&rec.state) {
            if let Some(v) = model.end_violation(&rec.state) {
                return Failure::Violation(v, rows(model, &rec.initial, &rec.rows).0);
            }
        }
        Failure::Other(panic.to_string())
    }
}

/// The trace of `rows` from `initial`, and the state after them.
fn rows(model: &Model, initial: &[u8], rows: &[Row]) -> (Vec<TraceStep>, Vec<u8>) {
    let mut state = initial.to_vec();
    let steps = rows
        .iter()
        .map(|r| {
            let before = state.clone();
            for &(i, b) in &r.writes {
                state[i as usize] = b;
            }
            model.trace_step(r.mover, &r.rec, &before, &state, None)
        })
        .collect();
    (steps, state)
}
