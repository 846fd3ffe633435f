//! Traces: a path of moves replayed into rows a reader can put next to the kernel source.
//!
//! The native explorer reports a counterexample as the list of [`Mover`]s from the initial
//! state, and [`Model::replay`] re-executes it with recording on. An engine that cannot
//! replay (loom: a load's value depends on the memory model, not only on the moves)
//! records each step as it runs and renders it with [`Model::trace_step`]. Either way a
//! row is built in one place, so the rendering never depends on which engine found it.

use crate::interp::{Fault, Model, Mover, StepRecord, StepResult};
use crate::ir::{timer::*, wq_flag::*, Actor, Value, VarType};
use crate::state::{SIG_FATAL, SIG_PENDING};
use crate::verdict::state_name;
use serde::{Deserialize, Serialize};

/// One row: who moved, the DSL line(s) it executed, and what changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceStep {
    /// Thread or actor name.
    pub thread: String,
    /// Column: threads first, in scenario order, then actors.
    pub column: usize,
    /// The first source line the step executed (trimmed), or the actor's action.
    pub text: String,
    /// Line numbers (1-based) of every shared operation of the step, in their file.
    pub lines: Vec<u32>,
    /// The prelude header the step's code is in (`<prelude>/linux/completion.wq`), or
    /// `None` for the model's own file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The value the step's shared operation returned (`test_bit` -> 1), if any.
    pub result: Option<Value>,
    /// What changed, e.g. `PG_locked=0`, `q: [thread2]`, `thread1: TASK_KILLABLE`.
    pub effects: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Trace {
    pub steps: Vec<TraceStep>,
}

#[derive(Debug)]
pub struct ReplayError(pub String);

impl Model {
    /// Column headers: thread names, then actor names.
    pub fn columns(&self) -> Vec<String> {
        self.inst
            .threads
            .iter()
            .map(|t| t.name.clone())
            .chain((0..self.inst.actors.len()).map(|a| self.actor_name(a).to_string()))
            .collect()
    }

    /// Replay `moves` from the initial state. The last move may fault; every other move
    /// must be possible.
    pub fn replay(&self, moves: &[Mover]) -> Result<Trace, ReplayError> {
        let mut s = self.initial_state().map_err(|f| ReplayError(f.message))?;
        let mut steps = Vec::with_capacity(moves.len());
        let mut rec = StepRecord::default();
        for (i, &m) in moves.iter().enumerate() {
            let before = s.clone();
            let r = self.step(&mut s, m, Some(&mut rec));
            match r {
                StepResult::Moved => steps.push(self.trace_step(m, &rec, &before, &s, None)),
                StepResult::Fault(f) if i + 1 == moves.len() => {
                    steps.push(self.trace_step(m, &rec, &before, &s, Some(&f)))
                }
                StepResult::Fault(f) => return Err(ReplayError(f.message)),
                StepResult::Blocked => {
                    return Err(ReplayError(format!(
                        "move {} of the trace ({}) is not possible",
                        i + 1,
                        self.mover_name(m)
                    )))
                }
            }
        }
        Ok(Trace { steps })
    }

    /// The thread or actor name of a move.
    pub fn mover_name(&self, m: Mover) -> &str {
        match m {
            Mover::Thread(t) | Mover::Flush(t) => self.thread_name(t as usize),
            Mover::Actor { actor, .. } => self.actor_name(actor as usize),
        }
    }

    /// One row of a trace: move `m`, which took `before` to `after` and executed what `rec`
    /// recorded, or failed with `fault`. Every engine renders its steps through this.
    pub fn trace_step(
        &self,
        m: Mover,
        rec: &StepRecord,
        before: &[u8],
        after: &[u8],
        fault: Option<&Fault>,
    ) -> TraceStep {
        let column = match m {
            Mover::Thread(t) | Mover::Flush(t) => t as usize,
            Mover::Actor { actor, .. } => self.inst.threads.len() + actor as usize,
        };
        let mut lines: Vec<u32> = rec.spans.iter().map(|sp| self.span_line(*sp)).collect();
        lines.dedup();
        // The prelude header a span is in, `None` for the model's own file.
        let file_of = |sp: &crate::ir::Span| {
            let (name, start) = self.inst.program.source.file_of(sp.start);
            (start > 0).then(|| name.to_string())
        };
        let file = rec
            .spans
            .first()
            .or(fault.map(|f| &f.span))
            .and_then(file_of);
        let text = match m {
            Mover::Thread(_) => match rec.statement {
                Some(st) => st.to_string(),
                None => rec
                    .spans
                    .first()
                    .map(|sp| self.span_line_text(*sp))
                    .unwrap_or_default(),
            },
            Mover::Actor { actor, choice } => self.actor_text(actor as usize, choice as usize),
            Mover::Flush(t) => self.flush_text(before, t as usize),
        };
        let (text, lines, file, result, effects) = match fault {
            None => {
                let mut effects = self.effects(before, after);
                if rec.builtin == Some(crate::ir::Builtin::WakeQAdd) && effects.is_empty() {
                    effects.push("already on a wake_q: not added".into());
                }
                let mut result = rec.result;
                if let (Some(crate::ir::Builtin::ListFirst(_)), Some(h)) = (rec.builtin, result) {
                    // An entry reads as whose it is.
                    if let Some((owner, _)) = self.layout.entry_of(h) {
                        result = None;
                        let name = self.mover_name(Mover::Thread(owner as u8));
                        effects.insert(0, format!("→ {name}'s entry"));
                    }
                }
                if rec.result_task {
                    // A task pointer reads as the task's name, not its number.
                    if let Some(x) = result.take() {
                        effects.insert(0, format!("→ {}", self.value_text(VarType::Task, x)));
                    }
                }
                (text, lines, file, result, effects)
            }
            Some(f) => {
                let error = vec![format!("error: {}", f.message)];
                // A fault in local work after the step's shared operation (a field of a
                // waiter written after an unlock) is shown on its own line, where it is.
                let at = self.span_line(f.span);
                if matches!(m, Mover::Thread(_)) && !text.is_empty() && !lines.contains(&at) {
                    let text = self.span_line_text(f.span);
                    (text, vec![at], file_of(&f.span), None, error)
                } else if text.is_empty() {
                    (self.span_line_text(f.span), lines, file, None, error)
                } else {
                    (text, lines, file, None, error)
                }
            }
        };
        TraceStep {
            thread: self.mover_name(m).to_string(),
            column,
            text,
            lines,
            file,
            result,
            effects,
        }
    }

    /// `flush: PG_waiters=1`: the store a flush moves from the store buffer to memory.
    fn flush_text(&self, before: &[u8], t: usize) -> String {
        match self.layout.buffered(before, t).next() {
            Some(b) => format!("flush: {}", self.buffered_text(b)),
            None => "flush: nothing".into(),
        }
    }

    /// What a buffered store writes, in words.
    fn buffered_text(&self, b: crate::state::Buffered) -> String {
        use crate::state::BufLoc;
        let l = &self.layout;
        let p = &self.inst.program;
        let what = match b.loc {
            BufLoc::Var(v) => {
                let v = v as usize;
                let x = b.raw as Value + l.var_min.get(v).copied().unwrap_or(0);
                match p.vars.get(v) {
                    Some(var) if !var.bits.is_empty() => format!("{}={x:#x}", var.name),
                    Some(var) => format!("{}={}", var.name, self.value_text(var.ty, x)),
                    None => "?".into(),
                }
            }
            BufLoc::EntryFlags(h) => {
                format!("{}.flags={}", self.entry_name(h), flags_name(b.raw as u8))
            }
            BufLoc::TaskState(t) => format!(
                "{}: {}",
                self.thread_name(t as usize),
                state_name(b.raw as Value)
            ),
            BufLoc::EntryNode(h) => format!(
                "{}.entry {}",
                self.entry_name(h),
                if b.raw != 0 { "linked" } else { "empty" }
            ),
            BufLoc::QueueHead(q) => format!(
                "{} {}",
                p.queues.get(q as usize).map_or("?", |x| x.name.as_str()),
                if b.raw != 0 { "non-empty" } else { "empty" }
            ),
            BufLoc::Lock(q) => format!(
                "{} release",
                p.queues
                    .get(q as usize)
                    .map_or_else(|| "?".to_string(), |x| x.lock_name())
            ),
            BufLoc::WakeQNode(t) => format!(
                "{}->wake_q.next={}",
                self.thread_name(t as usize),
                self.wake_q_link_text(b.raw as u8)
            ),
        };
        what
    }

    fn actor_text(&self, a: usize, choice: usize) -> String {
        match &self.inst.actors[a] {
            Actor::Signal { targets, fatal, .. } => {
                let t = targets.get(choice).copied().unwrap_or(0) as usize;
                format!(
                    "{} signal to {}",
                    if *fatal { "fatal" } else { "non-fatal" },
                    self.thread_name(t)
                )
            }
            Actor::Timer { thread, .. } => format!(
                "timer fires: process_timeout(): wake_up_process({})",
                self.thread_name(*thread as usize)
            ),
        }
    }

    /// The name of an entry handle for traces: `thread1`, or `thread1.wait` when the
    /// program's entry locals have several different names.
    pub fn entry_name(&self, h: u8) -> String {
        let Some((t, e)) = self.layout.entry_of(h as Value) else {
            return "?".into();
        };
        let tn = self.thread_name(t);
        let first = self.code.entries.first().map(|x| x.name.as_str());
        let one_name = self
            .code
            .entries
            .iter()
            .all(|x| Some(x.name.as_str()) == first);
        if one_name || e >= self.code.entries.len() {
            tn.to_string()
        } else {
            format!("{tn}.{}", self.code.entries[e].name)
        }
    }

    /// What changed between two states, in a fixed order.
    pub fn effects(&self, a: &[u8], b: &[u8]) -> Vec<String> {
        let l = &self.layout;
        let p = &self.inst.program;
        let mut out = Vec::new();
        for v in 0..p.vars.len() {
            if l.var(a, v) != l.var(b, v) {
                let (before, after) = (self.var_items(a, v), self.var_items(b, v));
                for ((_, x), (name, y)) in before.iter().zip(&after) {
                    if x != y {
                        out.push(format!("{name}={y}"));
                    }
                }
            }
        }
        for (q, queue) in p.queues.iter().enumerate() {
            let (ha, hb) = (l.lock_holder(a, q), l.lock_holder(b, q));
            if ha != hb {
                if hb == 0 {
                    out.push(format!("{} released", queue.lock_name()));
                } else {
                    out.push(format!(
                        "{} held by {}",
                        queue.lock_name(),
                        self.thread_name(hb as usize - 1)
                    ));
                }
            }
            let (la, lb) = (l.queue_list(a, q), l.queue_list(b, q));
            if la != lb {
                let names: Vec<String> = lb.iter().map(|&h| self.entry_name(h)).collect();
                out.push(format!("{}: [{}]", queue.name, names.join(", ")));
            }
        }
        for t in 0..l.nthreads {
            let name = self.thread_name(t);
            for e in 0..l.entries {
                let h = l.handle(t, e);
                let (fa, fb) = (l.entry_flags(a, h), l.entry_flags(b, h));
                let returned = l.done(b, t) && !l.done(a, t);
                if fa != fb && !returned && fb != 0 {
                    out.push(format!("{}.flags={}", self.entry_name(h), flags_name(fb)));
                }
            }
            let (sa, sb) = (l.task_state(a, t), l.task_state(b, t));
            if sa != sb {
                out.push(format!("{name}: {}", state_name(sb)));
            }
            let (na, nb) = (l.wake_q_node(a, t), l.wake_q_node(b, t));
            if na != nb {
                out.push(format!("{name}->wake_q.next={}", self.wake_q_link_text(nb)));
            }
            let (ta, tb) = (l.timer(a, t), l.timer(b, t));
            if ta != tb {
                let what = match tb {
                    TIMER_ARMED => "armed",
                    TIMER_FIRED => "fired",
                    _ if ta == TIMER_FIRED => "deleted (it fired)",
                    _ => "deleted",
                };
                out.push(format!("timer({name}) {what}"));
            }
            let (ga, gb) = (l.sig(a, t), l.sig(b, t));
            if ga != gb && gb & SIG_PENDING != 0 {
                let kind = if gb & SIG_FATAL != 0 {
                    "fatal"
                } else {
                    "non-fatal"
                };
                out.push(format!("{name}: {kind} signal pending"));
            }
            if ga & SIG_PENDING != 0 && gb & SIG_PENDING == 0 {
                out.push(format!("{name}: signals flushed"));
            }
            if l.tso() {
                // Stores the step left in the buffer: after what is left of the old ones.
                let old: Vec<_> = l.buffered(a, t).collect();
                let new: Vec<_> = l.buffered(b, t).collect();
                let kept = (0..=old.len())
                    .find(|&k| new.starts_with(&old[k..]))
                    .map_or(0, |k| old.len() - k);
                for x in &new[kept..] {
                    out.push(format!("{} (buffered)", self.buffered_text(*x)));
                }
            }
            if l.done(b, t) && !l.done(a, t) {
                out.push(format!("{name} returned"));
            }
        }
        for act in 0..l.nactors {
            if l.actor_waiting(a, act) && !l.actor_waiting(b, act) {
                out.push(format!("{} may act now", self.actor_name(act)));
            }
        }
        out
    }
}

/// `EXCLUSIVE|WOKEN` for entry flags.
pub fn flags_name(f: u8) -> String {
    let f = f as Value;
    let names = [
        (WQ_FLAG_EXCLUSIVE, "EXCLUSIVE"),
        (WQ_FLAG_WOKEN, "WOKEN"),
        (WQ_FLAG_BOOKMARK, "BOOKMARK"),
        (WQ_FLAG_CUSTOM, "CUSTOM"),
        (WQ_FLAG_DONE, "DONE"),
    ];
    let mut parts: Vec<String> = names
        .iter()
        .filter(|(b, _)| f & b != 0)
        .map(|(_, n)| n.to_string())
        .collect();
    let rest = f & !0x1f;
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
    }
    if parts.is_empty() {
        "0".into()
    } else {
        parts.join("|")
    }
}
