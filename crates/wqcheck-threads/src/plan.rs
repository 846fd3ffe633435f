//! What the executor decides once per check: which steps must be indivisible against an
//! `atomic { }` block.
//!
//! An `atomic { }` block is one indivisible step on every engine (docs/dsl.md §7). On a
//! thread runtime nothing is indivisible but a single atomic operation, so the executor
//! gives blocks an *exclusion*: a word that a block holds while it runs and that every
//! other step touching a location some block touches takes around its own access. The
//! exclusion is taken and released with relaxed operations, so it orders nothing: it only
//! keeps other accesses out of a block's span (and a block's loads read the latest value,
//! as read-modify-writes; see `mem.rs`). Which steps need it is decided here, statically,
//! from the locations each instruction may touch: a conservative over-approximation, which
//! costs scheduling points, never a behaviour.

use wqcheck_model::compile::{Instr, Pc};
use wqcheck_model::ir::{Builtin, EntryField, Loc};
use wqcheck_model::Model;

/// A set of location classes: each shared variable, each queue's spinlock, and three
/// classes for all entries' flags, all lists (list structure, nodes, heads, wake
/// functions), and all tasks (states, signals, sleep and wakeup).
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

/// Which steps take the atomic-block exclusion.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Per instruction: a step that starts there takes the exclusion.
    excl_at: Vec<bool>,
    /// Actor steps (signals: tasks) take it.
    excl_actor: bool,
    /// The program has `atomic { }` blocks.
    pub has_blocks: bool,
}

impl Plan {
    pub fn new(model: &Model) -> Plan {
        let code = &model.code;
        let n = Numbering {
            nvars: model.inst.program.vars.len(),
        };
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
        Plan {
            excl_at,
            excl_actor: has_blocks && tasks.meets(&block),
            has_blocks,
        }
    }

    /// Whether a thread step starting at `pc` takes the exclusion.
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
            EntryField::Func => c.add(n.lists()),
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
        Instr::FutexSleep { queue, .. } => {
            c.add(n.tasks());
            c.add(n.lists());
            lock(&mut c, *queue);
        }
        Instr::Builtin { op, .. } => match *op {
            Builtin::TestBit(b)
            | Builtin::SetBit(b)
            | Builtin::ClearBit(b)
            | Builtin::TestAndSetBit { bit: b, .. }
            | Builtin::TestAndClearBit(b)
            | Builtin::ClearBitUnlock(b)
            | Builtin::ClearBitUnlockIsNegativeByte { bit: b, .. } => c.add(n.var(b.var as usize)),
            Builtin::Load { loc, .. }
            | Builtin::Store { loc, .. }
            | Builtin::Rmw { loc, .. }
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
            | Builtin::TryToWakeUp => c.add(n.tasks()),
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
            | Builtin::WqHasSleeper(_) => c.add(n.lists()),
            Builtin::PrepareToWait { queue, .. } => {
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
