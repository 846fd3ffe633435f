//! The builtin table (docs/dsl.md §8) and the predefined constants (§6).
//!
//! This module owns *which* names are builtins, their printed signatures, the kind of
//! each argument, and how a call with already-checked arguments maps to an
//! [`ir::Builtin`] and its value arguments (the order documented on [`ir::Builtin`]).
//! Checking each argument against its kind is the checker's job (`check.rs`).

use wqcheck_model::ir::{
    self, errno, task, timer, wq_flag, Builtin, Fence, Ordering, RmwOp, Value,
};

/// What one builtin argument must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ArgKind {
    /// A `bit` shared variable: `B` or `&B`.
    Bit,
    /// A shared variable (`X`, `&X`) or an entry's flags (`w->flags`, `&w->flags`).
    Loc,
    /// A shared variable with a `futex` declaration: `&VAR` or `VAR`.
    Futex,
    /// A wait queue: `q` or `&q`.
    Queue,
    /// A wait queue's lock, `&q->lock`, or a `spinlock_t`, `&l`.
    Lock,
    /// A `wait_queue_entry_t *` value (`&wait`, `wait`).
    Entry,
    /// An entry's list node: `&w->entry`.
    EntryNode,
    /// An integer value.
    Value,
    /// A task value (`current`, `wait->private`).
    Task,
    /// A `struct wake_q_head *` (`&wake_q` of a `DEFINE_WAKE_Q(wake_q)` local).
    WakeQ,
    /// The literal `current`.
    Current,
    /// A `memory_order_*` constant.
    Order,
    /// An `int` local whose value is ignored (`spin_lock_irqsave`'s `flags`).
    FlagsLocal,
    /// `NULL`, or a wake key: `&key` of a struct of integers, or a `void *` that holds
    /// one. A wake walk hands it to each wake function; elsewhere it is dropped.
    Key,
    /// An integer that the model ignores (`try_to_wake_up`'s wake flags, a wake
    /// function's `sync`); checked, then dropped.
    Ignored,
}

/// The return type of a builtin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ret {
    Void,
    Int,
    Bool,
    /// The type of the location read (`bool` for a `bit`, else `int`).
    OfLoc,
}

/// How a call maps to the IR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    TestBit,
    TestBitAcquire,
    SetBit,
    ClearBit,
    TestAndSetBit {
        lock: bool,
    },
    TestAndClearBit,
    ClearBitUnlock,
    ClearBitUnlockIsNegativeByte,
    Load(Ordering),
    /// The ordering comes from the second argument.
    LoadExplicit,
    Store(Ordering),
    StoreExplicit,
    Rmw(RmwOp, Ordering),
    /// `atomic_inc` / `atomic_dec`: RMW with the constant operand 1.
    RmwOne(RmwOp),
    /// `atomic_add_return(&X, v)`, ...: the new value.
    RmwReturn(RmwOp, Ordering),
    /// `atomic_inc_return(&X)`, `atomic_dec_return(&X)`, ...: the new value. With
    /// [`Ret::Bool`], `atomic_dec_and_test(&X)` and `atomic_inc_and_test(&X)`: true when
    /// the new value is 0 (the checker compares it with 0).
    RmwOneReturn(RmwOp, Ordering),
    CmpXchg(Ordering),
    Fence(Fence),
    SetCurrentState {
        barrier: bool,
    },
    Schedule {
        io: bool,
    },
    /// `schedule_timeout(T)`, and its `_interruptible`, ... forms, which first set the
    /// task state (`__set_current_state()`).
    ScheduleTimeout {
        state: Option<Value>,
    },
    SignalPendingState,
    SignalPending,
    FatalSignalPending,
    FlushSignals,
    TryToWakeUp,
    WakeUpProcess,
    WakeQInit,
    WakeQAdd,
    WakeQEmpty,
    /// `wake_up_q(&h)`: a loop, lowered by the checker as a statement (`check/wake_q.rs`).
    WakeUpQ,
    SpinLock,
    SpinUnlock,
    InitWait,
    AddWaitQueue {
        exclusive: bool,
        tail: bool,
        takes_lock: bool,
    },
    RemoveWaitQueue,
    /// `list_add_tail(&w->list, &head)` / `list_add(...)`: the entry first, then the
    /// list, which is a queue's (the caller holds its lock).
    ListAdd {
        tail: bool,
    },
    ListDelInit {
        careful: bool,
    },
    ListEmpty {
        careful: bool,
    },
    PrepareToWait {
        exclusive: bool,
    },
    PrepareToWaitEvent,
    FinishWait,
    WaitqueueActive,
    /// `list_first_entry(&head, struct NAME, member)`: parsed as a `container_of()`
    /// (check/structs.rs), which takes its queue argument through this entry.
    ListFirst,
    WqHasSleeper,
    /// `wake_up` family with the constant mode and count the short form implies
    /// (`nr == None`: the count is an argument).
    WakeUpShort {
        mode: Value,
        nr: Option<Value>,
    },
    /// `__wake_up(q, MODE, NR, key)` / `__wake_up_locked(q, MODE, NR)`.
    WakeUpFull {
        takes_lock: bool,
    },
    /// `__wake_up_locked_key(q, MODE, key)`: NR = 1.
    WakeUpLockedKey,
    AutoremoveWakeFunction,
    DefaultWakeFunction,
    FutexWait,
    FutexWake,
}

pub(crate) struct BuiltinDef {
    pub name: &'static str,
    /// The signature as printed in help messages.
    pub sig: &'static str,
    pub args: &'static [ArgKind],
    /// Trailing arguments may be left out down to this many.
    pub min_args: usize,
    pub ret: Ret,
    pub op: Op,
}

use ArgKind as A;

const fn def(
    name: &'static str,
    sig: &'static str,
    args: &'static [ArgKind],
    ret: Ret,
    op: Op,
) -> BuiltinDef {
    BuiltinDef {
        name,
        sig,
        args,
        min_args: args.len(),
        ret,
        op,
    }
}

const fn opt(
    name: &'static str,
    sig: &'static str,
    args: &'static [ArgKind],
    min_args: usize,
    ret: Ret,
    op: Op,
) -> BuiltinDef {
    BuiltinDef {
        name,
        sig,
        args,
        min_args,
        ret,
        op,
    }
}

macro_rules! rmw_family {
    ($base:literal, $op:expr) => {
        [
            def(
                $base,
                concat!($base, "(&X, v)"),
                &[A::Loc, A::Value],
                Ret::Int,
                Op::Rmw($op, Ordering::Full),
            ),
            def(
                concat!($base, "_relaxed"),
                concat!($base, "_relaxed(&X, v)"),
                &[A::Loc, A::Value],
                Ret::Int,
                Op::Rmw($op, Ordering::Relaxed),
            ),
            def(
                concat!($base, "_acquire"),
                concat!($base, "_acquire(&X, v)"),
                &[A::Loc, A::Value],
                Ret::Int,
                Op::Rmw($op, Ordering::Acquire),
            ),
            def(
                concat!($base, "_release"),
                concat!($base, "_release(&X, v)"),
                &[A::Loc, A::Value],
                Ret::Int,
                Op::Rmw($op, Ordering::Release),
            ),
        ]
    };
}

/// `atomic_add_return` and its orderings: fully ordered, `_relaxed`, `_acquire`,
/// `_release`; each returns the new value. With `one`, the operand is the constant 1
/// (`atomic_inc_return(&X)`).
macro_rules! rmw_return_family {
    ($base:literal, $op:expr, one) => {
        rmw_return_family!(@ $base, "(&X)", &[A::Loc], Op::RmwOneReturn, $op)
    };
    ($base:literal, $op:expr) => {
        rmw_return_family!(@ $base, "(&X, v)", &[A::Loc, A::Value], Op::RmwReturn, $op)
    };
    (@ $base:literal, $args:literal, $kinds:expr, $mk:path, $op:expr) => {
        [
            def($base, concat!($base, $args), $kinds, Ret::Int, $mk($op, Ordering::Full)),
            def(
                concat!($base, "_relaxed"),
                concat!($base, "_relaxed", $args),
                $kinds,
                Ret::Int,
                $mk($op, Ordering::Relaxed),
            ),
            def(
                concat!($base, "_acquire"),
                concat!($base, "_acquire", $args),
                $kinds,
                Ret::Int,
                $mk($op, Ordering::Acquire),
            ),
            def(
                concat!($base, "_release"),
                concat!($base, "_release", $args),
                $kinds,
                Ret::Int,
                $mk($op, Ordering::Release),
            ),
        ]
    };
}

const XCHG: [BuiltinDef; 4] = rmw_family!("atomic_xchg", RmwOp::Xchg);
const ADD_RETURN: [BuiltinDef; 4] = rmw_return_family!("atomic_add_return", RmwOp::Add);
const SUB_RETURN: [BuiltinDef; 4] = rmw_return_family!("atomic_sub_return", RmwOp::Sub);
const INC_RETURN: [BuiltinDef; 4] = rmw_return_family!("atomic_inc_return", RmwOp::Add, one);
const DEC_RETURN: [BuiltinDef; 4] = rmw_return_family!("atomic_dec_return", RmwOp::Sub, one);
const FETCH_ADD: [BuiltinDef; 4] = rmw_family!("atomic_fetch_add", RmwOp::Add);
const FETCH_SUB: [BuiltinDef; 4] = rmw_family!("atomic_fetch_sub", RmwOp::Sub);
const FETCH_OR: [BuiltinDef; 4] = rmw_family!("atomic_fetch_or", RmwOp::Or);
const FETCH_AND: [BuiltinDef; 4] = rmw_family!("atomic_fetch_and", RmwOp::And);
const FETCH_ANDNOT: [BuiltinDef; 4] = rmw_family!("atomic_fetch_andnot", RmwOp::AndNot);
const FETCH_XOR: [BuiltinDef; 4] = rmw_family!("atomic_fetch_xor", RmwOp::Xor);

const WAKE_FN_ARGS: &[ArgKind] = &[A::Entry, A::Value, A::Ignored, A::Key];

const BASE: &[BuiltinDef] = &[
    // ---- bit operations
    def("test_bit", "test_bit(B)", &[A::Bit], Ret::Bool, Op::TestBit),
    def(
        "test_bit_acquire",
        "test_bit_acquire(B)",
        &[A::Bit],
        Ret::Bool,
        Op::TestBitAcquire,
    ),
    def("set_bit", "set_bit(B)", &[A::Bit], Ret::Void, Op::SetBit),
    def(
        "clear_bit",
        "clear_bit(B)",
        &[A::Bit],
        Ret::Void,
        Op::ClearBit,
    ),
    def(
        "test_and_set_bit",
        "test_and_set_bit(B)",
        &[A::Bit],
        Ret::Bool,
        Op::TestAndSetBit { lock: false },
    ),
    def(
        "test_and_set_bit_lock",
        "test_and_set_bit_lock(B)",
        &[A::Bit],
        Ret::Bool,
        Op::TestAndSetBit { lock: true },
    ),
    def(
        "test_and_clear_bit",
        "test_and_clear_bit(B)",
        &[A::Bit],
        Ret::Bool,
        Op::TestAndClearBit,
    ),
    def(
        "clear_bit_unlock",
        "clear_bit_unlock(B)",
        &[A::Bit],
        Ret::Void,
        Op::ClearBitUnlock,
    ),
    def(
        "clear_bit_unlock_is_negative_byte",
        "clear_bit_unlock_is_negative_byte(B, N)",
        &[A::Bit, A::Bit],
        Ret::Bool,
        Op::ClearBitUnlockIsNegativeByte,
    ),
    // ---- shared variables and atomics
    def(
        "READ_ONCE",
        "READ_ONCE(X)",
        &[A::Loc],
        Ret::OfLoc,
        Op::Load(Ordering::Relaxed),
    ),
    def(
        "atomic_read",
        "atomic_read(&X)",
        &[A::Loc],
        Ret::Int,
        Op::Load(Ordering::Relaxed),
    ),
    def(
        "WRITE_ONCE",
        "WRITE_ONCE(X, v)",
        &[A::Loc, A::Value],
        Ret::Void,
        Op::Store(Ordering::Relaxed),
    ),
    def(
        "atomic_set",
        "atomic_set(&X, v)",
        &[A::Loc, A::Value],
        Ret::Void,
        Op::Store(Ordering::Relaxed),
    ),
    def(
        "smp_load_acquire",
        "smp_load_acquire(&X)",
        &[A::Loc],
        Ret::OfLoc,
        Op::Load(Ordering::Acquire),
    ),
    def(
        "smp_store_release",
        "smp_store_release(&X, v)",
        &[A::Loc, A::Value],
        Ret::Void,
        Op::Store(Ordering::Release),
    ),
    // include/linux/atomic.h's ordered forms of atomic_read()/atomic_set().
    def(
        "atomic_read_acquire",
        "atomic_read_acquire(&X)",
        &[A::Loc],
        Ret::Int,
        Op::Load(Ordering::Acquire),
    ),
    def(
        "atomic_set_release",
        "atomic_set_release(&X, v)",
        &[A::Loc, A::Value],
        Ret::Void,
        Op::Store(Ordering::Release),
    ),
    def(
        "smp_store_mb",
        "smp_store_mb(X, v)",
        &[A::Loc, A::Value],
        Ret::Void,
        Op::Store(Ordering::Full),
    ),
    def(
        "atomic_load",
        "atomic_load(&X, ORD)",
        &[A::Loc, A::Order],
        Ret::OfLoc,
        Op::LoadExplicit,
    ),
    def(
        "atomic_store",
        "atomic_store(&X, v, ORD)",
        &[A::Loc, A::Value, A::Order],
        Ret::Void,
        Op::StoreExplicit,
    ),
    def(
        "atomic_inc",
        "atomic_inc(&X)",
        &[A::Loc],
        Ret::Void,
        Op::RmwOne(RmwOp::Add),
    ),
    def(
        "atomic_dec",
        "atomic_dec(&X)",
        &[A::Loc],
        Ret::Void,
        Op::RmwOne(RmwOp::Sub),
    ),
    def(
        "atomic_dec_and_test",
        "atomic_dec_and_test(&X)",
        &[A::Loc],
        Ret::Bool,
        Op::RmwOneReturn(RmwOp::Sub, Ordering::Full),
    ),
    def(
        "atomic_inc_and_test",
        "atomic_inc_and_test(&X)",
        &[A::Loc],
        Ret::Bool,
        Op::RmwOneReturn(RmwOp::Add, Ordering::Full),
    ),
    def(
        "atomic_add",
        "atomic_add(&X, v)",
        &[A::Loc, A::Value],
        Ret::Void,
        Op::Rmw(RmwOp::Add, Ordering::Relaxed),
    ),
    def(
        "atomic_sub",
        "atomic_sub(&X, v)",
        &[A::Loc, A::Value],
        Ret::Void,
        Op::Rmw(RmwOp::Sub, Ordering::Relaxed),
    ),
    // The kernel's generic accessors of a pointer (include/linux/rcupdate.h; cmpxchg() and
    // xchg() of include/linux/atomic/atomic-instrumented.h): on any shared variable, and
    // the way to publish and read a `struct task_struct *`. rcu_dereference() is
    // READ_ONCE(): its address dependency orders only accesses through the pointer, and
    // the one such access here, try_to_wake_up()'s test of the task's state, comes after
    // a full barrier anyway (smp_mb__after_spinlock()).
    def(
        "rcu_assign_pointer",
        "rcu_assign_pointer(X, v)",
        &[A::Loc, A::Value],
        Ret::Void,
        Op::Store(Ordering::Release),
    ),
    def(
        "rcu_dereference",
        "rcu_dereference(X)",
        &[A::Loc],
        Ret::OfLoc,
        Op::Load(Ordering::Relaxed),
    ),
    def(
        "xchg",
        "xchg(&X, v)",
        &[A::Loc, A::Value],
        Ret::OfLoc,
        Op::Rmw(RmwOp::Xchg, Ordering::Full),
    ),
    def(
        "cmpxchg",
        "cmpxchg(&X, old, new)",
        &[A::Loc, A::Value, A::Value],
        Ret::OfLoc,
        Op::CmpXchg(Ordering::Full),
    ),
    def(
        "atomic_cmpxchg",
        "atomic_cmpxchg(&X, old, new)",
        &[A::Loc, A::Value, A::Value],
        Ret::Int,
        Op::CmpXchg(Ordering::Full),
    ),
    def(
        "atomic_cmpxchg_relaxed",
        "atomic_cmpxchg_relaxed(&X, old, new)",
        &[A::Loc, A::Value, A::Value],
        Ret::Int,
        Op::CmpXchg(Ordering::Relaxed),
    ),
    def(
        "atomic_cmpxchg_acquire",
        "atomic_cmpxchg_acquire(&X, old, new)",
        &[A::Loc, A::Value, A::Value],
        Ret::Int,
        Op::CmpXchg(Ordering::Acquire),
    ),
    def(
        "atomic_cmpxchg_release",
        "atomic_cmpxchg_release(&X, old, new)",
        &[A::Loc, A::Value, A::Value],
        Ret::Int,
        Op::CmpXchg(Ordering::Release),
    ),
    def("smp_mb", "smp_mb()", &[], Ret::Void, Op::Fence(Fence::Full)),
    def(
        "smp_rmb",
        "smp_rmb()",
        &[],
        Ret::Void,
        Op::Fence(Fence::Read),
    ),
    // include/asm-generic/barrier.h: "A control dependency provides a LOAD->STORE order,
    // the additional RMB provides LOAD->LOAD order, together they provide LOAD->{LOAD,
    // STORE} order, aka. (load)-ACQUIRE." The control dependency itself is not modelled
    // (docs/loom.md), so this is the read fence that makes the load before it an acquire.
    def(
        "smp_acquire__after_ctrl_dep",
        "smp_acquire__after_ctrl_dep()",
        &[],
        Ret::Void,
        Op::Fence(Fence::Read),
    ),
    def(
        "smp_wmb",
        "smp_wmb()",
        &[],
        Ret::Void,
        Op::Fence(Fence::Write),
    ),
    def(
        "smp_mb__before_atomic",
        "smp_mb__before_atomic()",
        &[],
        Ret::Void,
        Op::Fence(Fence::Full),
    ),
    def(
        "smp_mb__after_atomic",
        "smp_mb__after_atomic()",
        &[],
        Ret::Void,
        Op::Fence(Fence::Full),
    ),
    def(
        "smp_mb__after_spinlock",
        "smp_mb__after_spinlock()",
        &[],
        Ret::Void,
        Op::Fence(Fence::Full),
    ),
    def(
        "barrier",
        "barrier()",
        &[],
        Ret::Void,
        Op::Fence(Fence::Compiler),
    ),
    // ---- tasks
    def(
        "set_current_state",
        "set_current_state(S)",
        &[A::Value],
        Ret::Void,
        Op::SetCurrentState { barrier: true },
    ),
    def(
        "__set_current_state",
        "__set_current_state(S)",
        &[A::Value],
        Ret::Void,
        Op::SetCurrentState { barrier: false },
    ),
    def(
        "schedule",
        "schedule()",
        &[],
        Ret::Void,
        Op::Schedule { io: false },
    ),
    def(
        "io_schedule",
        "io_schedule()",
        &[],
        Ret::Void,
        Op::Schedule { io: true },
    ),
    def(
        "schedule_timeout",
        "schedule_timeout(timeout)",
        &[A::Value],
        Ret::Int,
        Op::ScheduleTimeout { state: None },
    ),
    def(
        "schedule_timeout_interruptible",
        "schedule_timeout_interruptible(timeout)",
        &[A::Value],
        Ret::Int,
        Op::ScheduleTimeout {
            state: Some(task::TASK_INTERRUPTIBLE),
        },
    ),
    def(
        "schedule_timeout_killable",
        "schedule_timeout_killable(timeout)",
        &[A::Value],
        Ret::Int,
        Op::ScheduleTimeout {
            state: Some(task::TASK_KILLABLE),
        },
    ),
    def(
        "schedule_timeout_uninterruptible",
        "schedule_timeout_uninterruptible(timeout)",
        &[A::Value],
        Ret::Int,
        Op::ScheduleTimeout {
            state: Some(task::TASK_UNINTERRUPTIBLE),
        },
    ),
    def(
        "schedule_timeout_idle",
        "schedule_timeout_idle(timeout)",
        &[A::Value],
        Ret::Int,
        Op::ScheduleTimeout {
            state: Some(task::TASK_IDLE),
        },
    ),
    opt(
        "signal_pending_state",
        "signal_pending_state(S, current)",
        &[A::Value, A::Current],
        1,
        Ret::Bool,
        Op::SignalPendingState,
    ),
    def(
        "signal_pending",
        "signal_pending(current)",
        &[A::Current],
        Ret::Bool,
        Op::SignalPending,
    ),
    def(
        "fatal_signal_pending",
        "fatal_signal_pending(current)",
        &[A::Current],
        Ret::Bool,
        Op::FatalSignalPending,
    ),
    def(
        "flush_signals",
        "flush_signals(current)",
        &[A::Current],
        Ret::Void,
        Op::FlushSignals,
    ),
    def(
        "try_to_wake_up",
        "try_to_wake_up(t, S, 0)",
        &[A::Task, A::Value, A::Ignored],
        Ret::Int,
        Op::TryToWakeUp,
    ),
    def(
        "wake_up_state",
        "wake_up_state(t, S)",
        &[A::Task, A::Value],
        Ret::Int,
        Op::TryToWakeUp,
    ),
    def(
        "wake_up_process",
        "wake_up_process(t)",
        &[A::Task],
        Ret::Int,
        Op::WakeUpProcess,
    ),
    // ---- deferred wakeups (kernel/sched/core.c)
    def(
        "wake_q_init",
        "wake_q_init(&wake_q)",
        &[A::WakeQ],
        Ret::Void,
        Op::WakeQInit,
    ),
    def(
        "wake_q_add",
        "wake_q_add(&wake_q, t)",
        &[A::WakeQ, A::Task],
        Ret::Void,
        Op::WakeQAdd,
    ),
    def(
        "wake_q_add_safe",
        "wake_q_add_safe(&wake_q, t)",
        &[A::WakeQ, A::Task],
        Ret::Void,
        Op::WakeQAdd,
    ),
    def(
        "wake_q_empty",
        "wake_q_empty(&wake_q)",
        &[A::WakeQ],
        Ret::Bool,
        Op::WakeQEmpty,
    ),
    def(
        "wake_up_q",
        "wake_up_q(&wake_q)",
        &[A::WakeQ],
        Ret::Void,
        Op::WakeUpQ,
    ),
    // ---- wait queues
    def(
        "spin_lock",
        "spin_lock(&l) or spin_lock(&q->lock)",
        &[A::Lock],
        Ret::Void,
        Op::SpinLock,
    ),
    def(
        "spin_lock_irq",
        "spin_lock_irq(&l) or spin_lock_irq(&q->lock)",
        &[A::Lock],
        Ret::Void,
        Op::SpinLock,
    ),
    def(
        "spin_lock_irqsave",
        "spin_lock_irqsave(&l, flags) or spin_lock_irqsave(&q->lock, flags)",
        &[A::Lock, A::FlagsLocal],
        Ret::Void,
        Op::SpinLock,
    ),
    def(
        "spin_unlock",
        "spin_unlock(&l) or spin_unlock(&q->lock)",
        &[A::Lock],
        Ret::Void,
        Op::SpinUnlock,
    ),
    def(
        "spin_unlock_irq",
        "spin_unlock_irq(&l) or spin_unlock_irq(&q->lock)",
        &[A::Lock],
        Ret::Void,
        Op::SpinUnlock,
    ),
    def(
        "spin_unlock_irqrestore",
        "spin_unlock_irqrestore(&l, flags) or spin_unlock_irqrestore(&q->lock, flags)",
        &[A::Lock, A::FlagsLocal],
        Ret::Void,
        Op::SpinUnlock,
    ),
    // include/linux/spinlock.h: raw_spinlock_t's, the same lock in a model
    def(
        "raw_spin_lock",
        "raw_spin_lock(&l) or raw_spin_lock(&q->lock)",
        &[A::Lock],
        Ret::Void,
        Op::SpinLock,
    ),
    def(
        "raw_spin_lock_irq",
        "raw_spin_lock_irq(&l) or raw_spin_lock_irq(&q->lock)",
        &[A::Lock],
        Ret::Void,
        Op::SpinLock,
    ),
    def(
        "raw_spin_lock_irqsave",
        "raw_spin_lock_irqsave(&l, flags) or raw_spin_lock_irqsave(&q->lock, flags)",
        &[A::Lock, A::FlagsLocal],
        Ret::Void,
        Op::SpinLock,
    ),
    def(
        "raw_spin_unlock",
        "raw_spin_unlock(&l) or raw_spin_unlock(&q->lock)",
        &[A::Lock],
        Ret::Void,
        Op::SpinUnlock,
    ),
    def(
        "raw_spin_unlock_irq",
        "raw_spin_unlock_irq(&l) or raw_spin_unlock_irq(&q->lock)",
        &[A::Lock],
        Ret::Void,
        Op::SpinUnlock,
    ),
    def(
        "raw_spin_unlock_irqrestore",
        "raw_spin_unlock_irqrestore(&l, flags) or raw_spin_unlock_irqrestore(&q->lock, flags)",
        &[A::Lock, A::FlagsLocal],
        Ret::Void,
        Op::SpinUnlock,
    ),
    def(
        "init_wait",
        "init_wait(&w)",
        &[A::Entry],
        Ret::Void,
        Op::InitWait,
    ),
    def(
        "__add_wait_queue",
        "__add_wait_queue(q, w)",
        &[A::Queue, A::Entry],
        Ret::Void,
        Op::AddWaitQueue {
            exclusive: false,
            tail: false,
            takes_lock: false,
        },
    ),
    def(
        "__add_wait_queue_entry_tail",
        "__add_wait_queue_entry_tail(q, w)",
        &[A::Queue, A::Entry],
        Ret::Void,
        Op::AddWaitQueue {
            exclusive: false,
            tail: true,
            takes_lock: false,
        },
    ),
    def(
        "__add_wait_queue_exclusive",
        "__add_wait_queue_exclusive(q, w)",
        &[A::Queue, A::Entry],
        Ret::Void,
        Op::AddWaitQueue {
            exclusive: true,
            tail: false,
            takes_lock: false,
        },
    ),
    def(
        "__add_wait_queue_entry_tail_exclusive",
        "__add_wait_queue_entry_tail_exclusive(q, w)",
        &[A::Queue, A::Entry],
        Ret::Void,
        Op::AddWaitQueue {
            exclusive: true,
            tail: true,
            takes_lock: false,
        },
    ),
    def(
        "add_wait_queue",
        "add_wait_queue(q, w)",
        &[A::Queue, A::Entry],
        Ret::Void,
        Op::AddWaitQueue {
            exclusive: false,
            tail: false,
            takes_lock: true,
        },
    ),
    def(
        "add_wait_queue_exclusive",
        "add_wait_queue_exclusive(q, w)",
        &[A::Queue, A::Entry],
        Ret::Void,
        Op::AddWaitQueue {
            exclusive: true,
            tail: true,
            takes_lock: true,
        },
    ),
    def(
        "remove_wait_queue",
        "remove_wait_queue(q, w)",
        &[A::Queue, A::Entry],
        Ret::Void,
        Op::RemoveWaitQueue,
    ),
    def(
        "list_del_init",
        "list_del_init(&w->entry)",
        &[A::EntryNode],
        Ret::Void,
        Op::ListDelInit { careful: false },
    ),
    def(
        "list_del_init_careful",
        "list_del_init_careful(&w->entry)",
        &[A::EntryNode],
        Ret::Void,
        Op::ListDelInit { careful: true },
    ),
    def(
        "list_empty",
        "list_empty(&w->entry)",
        &[A::EntryNode],
        Ret::Bool,
        Op::ListEmpty { careful: false },
    ),
    def(
        "list_empty_careful",
        "list_empty_careful(&w->entry)",
        &[A::EntryNode],
        Ret::Bool,
        Op::ListEmpty { careful: true },
    ),
    def(
        "prepare_to_wait",
        "prepare_to_wait(q, w, S)",
        &[A::Queue, A::Entry, A::Value],
        Ret::Void,
        Op::PrepareToWait { exclusive: false },
    ),
    def(
        "prepare_to_wait_exclusive",
        "prepare_to_wait_exclusive(q, w, S)",
        &[A::Queue, A::Entry, A::Value],
        Ret::Void,
        Op::PrepareToWait { exclusive: true },
    ),
    def(
        "prepare_to_wait_event",
        "prepare_to_wait_event(q, w, S)",
        &[A::Queue, A::Entry, A::Value],
        Ret::Int,
        Op::PrepareToWaitEvent,
    ),
    def(
        "finish_wait",
        "finish_wait(q, w)",
        &[A::Queue, A::Entry],
        Ret::Void,
        Op::FinishWait,
    ),
    def(
        "list_first_entry",
        "list_first_entry(&head, struct NAME, member)",
        &[A::Queue],
        Ret::Int,
        Op::ListFirst,
    ),
    def(
        "list_add_tail",
        "list_add_tail(&w->list, &head)",
        &[A::Entry, A::Queue],
        Ret::Void,
        Op::ListAdd { tail: true },
    ),
    def(
        "list_add",
        "list_add(&w->list, &head)",
        &[A::Entry, A::Queue],
        Ret::Void,
        Op::ListAdd { tail: false },
    ),
    def(
        "list_del",
        "list_del(&w->list)",
        &[A::Entry],
        Ret::Void,
        Op::ListDelInit { careful: false },
    ),
    def(
        "waitqueue_active",
        "waitqueue_active(q)",
        &[A::Queue],
        Ret::Bool,
        Op::WaitqueueActive,
    ),
    def(
        "wq_has_sleeper",
        "wq_has_sleeper(q)",
        &[A::Queue],
        Ret::Bool,
        Op::WqHasSleeper,
    ),
    def(
        "wake_up",
        "wake_up(q)",
        &[A::Queue],
        Ret::Void,
        Op::WakeUpShort {
            mode: task::TASK_NORMAL,
            nr: Some(1),
        },
    ),
    def(
        "wake_up_nr",
        "wake_up_nr(q, n)",
        &[A::Queue, A::Value],
        Ret::Void,
        Op::WakeUpShort {
            mode: task::TASK_NORMAL,
            nr: None,
        },
    ),
    def(
        "wake_up_all",
        "wake_up_all(q)",
        &[A::Queue],
        Ret::Void,
        Op::WakeUpShort {
            mode: task::TASK_NORMAL,
            nr: Some(0),
        },
    ),
    def(
        "wake_up_interruptible",
        "wake_up_interruptible(q)",
        &[A::Queue],
        Ret::Void,
        Op::WakeUpShort {
            mode: task::TASK_INTERRUPTIBLE,
            nr: Some(1),
        },
    ),
    def(
        "__wake_up",
        "__wake_up(q, MODE, NR, key)",
        &[A::Queue, A::Value, A::Value, A::Key],
        Ret::Void,
        Op::WakeUpFull { takes_lock: true },
    ),
    def(
        "__wake_up_locked",
        "__wake_up_locked(q, MODE, NR)",
        &[A::Queue, A::Value, A::Value],
        Ret::Void,
        Op::WakeUpFull { takes_lock: false },
    ),
    def(
        "__wake_up_locked_key",
        "__wake_up_locked_key(q, MODE, key)",
        &[A::Queue, A::Value, A::Key],
        Ret::Void,
        Op::WakeUpLockedKey,
    ),
    opt(
        "autoremove_wake_function",
        "autoremove_wake_function(w, mode, sync, key)",
        WAKE_FN_ARGS,
        2,
        Ret::Int,
        Op::AutoremoveWakeFunction,
    ),
    opt(
        "default_wake_function",
        "default_wake_function(w, mode, sync, key)",
        WAKE_FN_ARGS,
        2,
        Ret::Int,
        Op::DefaultWakeFunction,
    ),
    // ---- futexes
    def(
        "futex_wait",
        "futex_wait(&VAR, val)",
        &[A::Futex, A::Value],
        Ret::Int,
        Op::FutexWait,
    ),
    def(
        "futex_wake",
        "futex_wake(&VAR, n)",
        &[A::Futex, A::Value],
        Ret::Int,
        Op::FutexWake,
    ),
];

/// Every builtin, in table order.
pub(crate) fn all() -> impl Iterator<Item = &'static BuiltinDef> {
    BASE.iter()
        .chain(XCHG.iter())
        .chain(FETCH_ADD.iter())
        .chain(FETCH_SUB.iter())
        .chain(FETCH_OR.iter())
        .chain(FETCH_AND.iter())
        .chain(FETCH_ANDNOT.iter())
        .chain(FETCH_XOR.iter())
        .chain(ADD_RETURN.iter())
        .chain(SUB_RETURN.iter())
        .chain(INC_RETURN.iter())
        .chain(DEC_RETURN.iter())
}

/// Whether `def` may act on a `struct task_struct *` variable: the kernel's generic
/// accessors and exchanges do; `atomic_t` operations and arithmetic do not.
pub(crate) fn acts_on_pointers(def: &BuiltinDef) -> bool {
    !def.name.starts_with("atomic_")
        && matches!(
            def.op,
            Op::Load(_) | Op::Store(_) | Op::Rmw(RmwOp::Xchg, _) | Op::CmpXchg(_)
        )
}

/// The builtin `name` calls. `atomic_long_*` is the `atomic_*` of the same name: the
/// model's integers have no width, so `atomic_long_t` and `atomic_t` are one thing.
pub(crate) fn lookup(name: &str) -> Option<&'static BuiltinDef> {
    let name = match name.strip_prefix("atomic_long_") {
        Some(rest) => return all().find(|b| b.name.strip_prefix("atomic_") == Some(rest)),
        None => name,
    };
    all().find(|b| b.name == name)
}

/// Kernel helpers a newcomer reaches for that are not builtins (yet), with how to write
/// them in the DSL (docs/dsl.md, "What you cannot model yet, and the workaround"). Only
/// consulted for a name that is neither a builtin nor a function of the model: a model may
/// define any of them itself, as `models/linux/completion.wq` defines `complete()`.
pub(crate) fn not_a_builtin(name: &str) -> Option<&'static str> {
    const WAIT_EVENT: &str = "wqcheck expands `wait_event()`, `wait_event_idle[_exclusive]()`, `wait_event_interruptible[_exclusive]()`, `wait_event_killable[_exclusive]()` and their `_timeout` forms (`wait_event_timeout()`, `wait_event_interruptible_timeout()`, `wait_event_killable_timeout()`, `wait_event_idle[_exclusive]_timeout()`); for another form write its loop (include/linux/wait.h)
    DEFINE_WAIT(wait);
    for (;;) {
        prepare_to_wait(&q, &wait, TASK_UNINTERRUPTIBLE);
        if (CONDITION)
            break;
        schedule();
    }
    finish_wait(&q, &wait);
`_exclusive`: `prepare_to_wait_exclusive()`; `_interruptible`, `_killable`: that state, and leave the loop when `signal_pending_state(STATE, current)`
(docs/dsl.md, \"What you cannot model yet\")";
    const COMPLETION: &str = "completions are in the prelude: add `#include <linux/completion.h>` and declare `struct completion done;` (kernel/sched/completion.c, docs/dsl.md §3)";
    const SEMAPHORE: &str = "semaphores are in the prelude: add `#include <linux/semaphore.h>` and declare `struct semaphore sem;` (kernel/locking/semaphore.c: `down()`, `down_interruptible()`, `down_killable()`, `down_trylock()`, `down_timeout()`, `up()`, `sema_init()`; docs/dsl.md §3)";
    const MUTEX: &str = "mutexes are in the prelude: add `#include <linux/mutex.h>` and declare `struct mutex lock;` (the count-based kernel/locking/mutex.c of v2.6.16 to v4.9, read at v3.14: `mutex_lock()`, `mutex_lock_interruptible()`, `mutex_lock_killable()`, `mutex_trylock()`, `mutex_unlock()`, `mutex_init()`, `mutex_is_locked()`; docs/dsl.md §3)";
    const SLEEPING_LOCK: &str = "rwsems and rt_mutexes are not builtins yet: write them from their source on a shared object, as the prelude's <linux/semaphore.h> writes kernel/locking/semaphore.c (`list_first_entry()` on a queue's list, a waiter's fields written under its lock), or on a futex (models/futex/mutex-drepper.wq)";
    const TIMEOUT: &str = "the timed sleeps are `schedule_timeout(T)` and its `_interruptible`, `_killable`, `_uninterruptible` and `_idle` forms, and the `wait_event*_timeout()` forms; time is abstract (a timer fires at any moment while it is armed), so `msleep()` and `io_schedule_timeout()` are `schedule_timeout_uninterruptible(T)` and `schedule_timeout(T)`";
    const WAIT_BIT: &str = "this bit or variable wait is not written by wqcheck: write its loop on a `waitqueue` and a wake function that tests the key, as models/linux/wait-on-bit.wq does (kernel/sched/wait_bit.c); wqcheck writes `wait_on_bit[_io]()`, `wait_on_bit_lock[_io]()`, `wake_up_bit()`, `clear_and_wake_up_bit()`, `wait_var_event[_killable|_timeout]()` and `wake_up_var()` for a word or variable declared at top level (docs/dsl.md, \"Bit waits\")";
    const WAKE_Q: &str = "the wake_q builtins are `DEFINE_WAKE_Q(wake_q);`, `wake_q_init`, `wake_q_add`, `wake_q_add_safe`, `wake_q_empty` and `wake_up_q`, on `&wake_q`";
    const SWAIT: &str = "simple wait queues (`swait`, include/linux/swait.h) are not modelled yet, and a `waitqueue` is not a stand-in: `swake_up_one()` wakes and unlinks the first waiter even if it is already running, where `wake_up()` goes on to the next";
    const SPINLOCK: &str = "the spinlock builtins are `spin_lock()`, `spin_lock_irq()`, `spin_lock_irqsave()` and their unlocks (and the `raw_spin_*()` forms), on a `spinlock_t` (`spin_lock(&l)`) or a wait queue's lock (`spin_lock(&q->lock)`); a `spinlock_t` starts unlocked, so `spin_lock_init()` is left out, and `spin_trylock()` is not modelled yet";
    match name {
        n if n.starts_with("wait_event") || n.starts_with("__wait_event") => Some(WAIT_EVENT),
        n if n.starts_with("wait_for_completion") => Some(COMPLETION),
        "complete"
        | "complete_all"
        | "init_completion"
        | "reinit_completion"
        | "try_wait_for_completion"
        | "completion_done" => Some(COMPLETION),
        "down" | "down_interruptible" | "down_killable" | "down_trylock" | "down_timeout"
        | "up" | "sema_init" => Some(SEMAPHORE),
        n if n.starts_with("mutex_") => Some(MUTEX),
        n if n.starts_with("down") || n.starts_with("rt_mutex_") => Some(SLEEPING_LOCK),
        "init_rwsem" | "up_read" | "up_write" => Some(SLEEPING_LOCK),
        n if n.starts_with("schedule_timeout")
            || n.starts_with("io_schedule_timeout")
            || n.starts_with("schedule_hrtimeout")
            || n.starts_with("msleep") =>
        {
            Some(TIMEOUT)
        }
        n if n.starts_with("wait_on_bit") || n.starts_with("wait_var_event") => Some(WAIT_BIT),
        "wake_up_bit" | "__wake_up_bit" | "wake_up_var" | "bit_waitqueue" => Some(WAIT_BIT),
        n if n.starts_with("wake_q_") || n == "WAKE_Q" => Some(WAKE_Q),
        n if n.contains("swait") || n.starts_with("swake_up") => Some(SWAIT),
        n if n.starts_with("raw_spin_lock") || n.starts_with("raw_spin_unlock") => Some(SPINLOCK),
        "spin_lock_init" | "raw_spin_lock_init" => Some(SPINLOCK),
        n if n.starts_with("spin_trylock") || n.starts_with("raw_spin_trylock") => Some(SPINLOCK),
        _ => None,
    }
}

/// Names that are statement forms rather than table builtins but are reserved as well.
pub(crate) const RESERVED_FORMS: &[&str] = &["DEFINE_WAIT", "DEFINE_WAKE_Q"];

/// Predefined constants (docs/dsl.md §6), except the keywords `true`, `false`, `NULL`
/// and `current`.
pub(crate) const CONSTANTS: &[(&str, Value)] = &[
    ("TASK_RUNNING", task::TASK_RUNNING),
    ("TASK_INTERRUPTIBLE", task::TASK_INTERRUPTIBLE),
    ("TASK_UNINTERRUPTIBLE", task::TASK_UNINTERRUPTIBLE),
    ("TASK_WAKEKILL", task::TASK_WAKEKILL),
    ("TASK_KILLABLE", task::TASK_KILLABLE),
    ("TASK_NORMAL", task::TASK_NORMAL),
    ("TASK_IDLE", task::TASK_IDLE),
    ("MAX_SCHEDULE_TIMEOUT", timer::MAX_SCHEDULE_TIMEOUT),
    ("HZ", timer::HZ),
    ("WQ_FLAG_EXCLUSIVE", wq_flag::WQ_FLAG_EXCLUSIVE),
    ("WQ_FLAG_WOKEN", wq_flag::WQ_FLAG_WOKEN),
    ("WQ_FLAG_BOOKMARK", wq_flag::WQ_FLAG_BOOKMARK),
    ("WQ_FLAG_CUSTOM", wq_flag::WQ_FLAG_CUSTOM),
    ("WQ_FLAG_DONE", wq_flag::WQ_FLAG_DONE),
    ("EINTR", errno::EINTR),
    ("EAGAIN", errno::EAGAIN),
    ("ETIMEDOUT", errno::ETIMEDOUT),
    ("ERESTARTSYS", errno::ERESTARTSYS),
    // C11's `memory_order` enumerators.
    ("memory_order_relaxed", 0),
    ("memory_order_acquire", 2),
    ("memory_order_release", 3),
    ("memory_order_acq_rel", 4),
    ("memory_order_seq_cst", 5),
];

pub(crate) fn constant(name: &str) -> Option<Value> {
    CONSTANTS.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

pub(crate) fn ordering(name: &str) -> Option<Ordering> {
    Some(match name {
        "memory_order_relaxed" => Ordering::Relaxed,
        "memory_order_acquire" => Ordering::Acquire,
        "memory_order_release" => Ordering::Release,
        "memory_order_acq_rel" => Ordering::AcqRel,
        "memory_order_seq_cst" => Ordering::SeqCst,
        _ => return None,
    })
}

/// The value of `autoremove_wake_function` / `default_wake_function` used as a
/// [`ir::Type::WakeFn`] (see the encoding on [`ir::Type`]).
pub(crate) fn wake_fn_value(name: &str) -> Option<Value> {
    match name {
        "autoremove_wake_function" => Some(0),
        "default_wake_function" => Some(1),
        _ => None,
    }
}

/// One checked argument of a builtin call.
#[derive(Clone, Debug)]
pub(crate) enum LArg {
    /// A `bit` variable or a bit of a word.
    Bit(ir::BitRef),
    /// A location and, for [`ir::Loc::EntryFlags`], the entry pointer expression.
    Loc(ir::Loc, Option<ir::Expr>),
    Queue(ir::QueueId),
    Value(ir::Expr),
    Order(Ordering),
    /// Checked and dropped (`current`, `flags`, a key, an ignored int).
    Dropped,
}

/// Builds the IR builtin and its value arguments from checked arguments. `konst` makes a
/// constant expression at the call's span. Returns `None` only if the arguments do not
/// have the kinds of the table (the checker has then reported an error already).
pub(crate) fn build(
    op: Op,
    args: Vec<LArg>,
    konst: &dyn Fn(Value) -> ir::Expr,
) -> Option<(Builtin, Vec<ir::Expr>)> {
    let mut it = args.into_iter();
    let mut next = || it.next();
    let bit = |a: Option<LArg>| match a {
        Some(LArg::Bit(b)) => Some(b),
        _ => None,
    };
    let queue = |a: Option<LArg>| match a {
        Some(LArg::Queue(q)) => Some(q),
        _ => None,
    };
    let value = |a: Option<LArg>| match a {
        Some(LArg::Value(e)) => Some(e),
        _ => None,
    };
    // A location: the IR wants the entry expression first for EntryFlags.
    let loc = |a: Option<LArg>| match a {
        Some(LArg::Loc(l, entry)) => Some((l, entry)),
        _ => None,
    };
    let with_entry = |entry: Option<ir::Expr>, rest: Vec<ir::Expr>| {
        let mut v: Vec<ir::Expr> = entry.into_iter().collect();
        v.extend(rest);
        v
    };
    Some(match op {
        Op::TestBit => (Builtin::TestBit(bit(next())?), vec![]),
        Op::TestBitAcquire => (Builtin::TestBitAcquire(bit(next())?), vec![]),
        Op::SetBit => (Builtin::SetBit(bit(next())?), vec![]),
        Op::ClearBit => (Builtin::ClearBit(bit(next())?), vec![]),
        Op::TestAndSetBit { lock } => (
            Builtin::TestAndSetBit {
                bit: bit(next())?,
                lock,
            },
            vec![],
        ),
        Op::TestAndClearBit => (Builtin::TestAndClearBit(bit(next())?), vec![]),
        Op::ClearBitUnlock => (Builtin::ClearBitUnlock(bit(next())?), vec![]),
        Op::ClearBitUnlockIsNegativeByte => {
            let b = bit(next())?;
            let negative = bit(next())?;
            (
                Builtin::ClearBitUnlockIsNegativeByte { bit: b, negative },
                vec![],
            )
        }
        Op::Load(ord) => {
            let (loc, entry) = loc(next())?;
            (Builtin::Load { loc, ord }, with_entry(entry, vec![]))
        }
        Op::LoadExplicit => {
            let (loc, entry) = loc(next())?;
            let Some(LArg::Order(ord)) = next() else {
                return None;
            };
            (Builtin::Load { loc, ord }, with_entry(entry, vec![]))
        }
        Op::Store(ord) => {
            let (loc, entry) = loc(next())?;
            let v = value(next())?;
            (Builtin::Store { loc, ord }, with_entry(entry, vec![v]))
        }
        Op::StoreExplicit => {
            let (loc, entry) = loc(next())?;
            let v = value(next())?;
            let Some(LArg::Order(ord)) = next() else {
                return None;
            };
            (Builtin::Store { loc, ord }, with_entry(entry, vec![v]))
        }
        Op::Rmw(rop, ord) => {
            let (loc, entry) = loc(next())?;
            let v = value(next())?;
            (
                Builtin::Rmw { loc, op: rop, ord },
                with_entry(entry, vec![v]),
            )
        }
        Op::RmwOne(rop) => {
            let (loc, entry) = loc(next())?;
            (
                Builtin::Rmw {
                    loc,
                    op: rop,
                    ord: Ordering::Relaxed,
                },
                with_entry(entry, vec![konst(1)]),
            )
        }
        Op::RmwReturn(rop, ord) => {
            let (loc, entry) = loc(next())?;
            let v = value(next())?;
            (
                Builtin::RmwReturn { loc, op: rop, ord },
                with_entry(entry, vec![v]),
            )
        }
        Op::RmwOneReturn(rop, ord) => {
            let (loc, entry) = loc(next())?;
            (
                Builtin::RmwReturn { loc, op: rop, ord },
                with_entry(entry, vec![konst(1)]),
            )
        }

        Op::CmpXchg(ord) => {
            let (loc, entry) = loc(next())?;
            let old = value(next())?;
            let new = value(next())?;
            (
                Builtin::CmpXchg { loc, ord },
                with_entry(entry, vec![old, new]),
            )
        }
        Op::Fence(f) => (Builtin::Fence(f), vec![]),
        Op::SetCurrentState { barrier } => {
            (Builtin::SetCurrentState { barrier }, vec![value(next())?])
        }
        Op::Schedule { io } => (Builtin::Schedule { io, until: None }, vec![]),
        Op::SignalPendingState => (Builtin::SignalPendingState, vec![value(next())?]),
        Op::SignalPending => (Builtin::SignalPending, vec![]),
        Op::FatalSignalPending => (Builtin::FatalSignalPending, vec![]),
        Op::FlushSignals => (Builtin::FlushSignals, vec![]),
        Op::TryToWakeUp => {
            let t = value(next())?;
            let s = value(next())?;
            (Builtin::TryToWakeUp, vec![t, s])
        }
        Op::WakeUpProcess => (
            Builtin::TryToWakeUp,
            vec![value(next())?, konst(task::TASK_NORMAL)],
        ),
        Op::ScheduleTimeout { state } => (
            Builtin::ScheduleTimeout { until: None, state },
            vec![value(next())?],
        ),
        Op::WakeQInit => (Builtin::WakeQInit, vec![value(next())?]),
        Op::WakeQAdd => {
            let h = value(next())?;
            (Builtin::WakeQAdd, vec![h, value(next())?])
        }
        Op::WakeQEmpty => (Builtin::WakeQEmpty, vec![value(next())?]),
        // A statement, lowered by the checker before it gets here.
        Op::WakeUpQ => return None,
        Op::SpinLock => (Builtin::SpinLock(queue(next())?), vec![]),
        Op::SpinUnlock => (Builtin::SpinUnlock(queue(next())?), vec![]),
        Op::InitWait => (Builtin::InitWait, vec![value(next())?]),
        Op::AddWaitQueue {
            exclusive,
            tail,
            takes_lock,
        } => {
            let q = queue(next())?;
            (
                Builtin::AddWaitQueue {
                    queue: q,
                    exclusive,
                    tail,
                    takes_lock,
                },
                vec![value(next())?],
            )
        }
        Op::RemoveWaitQueue => {
            let q = queue(next())?;
            (Builtin::RemoveWaitQueue(q), vec![value(next())?])
        }
        Op::ListDelInit { careful } => (Builtin::ListDelInit { careful }, vec![value(next())?]),
        Op::ListEmpty { careful } => (Builtin::ListEmpty { careful }, vec![value(next())?]),
        Op::PrepareToWait { exclusive } => {
            let q = queue(next())?;
            let w = value(next())?;
            let s = value(next())?;
            (
                Builtin::PrepareToWait {
                    queue: q,
                    exclusive,
                },
                vec![w, s],
            )
        }
        Op::PrepareToWaitEvent => {
            let q = queue(next())?;
            let w = value(next())?;
            let s = value(next())?;
            (Builtin::PrepareToWaitEvent(q), vec![w, s])
        }
        Op::FinishWait => {
            let q = queue(next())?;
            (Builtin::FinishWait(q), vec![value(next())?])
        }
        Op::WaitqueueActive => (Builtin::WaitqueueActive(queue(next())?), vec![]),
        Op::ListFirst => (Builtin::ListFirst(queue(next())?), vec![]),
        Op::ListAdd { tail } => {
            let w = value(next())?;
            let q = queue(next())?;
            (
                Builtin::AddWaitQueue {
                    queue: q,
                    exclusive: false,
                    tail,
                    takes_lock: false,
                },
                vec![w],
            )
        }
        Op::WqHasSleeper => (Builtin::WqHasSleeper(queue(next())?), vec![]),
        Op::WakeUpShort { mode, nr } => {
            let q = queue(next())?;
            let nr = match nr {
                Some(n) => konst(n),
                None => value(next())?,
            };
            (
                Builtin::WakeUp {
                    queue: q,
                    takes_lock: true,
                },
                vec![konst(mode), nr, konst(0)],
            )
        }
        Op::WakeUpFull { takes_lock } => {
            let q = queue(next())?;
            let mode = value(next())?;
            let nr = value(next())?;
            let key = value(next()).unwrap_or_else(|| konst(0));
            (
                Builtin::WakeUp {
                    queue: q,
                    takes_lock,
                },
                vec![mode, nr, key],
            )
        }
        Op::WakeUpLockedKey => {
            let q = queue(next())?;
            let mode = value(next())?;
            let key = value(next()).unwrap_or_else(|| konst(0));
            (
                Builtin::WakeUp {
                    queue: q,
                    takes_lock: false,
                },
                vec![mode, konst(1), key],
            )
        }
        Op::AutoremoveWakeFunction => {
            let w = value(next())?;
            let m = value(next())?;
            (Builtin::AutoremoveWakeFunction, vec![w, m])
        }
        Op::DefaultWakeFunction => {
            let w = value(next())?;
            let m = value(next())?;
            (Builtin::DefaultWakeFunction, vec![w, m])
        }
        Op::FutexWait => {
            let q = queue(next())?;
            (Builtin::FutexWait(q), vec![value(next())?])
        }
        Op::FutexWake => {
            let q = queue(next())?;
            (Builtin::FutexWake(q), vec![value(next())?])
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_signatures_match() {
        let names: Vec<&str> = all().map(|b| b.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
        for b in all() {
            assert!(b.sig.starts_with(&format!("{}(", b.name)), "{}", b.name);
            assert!(b.min_args <= b.args.len());
        }
        // docs/dsl.md §8: 9 bit ops, 75 atomics and fences, 11 task, 5 timeout, 5 wake_q,
        // 43 wait-queue, spinlock and list (6 of them the raw_spin_*() forms) and 2 futex
        // builtins.
        assert_eq!(names.len(), 152);
    }

    #[test]
    fn atomic_long_names_call_the_atomic_builtins() {
        let name = |n: &str| lookup(n).map(|b| b.name);
        assert_eq!(
            name("atomic_long_add_return_release"),
            Some("atomic_add_return_release")
        );
        assert_eq!(name("atomic_long_read"), Some("atomic_read"));
        assert_eq!(
            name("atomic_long_read_acquire"),
            Some("atomic_read_acquire")
        );
        assert_eq!(name("atomic_long_cmpxchg"), Some("atomic_cmpxchg"));
        assert_eq!(name("atomic_long_frobnicate"), None);
        assert_eq!(name("atomic_long_"), None);
    }
}
