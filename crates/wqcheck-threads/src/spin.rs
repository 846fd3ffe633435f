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
//! module `liveness`).
//!
//! # Under loom
//!
//! loom's executor (`execution`) watches too ([`QuietWatch`]), but under loom "the state
//! came back" is not "nothing can change": a load may return an older store than the
//! latest, and a thread in the middle of a step has made writes the record may not show
//! yet. So a spin is judged only after three things:
//! - the thread gave way ([`Runtime::give_way`](crate::Runtime::give_way): loom runs
//!   every other runnable thread first) and no other thread, and no actor, ran;
//! - its own steps then went round a cycle again with every load returning the latest
//!   store (the record is exact while nobody else runs, and a load that has seen the
//!   latest store of a location can return no older one: coherence), so its future is
//!   that cycle for ever;
//! - it gave way again at the end of the cycle, and again nobody ran.
//!
//! While anyone else ran, the thread gives way at every repeat, as under shuttle. The
//! actors are held back meanwhile (`World::hold_actors`): they are owed nothing, so the
//! run in which they never come must be one loom runs, and an actor that runs at a
//! give-way only goes to wait. With `fairness: None` the runs in which the others never
//! move again count too, and a give-way skips them: a search that gave way in a spin the
//! thread could keep up alone cannot say `Holds` ([`crate::Recorder::unexplored_spin`]).
//!
//! A first attempt judged after two yields with no other *row*: it called a spin in
//! linux-completion-killable, where another thread was in the middle of a step.

use wqcheck_model::ir::Fairness;
use wqcheck_model::{Model, Verdict, Violation};

/// The scenario's fairness, if it has a `liveness`.
pub(crate) fn fairness(model: &Model) -> Option<Fairness> {
    model.inst.liveness.as_ref().map(|l| l.fairness)
}

/// The fingerprints a bounded run of one thread's steps may be compared against.
pub(crate) const MAX_LOG: usize = 4096;

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

/// loom's watch over one thread's steps: see "Under loom" in the module docs.
#[derive(Default)]
pub(crate) struct QuietWatch {
    watch: SpinWatch,
    /// Since the thread came back to a state of its run (the actors are held back
    /// meanwhile): the rows recorded then, and the length of that cycle.
    spinning: Option<(usize, usize)>,
    /// The rows recorded when a give-way found nobody else to run, if none has run since.
    quiet: Option<usize>,
}

impl QuietWatch {
    /// After a completed step: the fingerprint of the state, the rows recorded.
    /// `.0 = Some(row)`: it is back in the state it was in after row `row - 1`; it is to
    /// give way, then call [`QuietWatch::after_give_way`]. `.1`: it stopped spinning
    /// (another mover moved, or it left the cycle), so the actors may go.
    pub(crate) fn after_step(&mut self, fingerprint: u64, rows: usize) -> (Option<usize>, bool) {
        let mut stopped = false;
        if rows != self.watch.last + 1 {
            // Another mover's step: whatever was quiet is not any more.
            self.quiet = None;
            stopped = self.spinning.take().is_some();
        }
        let at = self.watch.after_step(fingerprint, rows);
        match (at, self.spinning) {
            (Some(at), _) => {
                self.spinning = Some((rows, rows - at));
            }
            // Twice the cycle and more without coming back: it left it.
            (None, Some((since, len))) if rows > since + 2 * len + 2 => {
                self.spinning = None;
                self.quiet = None;
                stopped = true;
            }
            (None, _) => {}
        }
        (at, stopped)
    }

    /// Whether the thread is spinning, as far as the watch knows (the actors are held).
    pub(crate) fn spinning(&self) -> bool {
        self.spinning.is_some()
    }

    /// It blocked or returned: it is not spinning.
    pub(crate) fn stop(&mut self) {
        self.spinning = None;
        self.quiet = None;
    }

    /// After the give-way: `ran`, whether anyone else ran; `fresh`, whether every load
    /// since the last give-way read the latest store. `Ok(at)`: the thread spins for ever
    /// in rows `at..rows` (0-based). `Err(watch)`: it goes on, and its loads are to be
    /// watched from here (`true`: nobody ran, so one more cycle decides) or not.
    pub(crate) fn after_give_way(
        &mut self,
        at: usize,
        (fingerprint, rows): (u64, usize),
        ran: bool,
        fresh: bool,
    ) -> Result<usize, bool> {
        if ran {
            self.quiet = None;
            return Err(false);
        }
        // The cycle that brought it back began after a quiet give-way.
        if self.quiet.is_some_and(|q| at >= q) && fresh {
            return Ok(at);
        }
        self.quiet = Some(rows);
        self.watch.log.clear();
        self.watch.log.push((fingerprint, rows));
        Err(true)
    }
}

/// Thread `t` spins in rows `from..to` (0-based) of the trace with nobody else able to
/// move, in `state`: the violation, or, without a `liveness` to judge it, why the run has
/// no verdict.
///
/// Every other thread is done, or waits: for a lock, a wakeup, or its turn. Under weak
/// fairness that is a fair run even if the spinner's cycle lets one of them go for a
/// moment (releasing a lock it waits for): it is not enabled *continuously*. Under strong
/// fairness it would not be, and which threads the cycle enables is not known here: a
/// spin is judged under strong fairness only when every other thread has returned.
///
/// `alone`: nobody else can move. Otherwise the scenario has no fairness
/// (`fairness: None`), and the cycle alone is a run it counts.
pub(crate) fn judge(
    model: &Model,
    state: &[u8],
    t: usize,
    (from, to): (usize, usize),
    alone: bool,
) -> Result<Violation, String> {
    let rows = wqcheck_model::verdict::cycle_rows(from, to - from);
    let why = if alone {
        "no other thread can move"
    } else {
        "the other threads need not move"
    };
    let name = |u: usize| model.thread_name(u).to_string();
    let Some(live) = &model.inst.liveness else {
        return Err(format!(
            "`{}` spins: {rows} for ever, and no other thread can move (a livelock); safety does not judge infinite runs: add `liveness: (returns: [\"{}\"])` to the scenario to check it",
            name(t),
            name(t)
        ));
    };
    let threads = model.inst.threads.len();
    if live.fairness == Fairness::Strong
        && (0..threads).any(|u| u != t && !model.layout.done(state, u))
    {
        return Err(format!(
            "`{}` spins: {rows} for ever, and no other thread can move now; under strong fairness that run is fair only if the cycle never lets another thread go, which this engine does not check (the native explorer does)",
            name(t)
        ));
    }
    let pending: Vec<usize> = (live.returns.iter())
        .map(|&u| u as usize)
        .filter(|&u| !model.layout.done(state, u))
        .collect();
    let (verdict, message) = if pending.contains(&t) {
        (
            Verdict::Livelock,
            format!(
                "`{}` never returns: {rows} for ever, a run that is fair under {} fairness ({why}); every thread that moves in them (`{}`) still has to return",
                name(t),
                live.fairness.name(),
                name(t)
            ),
        )
    } else if let Some(&u) = pending.first() {
        (
            Verdict::Starvation,
            format!(
                "`{}` never returns: {rows} for ever, a run that is fair under {} fairness ({why}); `{}` keeps moving in them with nothing owed",
                name(u),
                live.fairness.name(),
                name(t)
            ),
        )
    } else {
        return Err(format!(
            "`{}` spins: {rows} for ever once every thread of `returns` has returned, and {why}; nothing is owed, but the execution cannot end",
            name(t)
        ));
    };
    Ok(Violation {
        verdict,
        message,
        span: None,
    })
}
