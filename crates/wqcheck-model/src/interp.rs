//! The reference semantics: what one step of a thread or an actor does to a state.
//!
//! Every builtin's meaning is written here once. A step (docs/dsl.md §7) runs the thread's
//! shared operation at its `pc` and then its local operations up to the next shared one;
//! if the shared operation cannot proceed (a held spinlock, a sleeping `schedule()`), the
//! step is [`StepResult::Blocked`] and the caller discards the scratch state. Run-time
//! errors in the model (an out-of-range store, unlocking a lock not held, ...) are
//! [`StepResult::Fault`]s, which the oracle reports as `AssertionFailed`.
//!
//! Architecture invariant: nothing here panics on a checked program. Indices that come
//! from the program were validated by the checker and the compiler; values computed at run
//! time (entry handles, task numbers) are validated before use and turn into faults.

use crate::compile::{Code, Instr, Opnd, Pc, Visibility, PC_DONE};
use crate::ir::{
    errno, task::*, timer::*, wq_flag::*, Actor, BinOp, BitRef, Builtin, EntryField, Fence,
    Instance, Loc, MemoryModel, Ordering, QueueKind, RmwOp, Span, Value, VarType,
};
use crate::state::{Layout, Walk, RET_TOP, SIG_FATAL, SIG_PENDING, WAKE_Q_TAIL};
use crate::tso::Tso;

use crate::memory::signal_pending_state;
pub use crate::memory::{Direct, MemLoc, Memory};

/// The ordering of the store to an entry's list node when it is unlinked:
/// `list_del_init_careful()` is a release store (include/linux/list.h, v5.9+).
fn node_ordering(careful: bool) -> Ordering {
    if careful {
        Ordering::Release
    } else {
        Ordering::Relaxed
    }
}

/// The ordering of the bit operations without a return value
/// (Documentation/atomic_bitops.txt): `set_bit` and `clear_bit` are unordered,
/// `clear_bit_unlock` (and `clear_bit_unlock_is_negative_byte`) release.
fn bitop_ordering(op: &Builtin) -> Ordering {
    match op {
        Builtin::ClearBitUnlock(_) | Builtin::ClearBitUnlockIsNegativeByte { .. } => {
            Ordering::Release
        }
        _ => Ordering::Relaxed,
    }
}

/// A model ready to run: the instance, its compiled code, its state layout and the memory
/// model its steps run under.
#[derive(Clone, Debug)]
pub struct Model {
    pub inst: Instance,
    pub code: Code,
    pub layout: Layout,
    /// How [`Model::step`] reaches shared state: sequentially consistent ([`Direct`]) or
    /// x86-TSO ([`Tso`], with `layout.store_buffer` stores per thread).
    pub memory: MemoryModel,
    /// The steps made under the atomic-block lock.
    pub blocks: crate::blocks::Blocks,
}

/// A run-time error of the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub message: String,
    /// The instruction that failed.
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepResult {
    /// The step happened.
    Moved,
    /// The thread (or actor) cannot move now; the state must be discarded.
    Blocked,
    Fault(Fault),
}

/// Who moves: a thread, actor `actor` with its nondeterministic `choice`, or (under TSO)
/// a thread's oldest buffered store reaching memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mover {
    Thread(u8),
    Actor { actor: u8, choice: u8 },
    Flush(u8),
}

/// What a step executed, for traces: the spans of its shared operations, in order.
#[derive(Clone, Debug, Default)]
pub struct StepRecord {
    pub spans: Vec<Span>,
    /// Where the step blocked, if it did.
    pub blocked_at: Option<Pc>,
    /// The value the step's first shared operation returned, if it returns one.
    pub result: Option<Value>,
    /// `result` is a task pointer (a load or exchange of a `struct task_struct *`).
    pub result_task: bool,
    /// The kernel statement the step's first shared operation runs, when its source line
    /// is a call made of several steps (`autoremove_wake_function()`'s unlink).
    pub statement: Option<&'static str>,
    /// The step's first shared operation is a builtin: which one (a `wake_q_add()` that
    /// changed nothing is one that found its task queued already).
    pub builtin: Option<Builtin>,
}

/// The kernel statement a step runs when its one source line is several steps: of
/// kernel/sched/core.c's `wake_up_q()` loop, given what the step returned, or of
/// kernel/time/timer.c's `schedule_timeout()`.
fn kernel_statement(op: Builtin, result: Option<Value>) -> Option<&'static str> {
    match (op, result) {
        (Builtin::TimerArm, _) => Some("schedule_timeout(): __mod_timer(&timer.timer, expire, 0);"),
        (Builtin::TimerDel, _) => Some("schedule_timeout(): del_timer_sync(&timer.timer);"),
        (Builtin::WakeQPop, Some(0)) => Some("wake_up_q(): node == WAKE_Q_TAIL, done"),
        (Builtin::WakeQPop, _) => Some("wake_up_q(): task->wake_q.next = NULL;"),
        (Builtin::WakeQWake, _) => Some("wake_up_q(): wake_up_process(task);"),
        _ => None,
    }
}

/// Local instructions one step may run before it is declared a livelock.
const LOCAL_BUDGET: u32 = 100_000;

enum Flow {
    Next(Pc),
    Block,
    Fault(String),
}

macro_rules! fault {
    ($($arg:tt)*) => { return Flow::Fault(format!($($arg)*)) };
}

impl Model {
    /// The model under sequential consistency.
    pub fn new(inst: Instance) -> Result<Model, crate::compile::CompileError> {
        Model::with_memory(inst, MemoryModel::Sc, 0)
    }

    /// The model under `memory`; under TSO each thread's store buffer holds
    /// `store_buffer` stores (at least 1).
    pub fn with_memory(
        mut inst: Instance,
        memory: MemoryModel,
        store_buffer: usize,
    ) -> Result<Model, crate::compile::CompileError> {
        let code = crate::compile::compile(&inst)?;
        // The kernel's own actors: a timer for each thread that can sleep with a timeout.
        for (t, th) in inst.threads.iter().enumerate() {
            let has = |a: &Actor| matches!(a, Actor::Timer { thread, .. } if *thread as usize == t);
            if code.uses_timers
                && crate::compile::reaches_timed_sleep(&code, th.func)
                && !inst.actors.iter().any(has)
            {
                inst.actors.push(Actor::Timer {
                    name: format!("timer({})", th.name),
                    thread: t as crate::ir::ThreadId,
                });
            }
        }
        let k = match memory {
            MemoryModel::Sc => 0,
            MemoryModel::Tso => store_buffer.max(1),
        };
        let layout = Layout::with_store_buffer(&inst, &code, k);
        if layout.nthreads * layout.entries > 250 {
            return Err(crate::compile::CompileError(
                "too many threads x wait entries (at most 250)".into(),
            ));
        }
        let blocks = crate::blocks::Blocks::new(&code, inst.program.vars.len());
        Ok(Model {
            inst,
            code,
            layout,
            memory,
            blocks,
        })
    }

    pub fn thread_name(&self, t: usize) -> &str {
        self.inst
            .threads
            .get(t)
            .map(|x| x.name.as_str())
            .unwrap_or("?")
    }

    pub fn actor_name(&self, a: usize) -> &str {
        match self.inst.actors.get(a) {
            Some(Actor::Signal { name, .. } | Actor::Timer { name, .. }) => name,
            None => "?",
        }
    }

    /// The initial state: shared variables at their initial values, every thread at the
    /// first shared operation of its body. A fault here (an assert on parameters, say) is
    /// reported against the initial state.
    pub fn initial_state(&self) -> Result<Vec<u8>, Fault> {
        let l = &self.layout;
        let mut s = vec![0u8; l.state_len()];
        let p = &self.inst.program;
        for (v, var) in p.vars.iter().enumerate() {
            let init = self
                .inst
                .init
                .iter()
                .find(|(id, _)| *id as usize == v)
                .map(|(_, x)| *x)
                .unwrap_or(var.init);
            if !l.set_var(&mut s, v, init) {
                return Err(Fault {
                    message: format!("initial value {init} of `{}` is out of range", var.name),
                    span: var.span,
                });
            }
        }
        for (t, th) in self.inst.threads.iter().enumerate() {
            let f = th.func as usize;
            let Some(fi) = self.code.funcs.get(f) else {
                return Err(Fault {
                    message: format!("thread `{}` runs an unknown function", th.name),
                    span: Span::default(),
                });
            };
            for (i, a) in th.args.iter().enumerate().take(fi.nparams) {
                if !l.set_slot(&mut s, t, f, i, *a) {
                    return Err(Fault {
                        message: format!("argument {a} of thread `{}` is out of range", th.name),
                        span: Span::default(),
                    });
                }
            }
            l.set_ret(&mut s, t, f, RET_TOP);
            l.set_pc(&mut s, t, fi.entry);
        }
        for (a, actor) in self.inst.actors.iter().enumerate() {
            if let Actor::Signal { after: Some(_), .. } = actor {
                l.set_actor_waiting(&mut s, a);
            }
        }
        for (t, th) in self.inst.threads.iter().enumerate() {
            // A thread's start runs local operations only: no memory is touched. A fault
            // there has no step to show in a trace: the message says whose and where.
            if let StepResult::Fault(e) = self.run(&mut s, t, false, None, &mut Direct) {
                return Err(Fault {
                    message: format!(
                        "{}: {} (before its first step, {}: `{}`)",
                        th.name,
                        e.message,
                        self.inst.program.source.line_name(e.span.start),
                        self.span_line_text(e.span).trim()
                    ),
                    span: e.span,
                });
            }
        }
        Ok(s)
    }

    /// One step of thread `t` on `s` (a scratch copy: on `Blocked` its content is garbage),
    /// under the model's memory model.
    pub fn step_thread(&self, s: &mut [u8], t: usize, rec: Option<&mut StepRecord>) -> StepResult {
        match self.memory {
            MemoryModel::Sc => self.step_thread_in(s, t, rec, &mut Direct),
            MemoryModel::Tso => {
                let mut m = Tso::new(Some(t));
                // A step on a location an atomic block touches is made as if under the
                // block's lock: on memory, after draining the buffer.
                if !self.layout.done(s, t) && self.blocks.excl_at(self.layout.pc(s, t)) {
                    m.lock_step(&self.layout, s);
                }
                self.step_thread_in(s, t, rec, &mut m)
            }
        }
    }

    /// Under TSO: thread `t`'s oldest buffered store reaches memory (`Blocked` if its
    /// buffer is empty).
    pub fn flush(&self, s: &mut [u8], t: usize, rec: Option<&mut StepRecord>) -> StepResult {
        if let Some(r) = rec {
            r.spans.clear();
            r.blocked_at = None;
            r.result = None;
            r.result_task = false;
            r.statement = None;
            r.builtin = None;
        }
        if crate::tso::flush_one(&self.layout, s, t) {
            StepResult::Moved
        } else {
            StepResult::Blocked
        }
    }

    /// [`Model::step_thread`] with the memory accesses going to `mem`.
    pub fn step_thread_in<M: Memory>(
        &self,
        s: &mut [u8],
        t: usize,
        rec: Option<&mut StepRecord>,
        mem: &mut M,
    ) -> StepResult {
        if self.layout.done(s, t) {
            return StepResult::Blocked;
        }
        self.run(s, t, true, rec, mem)
    }

    /// A cheap, exact answer to "is thread `t` blocked in `s`" for the common cases: a
    /// sleeping `schedule()`/`futex_wait` or a held spinlock at the thread's `pc` (or first
    /// in the atomic block there). `false` means "not known to be blocked": the step must
    /// be tried. Lets an explorer skip copying a state for a thread that cannot move.
    pub fn surely_blocked(&self, s: &[u8], t: usize) -> bool {
        let o = self.layout.thread_off(t);
        self.surely_blocked_part(s, &s[o..o + self.layout.thread_len])
    }

    /// [`Model::surely_blocked`] for a thread given by its part, with the state's shared
    /// part in `shared` (only the first `shared_len` bytes are read).
    pub fn surely_blocked_part(&self, shared: &[u8], part: &[u8]) -> bool {
        let l = &self.layout;
        let mut pc = l.part_pc(part);
        if pc == PC_DONE {
            return true;
        }
        // Under TSO a blocking operation drains the buffer first, which can change what
        // it finds (the thread's own buffered state, or its buffered unlock).
        if l.tso() && l.part_buffer_len(part) > 0 {
            return false;
        }
        if matches!(self.code.instrs[pc as usize], Instr::AtomicBegin) {
            pc += 1;
        }
        match &self.code.instrs[pc as usize] {
            Instr::Builtin {
                op: Builtin::Schedule { .. },
                ..
            }
            | Instr::FutexSleep { .. } => {
                let st = l.part_task_state(part);
                // With a spinlock held (by this thread, or any: a part does not say whose
                // it is), schedule() may be a "scheduling while atomic" error: try it.
                st != TASK_RUNNING
                    && !signal_pending_state(st, l.part_sig(part))
                    && (0..l.nqueues).all(|q| l.lock_holder(shared, q) == 0)
            }
            Instr::Builtin {
                op: Builtin::SpinLock(q),
                ..
            } => l.lock_holder(shared, *q as usize) != 0,
            _ => false,
        }
    }

    /// How many choices actor `a` has in `s` (0: it cannot act).
    pub fn actor_choices(&self, s: &[u8], a: usize) -> usize {
        // Acted, or waiting for its label.
        if self.layout.actor_done(s, a) || self.layout.actor_waiting(s, a) {
            return 0;
        }
        match &self.inst.actors[a] {
            Actor::Signal { targets, .. } => targets.len(),
            // An armed timer may fire: one choice, again after each arming.
            Actor::Timer { thread, .. } => {
                (self.layout.timer(s, *thread as usize) == TIMER_ARMED) as usize
            }
        }
    }

    /// Actor `a` acts with choice `choice`.
    pub fn step_actor(
        &self,
        s: &mut [u8],
        a: usize,
        choice: usize,
        rec: Option<&mut StepRecord>,
    ) -> StepResult {
        match self.memory {
            MemoryModel::Sc => self.step_actor_in(s, a, choice, rec, &mut Direct),
            MemoryModel::Tso => self.step_actor_in(s, a, choice, rec, &mut Tso::new(None)),
        }
    }

    /// [`Model::step_actor`] with the accesses going to `mem`.
    pub fn step_actor_in<M: Memory>(
        &self,
        s: &mut [u8],
        a: usize,
        choice: usize,
        rec: Option<&mut StepRecord>,
        mem: &mut M,
    ) -> StepResult {
        let l = &self.layout;
        if l.actor_done(s, a) || l.actor_waiting(s, a) {
            return StepResult::Blocked;
        }
        match &self.inst.actors[a] {
            Actor::Signal { targets, fatal, .. } => {
                let Some(&t) = targets.get(choice) else {
                    return StepResult::Blocked;
                };
                l.set_actor_done(s, a);
                mem.send_signal(l, s, t as usize, *fatal);
            }
            Actor::Timer { thread, .. } => {
                // kernel/time/timer.c process_timeout(): wake_up_process(timeout->task),
                // under the timer base lock, so that del_timer_sync() waits for it.
                let t = *thread as usize;
                let fired = mem.timer_locked(t, |mem| {
                    let loc = MemLoc::Timer(t as u8);
                    let armed = TIMER_ARMED as Value;
                    let fired = TIMER_FIRED as Value;
                    if mem.cmpxchg(l, s, loc, Ordering::Relaxed, armed, fired) != armed {
                        return false;
                    }
                    mem.try_to_wake_up(l, s, t, TASK_NORMAL);
                    true
                });
                if !fired {
                    return StepResult::Blocked;
                }
            }
        }
        if let Some(r) = rec {
            r.spans.clear();
            r.blocked_at = None;
            r.result = None;
            r.result_task = false;
            r.statement = None;
            r.builtin = None;
        }
        StepResult::Moved
    }

    /// Apply a move (thread step or actor action).
    pub fn step(&self, s: &mut [u8], m: Mover, rec: Option<&mut StepRecord>) -> StepResult {
        match m {
            Mover::Thread(t) => self.step_thread(s, t as usize, rec),
            Mover::Actor { actor, choice } => {
                self.step_actor(s, actor as usize, choice as usize, rec)
            }
            Mover::Flush(t) => self.flush(s, t as usize, rec),
        }
    }

    /// Whether the instruction at `pc` is a shared operation for thread `t` in state `s`.
    ///
    /// It looks at the state only for an operation on an entry (local while the entry is
    /// the thread's own and unlinked: only its owner links it, so a stale answer that
    /// says "linked" only makes a step shorter) and for a walk step (local when it calls a
    /// model wake function; an entry's function cannot change while the entry is linked).
    #[inline]
    fn is_shared<M: Memory>(&self, s: &[u8], t: usize, pc: Pc, mem: &mut M) -> bool {
        match self.code.visibility_class[pc as usize] {
            0 => return false,
            1 => return true,
            _ => {}
        }
        match self.code.visibility[pc as usize] {
            Visibility::Local => false,
            Visibility::Shared => true,
            Visibility::EntryDependent(op) => {
                let f = self.code.func_of[pc as usize] as usize;
                let h = self.opnd(s, t, f, op);
                match self.layout.entry_of(h) {
                    Some((owner, _)) => {
                        owner != t || mem.entry_queue(&self.layout, s, h as u8).is_some()
                    }
                    None => true,
                }
            }
            Visibility::WalkDependent => {
                let next = self.layout.walk_next(s, t);
                next != 0 && mem.entry_func(&self.layout, s, next) < 2
            }
            Visibility::WalkUnlinkDependent => self.walk_unlinks(s, t, mem).is_some(),
        }
    }

    /// The entry `AutoremoveUnlink(None)` removes from its queue, if any: the walk's current entry
    /// when its function is `autoremove_wake_function`, it woke its task and it is still
    /// on the walked queue.
    fn walk_unlinks<M: Memory>(&self, s: &[u8], t: usize, mem: &mut M) -> Option<u8> {
        let l = &self.layout;
        let w = l.walk(s, t);
        let h = w.cur;
        (h != 0
            && w.ret != 0
            && mem.entry_func(l, s, h) == 0
            && mem.entry_queue(l, s, h) == Some(w.queue as usize - 1))
        .then_some(h)
    }

    /// Run thread `t`: if `step`, one shared operation and the local ones after it;
    /// otherwise only local operations (the thread's start).
    fn run<M: Memory>(
        &self,
        s: &mut [u8],
        t: usize,
        step: bool,
        mut rec: Option<&mut StepRecord>,
        mem: &mut M,
    ) -> StepResult {
        let l = &self.layout;
        let code = &self.code;
        let mut pc = l.pc(s, t);
        let mut first = step;
        let mut shared_done = false;
        let mut in_atomic = false;
        let mut atomic_span = Span::default();
        let mut budget = LOCAL_BUDGET;
        // The running function and its frame's offset, recomputed only when it changes.
        let mut cur_f = usize::MAX;
        let mut fb = 0;
        if let Some(r) = rec.as_deref_mut() {
            r.spans.clear();
            r.blocked_at = None;
            r.result = None;
            r.result_task = false;
            r.statement = None;
            r.builtin = None;
        }
        while pc != PC_DONE {
            let shared = self.is_shared(s, t, pc, mem);
            if shared && !first && !in_atomic {
                break;
            }
            budget -= 1;
            if budget == 0 {
                return StepResult::Fault(Fault {
                    message: format!(
                        "{} runs {LOCAL_BUDGET} operations without a shared one (an endless local loop?)",
                        self.thread_name(t)
                    ),
                    span: code.spans[pc as usize],
                });
            }
            let instr = &code.instrs[pc as usize];
            let f = code.func_of[pc as usize] as usize;
            if f != cur_f {
                cur_f = f;
                fb = l.frame_base(t, f);
            }
            if shared {
                if let Some(r) = rec.as_deref_mut() {
                    if !matches!(instr, Instr::AtomicBegin) {
                        if r.spans.is_empty() && matches!(instr, Instr::AutoremoveUnlink(_)) {
                            r.statement = Some("list_del_init_careful(&wait->entry);");
                        }
                        r.spans.push(code.spans[pc as usize]);
                    }
                }
            }
            match self.exec(s, t, pc, instr, f, fb, mem) {
                Flow::Next(n) => {
                    if shared {
                        match instr {
                            Instr::AtomicBegin => {
                                in_atomic = true;
                                atomic_span = code.spans[pc as usize];
                            }
                            _ => {
                                shared_done = true;
                                if let Some(r) = rec.as_deref_mut() {
                                    if r.result.is_none() && r.spans.len() == 1 {
                                        r.result = self.result_of(s, t, pc, instr);
                                        r.result_task = self.reads_task(instr);
                                        if let Instr::Builtin { op, .. } = instr {
                                            r.builtin = Some(*op);
                                            if let Some(st) = kernel_statement(*op, r.result) {
                                                r.statement = Some(st);
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    } else if matches!(instr, Instr::AtomicEnd) {
                        in_atomic = false;
                    }
                    first = false;
                    pc = n;
                }
                Flow::Block => {
                    if let Some(r) = rec.as_deref_mut() {
                        r.blocked_at = Some(pc);
                    }
                    if !shared_done {
                        return StepResult::Blocked;
                    }
                    return StepResult::Fault(Fault {
                        message: "this atomic block would block after its first operation (only the first operation of an atomic block may block)".into(),
                        span: if in_atomic { atomic_span } else { code.spans[pc as usize] },
                    });
                }
                Flow::Fault(message) => {
                    return StepResult::Fault(Fault {
                        message,
                        span: code.spans[pc as usize],
                    })
                }
            }
        }
        l.set_pc(s, t, pc);
        self.clear_dead_slots(s, t);
        StepResult::Moved
    }

    /// Whether `instr` returns a task: the value of a `struct task_struct *` variable, or
    /// the task `wake_up_q()` takes off its list.
    fn reads_task(&self, instr: &Instr) -> bool {
        let v = match instr {
            Instr::Builtin {
                op: Builtin::WakeQPop,
                ..
            } => return true,
            Instr::ReadVar { var, .. } => *var,
            Instr::Builtin {
                op:
                    Builtin::Load {
                        loc: Loc::Var(v), ..
                    }
                    | Builtin::Rmw {
                        loc: Loc::Var(v), ..
                    }
                    | Builtin::RmwReturn {
                        loc: Loc::Var(v), ..
                    }
                    | Builtin::CmpXchg {
                        loc: Loc::Var(v), ..
                    },
                ..
            } => *v,
            _ => return false,
        };
        self.inst
            .program
            .vars
            .get(v as usize)
            .is_some_and(|x| x.ty == VarType::Task)
    }

    /// The value a shared instruction just produced (for traces).
    fn result_of(&self, s: &[u8], t: usize, pc: Pc, instr: &Instr) -> Option<Value> {
        let f = self.code.func_of[pc as usize] as usize;
        let dst = match instr {
            Instr::ReadVar { dst, .. } | Instr::ReadField { dst, .. } => Some(*dst),
            Instr::Builtin { dst, op, .. } if !matches!(op, Builtin::FutexWait(_)) => *dst,
            Instr::WalkNext { .. } => return Some(self.layout.walk(s, t).ret),
            _ => None,
        }?;
        Some(self.layout.slot(s, t, f, dst as usize))
    }

    /// Zero every slot of `t`'s active frames that is dead at the frame's resume point.
    fn clear_dead_slots(&self, s: &mut [u8], t: usize) {
        let l = &self.layout;
        let mut pc = l.pc(s, t);
        if pc == PC_DONE {
            return;
        }
        let mut kill_dst: Option<u16> = None;
        loop {
            let f = self.code.func_of[pc as usize] as usize;
            let mut live = self.code.live[pc as usize];
            if let Some(d) = kill_dst {
                live &= !(1u128 << d);
            }
            let n = self.code.funcs[f].nslots;
            let all = if n >= 128 {
                u128::MAX
            } else {
                (1u128 << n) - 1
            };
            let mut dead = all & !live;
            while dead != 0 {
                let slot = dead.trailing_zeros() as usize;
                l.set_slot(s, t, f, slot, 0);
                dead &= dead - 1;
            }
            let r = l.ret(s, t, f);
            if r == RET_TOP || r == 0 {
                break;
            }
            let call_pc = r - 1;
            kill_dst = match &self.code.instrs[call_pc as usize] {
                Instr::Call { dst, .. } => *dst,
                _ => None,
            };
            pc = call_pc + 1;
        }
    }

    #[inline]
    fn opnd(&self, s: &[u8], t: usize, f: usize, o: Opnd) -> Value {
        self.opnd_fb(s, t, self.layout.frame_base(t, f), o)
    }

    /// `opnd` with the frame's base offset computed once per instruction.
    #[inline]
    fn opnd_fb(&self, s: &[u8], t: usize, fb: usize, o: Opnd) -> Value {
        match o {
            Opnd::Slot(k) => self.layout.slot_at(s, fb, k as usize),
            Opnd::Imm(v) => v,
            Opnd::OwnEntry(n) => self.layout.handle(t, n as usize) as Value,
            Opnd::Current => t as Value + 1,
        }
    }

    /// The rule that makes a struct's own fields around a wait entry local: its owner
    /// writes them while the entry is on no queue; another task reads them only while it
    /// is on one (under the queue's lock, from a wake function). Anything else is a
    /// run-time error, as it is a race, or a use after free, in the kernel.
    ///
    /// With [`crate::ir::Program::entry_home`] (a model that reaches other tasks' entries
    /// with `list_first_entry()`), an access under the lock of the queue the entry was
    /// last linked on is also fine, by any task: that lock orders them all, as
    /// kernel/locking/semaphore.c's `sem->lock` orders `waiter->up`. Once another task
    /// has written a field so, or read one after taking the entry off its list (marked
    /// in the entry's second hidden field), the owner's accesses without that lock are
    /// a data race, and an error.
    fn entry_data_access<M: Memory>(
        &self,
        s: &mut [u8],
        t: usize,
        mem: &mut M,
        h: u8,
        write: bool,
    ) -> Result<(), String> {
        let owner = self.layout.entry_of(h as Value).map(|(o, _)| o);
        if let Some(home) = self.inst.program.entry_home {
            let q = mem.entry_data(&self.layout, s, h, home);
            if q > 0 && mem.holds_lock(&self.layout, s, q as usize - 1, t as u8 + 1) {
                // Another task that writes a field, or reads one of an entry it has taken
                // off the list (no longer the wake walk's read), shares them with the
                // owner from now on.
                if owner != Some(t) && (write || mem.entry_queue(&self.layout, s, h).is_none()) {
                    mem.set_entry_data(&self.layout, s, h, home + 1, 1);
                }
                return Ok(());
            }
            let name = self.thread_name(owner.unwrap_or(0));
            if mem.entry_data(&self.layout, s, h, home + 1) != 0 {
                let q = self.queue_name((q.max(1) - 1) as usize);
                return Err(format!(
                    "a field of {name}'s wait entry struct accessed without {q}->lock, after another task accessed one under it (a data race in the kernel)"
                ));
            }
            if owner != Some(t) && q > 0 && (write || mem.entry_queue(&self.layout, s, h).is_none())
            {
                let q = self.queue_name(q as usize - 1);
                let what = if write { "written" } else { "read" };
                return Err(format!(
                    "a field of {name}'s wait entry struct {what} by another task without {q}->lock, the lock of the list the entry was on (a data race in the kernel)"
                ));
            }
        }
        let queued = mem.entry_queue(&self.layout, s, h).is_some();
        match (write, owner == Some(t), queued) {
            (true, false, _) => Err(format!(
                "a field of {}'s wait entry struct written by another task",
                self.thread_name(owner.unwrap_or(0))
            )),
            (true, true, true) => Err(
                "a field of a queued wait entry's struct written: set the fields before queueing the entry, as wake functions read them under the queue's lock"
                    .into(),
            ),
            (false, false, false) => Err(format!(
                "a field of {}'s wait entry struct read after the entry left its queue (in the kernel, its owner may have returned: a use after free)",
                self.thread_name(owner.unwrap_or(0))
            )),
            _ => Ok(()),
        }
    }

    /// Link `h` on `q` (the caller holds `q`'s lock), and remember `q` as the queue whose
    /// lock orders `h`'s fields ([`Self::entry_data_access`]).
    fn link<M: Memory>(&self, s: &mut [u8], mem: &mut M, q: usize, h: u8, tail: bool) {
        mem.link(&self.layout, s, q, h, tail);
        if let Some(home) = self.inst.program.entry_home {
            mem.set_entry_data(&self.layout, s, h, home, (q + 1) as i8);
        }
    }

    /// The (function, slot) of field `field` of the struct a [`crate::ir::frame_ptr`]
    /// points to.
    fn frame_slot(&self, ptr: Value, field: u8) -> Result<(usize, usize), String> {
        let Some((func, first)) = crate::ir::frame_of(ptr) else {
            return Err("NULL struct pointer dereferenced (a wake key?)".into());
        };
        let slot = first + field as usize;
        match self.code.funcs.get(func) {
            Some(info) if slot < info.nslots => Ok((func, slot)),
            _ => Err(format!("invalid struct pointer {ptr}")),
        }
    }

    /// Validate an entry handle.
    fn entry(&self, h: Value) -> Result<u8, String> {
        match self.layout.entry_of(h) {
            Some(_) => Ok(h as u8),
            None if h == 0 => Err("NULL wait entry pointer dereferenced".into()),
            None => Err(format!("invalid wait entry pointer {h}")),
        }
    }

    fn task(&self, v: Value) -> Result<usize, String> {
        if v >= 1 && (v as usize) <= self.layout.nthreads {
            Ok(v as usize - 1)
        } else if v == 0 {
            Err("a wakeup of a NULL task pointer".into())
        } else {
            Err(format!("invalid task pointer {v}"))
        }
    }

    /// A task given to `wake_q_add()`.
    fn queued_task(&self, v: Value) -> Result<usize, String> {
        match v {
            0 => Err("wake_q_add() of a NULL task pointer".into()),
            v => self.task(v),
        }
    }

    /// Thread `t`'s wake_q head behind pointer `h` (its number + 1).
    fn wake_q_head(&self, s: &[u8], t: usize, h: Value) -> Result<(u8, u8), String> {
        usize::try_from(h - 1)
            .ok()
            .and_then(|i| self.layout.wake_q_head(s, t, i))
            .ok_or_else(|| format!("invalid wake_q head pointer {h}"))
    }

    fn set_wake_q_head(&self, s: &mut [u8], t: usize, h: Value, x: (u8, u8)) -> Result<(), String> {
        match usize::try_from(h - 1) {
            Ok(i) if self.layout.set_wake_q_head(s, t, i, x) => Ok(()),
            _ => Err(format!("invalid wake_q head pointer {h}")),
        }
    }

    /// Queue `q`'s spinlock, as messages name it ([`ir::Queue::lock_name`]).
    fn lock_name(&self, q: usize) -> String {
        self.inst
            .program
            .queues
            .get(q)
            .map_or_else(|| "?".to_string(), |x| x.lock_name())
    }

    fn queue_name(&self, q: usize) -> &str {
        self.inst
            .program
            .queues
            .get(q)
            .map(|x| x.name.as_str())
            .unwrap_or("?")
    }

    /// The calling thread must hold q's lock.
    fn require_lock<M: Memory>(
        &self,
        s: &[u8],
        mem: &mut M,
        t: usize,
        q: usize,
        what: &str,
    ) -> Result<(), String> {
        if mem.holds_lock(&self.layout, s, q, t as u8 + 1) {
            Ok(())
        } else {
            Err(format!(
                "{what} without holding {} (list corruption in the kernel)",
                self.lock_name(q)
            ))
        }
    }

    /// The range check of a store to `loc` (a model error, not a memory event).
    fn check_store(&self, loc: MemLoc, x: Value) -> Result<(), String> {
        match loc {
            MemLoc::Var(v) => {
                let l = &self.layout;
                if x < l.var_min[v] || x > l.var_max[v] {
                    let var = &self.inst.program.vars[v];
                    return Err(format!(
                        "store of {x} to `{}` is outside its range {}..{}",
                        var.name, l.var_min[v], l.var_max[v]
                    ));
                }
                Ok(())
            }
            MemLoc::EntryFlags(_) if !(0..=255).contains(&x) => {
                Err(format!("entry flags value {x} out of range"))
            }
            MemLoc::TaskState(_) if !(0..=0xffff).contains(&x) => {
                Err(format!("invalid task state {x}"))
            }
            _ => Ok(()),
        }
    }

    /// What a store of `x` to `loc` writes: wrapped for an `unsigned int NAME : BITS`.
    fn stored(&self, loc: MemLoc, x: Value) -> Value {
        match loc {
            MemLoc::Var(v) => self
                .inst
                .program
                .vars
                .get(v)
                .map_or(x, |var| var.ty.stored(x)),
            _ => x,
        }
    }

    /// Whether stores to `loc` wrap.
    fn wraps(&self, loc: MemLoc) -> bool {
        matches!(loc, MemLoc::Var(v) if matches!(
            self.inst.program.vars.get(v).map(|x| x.ty),
            Some(VarType::Unsigned { .. })
        ))
    }

    fn write_mem<M: Memory>(
        &self,
        s: &mut [u8],
        mem: &mut M,
        loc: MemLoc,
        x: Value,
        ord: Ordering,
    ) -> Result<(), String> {
        let x = self.stored(loc, x);
        self.check_store(loc, x)?;
        mem.store(&self.layout, s, loc, x, ord);
        Ok(())
    }

    /// An unconditional read-modify-write of `loc` (`op(old, operand)` is written).
    /// Returns the old value. An out-of-range result is a model error (the step faults,
    /// so what the location then holds does not matter).
    fn rmw_op_mem<M: Memory>(
        &self,
        s: &mut [u8],
        mem: &mut M,
        loc: MemLoc,
        ord: Ordering,
        op: RmwOp,
        operand: Value,
    ) -> Result<Value, String> {
        if self.wraps(loc) {
            // One read-modify-write whose new value wraps (a compare-and-exchange loop on
            // the threaded engines: an atomic's own add would not wrap at 2^bits).
            let m = |x| self.stored(loc, x);
            return Ok(mem.rmw(&self.layout, s, loc, ord, |old| {
                Some(m(op.apply(old, operand)))
            }));
        }
        let old = mem.rmw_op(&self.layout, s, loc, ord, op, operand);
        self.check_store(loc, op.apply(old, operand))?;
        Ok(old)
    }

    /// `list_del_init()` of `h` if it is linked (the caller holds its queue's lock).
    fn unlink<M: Memory>(&self, s: &mut [u8], mem: &mut M, h: u8, node: Ordering) {
        if mem.entry_queue(&self.layout, s, h).is_some() {
            mem.unlink(&self.layout, s, h, node);
        }
    }

    /// An entry's flags, read by kernel code that holds the queue lock (relaxed).
    fn flags<M: Memory>(&self, s: &[u8], mem: &mut M, h: u8) -> Value {
        mem.load(&self.layout, s, MemLoc::EntryFlags(h), Ordering::Relaxed)
    }

    fn set_flags<M: Memory>(&self, s: &mut [u8], mem: &mut M, h: u8, x: Value) {
        mem.store(
            &self.layout,
            s,
            MemLoc::EntryFlags(h),
            x & 0xff,
            Ordering::Relaxed,
        );
    }

    /// `set_current_state(st)` / `__set_current_state(st)` by thread `t`: a relaxed store
    /// of the task state, then (`barrier`) `smp_mb()` (`smp_store_mb()`).
    fn set_state<M: Memory>(
        &self,
        s: &mut [u8],
        mem: &mut M,
        t: usize,
        st: Value,
        barrier: bool,
    ) -> Result<(), String> {
        let loc = MemLoc::TaskState(t as u8);
        self.check_store(loc, st)?;
        mem.store(
            &self.layout,
            s,
            loc,
            st,
            if barrier {
                Ordering::Full
            } else {
                Ordering::Relaxed
            },
        );
        Ok(())
    }

    /// Thread `t`'s pending signal bits, read locklessly by `t` itself.
    fn sig<M: Memory>(&self, s: &[u8], mem: &mut M, t: usize) -> u8 {
        mem.load(&self.layout, s, MemLoc::Signal(t as u8), Ordering::Relaxed) as u8
    }

    fn set_dst(
        &self,
        s: &mut [u8],
        t: usize,
        f: usize,
        dst: Option<u16>,
        v: Value,
    ) -> Result<(), String> {
        if let Some(d) = dst {
            if !self.layout.set_slot(s, t, f, d as usize, v) {
                return Err(format!(
                    "value {v} does not fit a local (the checker keeps locals in 16 bits)"
                ));
            }
        }
        Ok(())
    }

    fn call(&self, s: &mut [u8], t: usize, call_pc: Pc, func: usize, args: &[Value]) -> Flow {
        let l = &self.layout;
        let Some(fi) = self.code.funcs.get(func) else {
            fault!("call of an unknown function");
        };
        if l.ret(s, t, func) != 0 {
            fault!(
                "`{}` is already running in this thread (recursion)",
                fi.name
            );
        }
        for (i, a) in args.iter().enumerate().take(fi.nparams) {
            if !l.set_slot(s, t, func, i, *a) {
                fault!("argument {a} does not fit a local (16 bits)");
            }
        }
        l.set_ret(s, t, func, call_pc + 1);
        Flow::Next(fi.entry)
    }

    /// Execute one instruction.
    #[expect(
        clippy::too_many_arguments,
        reason = "the interpreter's hot path, kept flat"
    )]
    #[inline(always)]
    fn exec<M: Memory>(
        &self,
        s: &mut [u8],
        t: usize,
        pc: Pc,
        instr: &Instr,
        f: usize,
        fb: usize,
        mem: &mut M,
    ) -> Flow {
        let l = &self.layout;
        let next = Flow::Next(pc + 1);
        macro_rules! v {
            ($o:expr) => {
                self.opnd_fb(s, t, fb, $o)
            };
        }
        macro_rules! tri {
            ($e:expr) => {
                match $e {
                    Ok(x) => x,
                    Err(m) => return Flow::Fault(m),
                }
            };
        }
        match instr {
            Instr::Move { dst, src } => {
                let x = v!(*src);
                tri!(self.set_dst(s, t, f, Some(*dst), x));
                next
            }
            Instr::Unary { dst, op, a } => {
                let x = crate::compile::eval_unary(*op, v!(*a));
                tri!(self.set_dst(s, t, f, Some(*dst), x));
                next
            }
            Instr::Binary { dst, op, a, b } => {
                let (x, y) = (v!(*a), v!(*b));
                let Some(r) = crate::compile::eval_binary(*op, x, y) else {
                    fault!("division by zero");
                };
                tri!(self.set_dst(s, t, f, Some(*dst), r));
                next
            }
            Instr::Jump(n) => Flow::Next(*n),
            Instr::Branch {
                cond,
                then_pc,
                else_pc,
            } => Flow::Next(if v!(*cond) != 0 { *then_pc } else { *else_pc }),
            Instr::BranchBin {
                op,
                a,
                b,
                then_pc,
                else_pc,
            } => {
                let (x, y) = (v!(*a), v!(*b));
                let truth = match op {
                    BinOp::Eq => x == y,
                    BinOp::Ne => x != y,
                    BinOp::Lt => x < y,
                    BinOp::Le => x <= y,
                    BinOp::Gt => x > y,
                    BinOp::Ge => x >= y,
                    BinOp::BitAnd => x & y != 0,
                    _ => crate::compile::eval_binary(*op, x, y).unwrap_or(0) != 0,
                };
                Flow::Next(if truth { *then_pc } else { *else_pc })
            }
            Instr::Call { func, args, .. } => {
                let mut vals = [0 as Value; 16];
                let n = args.len().min(16);
                for (i, a) in args.iter().take(16).enumerate() {
                    vals[i] = v!(*a);
                }
                self.call(s, t, pc, *func as usize, &vals[..n])
            }
            Instr::Return(val) => {
                let rv = val.map(|o| v!(o)).unwrap_or(0);
                let r = l.ret(s, t, f);
                // A wait entry on the stack must not outlive its function. When the thread's
                // body returns, its entries' flags stay as part of the thread's final state
                // (as SPIN keeps a finished process's variables); a callee's are cleared.
                for (n, e) in self.code.entries.iter().enumerate() {
                    if e.func as usize == f {
                        let h = l.handle(t, n);
                        if let Some(q) = mem.entry_queue_at_return(l, s, h) {
                            fault!(
                                "`{}` returns while its wait entry `{}` is still linked on {} (use after return)",
                                self.code.funcs[f].name,
                                e.name,
                                self.queue_name(q)
                            );
                        }
                        if r != RET_TOP {
                            mem.clear_entry(l, s, h);
                        }
                    }
                }
                l.clear_frame(s, t, f, self.code.funcs[f].nslots);
                l.set_ret(s, t, f, 0);
                if r == RET_TOP || r == 0 {
                    return Flow::Next(PC_DONE);
                }
                let call_pc = r - 1;
                let cf = self.code.func_of[call_pc as usize] as usize;
                match &self.code.instrs[call_pc as usize] {
                    Instr::Call { dst, .. } => {
                        tri!(self.set_dst(s, t, cf, *dst, rv));
                    }
                    Instr::WalkNext { .. } => {
                        let mut w = l.walk(s, t);
                        w.ret = rv;
                        l.set_walk(s, t, w);
                    }
                    _ => fault!("internal: return to a non-call"),
                }
                Flow::Next(call_pc + 1)
            }
            Instr::Assert { cond } => {
                if v!(*cond) == 0 {
                    fault!("assertion failed");
                }
                next
            }
            Instr::IndexOutOfBounds { index, len, array } => {
                let name = self.inst.program.arrays.get(*array as usize);
                // A shared object's field through a pointer (`x->done`): the index is
                // the pointer less one, and only NULL points at no object.
                if let Some(ty) = name.and_then(|n| n.strip_suffix(" *")) {
                    fault!("a NULL `{ty} *` is dereferenced");
                }
                fault!(
                    "index {} is out of bounds of `{}[{len}]`",
                    v!(*index),
                    name.map_or("?", |n| n.as_str())
                );
            }
            Instr::PassLabel { actor, thread } => {
                if *thread as usize == t {
                    mem.allow_actor(l, s, *actor as usize);
                }
                next
            }
            Instr::AtomicBegin => {
                mem.atomic_begin(l, s);
                next
            }
            Instr::AtomicEnd => {
                mem.atomic_end(l, s);
                next
            }
            Instr::ReadVar { dst, var } => {
                let x = mem.load(l, s, MemLoc::Var(*var as usize), Ordering::Relaxed);
                tri!(self.set_dst(s, t, f, Some(*dst), x));
                next
            }
            Instr::WriteVar { var, src } => {
                let x = v!(*src);
                tri!(self.write_mem(s, mem, MemLoc::Var(*var as usize), x, Ordering::Relaxed));
                next
            }
            Instr::ReadField { dst, entry, field } => {
                let h = tri!(self.entry(v!(*entry)));
                let x = match field {
                    EntryField::Flags => self.flags(s, mem, h),
                    EntryField::Func => mem.entry_func(l, s, h) as Value,
                    EntryField::Private => l
                        .entry_of(h as Value)
                        .map(|(o, _)| o as Value + 1)
                        .unwrap_or(0),
                    EntryField::Data(k) => {
                        tri!(self.entry_data_access(s, t, mem, h, false));
                        mem.entry_data(l, s, h, *k)
                    }
                };
                tri!(self.set_dst(s, t, f, Some(*dst), x));
                next
            }
            Instr::WriteField { entry, field, src } => {
                let h = tri!(self.entry(v!(*entry)));
                let x = v!(*src);
                match field {
                    EntryField::Flags => {
                        tri!(self.write_mem(s, mem, MemLoc::EntryFlags(h), x, Ordering::Relaxed))
                    }
                    EntryField::Func => {
                        if !(0..=255).contains(&x) {
                            fault!("invalid wake function");
                        }
                        mem.set_entry_func(l, s, h, x as u8)
                    }
                    EntryField::Private => fault!("wait->private is read-only here"),
                    EntryField::Data(k) => {
                        tri!(self.entry_data_access(s, t, mem, h, true));
                        match i8::try_from(x) {
                            Ok(x) => mem.set_entry_data(l, s, h, *k, x),
                            Err(_) => {
                                fault!("{x} does not fit a field of a wait entry's struct (8 bits)")
                            }
                        }
                    }
                }
                next
            }
            Instr::ReadFrame { dst, ptr, field } => {
                let at = tri!(self.frame_slot(v!(*ptr), *field));
                let x = l.slot(s, t, at.0, at.1);
                tri!(self.set_dst(s, t, f, Some(*dst), x));
                next
            }
            Instr::WriteFrame { ptr, field, src } => {
                let at = tri!(self.frame_slot(v!(*ptr), *field));
                let x = v!(*src);
                if !l.set_slot(s, t, at.0, at.1, x) {
                    fault!("value {x} does not fit a local (16 bits)");
                }
                next
            }
            Instr::Builtin { op, args, dst } => {
                let mut a = [0 as Value; 4];
                for (i, o) in args.iter().enumerate().take(4) {
                    a[i] = v!(*o);
                }
                match self.builtin(s, t, *op, &a, mem) {
                    Ok(Some(x)) => {
                        tri!(self.set_dst(s, t, f, *dst, x));
                        next
                    }
                    Ok(None) => Flow::Block,
                    Err(m) => Flow::Fault(m),
                }
            }
            Instr::WalkBegin {
                queue,
                mode,
                nr,
                key,
            } => {
                let q = *queue as usize;
                tri!(self.require_lock(s, mem, t, q, "__wake_up_common"));
                let w = Walk {
                    queue: q as u8 + 1,
                    cur: 0,
                    next: mem.queue_first(l, s, q).unwrap_or(0),
                    flags: 0,
                    nr: v!(*nr),
                    mode: v!(*mode),
                    ret: 0,
                    key: v!(*key),
                };
                // A wake function may wake another queue (epoll's ep_poll_callback() wakes
                // ep->wq): its walk runs inside the one that called it.
                if !l.push_walk(s, t, w) {
                    fault!(
                        "a wake function's wake-up walk started a third one (__wake_up_common nested more than twice)"
                    );
                }
                next
            }
            Instr::WalkNext { done } => {
                let mut w = l.walk(s, t);
                let h = w.next;
                if h == 0 {
                    return Flow::Next(*done);
                }
                let q = w.queue as usize - 1;
                if mem.entry_queue(l, s, h) != Some(q) {
                    fault!(
                        "wake-up walk: the next entry left {} during the walk",
                        self.queue_name(q)
                    );
                }
                w.cur = h;
                w.next = mem.queue_next(l, s, h).unwrap_or(0);
                w.flags = self.flags(s, mem, h) as u8;
                w.ret = 0;
                let func = mem.entry_func(l, s, h);
                let (mode, key) = (w.mode, w.key);
                l.set_walk(s, t, w);
                match func {
                    0 | 1 => {
                        // autoremove_wake_function()'s unlink is the next step
                        // (AutoremoveUnlink).
                        let op = Builtin::DefaultWakeFunction;
                        let r = tri!(self.builtin(s, t, op, &[h as Value, mode, 0, 0], mem))
                            .unwrap_or(0);
                        let mut w = l.walk(s, t);
                        w.ret = r;
                        l.set_walk(s, t, w);
                        next
                    }
                    g => self.call(s, t, pc, g as usize - 2, &[h as Value, mode, 0, key]),
                }
            }
            Instr::AutoremoveUnlink(entry) => {
                // autoremove_wake_function(): list_del_init_careful() (v5.9+).
                let h = match entry {
                    None => self.walk_unlinks(s, t, mem),
                    Some(e) => {
                        let h = tri!(self.entry(v!(*e)));
                        match mem.entry_queue(l, s, h) {
                            Some(q) => {
                                let what = "autoremove_wake_function()";
                                tri!(self.require_lock(s, mem, t, q, what));
                                Some(h)
                            }
                            None => None,
                        }
                    }
                };
                if let Some(h) = h {
                    mem.unlink(l, s, h, Ordering::Release);
                }
                next
            }
            Instr::WalkAfter { next: again, done } => {
                let mut w = l.walk(s, t);
                let ret = w.ret;
                if ret < 0 {
                    return Flow::Next(*done);
                }
                if ret != 0 && (w.flags as Value & WQ_FLAG_EXCLUSIVE) != 0 {
                    w.nr -= 1;
                    if w.nr == 0 {
                        l.set_walk(s, t, w);
                        return Flow::Next(*done);
                    }
                }
                w.cur = 0;
                w.flags = 0;
                w.ret = 0;
                l.set_walk(s, t, w);
                Flow::Next(*again)
            }
            Instr::WalkEnd => {
                l.set_walk(s, t, Walk::default());
                next
            }
            Instr::FutexSleep { dst, queue } => {
                // futex_wait_queue(): schedule() until woken or signalled. Then
                // unqueue_me(): a waker unqueues before waking (its release store of
                // q->lock_ptr, read here with acquire); still queued means a signal woke
                // it: take the bucket lock and unqueue.
                if !mem.schedule(l, s, t) {
                    return Flow::Block;
                }
                let h = l.handle(t, l.entries - 1);
                let q = *queue as usize;
                let me = t as u8 + 1;
                let r = if mem.load(l, s, MemLoc::EntryNode(h), Ordering::Acquire) != 0 {
                    if !mem.spin_lock(l, s, q, me) {
                        return Flow::Block;
                    }
                    let r = if mem.entry_queue(l, s, h).is_some() {
                        mem.unlink(l, s, h, Ordering::Relaxed);
                        -errno::EINTR
                    } else {
                        0
                    };
                    mem.spin_unlock(l, s, q, me);
                    r
                } else {
                    0
                };
                tri!(self.set_dst(s, t, f, Some(*dst), r));
                next
            }
        }
    }

    /// A builtin. `Ok(None)` means it blocks: only its first shared access may decide
    /// that, and whatever it changed before is discarded (native) or redone identically
    /// (a threaded engine retries the step).
    fn builtin<M: Memory>(
        &self,
        s: &mut [u8],
        t: usize,
        op: Builtin,
        a: &[Value],
        mem: &mut M,
    ) -> Result<Option<Value>, String> {
        let l = &self.layout;
        let me = t as u8 + 1;
        let arg = |i: usize| a.get(i).copied().unwrap_or(0);
        // The location of an atomic builtin, and the index of its first value argument.
        let located = |loc: Loc| -> Result<(MemLoc, usize), String> {
            Ok(match loc {
                Loc::Var(v) => (MemLoc::Var(v as usize), 0),
                Loc::EntryFlags => (MemLoc::EntryFlags(self.entry(arg(0))?), 1),
            })
        };
        let word = |b: BitRef| MemLoc::Var(b.var as usize);
        let r = match op {
            Builtin::TestBit(b) => {
                (mem.load(l, s, word(b), Ordering::Relaxed) & b.mask() != 0) as Value
            }
            Builtin::TestBitAcquire(b) => {
                (mem.load(l, s, word(b), Ordering::Acquire) & b.mask() != 0) as Value
            }
            Builtin::SetBit(b) => {
                self.rmw_op_mem(s, mem, word(b), bitop_ordering(&op), RmwOp::Or, b.mask())?;
                0
            }
            Builtin::ClearBit(b) | Builtin::ClearBitUnlock(b) => {
                let ord = bitop_ordering(&op);
                self.rmw_op_mem(s, mem, word(b), ord, RmwOp::AndNot, b.mask())?;
                0
            }
            Builtin::TestAndSetBit { bit: b, lock: true } => {
                // include/asm-generic/bitops/lock.h: `if (READ_ONCE(*p) & mask) return 1;`
                // then an acquire fetch_or: a bit already set is a plain, unordered read.
                if mem.load(l, s, word(b), Ordering::Relaxed) & b.mask() != 0 {
                    1
                } else {
                    let old =
                        self.rmw_op_mem(s, mem, word(b), Ordering::Acquire, RmwOp::Or, b.mask())?;
                    (old & b.mask() != 0) as Value
                }
            }
            Builtin::TestAndSetBit {
                bit: b,
                lock: false,
            } => {
                // Fully ordered even when the bit was set (e986a0d6cb36, v6.0).
                let old = self.rmw_op_mem(s, mem, word(b), Ordering::Full, RmwOp::Or, b.mask())?;
                (old & b.mask() != 0) as Value
            }
            Builtin::TestAndClearBit(b) => {
                let old =
                    self.rmw_op_mem(s, mem, word(b), Ordering::Full, RmwOp::AndNot, b.mask())?;
                (old & b.mask() != 0) as Value
            }
            Builtin::ClearBitUnlockIsNegativeByte { bit: b, negative } => {
                // One RMW of the word: clear B, and read N as that RMW saw it.
                if negative.var != b.var {
                    return Err("internal: clear_bit_unlock_is_negative_byte() on two words".into());
                }
                let ord = bitop_ordering(&op);
                let old = self.rmw_op_mem(s, mem, word(b), ord, RmwOp::AndNot, b.mask())?;
                (old & negative.mask() != 0) as Value
            }
            Builtin::Load { loc, ord } => {
                let (m, _) = located(loc)?;
                mem.load(l, s, m, ord)
            }
            Builtin::Store { loc, ord } => {
                let (m, i) = located(loc)?;
                self.write_mem(s, mem, m, arg(i), ord)?;
                0
            }
            Builtin::Rmw { loc, op: rop, ord } => {
                let (m, i) = located(loc)?;
                self.rmw_op_mem(s, mem, m, ord, rop, arg(i))?
            }
            Builtin::RmwReturn { loc, op: rop, ord } => {
                let (m, i) = located(loc)?;
                let old = self.rmw_op_mem(s, mem, m, ord, rop, arg(i))?;
                self.stored(m, rop.apply(old, arg(i)))
            }
            Builtin::CmpXchg { loc, ord } => {
                let (m, i) = located(loc)?;
                let (expected, new) = (arg(i), self.stored(m, arg(i + 1)));
                self.check_store(m, new)?;
                mem.cmpxchg(l, s, m, ord, expected, new)
            }
            Builtin::Fence(f) => {
                mem.fence(l, s, f);
                0
            }
            Builtin::SetCurrentState { barrier } => {
                self.set_state(s, mem, t, arg(0), barrier)?;
                0
            }
            Builtin::Schedule { .. } => {
                // The kernel's "BUG: scheduling while atomic": a spinlock holder must not
                // call schedule() (a wake function, which runs under the queue's lock,
                // must not sleep either).
                if let Some(q) = (0..l.nqueues).find(|&q| mem.holds_lock(l, s, q, me)) {
                    return Err(format!(
                        "schedule() while holding {}: sleeping with a spinlock held (the kernel's \"BUG: scheduling while atomic\")",
                        self.lock_name(q)
                    ));
                }
                if !mem.schedule(l, s, t) {
                    return Ok(None);
                }
                0
            }
            Builtin::SignalPendingState => {
                signal_pending_state(arg(0), self.sig(s, mem, t)) as Value
            }
            Builtin::SignalPending => (self.sig(s, mem, t) & SIG_PENDING != 0) as Value,
            Builtin::FatalSignalPending => (self.sig(s, mem, t) & SIG_FATAL != 0) as Value,
            Builtin::FlushSignals => {
                // A locked read-modify-write: the sender sets the bits under the same
                // siglock, so one of the two comes first.
                let sig = MemLoc::Signal(t as u8);
                mem.rmw(l, s, sig, Ordering::AcqRel, |_| Some(0));
                0
            }
            Builtin::TryToWakeUp => {
                let p = self.task(arg(0))?;
                mem.try_to_wake_up(l, s, p, arg(1)) as Value
            }
            Builtin::WakeQWake => {
                let p = self.task(arg(0))?;
                mem.try_to_wake_up(l, s, p, TASK_NORMAL) as Value
            }
            Builtin::TimerArm => {
                let timeout = arg(0);
                if timeout < 0 {
                    // The kernel prints "schedule_timeout: wrong timeout value" and
                    // returns 0 at once: a caller's bug.
                    return Err(format!(
                        "schedule_timeout() with a negative timeout ({timeout})"
                    ));
                }
                if timeout != MAX_SCHEDULE_TIMEOUT {
                    mem.timer_locked(t, |mem| {
                        let armed = TIMER_ARMED as Value;
                        mem.rmw(l, s, MemLoc::Timer(t as u8), Ordering::Relaxed, |_| {
                            Some(armed)
                        })
                    });
                }
                0
            }
            Builtin::TimerDel => {
                let timeout = arg(0);
                if timeout == MAX_SCHEDULE_TIMEOUT {
                    timeout
                } else {
                    let old = mem.timer_locked(t, |mem| {
                        let idle = TIMER_IDLE as Value;
                        mem.rmw(l, s, MemLoc::Timer(t as u8), Ordering::Relaxed, |_| {
                            Some(idle)
                        })
                    });
                    // `timeout = expire - jiffies`: 0 once the timer fired; time is
                    // abstract, so a sleep a wakeup ended took none.
                    if old == TIMER_FIRED as Value {
                        0
                    } else {
                        timeout
                    }
                }
            }
            Builtin::ScheduleTimeout { .. } => {
                return Err("internal: schedule_timeout() was not expanded".into());
            }
            Builtin::WakeQInit => {
                self.set_wake_q_head(s, t, arg(0), (0, 0))?;
                0
            }
            Builtin::WakeQEmpty => (self.wake_q_head(s, t, arg(0))?.0 == 0) as Value,
            Builtin::WakeQAdd => {
                // kernel/sched/core.c __wake_q_add() (v5.0+): "if ->wake_q is !nil already
                // it means it's already queued (either by us or someone else) and will get
                // the wakeup due to that."
                let (first, last) = self.wake_q_head(s, t, arg(0))?;
                let p = self.queued_task(arg(1))?;
                mem.fence(l, s, Fence::Full);
                let node = MemLoc::WakeQNode(p as u8);
                let tail = WAKE_Q_TAIL as Value;
                if mem.cmpxchg(l, s, node, Ordering::Relaxed, 0, tail) != 0 {
                    return Ok(Some(0));
                }
                // `*head->lastp = node; head->lastp = &node->next;`
                if last == 0 {
                    self.set_wake_q_head(s, t, arg(0), (p as u8 + 1, p as u8 + 1))?;
                } else {
                    let prev = MemLoc::WakeQNode(last - 1);
                    mem.store(l, s, prev, p as Value + 1, Ordering::Relaxed);
                    self.set_wake_q_head(s, t, arg(0), (first, p as u8 + 1))?;
                }
                0
            }
            Builtin::WakeQPop => {
                let (first, last) = self.wake_q_head(s, t, arg(0))?;
                if first == 0 {
                    return Ok(Some(0));
                }
                // `node = node->next; task->wake_q.next = NULL;` The node is ours until
                // the store: no other wake_q_add() can succeed on it before.
                let node = MemLoc::WakeQNode(first - 1);
                let next = mem.load(l, s, node, Ordering::Relaxed);
                mem.store(l, s, node, 0, Ordering::Relaxed);
                let rest = match next {
                    x if x == WAKE_Q_TAIL as Value => (0, 0),
                    x if x >= 1 && (x as usize) <= l.nthreads => (x as u8, last),
                    x => return Err(format!("internal: wake_q node holds {x}")),
                };
                self.set_wake_q_head(s, t, arg(0), rest)?;
                first as Value
            }
            Builtin::SpinLock(q) => {
                if !mem.spin_lock(l, s, q as usize, me) {
                    return Ok(None);
                }
                0
            }
            Builtin::SpinUnlock(q) => {
                let q = q as usize;
                if !mem.spin_unlock(l, s, q, me) {
                    return Err(format!(
                        "spin_unlock of {}, which this thread does not hold",
                        self.lock_name(q)
                    ));
                }
                0
            }
            Builtin::InitWait => {
                let h = self.entry(arg(0))?;
                if mem.entry_queue(l, s, h).is_some() {
                    return Err("init_wait() of an entry that is linked on a queue".into());
                }
                self.set_flags(s, mem, h, 0);
                mem.set_entry_func(l, s, h, 0);
                0
            }
            Builtin::AddWaitQueue {
                queue,
                exclusive,
                tail,
                takes_lock,
            } => {
                let q = queue as usize;
                let h = self.entry(arg(0))?;
                if takes_lock {
                    if !mem.spin_lock(l, s, q, me) {
                        return Ok(None);
                    }
                } else {
                    self.require_lock(s, mem, t, q, "adding to a wait queue")?;
                }
                if mem.entry_queue(l, s, h).is_some() {
                    return Err(
                        "adding a wait entry that is already on a queue (list corruption)".into(),
                    );
                }
                let fl = self.flags(s, mem, h);
                if exclusive {
                    self.set_flags(s, mem, h, fl | WQ_FLAG_EXCLUSIVE);
                } else if takes_lock {
                    self.set_flags(s, mem, h, fl & !WQ_FLAG_EXCLUSIVE);
                }
                self.link(s, mem, q, h, tail);
                if takes_lock {
                    mem.spin_unlock(l, s, q, me);
                }
                0
            }
            Builtin::RemoveWaitQueue(q) => {
                let q = q as usize;
                let h = self.entry(arg(0))?;
                if !mem.spin_lock(l, s, q, me) {
                    return Ok(None);
                }
                self.unlink(s, mem, h, Ordering::Relaxed);
                mem.spin_unlock(l, s, q, me);
                0
            }
            Builtin::ListDelInit { careful } => {
                let h = self.entry(arg(0))?;
                if let Some(q) = mem.entry_queue(l, s, h) {
                    self.require_lock(s, mem, t, q, "list_del_init() of a wait entry")?;
                    mem.unlink(l, s, h, node_ordering(careful));
                }
                0
            }
            Builtin::ListEmpty { careful } => {
                let h = self.entry(arg(0))?;
                let ord = if careful {
                    Ordering::Acquire
                } else {
                    Ordering::Relaxed
                };
                (mem.load(l, s, MemLoc::EntryNode(h), ord) == 0) as Value
            }
            Builtin::PrepareToWait { queue, exclusive } => {
                let q = queue as usize;
                let h = self.entry(arg(0))?;
                if !mem.spin_lock(l, s, q, me) {
                    return Ok(None);
                }
                let fl = self.flags(s, mem, h);
                let fl = if exclusive {
                    fl | WQ_FLAG_EXCLUSIVE
                } else {
                    fl & !WQ_FLAG_EXCLUSIVE
                };
                self.set_flags(s, mem, h, fl);
                if mem.entry_queue(l, s, h).is_none() {
                    self.link(s, mem, q, h, exclusive);
                }
                // prepare_to_wait() calls set_current_state(), smp_store_mb().
                self.set_state(s, mem, t, arg(1), true)?;
                mem.spin_unlock(l, s, q, me);
                0
            }
            Builtin::PrepareToWaitEvent(q) => {
                let q = q as usize;
                let h = self.entry(arg(0))?;
                if !mem.spin_lock(l, s, q, me) {
                    return Ok(None);
                }
                let r = if signal_pending_state(arg(1), self.sig(s, mem, t)) {
                    // "Exclusive waiter must not fail if it was selected by wakeup": the
                    // caller rechecks the condition; a later set-condition + wakeup must
                    // not see this entry.
                    if mem.entry_queue(l, s, h).is_some() {
                        self.unlink(s, mem, h, Ordering::Relaxed);
                    }
                    -errno::ERESTARTSYS
                } else {
                    if mem.entry_queue(l, s, h).is_none() {
                        let exclusive = self.flags(s, mem, h) & WQ_FLAG_EXCLUSIVE != 0;
                        self.link(s, mem, q, h, exclusive);
                    }
                    self.set_state(s, mem, t, arg(1), true)?;
                    0
                };
                mem.spin_unlock(l, s, q, me);
                r
            }
            Builtin::FinishWait(q) => {
                // __set_current_state(TASK_RUNNING); if (!list_empty_careful(&w->entry))
                // { spin_lock_irqsave(); list_del_init(); spin_unlock_irqrestore(); }
                let q = q as usize;
                let h = self.entry(arg(0))?;
                self.set_state(s, mem, t, TASK_RUNNING, false)?;
                if mem.load(l, s, MemLoc::EntryNode(h), Ordering::Acquire) != 0 {
                    if !mem.spin_lock(l, s, q, me) {
                        return Ok(None);
                    }
                    self.unlink(s, mem, h, Ordering::Relaxed);
                    mem.spin_unlock(l, s, q, me);
                }
                0
            }
            Builtin::WaitqueueActive(q) => {
                mem.load(l, s, MemLoc::QueueHead(q as u8), Ordering::Relaxed)
            }
            Builtin::ListFirst(q) => {
                let q = q as usize;
                self.require_lock(s, mem, t, q, "list_first_entry()")?;
                match mem.queue_first(l, s, q) {
                    Some(h) => h as Value,
                    None => {
                        return Err(format!(
                            "list_first_entry() on the empty list {} (the kernel's macro returns the list head itself as an entry)",
                            self.queue_name(q)
                        ))
                    }
                }
            }
            Builtin::WqHasSleeper(q) => {
                mem.fence(l, s, Fence::Full);
                mem.load(l, s, MemLoc::QueueHead(q as u8), Ordering::Relaxed)
            }
            Builtin::WakeUp { .. } => {
                return Err("internal: wake_up reached the interpreter uncompiled".into())
            }
            Builtin::DefaultWakeFunction => {
                let h = self.entry(arg(0))?;
                let owner = l.entry_of(h as Value).map(|(o, _)| o).unwrap_or(0);
                mem.try_to_wake_up(l, s, owner, arg(1)) as Value
            }
            Builtin::AutoremoveWakeFunction => {
                return Err(
                    "internal: autoremove_wake_function reached the interpreter unsplit".into(),
                )
            }
            Builtin::FutexWait(q) => {
                let q = q as usize;
                let QueueKind::Futex(var) = self.inst.program.queues[q].kind else {
                    return Err("futex_wait on a queue that is not a futex".into());
                };
                // futex_wait_setup(): futex_q_lock() (the bucket lock, then smp_mb()),
                // read the futex word; queue and set TASK_INTERRUPTIBLE if it is `val`.
                if !mem.spin_lock(l, s, q, me) {
                    return Ok(None);
                }
                mem.fence(l, s, Fence::Full);
                let r = if mem.load(l, s, MemLoc::Var(var as usize), Ordering::Relaxed) != arg(0) {
                    -errno::EAGAIN
                } else {
                    let h = l.handle(t, l.entries - 1);
                    self.link(s, mem, q, h, true);
                    // futex_wait_queue(): set_current_state(TASK_INTERRUPTIBLE).
                    self.set_state(s, mem, t, TASK_INTERRUPTIBLE, true)?;
                    0
                };
                mem.spin_unlock(l, s, q, me);
                r
            }
            Builtin::FutexWake(q) => {
                let q = q as usize;
                let n = arg(0);
                if !mem.spin_lock(l, s, q, me) {
                    return Ok(None);
                }
                let mut woken = 0;
                while let Some(h) = mem.queue_first(l, s, q) {
                    if n > 0 && woken >= n {
                        break;
                    }
                    // futex_wake_mark(): unqueue, then smp_store_release(&q->lock_ptr, NULL).
                    mem.unlink(l, s, h, Ordering::Release);
                    let owner = l.entry_of(h as Value).map(|(o, _)| o).unwrap_or(0);
                    mem.try_to_wake_up(l, s, owner, TASK_NORMAL);
                    woken += 1;
                }
                mem.spin_unlock(l, s, q, me);
                woken
            }
        };
        Ok(Some(r))
    }

    /// Evaluate a queue's wake condition (shared variables and constants only).
    pub fn eval_condition(&self, s: &[u8], e: &crate::ir::Expr) -> Option<Value> {
        use crate::ir::ExprKind::*;
        Some(match &e.kind {
            Const(v) => *v,
            Shared(v) => self.layout.var(s, *v as usize),
            SharedBit(b) => (self.layout.var(s, b.var as usize) & b.mask() != 0) as Value,
            Unary(op, a) => crate::compile::eval_unary(*op, self.eval_condition(s, a)?),
            Binary(BinOp::And, a, b) => {
                (self.eval_condition(s, a)? != 0 && self.eval_condition(s, b)? != 0) as Value
            }
            Binary(BinOp::Or, a, b) => {
                (self.eval_condition(s, a)? != 0 || self.eval_condition(s, b)? != 0) as Value
            }
            Binary(op, a, b) => crate::compile::eval_binary(
                *op,
                self.eval_condition(s, a)?,
                self.eval_condition(s, b)?,
            )?,
            Ternary(c, a, b) => {
                if self.eval_condition(s, c)? != 0 {
                    self.eval_condition(s, a)?
                } else {
                    self.eval_condition(s, b)?
                }
            }
            _ => return None,
        })
    }
}
