//! Spins: a thread whose own steps bring the whole state back to where it was is spinning.
//! Under sequential consistency its next steps can only repeat that cycle until another
//! thread moves, so an execution that let it go on would run until the runtime's step
//! bound (a hang, to the user) while proving nothing.
//!
//! The step executor (shuttle) watches every thread's completed steps (`SpinWatch`): the
//! fingerprint of the recorded state after each step of a run of its steps that no other
//! mover interrupted. When one repeats, the thread is spinning:
//! - if another thread can still move, the spinner waits for another mover's step: this
//!   is what weak fairness assumes, and the run goes on;
//! - if nobody else can move, it spins for ever. With a `liveness` in the scenario this is
//!   a fair infinite run (every other thread is asleep, blocked or done; actors are owed
//!   nothing), judged as the native explorer judges it (`judge`): a `Livelock` if the
//!   spinner must return, a `Starvation` if another thread that must return is stuck
//!   behind it. Without one, safety has nothing to say about an infinite run, and the
//!   run ends `Inconclusive`, saying so.
//!
//! The native explorer finds the same cycles in its state graph (`wqcheck-explore`,
//! module `liveness`). loom's executor does not watch yet: under loom a load may return
//! an older store, so "the state came back" is not "nothing can change", and a first
//! attempt (give way twice, then judge) called a spin where there was none
//! (linux-completion-killable); a spin there still runs to `max_branches`.

use wqcheck_model::{Model, Verdict, Violation};

/// The fingerprints a bounded run of one thread's steps may be compared against.
const MAX_LOG: usize = 4096;

/// One thread's run of steps that nobody else interrupted.
#[derive(Default)]
pub(crate) struct SpinWatch {
    /// (fingerprint after a step, rows recorded then).
    log: Vec<(u64, usize)>,
    /// Rows recorded after this thread's last step.
    last: usize,
}

impl SpinWatch {
    /// After a completed step of this thread: the fingerprint of the state and the rows
    /// recorded (its own included). `Some(row)`: it is back in a state it was in after
    /// row `row - 1`, so rows `row..rows` are a cycle of its own steps.
    pub(crate) fn after_step(&mut self, fingerprint: u64, rows: usize) -> Option<usize> {
        if rows != self.last + 1 {
            // Another mover's step came in between: a new run.
            self.log.clear();
        }
        self.last = rows;
        if let Some(&(_, at)) = self.log.iter().find(|(h, _)| *h == fingerprint) {
            return Some(at);
        }
        if self.log.len() == MAX_LOG {
            self.log.clear();
        }
        self.log.push((fingerprint, rows));
        None
    }
}

/// Thread `t` spins in rows `from..to` (0-based) of the trace with nobody else able to
/// move, in `state`: the violation, or, without a `liveness` to judge it, why the run has
/// no verdict.
pub(crate) fn judge(
    model: &Model,
    state: &[u8],
    t: usize,
    from: usize,
    to: usize,
) -> Result<Violation, String> {
    let rows = wqcheck_model::verdict::cycle_rows(from, to - from);
    let name = |u: usize| model.thread_name(u).to_string();
    let Some(live) = &model.inst.liveness else {
        return Err(format!(
            "`{}` spins: {rows} for ever, and no other thread can move (a livelock); safety does not judge infinite runs: add `liveness: (returns: [\"{}\"])` to the scenario to check it",
            name(t),
            name(t)
        ));
    };
    let pending: Vec<usize> = (live.returns.iter())
        .map(|&u| u as usize)
        .filter(|&u| !model.layout.done(state, u))
        .collect();
    let (verdict, message) = if pending.contains(&t) {
        (
            Verdict::Livelock,
            format!(
                "`{}` never returns: {rows} for ever, a run that is fair under {} fairness (no other thread can move); every thread that moves in them (`{}`) still has to return",
                name(t),
                live.fairness.name(),
                name(t)
            ),
        )
    } else if let Some(&u) = pending.first() {
        (
            Verdict::Starvation,
            format!(
                "`{}` never returns: {rows} for ever, a run that is fair under {} fairness (no other thread can move); `{}` keeps moving in them with nothing owed",
                name(u),
                live.fairness.name(),
                name(t)
            ),
        )
    } else {
        return Err(format!(
            "`{}` spins: {rows} for ever once every thread of `returns` has returned, and no other thread can move; nothing is owed, but the execution cannot end",
            name(t)
        ));
    };
    Ok(Violation {
        verdict,
        message,
        span: None,
    })
}
