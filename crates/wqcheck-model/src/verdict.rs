//! The verdicts and the oracle that classifies a stuck state.
//!
//! The definitions here are the README's, word for word; keep them in step.

use crate::compile::Instr;
use crate::interp::Model;
use crate::ir::{task, Builtin, Expectation, Span, Value, VarType};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Verdict {
    /// No reachable violation within the bounds.
    Holds,
    /// A reachable state where no thread or actor can move, some thread sleeps, and what it
    /// waits for is available (the wake condition of a queue it sleeps on holds).
    LostWakeup,
    /// A reachable state where no thread or actor can move, someone is blocked, and what they
    /// wait for is not available.
    Deadlock,
    /// An `assert` is false, or the model did something the kernel forbids (a run-time error).
    AssertionFailed,
    /// A fair infinite run (a lasso: a stem, then a cycle repeated for ever) in which a
    /// thread the scenario's `liveness` names never returns, while another thread keeps
    /// moving with nothing owed, or returns, inside the cycle.
    Starvation,
    /// A fair infinite run in which a thread the scenario's `liveness` names never returns
    /// and every thread that moves in the cycle is such a thread: they run, and none of
    /// them gets anywhere (a spin, or threads that keep undoing each other).
    Livelock,
    /// A budget ran out before the search finished.
    Inconclusive,
    /// A randomized search (shuttle's random or PCT scheduler) ran its executions without
    /// finding a violation: a sample, not a proof.
    NoViolationFound,
}

impl Verdict {
    pub fn definition(self) -> &'static str {
        match self {
            Verdict::Holds => "no reachable violation within the bounds",
            Verdict::LostWakeup => "a reachable state where no thread or actor can move, some thread sleeps, and what it waits for is available (the wake condition of a queue it sleeps on holds)",
            Verdict::Deadlock => "a reachable state where no thread or actor can move, someone is blocked, and what they wait for is not available",
            Verdict::AssertionFailed => "an assert is false, or the model did something the kernel forbids (a run-time error)",
            Verdict::Starvation => "a fair infinite run in which a thread the scenario's liveness names never returns, while another thread keeps moving with nothing owed",
            Verdict::Livelock => "a fair infinite run in which a thread the scenario's liveness names never returns, and every thread that moves in the cycle is such a thread",
            Verdict::Inconclusive => "a budget ran out before the search finished; nothing is claimed",
            Verdict::NoViolationFound => "a randomized search ran its executions without finding a violation; a sample, not a proof",
        }
    }

    /// Whether this verdict is of the kind `expect` names (a sampled `NoViolationFound`
    /// is of the kind `Holds`). This is the verdict alone: the gate is [`Finding::meets`],
    /// which also asks what the run covered (its [`Claim`], and that it explored anything).
    pub fn meets(self, expect: Expectation) -> bool {
        matches!(
            (self, expect),
            (_, Expectation::Unstated)
                | (
                    Verdict::Holds | Verdict::NoViolationFound,
                    Expectation::Holds
                )
                | (Verdict::LostWakeup, Expectation::LostWakeup)
                | (Verdict::Deadlock, Expectation::Deadlock)
                | (Verdict::AssertionFailed, Expectation::AssertionFailed)
                | (Verdict::Starvation, Expectation::Starvation)
                | (Verdict::Livelock, Expectation::Livelock)
        )
    }
}

/// How much a run's verdict covers: the strength of what it claims. A `Holds` from a
/// complete search and one within loom's preemption bound are the same verdict with
/// different claims; the JSON output carries the claim (`"claim": "exhaustive"`), and a
/// scenario may require one (`require: Exhaustive`).
///
/// The claims without a violation are ordered, weakest first: `Sampled` < `Bounded` <
/// `Exhaustive`; a `Counterexample` meets every requirement (the violation is real), and
/// `Nothing` none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Claim {
    /// A budget stopped the search before it had an answer (`Inconclusive`).
    Nothing,
    /// No violation in the executions run: a sample (shuttle's random or PCT scheduler, or
    /// a DFS cut short), not a proof.
    Sampled,
    /// No violation in any execution within a bound the engine names (loom within its
    /// preemption bound).
    Bounded,
    /// No violation in any reachable state (the native explorer) or any execution (loom's
    /// unbounded search, shuttle's DFS run to the end) of the instance, under the engine's
    /// memory model.
    Exhaustive,
    /// A violation, with the trace that reaches it.
    Counterexample,
}

impl Claim {
    /// The claim of a run that ended with `verdict`; `bounded` says whether a `Holds` was
    /// reached within a bound (loom's preemption bound).
    pub fn of(verdict: Verdict, bounded: bool) -> Claim {
        match verdict {
            Verdict::Holds if bounded => Claim::Bounded,
            Verdict::Holds => Claim::Exhaustive,
            Verdict::NoViolationFound => Claim::Sampled,
            Verdict::Inconclusive => Claim::Nothing,
            Verdict::LostWakeup
            | Verdict::Deadlock
            | Verdict::AssertionFailed
            | Verdict::Starvation
            | Verdict::Livelock => Claim::Counterexample,
        }
    }

    /// The name used in scenario files (`require: Exhaustive`) and, lowercased, in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Claim::Nothing => "Nothing",
            Claim::Sampled => "Sampled",
            Claim::Bounded => "Bounded",
            Claim::Exhaustive => "Exhaustive",
            Claim::Counterexample => "Counterexample",
        }
    }

    /// Whether this claim is at least as strong as `required`.
    pub fn meets(self, required: Claim) -> bool {
        match self {
            Claim::Counterexample => true,
            Claim::Nothing => false,
            c => c >= required,
        }
    }
}

/// What one run established: its verdict, how strongly, over how many states (native)
/// or executions (loom, shuttle). The regression gate asks it whether the scenario's
/// expectation is met ([`Finding::meets`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Finding {
    pub verdict: Verdict,
    pub claim: Claim,
    /// Distinct states stored, or executions run.
    pub explored: u64,
}

impl Finding {
    /// The gate: the verdict is of the kind `expect` names, a run without a violation
    /// explored at least one state or execution (a search that looked at nothing proves
    /// nothing, whatever its verdict says), and its claim is at least `require`.
    pub fn meets(&self, expect: Expectation, require: Option<Claim>) -> bool {
        // An exploration (no `expect`) reports whatever it found.
        if expect == Expectation::Unstated {
            return true;
        }
        if !self.verdict.meets(expect) {
            return false;
        }
        if self.claim != Claim::Counterexample && self.explored == 0 {
            return false;
        }
        require.is_none_or(|r| self.claim.meets(r))
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// [`expectation_name`] of [`Expectation::Unstated`]: the `"expected"` of a result whose
/// scenario has no `expect`.
pub const UNSTATED: &str = "none";

pub fn expectation_name(e: Expectation) -> &'static str {
    match e {
        Expectation::Holds => "Holds",
        Expectation::LostWakeup => "LostWakeup",
        Expectation::Deadlock => "Deadlock",
        Expectation::AssertionFailed => "AssertionFailed",
        Expectation::Starvation => "Starvation",
        Expectation::Livelock => "Livelock",
        Expectation::Unstated => UNSTATED,
    }
}

/// The rows of a lasso's cycle in words, for messages and trace tables: `row 5 repeats`,
/// `rows 3–36 repeat` (`first` is 0-based, the rows printed 1-based).
pub fn cycle_rows(first: usize, len: usize) -> String {
    match len {
        1 => format!("row {} repeats", first + 1),
        _ => format!("rows {}–{} repeat", first + 1, first + len),
    }
}

/// A violation found in a state: its verdict and the stuck state (or fault) in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub verdict: Verdict,
    pub message: String,
    pub span: Option<Span>,
}

impl Model {
    /// The source text of a span, on one line.
    pub fn span_text(&self, span: Span) -> String {
        let text = &self.inst.program.source.text;
        let s = text
            .get(span.start as usize..span.end as usize)
            .unwrap_or("");
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// A sleep's condition as written, quoted, and, where it names array elements
    /// through an index (`!PG_locked[page]`) or a shared object's fields (`done > 0` of
    /// `struct completion`), the elements this sleep site waits for:
    /// `` `!PG_locked[page]` (here `!PG_locked[1]`) ``.
    pub fn condition_text(&self, c: &crate::ir::Expr) -> String {
        let written = self.span_text(c.span);
        // Only an index, or a shared object's field (`x->done` is `reqs[1].done`), makes
        // the text differ from what it means.
        match self
            .render(c)
            .filter(|here| written.contains('[') || here.contains(['[', '.']))
        {
            Some(here) if here.replace(' ', "") != written.replace(' ', "") => {
                format!("`{written}` (here `{here}`)")
            }
            _ => format!("`{written}`"),
        }
    }

    /// A condition over shared variables in C, with element names; `None` for anything
    /// else.
    fn render(&self, e: &crate::ir::Expr) -> Option<String> {
        use crate::ir::{ExprKind::*, UnOp};
        let p = &self.inst.program;
        let inner = |x: &crate::ir::Expr| -> Option<String> {
            let r = self.render(x)?;
            Some(if matches!(x.kind, Binary(..) | Ternary(..)) {
                format!("({r})")
            } else {
                r
            })
        };
        Some(match &e.kind {
            Const(v) => v.to_string(),
            Shared(v) => p.vars.get(*v as usize)?.name.clone(),
            SharedBit(b) => p
                .vars
                .get(b.var as usize)?
                .bits
                .get(b.bit as usize)?
                .name
                .clone(),
            Unary(op, x) => {
                let o = match op {
                    UnOp::Neg => "-",
                    UnOp::Not => "!",
                    UnOp::BitNot => "~",
                };
                format!("{o}{}", inner(x)?)
            }
            Binary(op, a, b) => format!("{} {} {}", inner(a)?, op.symbol(), inner(b)?),
            Ternary(c, a, b) => format!("{} ? {} : {}", inner(c)?, inner(a)?, inner(b)?),
            _ => return None,
        })
    }

    /// 1-based line of a span's start, in its own file (the model's, or an included
    /// header's).
    pub fn span_line(&self, span: Span) -> u32 {
        self.inst.program.source.line_of(span.start)
    }

    /// The source line of a span's start, without comments, whitespace collapsed.
    pub fn span_line_text(&self, span: Span) -> String {
        let text = &self.inst.program.source.text;
        let start = floor_boundary(text, span.start as usize);
        let ls = text[..start].rfind('\n').map(|i| i + 1).unwrap_or(0);
        let le = text[start..]
            .find('\n')
            .map(|i| start + i)
            .unwrap_or(text.len());
        strip_comments(&text[ls..le])
    }

    pub fn all_done(&self, s: &[u8]) -> bool {
        (0..self.layout.nthreads).all(|t| self.layout.done(s, t))
    }

    /// The first `final assert(...)` that is false in `s` (a state in which every thread
    /// has returned, or the idle end of daemons), as an `AssertionFailed` violation.
    pub fn final_violation(&self, s: &[u8]) -> Option<Violation> {
        let e = self
            .inst
            .program
            .finals
            .iter()
            .find(|e| self.eval_condition(s, e).unwrap_or(0) == 0)?;
        let when = if self.all_done(s) {
            "when every thread has returned"
        } else {
            "at the end (every other thread has returned, the daemons sleep)"
        };
        Some(Violation {
            verdict: Verdict::AssertionFailed,
            message: format!(
                "final assertion `{}` is false {when} ({})",
                self.span_text(e.span),
                self.shared_summary(s)
            ),
            span: Some(e.span),
        })
    }

    /// What a state in which nobody can move means: `None` for a proper end (every
    /// thread has returned, or every one left is a daemon asleep waiting for something
    /// false, [`Model::daemons_idle`]) whose final assertions hold; else the violation
    /// (a false final assertion, or [`Model::classify_stuck`]).
    pub fn end_violation(&self, s: &[u8]) -> Option<Violation> {
        if self.all_done(s) || self.daemons_idle(s) {
            self.final_violation(s)
        } else {
            Some(self.classify_stuck(s))
        }
    }

    /// Whether the threads that have not returned are all daemons (scenario `daemon:
    /// true`), and each is asleep waiting for something that is false: the idle end of a
    /// kernel thread's loop once the others are done. A daemon asleep while what it waits
    /// for holds is a lost wakeup, as any sleeper's.
    pub fn daemons_idle(&self, s: &[u8]) -> bool {
        let threads = &self.inst.threads;
        let left: Vec<usize> = (0..self.layout.nthreads)
            .filter(|&t| !self.layout.done(s, t))
            .collect();
        !left.is_empty()
            && left
                .iter()
                .all(|&t| threads.get(t).is_some_and(|x| x.daemon))
            && {
                let r = self.stuck_report(s);
                r.lost.is_empty() && r.blocked.iter().all(|b| b.asleep)
            }
    }

    /// Classify a state in which nobody can move and some thread has not returned.
    pub fn classify_stuck(&self, s: &[u8]) -> Violation {
        let r = self.stuck_report(s);
        let vars = self.shared_summary(s);
        let lost = !r.lost.is_empty();
        let parts: Vec<String> = std::iter::once(vars)
            .chain(r.lost)
            .chain(r.blocked.into_iter().map(|b| b.text))
            .collect();
        Violation {
            verdict: if lost {
                Verdict::LostWakeup
            } else {
                Verdict::Deadlock
            },
            message: parts.join("; "),
            span: None,
        }
    }

    /// Why each thread that has not returned stays where it is, in thread order: the lost
    /// sleepers (what they wait for holds), then the others.
    fn stuck_report(&self, s: &[u8]) -> StuckReport {
        let l = &self.layout;
        let prog = &self.inst.program;
        let mut lost = Vec::new();
        let mut blocked = Vec::new();
        let asleep = |text: String| Blocked { text, asleep: true };
        for t in 0..l.nthreads {
            if l.done(s, t) {
                continue;
            }
            let pc = self.blocking_pc(s, t);
            let name = self.thread_name(t);
            let instr = &self.code.instrs[pc as usize];
            let at = self.span_text(self.code.spans[pc as usize]);
            match instr {
                // `schedule() until COND;` says what this sleeper waits for: that, and not
                // its queues' conditions, decides.
                Instr::Builtin {
                    op:
                        Builtin::Schedule {
                            until: Some(id), ..
                        },
                    ..
                } => {
                    let Some(c) = prog.sleeps.get(*id as usize) else {
                        blocked.push(asleep(format!("{name} asleep in {at}")));
                        continue;
                    };
                    let what = self.condition_text(c);
                    if self.eval_condition(s, c).unwrap_or(0) != 0 {
                        let nobody = self.nobody_wakes(s, t, "nobody can wake it");
                        lost.push(format!(
                            "{name} asleep in {at} waiting for {what}, which holds; {nobody}"
                        ));
                    } else {
                        blocked.push(asleep(format!(
                            "{name} asleep in {at} waiting for {what}, which is false"
                        )));
                    }
                }
                Instr::Builtin {
                    op: Builtin::Schedule { .. },
                    ..
                }
                | Instr::FutexSleep { .. } => {
                    let queues: Vec<usize> = (0..l.entries)
                        .filter_map(|e| l.entry_queue(s, l.handle(t, e)))
                        .collect();
                    if queues.is_empty() {
                        let reach = self.nobody_wakes(s, t, "nobody can find it");
                        blocked.push(asleep(format!(
                            "{name} asleep in {at} ({}) on no wait queue: {reach}",
                            state_name(l.task_state(s, t))
                        )));
                    }
                    for q in queues {
                        let qd = &prog.queues[q];
                        let cond = qd.until.as_ref();
                        let holds = cond
                            .map(|c| self.eval_condition(s, c).unwrap_or(0) != 0)
                            .unwrap_or(true);
                        let what = cond
                            .map(|c| self.condition_text(c))
                            .unwrap_or_else(|| "a wakeup".into());
                        if holds {
                            lost.push(format!(
                                "{name} asleep in {at} on {} waiting for {what}, which holds; nobody can wake it",
                                qd.name
                            ));
                        } else {
                            blocked.push(asleep(format!(
                                "{name} asleep in {at} on {} waiting for {what}, which is false",
                                qd.name
                            )));
                        }
                    }
                }
                _ => {
                    let lock = match instr {
                        Instr::Builtin {
                            op:
                                Builtin::SpinLock(q)
                                | Builtin::AddWaitQueue { queue: q, .. }
                                | Builtin::RemoveWaitQueue(q)
                                | Builtin::PrepareToWait { queue: q, .. }
                                | Builtin::PrepareToWaitEvent(q)
                                | Builtin::FinishWait(q),
                            ..
                        } => Some(*q as usize),
                        _ => None,
                    };
                    match lock {
                        Some(q) => {
                            let h = l.lock_holder(s, q) as usize;
                            let holder = if h == t + 1 {
                                "itself".to_string()
                            } else if h > 0 && l.done(s, h - 1) {
                                format!("{} (which has returned)", self.thread_name(h - 1))
                            } else if h > 0 {
                                self.thread_name(h - 1).to_string()
                            } else {
                                "nobody".into()
                            };
                            blocked.push(Blocked {
                                text: format!(
                                    "{name} spins at {at} on {}, held by {holder}",
                                    prog.queues[q].lock_name()
                                ),
                                asleep: false,
                            })
                        }
                        None => blocked.push(Blocked {
                            text: format!("{name} blocked at {at}"),
                            asleep: false,
                        }),
                    }
                }
            }
        }
        StuckReport { lost, blocked }
    }

    /// The instruction a blocked thread is stuck at (inside an atomic block: its first
    /// operation).
    fn blocking_pc(&self, s: &[u8], t: usize) -> u16 {
        let mut scratch = s.to_vec();
        let mut rec = crate::interp::StepRecord::default();
        let _ = self.step_thread(&mut scratch, t, Some(&mut rec));
        rec.blocked_at.unwrap_or_else(|| self.layout.pc(s, t))
    }

    /// Why stuck thread `t` stays asleep: the task pointers (`struct task_struct *`
    /// variables, rcuwait's `w->task`) that still point to it, or `otherwise`.
    fn nobody_wakes(&self, s: &[u8], t: usize, otherwise: &str) -> String {
        let names: Vec<String> = (self.inst.program.vars.iter().enumerate())
            .filter(|(v, var)| var.ty == VarType::Task && self.layout.var(s, *v) == t as Value + 1)
            .map(|(_, var)| format!("`{}`", var.name))
            .collect();
        if names.is_empty() {
            otherwise.to_string()
        } else {
            format!(
                "{} points to it, but nobody is left to wake it",
                names.join(" and ")
            )
        }
    }

    /// `PG_locked=0 PG_waiters=1`: every shared variable (a word: each of its bits), in
    /// declaration order.
    pub fn shared_summary(&self, s: &[u8]) -> String {
        (0..self.inst.program.vars.len())
            .flat_map(|v| self.var_items(s, v))
            .map(|(name, x)| format!("{name}={x}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A shared variable's name and value, or for a word each bit's name and value, as
    /// traces print them (a task pointer: `NULL` or the thread's name).
    pub fn var_items<'a>(&'a self, s: &[u8], v: usize) -> Vec<(&'a str, String)> {
        let var = &self.inst.program.vars[v];
        let x = self.layout.var(s, v);
        if var.bits.is_empty() {
            vec![(var.name.as_str(), self.value_text(var.ty, x))]
        } else {
            var.bits
                .iter()
                .enumerate()
                .map(|(i, b)| (b.name.as_str(), ((x >> i) & 1).to_string()))
                .collect()
        }
    }

    /// A value of a variable of type `ty` as traces print it.
    pub fn value_text(&self, ty: VarType, x: Value) -> String {
        match ty {
            VarType::Task if x == 0 => "NULL".into(),
            VarType::Task => self.thread_name(x as usize - 1).to_string(),
            _ => x.to_string(),
        }
    }

    /// A `wake_q.next` value as traces print it: NULL, the end of a list, or a task.
    pub fn wake_q_link_text(&self, x: u8) -> String {
        match x {
            0 => "NULL".into(),
            crate::state::WAKE_Q_TAIL => "WAKE_Q_TAIL".into(),
            t => self.thread_name(t as usize - 1).to_string(),
        }
    }
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// One source line without `//` and `/* */` comments, whitespace collapsed.
fn strip_comments(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("//") {
            let _ = r;
            break;
        }
        if let Some(r) = rest.strip_prefix("/*") {
            rest = r.find("*/").map(|i| &r[i + 2..]).unwrap_or("");
            out.push(' ');
            continue;
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `TASK_KILLABLE` etc. for a task state value.
pub fn state_name(v: i32) -> String {
    use task::*;
    match v {
        TASK_RUNNING => "TASK_RUNNING".into(),
        TASK_INTERRUPTIBLE => "TASK_INTERRUPTIBLE".into(),
        TASK_UNINTERRUPTIBLE => "TASK_UNINTERRUPTIBLE".into(),
        TASK_KILLABLE => "TASK_KILLABLE".into(),
        TASK_IDLE => "TASK_IDLE".into(),
        x => format!("state {x:#x}"),
    }
}

/// [`Model::stuck_report`]: the lost sleepers, and why the others stay.
struct StuckReport {
    lost: Vec<String>,
    blocked: Vec<Blocked>,
}

/// A thread that is not lost: asleep waiting for something false (or found by no one),
/// or blocked otherwise (a lock nobody releases).
struct Blocked {
    text: String,
    asleep: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(verdict: Verdict, claim: Claim, explored: u64) -> Finding {
        Finding {
            verdict,
            claim,
            explored,
        }
    }

    #[test]
    fn a_run_that_explored_nothing_never_meets_holds() {
        for (v, c) in [
            (Verdict::Holds, Claim::Exhaustive),
            (Verdict::Holds, Claim::Bounded),
            (Verdict::NoViolationFound, Claim::Sampled),
        ] {
            assert!(!finding(v, c, 0).meets(Expectation::Holds, None), "{v}");
            assert!(finding(v, c, 1).meets(Expectation::Holds, None), "{v}");
        }
    }

    #[test]
    fn a_violation_in_the_initial_state_meets_its_expectation_with_nothing_explored() {
        // The native explorer reports a fault of the initial state with 0 states: the
        // violation is real, so the gate's zero rule is only for results without one.
        let f = finding(Verdict::AssertionFailed, Claim::Counterexample, 0);
        assert!(f.meets(Expectation::AssertionFailed, Some(Claim::Exhaustive)));
    }

    #[test]
    fn require_exhaustive_refuses_bounded_and_sampled_results() {
        let req = Some(Claim::Exhaustive);
        assert!(finding(Verdict::Holds, Claim::Exhaustive, 9).meets(Expectation::Holds, req));
        assert!(!finding(Verdict::Holds, Claim::Bounded, 9).meets(Expectation::Holds, req));
        assert!(
            !finding(Verdict::NoViolationFound, Claim::Sampled, 9).meets(Expectation::Holds, req)
        );
        // A weaker requirement admits what is at least as strong.
        let bounded = Some(Claim::Bounded);
        assert!(finding(Verdict::Holds, Claim::Bounded, 9).meets(Expectation::Holds, bounded));
        assert!(!finding(Verdict::NoViolationFound, Claim::Sampled, 9)
            .meets(Expectation::Holds, bounded));
        // A counterexample is never too weak; nothing claimed never enough.
        assert!(finding(Verdict::LostWakeup, Claim::Counterexample, 9)
            .meets(Expectation::LostWakeup, req));
        assert!(!Claim::Nothing.meets(Claim::Sampled));
    }

    #[test]
    fn each_verdict_has_its_claim() {
        assert_eq!(Claim::of(Verdict::Holds, false), Claim::Exhaustive);
        assert_eq!(Claim::of(Verdict::Holds, true), Claim::Bounded);
        assert_eq!(Claim::of(Verdict::NoViolationFound, false), Claim::Sampled);
        assert_eq!(Claim::of(Verdict::Inconclusive, false), Claim::Nothing);
        assert_eq!(Claim::of(Verdict::Deadlock, true), Claim::Counterexample);
    }

    #[test]
    fn a_verdict_of_another_kind_fails_whatever_its_claim() {
        let f = finding(Verdict::Inconclusive, Claim::Nothing, 100);
        assert!(!f.meets(Expectation::Holds, None));
        let f = finding(Verdict::Holds, Claim::Exhaustive, 100);
        assert!(!f.meets(Expectation::LostWakeup, None));
    }
}
