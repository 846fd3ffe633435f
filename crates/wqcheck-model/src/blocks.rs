//! Which steps an `atomic { }` block must be indivisible against, decided once per model.
//!
//! An `atomic { }` block is one indivisible step on every engine (docs/dsl.md §7). It
//! stands for a critical section, and the locations it touches are the ones that
//! critical section protects: every other access to one of them is made as if under the
//! same lock. The threaded engines take one runtime mutex around a block and around every
//! step that touches a location some block touches; the native explorer under TSO makes
//! such a step drain its store buffer and act on memory, like a block. Which steps those
//! are is decided here, from the locations each instruction may touch: a conservative
//! over-approximation, which costs scheduling points (and weak behaviours of those
//! locations, which a lock would hide too), never a behaviour a lock allows.

use crate::compile::{Code, Instr, Pc};
use crate::ir::{Builtin, EntryField, Loc};
use crate::memory::MemLoc;

/// A set of location classes: each shared variable, each queue's spinlock, and three
/// classes for all entries' flags, all lists (list structure, nodes, heads, wake
/// functions), and all tasks (states, signals, wake_q nodes, sleep and wakeup).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Classes(Vec<u64>);

impl Classes {
    fn add(&mut self, i: usize) {
        if self.0.len() <= i / 64 {
            self.0.resize(i / 64 + 1, 0);
        }
        self.0[i / 64] |= 1 << (i % 64);
    }

    fn union(&mut self, o: &Classes) {
        if self.0.len() < o.0.len() {
            self.0.resize(o.0.len(), 0);
        }
        for (a, b) in self.0.iter_mut().zip(&o.0) {
            *a |= b;
        }
    }

    fn meets(&self, o: &Classes) -> bool {
        self.0.iter().zip(&o.0).any(|(a, b)| a & b != 0)
    }
}

/// The class numbers of one model.
struct Numbering {
    nvars: usize,
}

impl Numbering {
    fn var(&self, v: usize) -> usize {
        v
    }
    fn flags(&self) -> usize {
        self.nvars
    }
    fn lists(&self) -> usize {
        self.nvars + 1
    }
    fn tasks(&self) -> usize {
        self.nvars + 2
    }
    fn lock(&self, q: usize) -> usize {
        self.nvars + 3 + q
    }
}

/// Which steps are made under the atomic-block lock.
#[derive(Clone, Debug)]
pub struct Blocks {
    /// Per instruction: a step that starts there is made under the lock.
    excl_at: Vec<bool>,
    /// Actor steps (signals: tasks) are.
    excl_actor: bool,
    /// The program has `atomic { }` blocks.
    pub has_blocks: bool,
    /// The classes blocks touch.
    block: Classes,
    nvars: usize,
}

impl Blocks {
    pub fn new(code: &Code, nvars: usize) -> Blocks {
        let n = Numbering { nvars };
        let touches: Vec<Classes> = code.instrs.iter().map(|i| instr_classes(&n, i)).collect();
        // Every function's instructions, for calls inside blocks.
        let mut of_func: Vec<Classes> = vec![Classes::default(); code.funcs.len()];
        for (pc, c) in touches.iter().enumerate() {
            of_func[code.func_of[pc] as usize].union(c);
        }
        let all = of_func.iter().fold(Classes::default(), |mut a, c| {
            a.union(c);
            a
        });
        // What blocks touch: their own instructions; a call or a wake walk inside a block
        // may run any function (calls are followed to a fixpoint cheaply by taking all
        // functions: blocks are for small models).
        let mut block = Classes::default();
        let mut depth = 0usize;
        let mut has_blocks = false;
        for (pc, i) in code.instrs.iter().enumerate() {
            match i {
                Instr::AtomicBegin => {
                    depth += 1;
                    has_blocks = true;
                }
                Instr::AtomicEnd => depth = depth.saturating_sub(1),
                _ => {}
            }
            if depth > 0 {
                block.union(&touches[pc]);
                if matches!(i, Instr::Call { .. } | Instr::WalkNext { .. }) {
                    block.union(&all);
                }
            }
        }
        let excl_at = code
            .instrs
            .iter()
            .enumerate()
            .map(|(pc, i)| {
                has_blocks && (matches!(i, Instr::AtomicBegin) || touches[pc].meets(&block))
            })
            .collect();
        let mut tasks = Classes::default();
        tasks.add(n.tasks());
        Blocks {
            excl_at,
            excl_actor: has_blocks && tasks.meets(&block),
            has_blocks,
            block,
            nvars,
        }
    }

    /// Whether every access to `loc` is made under the atomic-block lock: the location is
    /// one a block touches. (An entry's flags may also be written, as a local operation,
    /// while the entry is its owner's alone: unlinked, which nobody else can reach.)
    pub fn covers(&self, loc: MemLoc) -> bool {
        if !self.has_blocks {
            return false;
        }
        let n = Numbering { nvars: self.nvars };
        let class = match loc {
            MemLoc::Var(v) => n.var(v),
            MemLoc::EntryFlags(_) => n.flags(),
            MemLoc::TaskState(_) | MemLoc::Signal(_) | MemLoc::WakeQNode(_) | MemLoc::Timer(_) => {
                n.tasks()
            }
            MemLoc::EntryNode(_) | MemLoc::QueueHead(_) => n.lists(),
        };
        let mut c = Classes::default();
        c.add(class);
        c.meets(&self.block)
    }

    /// Whether every step that takes, releases or tests queue `q`'s spinlock is made under
    /// the atomic-block lock (a block takes it).
    pub fn covers_lock(&self, q: usize) -> bool {
        let mut c = Classes::default();
        c.add(Numbering { nvars: self.nvars }.lock(q));
        self.has_blocks && c.meets(&self.block)
    }

    /// Whether a thread step starting at `pc` is made under the atomic-block lock.
    pub fn excl_at(&self, pc: Pc) -> bool {
        self.excl_at.get(pc as usize).copied().unwrap_or(false)
    }

    pub fn excl_actor(&self) -> bool {
        self.excl_actor
    }
}

/// The classes an instruction may touch when it runs.
fn instr_classes(n: &Numbering, i: &Instr) -> Classes {
    let mut c = Classes::default();
    let lock = |c: &mut Classes, q: u16| c.add(n.lock(q as usize));
    match i {
        Instr::ReadVar { var, .. } | Instr::WriteVar { var, .. } => c.add(n.var(*var as usize)),
        Instr::ReadField { field, .. } | Instr::WriteField { field, .. } => match field {
            EntryField::Flags => c.add(n.flags()),
            // Written before the entry is queued, read by walks: like the list links.
            EntryField::Func | EntryField::Data(_) => c.add(n.lists()),
            EntryField::Private => {}
        },
        // Returning checks and clears the function's entries.
        Instr::Return(_) => {
            c.add(n.lists());
            c.add(n.flags());
        }
        Instr::WalkBegin { queue, .. } => {
            c.add(n.lists());
            lock(&mut c, *queue);
        }
        Instr::WalkNext { .. } => {
            c.add(n.lists());
            c.add(n.flags());
            c.add(n.tasks());
        }
        Instr::AutoremoveUnlink(_) => c.add(n.lists()),
        Instr::FutexSleep { queue, .. } => {
            c.add(n.tasks());
            c.add(n.lists());
            lock(&mut c, *queue);
        }
        Instr::Builtin { op, .. } => match *op {
            Builtin::TestBit(b)
            | Builtin::TestBitAcquire(b)
            | Builtin::SetBit(b)
            | Builtin::ClearBit(b)
            | Builtin::TestAndSetBit { bit: b, .. }
            | Builtin::TestAndClearBit(b)
            | Builtin::ClearBitUnlock(b)
            | Builtin::ClearBitUnlockIsNegativeByte { bit: b, .. } => c.add(n.var(b.var as usize)),
            Builtin::Load { loc, .. }
            | Builtin::Store { loc, .. }
            | Builtin::Rmw { loc, .. }
            | Builtin::RmwReturn { loc, .. }
            | Builtin::CmpXchg { loc, .. } => match loc {
                Loc::Var(v) => c.add(n.var(v as usize)),
                Loc::EntryFlags => c.add(n.flags()),
            },
            Builtin::Fence(_) => {}
            Builtin::SetCurrentState { .. }
            | Builtin::Schedule { .. }
            | Builtin::SignalPendingState
            | Builtin::SignalPending
            | Builtin::FatalSignalPending
            | Builtin::FlushSignals
            | Builtin::TryToWakeUp
            | Builtin::WakeQAdd
            | Builtin::WakeQPop
            | Builtin::WakeQWake
            | Builtin::ScheduleTimeout { .. }
            | Builtin::TimerArm
            | Builtin::TimerDel => c.add(n.tasks()),
            // A head is its owner's alone.
            Builtin::WakeQInit | Builtin::WakeQEmpty => {}
            Builtin::SpinLock(q) | Builtin::SpinUnlock(q) => lock(&mut c, q),
            Builtin::InitWait => {
                c.add(n.flags());
                c.add(n.lists());
            }
            Builtin::AddWaitQueue { queue, .. } => {
                lock(&mut c, queue);
                c.add(n.lists());
                c.add(n.flags());
            }
            Builtin::RemoveWaitQueue(q) => {
                lock(&mut c, q);
                c.add(n.lists());
            }
            Builtin::ListDelInit { .. }
            | Builtin::ListEmpty { .. }
            | Builtin::WaitqueueActive(_)
            | Builtin::ListFirst(_)
            | Builtin::WqHasSleeper(_) => c.add(n.lists()),
            Builtin::PrepareToWait { queue, .. } | Builtin::PrepareToWaitEvent(queue) => {
                lock(&mut c, queue);
                c.add(n.lists());
                c.add(n.flags());
                c.add(n.tasks());
            }
            Builtin::FinishWait(q) => {
                lock(&mut c, q);
                c.add(n.lists());
                c.add(n.tasks());
            }
            Builtin::WakeUp { queue, .. } => {
                lock(&mut c, queue);
                c.add(n.lists());
                c.add(n.flags());
                c.add(n.tasks());
            }
            Builtin::AutoremoveWakeFunction | Builtin::DefaultWakeFunction => {
                c.add(n.tasks());
                c.add(n.lists());
            }
            Builtin::FutexWait(q) | Builtin::FutexWake(q) => {
                lock(&mut c, q);
                c.add(n.lists());
                c.add(n.tasks());
                // The futex word: any variable a futex queue names (cheap to over-approximate).
                for v in 0..n.nvars {
                    c.add(n.var(v));
                }
            }
        },
        _ => {}
    }
    c
}
