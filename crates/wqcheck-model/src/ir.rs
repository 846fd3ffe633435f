//! The checked program: the tree-shaped IR that `wqcheck-dsl` produces and every engine runs.
//!
//! Every name is resolved to an index, every expression is typed, and every node keeps the
//! [`Span`] of the model text it came from, so that a trace row can quote the DSL line it
//! executed. Nothing here says *how* the program runs: that is [`crate::compile`] (flat code
//! for the interpreter) and [`crate::interp`] (the one reading of every builtin).
//!
//! Architecture invariant: this module has no behaviour. The DSL checker guarantees the
//! well-formedness rules written on each type (argument counts and kinds, no recursion,
//! `break` only inside loops, ...); the compiler may rely on them and reports a violation as
//! an internal error, never a panic.

use std::sync::Arc;

/// A byte range in one source text (the model file, or the scenario file for
/// [`Instance`] items).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: start as u32,
            end: end as u32,
        }
    }
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

pub type VarId = u16;
pub type QueueId = u16;
pub type FuncId = u16;
pub type LocalId = u16;
pub type LabelId = u16;
/// Index into [`Instance::threads`].
pub type ThreadId = u8;

/// Values are `i32` everywhere. Booleans are 0/1; tasks, entries and functions are encoded
/// as described on [`Type`].
pub type Value = i32;

/// Task states, as the kernel's `TASK_*` bit masks (include/linux/sched.h).
pub mod task {
    use super::Value;
    pub const TASK_RUNNING: Value = 0x0000;
    pub const TASK_INTERRUPTIBLE: Value = 0x0001;
    pub const TASK_UNINTERRUPTIBLE: Value = 0x0002;
    pub const TASK_WAKEKILL: Value = 0x0100;
    pub const TASK_KILLABLE: Value = TASK_WAKEKILL | TASK_UNINTERRUPTIBLE;
    pub const TASK_NORMAL: Value = TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE;
    pub const TASK_IDLE: Value = 0x0402;
}

/// Timeouts (kernel/time/timer.c): a timed sleep's timer, and the values of its word
/// ([`crate::memory::MemLoc::Timer`]).
pub mod timer {
    use super::Value;
    /// `MAX_SCHEDULE_TIMEOUT` (`LONG_MAX` in the kernel; the largest value a local holds
    /// here): `schedule_timeout()` of it arms no timer and is `schedule()`.
    pub const MAX_SCHEDULE_TIMEOUT: Value = i16::MAX as Value;
    /// `HZ`: the jiffies of one second, for models that write `schedule_timeout(HZ)`. Time
    /// is abstract: a timer fires at any moment while it is armed, whatever its timeout.
    pub const HZ: Value = 100;
    /// The timer word: not armed (no timed sleep in progress, or `del_timer_sync()` done).
    pub const TIMER_IDLE: u8 = 0;
    /// Armed (`__mod_timer()`), not yet fired: it may fire at any moment.
    pub const TIMER_ARMED: u8 = 1;
    /// Fired: `process_timeout()` ran `wake_up_process()` of its task.
    pub const TIMER_FIRED: u8 = 2;
}

/// Wait-entry flags (include/linux/wait.h).
pub mod wq_flag {
    use super::Value;
    pub const WQ_FLAG_EXCLUSIVE: Value = 0x01;
    pub const WQ_FLAG_WOKEN: Value = 0x02;
    pub const WQ_FLAG_BOOKMARK: Value = 0x04;
    pub const WQ_FLAG_CUSTOM: Value = 0x08;
    pub const WQ_FLAG_DONE: Value = 0x10;
}

/// Error numbers (include/uapi/asm-generic/errno-base.h); models write `-EINTR`.
pub mod errno {
    use super::Value;
    pub const EINTR: Value = 4;
    pub const EAGAIN: Value = 11;
    pub const ETIMEDOUT: Value = 110;
    pub const ERESTARTSYS: Value = 512;
}

/// One checked `.wq` model.
#[derive(Clone, Debug)]
pub struct Program {
    /// The model's path as the scenario named it (for messages) and its text (for traces).
    pub source: Arc<Source>,
    pub vars: Vec<SharedVar>,
    pub queues: Vec<Queue>,
    pub functions: Vec<Function>,
    /// `final assert(EXPR);` items: conditions over shared variables (like a queue's
    /// `until`) that must hold in every final state, when every thread has returned.
    pub finals: Vec<Expr>,
    /// The conditions of `schedule() until COND;` sleeps (over shared variables, like a
    /// queue's `until`): what that sleeper waits for, for the verdict oracle.
    pub sleeps: Vec<Expr>,
    /// The arrays a [`ExprKind::Select`] names, as declared (`PG_locked`, `page_wait`):
    /// for the message of an index out of bounds.
    pub arrays: Vec<String>,
    /// How many fields of their own ([`EntryField::Data`]) wait entries carry: the most
    /// of any `struct` with a wait entry member (0 without one), plus the two of
    /// [`Program::entry_home`].
    pub entry_data: u8,
    /// When the model reaches other tasks' entries with `list_first_entry()`: the data
    /// field that holds the queue an entry was last linked on (+ 1; 0 if never), followed
    /// by the one that says another task has written one of its fields, or read one
    /// after taking the entry off the list. With them, any task may read and write an
    /// entry's fields while it holds that queue's lock (kernel/locking/semaphore.c's
    /// `waiter->up`), and once another task has so, the owner too reads and writes them
    /// only under that lock.
    pub entry_home: Option<u8>,
}

/// A model's text: the model file's own, followed by the prelude headers it includes
/// (`#include <linux/completion.h>`), so that one [`Span`] space covers them all.
#[derive(Clone, Debug)]
pub struct Source {
    /// The model's path as the scenario named it.
    pub name: String,
    /// The model's text, then each included header's (after a line break).
    pub text: String,
    /// The included headers, in the order their texts follow the model's.
    pub includes: Vec<SourceFile>,
}

/// An included header: the file its spans are reported in, and where its text starts in
/// [`Source::text`].
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub name: String,
    pub start: u32,
}

impl Source {
    /// A model of one file.
    pub fn single(name: &str, text: &str) -> Source {
        Source {
            name: name.to_string(),
            text: text.to_string(),
            includes: Vec::new(),
        }
    }

    /// The file holding byte `offset` of [`Self::text`]: its name and where its text
    /// starts.
    pub fn file_of(&self, offset: u32) -> (&str, u32) {
        match self.includes.iter().rev().find(|f| f.start <= offset) {
            Some(f) => (&f.name, f.start),
            None => (&self.name, 0),
        }
    }

    /// 1-based line of byte `offset` in its own file.
    pub fn line_of(&self, offset: u32) -> u32 {
        let (_, start) = self.file_of(offset);
        let end = (offset as usize).min(self.text.len());
        let from = (start as usize).min(end);
        self.text.as_bytes()[from..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u32
            + 1
    }

    /// `line 12`, or `<prelude>/linux/completion.wq:12` for a line of an included header.
    pub fn line_name(&self, offset: u32) -> String {
        let line = self.line_of(offset);
        match self.file_of(offset) {
            (name, start) if start > 0 => format!("{name}:{line}"),
            _ => format!("line {line}"),
        }
    }
}

/// `bit NAME = v;`, `bool NAME = v;`, `int<MIN..MAX> NAME = v;`, or
/// `unsigned long NAME { BIT = v, ... };` (a word of named bits): a shared variable, one
/// memory location.
#[derive(Clone, Debug)]
pub struct SharedVar {
    pub name: String,
    pub ty: VarType,
    /// Initial value from the model (a scenario may override it, see [`Instance::init`]).
    /// For a word: the bits' initial values, bit `i` of the declaration order at `1 << i`.
    pub init: Value,
    pub span: Span,
    /// For a word: its bits, in declaration order (bit `i` is `1 << i`). Empty otherwise.
    pub bits: Vec<WordBit>,
}

/// One named bit of a word (`PG_locked` of `unsigned long flags { PG_locked, ... }`).
#[derive(Clone, Debug)]
pub struct WordBit {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarType {
    /// 0 or 1. `bool` declares the same thing.
    Bit,
    /// A bounded integer, `min..=max`; `max - min <= 255`.
    Int { min: Value, max: Value },
    /// `unsigned long NAME { B0, B1, ... }`: a word of `bits` named bits (at most 8), as
    /// the kernel keeps `PG_locked`, `PG_waiters`, ... in one `page->flags`. Its value is
    /// `0..2^bits`. Every access to one of its bits is an access to the whole word: one
    /// location, so coherence orders them all, as in the kernel.
    Word { bits: u8 },
    /// `struct task_struct *NAME`: `NULL` (0) or a task (thread `t` is `t + 1`, as
    /// `current` evaluates). Loaded, stored and exchanged like an `int`, never computed
    /// with; `wake_up_process()` of a value read from it reaches that task.
    Task,
    /// `unsigned int NAME : BITS`: `0..2^bits` (`bits` 1 to 8), and every store wraps
    /// modulo `2^bits`, as an unsigned bit-field does: a small stand-in for a counter that
    /// wraps at 2^32 (a sequence count, a generation, an `atomic_t`), where the rest of
    /// the `int`s treat a store out of range as a model error.
    Unsigned { bits: u8 },
}

/// The most threads a scenario may have; the range of a task variable.
pub const MAX_TASKS: usize = 16;

impl VarType {
    /// The range of values (`min..=max`).
    pub fn range(self) -> (Value, Value) {
        match self {
            VarType::Bit => (0, 1),
            VarType::Int { min, max } => (min, max),
            VarType::Word { bits } => (0, (1 << bits) - 1),
            VarType::Task => (0, MAX_TASKS as Value),
            VarType::Unsigned { bits } => (0, (1 << bits) - 1),
        }
    }

    /// What a store of `x` writes: `x` modulo `2^bits` for an `Unsigned`, else `x` (which
    /// the caller then checks against the range).
    pub fn stored(self, x: Value) -> Value {
        match self {
            VarType::Unsigned { bits } => x.rem_euclid(1 << bits),
            _ => x,
        }
    }
}

/// A bit operand: a `bit` variable (`bit == 0`), or one bit of a word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BitRef {
    pub var: VarId,
    /// The bit's index in its word (0 for a `bit` variable).
    pub bit: u8,
}

impl BitRef {
    pub fn mask(self) -> Value {
        1 << self.bit
    }
}

/// `waitqueue NAME until COND;` or `futex VAR until COND;`.
#[derive(Clone, Debug)]
pub struct Queue {
    pub name: String,
    pub kind: QueueKind,
    /// The condition its waiters wait for: an expression over shared variables and constants
    /// only ([`ExprKind::Const`], [`ExprKind::Shared`], [`ExprKind::Unary`],
    /// [`ExprKind::Binary`], [`ExprKind::Ternary`]). Evaluated atomically by the verdict
    /// oracle, never executed as a step. `None` means "always available": any sleeper left
    /// on this queue is a lost wakeup.
    pub until: Option<Expr>,
    pub span: Span,
}

impl Queue {
    /// Its spinlock as a trace or a message names it: `q->lock` of a wait queue, or the
    /// `spinlock_t` itself.
    pub fn lock_name(&self) -> String {
        match self.kind {
            QueueKind::Spinlock => self.name.clone(),
            QueueKind::WaitQueue | QueueKind::Futex(_) => format!("{}->lock", self.name),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueKind {
    /// A `wait_queue_head_t`: a spinlock (`&q->lock`) and a list of entries.
    WaitQueue,
    /// The kernel's futex hash bucket for one shared variable: `futex_wait(&VAR, val)` and
    /// `futex_wake(&VAR, n)` use it. Its name is the variable's name.
    Futex(VarId),
    /// A standalone `spinlock_t`: the lock (`&l`) and never a list; nothing sleeps on it.
    Spinlock,
}

#[derive(Clone, Debug)]
pub struct Function {
    pub name: String,
    /// `params` are `locals[0..params]`.
    pub params: usize,
    pub locals: Vec<Local>,
    pub ret: Type,
    pub body: Vec<Stmt>,
    /// Number of distinct labels used in the body ([`StmtKind::Label`] ids are `0..labels`).
    pub labels: usize,
    /// The name of each label, by id (empty for the checker's own, such as `__out`).
    pub label_names: Vec<String>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Local {
    pub name: String,
    pub ty: Type,
    pub span: Span,
    /// A field of a struct local whose address may be taken (`&key`, read by a wake
    /// function through [`ExprKind::FrameField`]): live from the function's start to its
    /// return, whatever the function itself still reads.
    pub addressed: bool,
}

/// The static types of the DSL. At run time all are [`Value`]s:
/// - `Int`, `Bool`: the number (bool is 0/1);
/// - `Entry`: a local that *is* a wait entry (`wait_queue_entry_t wait;` or `DEFINE_WAIT(wait);`).
///   It has no value of its own; `&wait` gives its `EntryPtr`;
/// - `EntryPtr`: 0 is NULL, otherwise an engine-chosen handle for one entry;
/// - `Task`: 0 is NULL, otherwise thread id + 1 (`current`, `wait->private`);
/// - `WakeFn`: 0 is `autoremove_wake_function`, 1 is `default_wake_function`, otherwise
///   function id + 2 (`wait->func = wake_page_function;`);
/// - `WakeQ`: a local that *is* a wake_q head (`DEFINE_WAKE_Q(wake_q);`). It has no value of
///   its own; `&wake_q` gives its `WakeQPtr`;
/// - `WakeQPtr`: the number of a wake_q head local + 1 ([`crate::compile::Code::wake_qs`]),
///   always the running thread's own: a head lives on its owner's stack, and no shared
///   variable can hold one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    Void,
    Int,
    Bool,
    Entry,
    EntryPtr,
    Task,
    WakeFn,
    WakeQ,
    WakeQPtr,
    /// A pointer to a shared object (`struct completion *x`): 0 is NULL, otherwise the
    /// object's number + 1 among its struct's objects; its fields are chosen by a
    /// [`ExprKind::Select`] on it.
    ObjectPtr,
}

#[derive(Clone, Debug)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum StmtKind {
    /// An expression evaluated for its effects (a call, an assignment, `i++`).
    Expr(Expr),
    /// A local declaration with an initializer is lowered to `Expr(Assign)`; one without an
    /// initializer produces no statement (locals start at 0) except `DEFINE_WAIT(wait)`, which
    /// is lowered to `init_wait(&wait)`.
    If {
        cond: Expr,
        then_branch: Vec<Stmt>,
        else_branch: Vec<Stmt>,
    },
    /// `while (cond) body`, `for (init; cond; step) body` (init is lowered to statements
    /// before the loop; `continue` runs `step`), `for (;;)`, and `do body while (cond)`
    /// (`test_first == false`). `cond == None` loops forever.
    Loop {
        cond: Option<Expr>,
        test_first: bool,
        body: Vec<Stmt>,
        step: Option<Expr>,
    },
    Break,
    Continue,
    Return(Option<Expr>),
    /// `atomic { ... }`: runs as one step. Only its first operation may block; see docs/dsl.md.
    Atomic(Vec<Stmt>),
    Block(Vec<Stmt>),
    /// `name:` in C style; the statement that follows it is the next element of the block.
    Label(LabelId),
    Goto(LabelId),
    /// `assert(cond);` — a violation is the verdict `AssertionFailed`.
    Assert(Expr),
}

#[derive(Clone, Debug)]
pub struct Expr {
    pub kind: ExprKind,
    pub ty: Type,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum ExprKind {
    Const(Value),
    /// The value of an `Int`/`Bool`/`EntryPtr`/`Task`/`WakeFn` local.
    Local(LocalId),
    /// `&wait` for an `Entry` local.
    EntryAddr(LocalId),
    /// `&wake_q` for a `WakeQ` local.
    WakeQAddr(LocalId),
    /// A plain read of a shared variable (READ_ONCE semantics): one shared access.
    Shared(VarId),
    /// A plain read of one bit of a word (`if (PG_locked)`): a READ_ONCE of the word.
    SharedBit(BitRef),
    /// `current`.
    Current,
    /// `wake_page_function` used as a value (only as a `WakeFn`).
    FuncRef(FuncId),
    Unary(UnOp, Box<Expr>),
    /// `&&` and `||` short-circuit.
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `c ? a : b`.
    Ternary(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `place = value`, `place op= value`, `++place` (`op = Add`, value 1), `place--`
    /// (`post = true`: the expression's value is the old one).
    Assign {
        place: Place,
        op: Option<BinOp>,
        value: Box<Expr>,
        post: bool,
    },
    /// A call of a model function. Arguments are in parameter order.
    Call {
        func: FuncId,
        args: Vec<Expr>,
    },
    /// `wait->flags`, `wait->private`, `wait->func` (or `wait.flags` on an `Entry` local,
    /// which the checker lowers to an `EntryAddr` base).
    Field {
        entry: Box<Expr>,
        field: EntryField,
    },
    /// A kernel API call; `args` are the value arguments, in the order [`Builtin`] documents.
    Builtin {
        op: Builtin,
        args: Vec<Expr>,
    },
    /// An expression over an array element whose index is known only at run time
    /// (`test_bit(PG_locked[page])`, `x[i] = 1`): `index` is evaluated once, then arm `k`
    /// runs, the expression written with element `k`. The checker allows only an index
    /// over locals and constants, so choosing the arm is no shared access and adds no
    /// step. An index outside `0..arms.len()` is a run-time error naming
    /// `Program::arrays[array]`. Every arm has the expression's type.
    Select {
        index: Box<Expr>,
        arms: Vec<Expr>,
        array: u16,
    },
    /// `key->page`: field `field` of a struct local of this thread reached through a
    /// pointer ([`frame_ptr`]): a wake key a waker passed to its wake walk
    /// (`__wake_up_locked_key(q, mode, &key)`), read or written by a wake function that
    /// runs on the waker's own stack.
    FrameField {
        ptr: Box<Expr>,
        field: u8,
    },
}

/// The value of `&x` for a struct local `x` of function `func` whose first field is local
/// `first`: functions do not recurse, so a thread's frame of a function is always at the
/// same place and the pair names the struct. 0 is NULL. `None` if the pair does not fit
/// a local (16 bits).
pub fn frame_ptr(func: FuncId, first: LocalId) -> Option<Value> {
    (func < 255 && first < 128).then(|| ((func as Value) << 7 | first as Value) + 1)
}

/// The `(func, first)` a [`frame_ptr`] value names, if it is not NULL.
pub fn frame_of(ptr: Value) -> Option<(usize, usize)> {
    (ptr > 0).then(|| (((ptr - 1) >> 7) as usize, ((ptr - 1) & 127) as usize))
}

#[derive(Clone, Debug)]
pub enum Place {
    Local(LocalId),
    Shared(VarId),
    Field(Box<Expr>, EntryField),
    /// `key->page_match = 1`: see [`ExprKind::FrameField`].
    FrameField(Box<Expr>, u8),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryField {
    Flags,
    /// Field `k` of the struct the entry is the member of (`wait_page->page` of a
    /// `struct wait_page_queue { int page; int bit_nr; wait_queue_entry_t wait; }`): a
    /// byte of the entry, written by its owner, read by wake functions under the queue's
    /// lock, like `wait->func`.
    Data(u8),
    /// The owning task (`wait->private`); read-only.
    Private,
    Func,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    /// `!`
    Not,
    /// `~`
    BitNot,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    BitAnd,
    BitOr,
    BitXor,
    Shl,
    Shr,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinOp {
    /// C's spelling of the operator.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
            BinOp::BitAnd => "&",
            BinOp::BitOr => "|",
            BinOp::BitXor => "^",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "&&",
            BinOp::Or => "||",
        }
    }
}

/// The ordering of an access (docs/dsl.md, "The memory map"). The first five are C11's;
/// `Full` is the kernel's "fully ordered" (Documentation/atomic_t.txt).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ordering {
    Relaxed,
    Acquire,
    Release,
    AcqRel,
    SeqCst,
    /// The kernel's fully ordered operations: a value-returning RMW without suffix
    /// (`atomic_xchg()`, `atomic_fetch_add()`, a successful `atomic_cmpxchg()` or
    /// `test_and_set_bit()`), which behave as if `smp_mb()` ran before and after them;
    /// `smp_store_mb()`, a store followed by `smp_mb()`. A conditional RMW that fails
    /// (`cmpxchg` that finds another value, `test_and_set_bit()` on a set bit) is a plain
    /// read with no ordering at all.
    Full,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fence {
    /// `smp_mb()`, `smp_mb__before_atomic()`, `smp_mb__after_atomic()`, `smp_mb__after_spinlock()`
    Full,
    /// `smp_rmb()`
    Read,
    /// `smp_wmb()`
    Write,
    /// `barrier()`: compiler only.
    Compiler,
}

/// A memory location an atomic builtin acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loc {
    /// A shared variable (`&x` or `x`).
    Var(VarId),
    /// `&wait->flags` / `&wait.flags`: the entry is the builtin's FIRST value argument
    /// (an `EntryPtr` expression), before the documented value arguments.
    EntryFlags,
}

/// The kernel API. Static operands (which variable, which queue) are in the variant; value
/// operands are [`ExprKind::Builtin::args`], in the order given here. "One step" is the
/// atomicity rule of docs/dsl.md; the full semantics are in [`crate::interp`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builtin {
    // ---- bit operations (include/asm-generic/bitops, Documentation/atomic_bitops.txt) ----
    // on a `bit` variable or a bit of a word: an access to the whole word.
    /// `test_bit(B)` -> 0/1. A relaxed load.
    TestBit(BitRef),
    /// `test_bit_acquire(B)` -> 0/1. An acquire load (v6.0, "wait_on_bit: add an acquire
    /// memory barrier").
    TestBitAcquire(BitRef),
    /// `set_bit(B)`, `clear_bit(B)`: relaxed RMW, no value.
    SetBit(BitRef),
    ClearBit(BitRef),
    /// `test_and_set_bit(B)` (fully ordered) / `test_and_set_bit_lock(B)` (acquire) -> old
    /// value; a bit already set is a failed RMW: a read, unordered.
    TestAndSetBit {
        bit: BitRef,
        lock: bool,
    },
    /// `test_and_clear_bit(B)` -> old value. Fully ordered; unordered if the bit was clear.
    TestAndClearBit(BitRef),
    /// `clear_bit_unlock(B)`: a release RMW.
    ClearBitUnlock(BitRef),
    /// `clear_bit_unlock_is_negative_byte(B, N)`: clears B (a release RMW of the word) and
    /// returns bit N of the same word (PG_waiters) as that RMW read it. B and N are bits of
    /// one word (the checker requires it).
    ClearBitUnlockIsNegativeByte {
        bit: BitRef,
        negative: BitRef,
    },

    // ---- atomics and plain accesses with an ordering ----
    /// `READ_ONCE(x)` (relaxed), `smp_load_acquire(&x)` (acquire), `atomic_read(&x)` (relaxed),
    /// `atomic_load(&x, ORD)`. Args: (entry, if `EntryFlags`).
    Load {
        loc: Loc,
        ord: Ordering,
    },
    /// `WRITE_ONCE(x, v)`, `smp_store_release(&x, v)`, `atomic_set(&x, v)`, `atomic_store(&x, v, ORD)`,
    /// `smp_store_mb(x, v)` (SeqCst). Args: (entry, if `EntryFlags`), v.
    Store {
        loc: Loc,
        ord: Ordering,
    },
    /// Read-modify-write returning the OLD value: `atomic_xchg`, `atomic_fetch_add`, ... and
    /// the value-less `atomic_inc(&x)` (`Add`, 1), `atomic_dec(&x)`. Args: (entry, if `EntryFlags`), operand.
    Rmw {
        loc: Loc,
        op: RmwOp,
        ord: Ordering,
    },
    /// The `_return` forms, `atomic_add_return(&x, v)`, `atomic_dec_return_acquire(&x)`, ...:
    /// the same read-modify-write, returning the NEW value. Args as for `Rmw`.
    RmwReturn {
        loc: Loc,
        op: RmwOp,
        ord: Ordering,
    },
    /// `atomic_cmpxchg(&x, old, new)` -> the value read. Args: (entry, if `EntryFlags`), old, new.
    CmpXchg {
        loc: Loc,
        ord: Ordering,
    },
    Fence(Fence),

    // ---- tasks (kernel/sched/core.c) ----
    /// `set_current_state(S)` (full barrier after the store) / `__set_current_state(S)`. Args: S.
    SetCurrentState {
        barrier: bool,
    },
    /// `schedule()` / `io_schedule()`: blocks while the task's state is not TASK_RUNNING and
    /// no signal the state admits is pending; then sets TASK_RUNNING. One step. `until`:
    /// `schedule() until COND;` said what this sleep waits for, [`Program::sleeps`]`[i]`
    /// (else the conditions of the queues the task is on).
    Schedule {
        io: bool,
        until: Option<u16>,
    },
    /// `signal_pending_state(S, current)` (the `current` argument is optional in the DSL) -> 0/1.
    SignalPendingState,
    /// `signal_pending(current)` -> 0/1 (any signal).
    SignalPending,
    /// `fatal_signal_pending(current)` -> 0/1.
    FatalSignalPending,
    /// `flush_signals(current)` (kernel/signal.c): under the task's `siglock`, forget its
    /// pending signals (`TIF_SIGPENDING` cleared), as a kernel thread that allows signals
    /// does before it waits again. One step.
    FlushSignals,
    /// `try_to_wake_up(T, S, 0)` -> 1 if T's state was in mask S (T is now RUNNING), else 0.
    /// `wake_up_state(T, S)` is the same; `wake_up_process(T)` is `S = TASK_NORMAL`
    /// (the checker supplies the constant). Args: T, S.
    TryToWakeUp,

    // ---- timeouts (kernel/time/timer.c) ----
    /// `schedule_timeout(T)` -> 0 if the timer fired, else T (time is abstract: a sleep
    /// that a wakeup ended took no time). The checker's form; the compiler expands it into
    /// the kernel's three parts, [`Builtin::TimerArm`], `schedule()` (with `until`, as
    /// [`Builtin::Schedule`]) and [`Builtin::TimerDel`]. Args: T.
    ScheduleTimeout {
        until: Option<u16>,
        /// `schedule_timeout_interruptible()` and the other forms: `__set_current_state()`
        /// of this state first.
        state: Option<Value>,
    },
    /// `__mod_timer()` in `schedule_timeout(T)`: arm the task's timer, which may then fire
    /// at any moment (its actor, [`Actor::Timer`]); nothing for `MAX_SCHEDULE_TIMEOUT`; a
    /// run-time error for a negative T. One step. Args: T.
    TimerArm,
    /// `del_timer_sync()` at the end of `schedule_timeout(T)`: disarm the timer (waiting
    /// for a `process_timeout()` that is running) -> 0 if it fired, else T. One step.
    /// Args: T.
    TimerDel,

    // ---- deferred wakeups (kernel/sched/core.c, v5.0+: wake_q_add() after 4c4e3731564c) ----
    /// `DEFINE_WAKE_Q(h);` / `wake_q_init(&h)`: the head is empty. Its own, no step. Args: head.
    WakeQInit,
    /// `wake_q_add(&h, T)` / `wake_q_add_safe(&h, T)`: `smp_mb__before_atomic()`, then
    /// `cmpxchg_relaxed(&T->wake_q.next, NULL, WAKE_Q_TAIL)`; if that failed, T is already
    /// on a wake_q (this one or another thread's) and whoever queued it will wake it: nothing
    /// more. Else T is appended (`*head->lastp = node`, a relaxed store to the previous
    /// node). One step. Args: head, T.
    WakeQAdd,
    /// One turn of `wake_up_q(&h)`'s loop, the part before `wake_up_process()`: take the
    /// first node, read its `next` and clear it (`WRITE_ONCE(task->wake_q.next, NULL)`,
    /// relaxed: "Task can safely be re-inserted now") -> that task, or NULL (0) when the
    /// head is empty. One step. The checker lowers `wake_up_q(&h)` to
    /// `while ((p = pop(&h)) != NULL) wake(p);`. Args: head.
    WakeQPop,
    /// The other half of that turn: `wake_up_process(task)` of the task taken off, as
    /// [`Builtin::TryToWakeUp`] with `TASK_NORMAL` (its own variant so that traces can
    /// say which statement of `wake_up_q()` a row is). One step. Args: task.
    WakeQWake,
    /// `wake_q_empty(&h)` -> 1 if nothing is queued on it. Its own, no step. Args: head.
    WakeQEmpty,

    // ---- wait queues (kernel/sched/wait.c) ----
    /// `spin_lock(&q->lock)`, `spin_lock_irq`, `spin_lock_irqsave(&q->lock, flags)`: blocks
    /// while another thread holds it. The `flags` argument is accepted and ignored.
    SpinLock(QueueId),
    /// `spin_unlock`, `spin_unlock_irq`, `spin_unlock_irqrestore(&q->lock, flags)`.
    SpinUnlock(QueueId),
    /// `init_wait(&wait)`: flags = 0, func = autoremove_wake_function, private = current.
    /// Args: entry.
    InitWait,
    /// `__add_wait_queue(q, &w)` (head, non-exclusive), `__add_wait_queue_entry_tail(q, &w)`,
    /// `__add_wait_queue_exclusive(q, &w)` (head, sets EXCLUSIVE),
    /// `__add_wait_queue_entry_tail_exclusive(q, &w)` (tail, sets EXCLUSIVE): the caller must
    /// hold `q->lock`. `add_wait_queue(q, &w)` (clears EXCLUSIVE, head) and
    /// `add_wait_queue_exclusive(q, &w)` (sets EXCLUSIVE, tail) take the lock themselves
    /// (`locked == false`). Args: entry.
    AddWaitQueue {
        queue: QueueId,
        exclusive: bool,
        tail: bool,
        takes_lock: bool,
    },
    /// `remove_wait_queue(q, &w)`: takes the lock, unlinks. Args: entry.
    RemoveWaitQueue(QueueId),
    /// `list_del_init(&w->entry)` / `list_del_init_careful(&w->entry)`: unlink from whatever
    /// queue it is on (the caller must hold that queue's lock); the entry's node is then
    /// written with a relaxed store, or (`careful`) a release store (include/linux/list.h,
    /// v5.9+). Args: entry.
    ListDelInit {
        careful: bool,
    },
    /// `list_empty(&w->entry)` / `list_empty_careful(&w->entry)` -> 1 if not linked: a
    /// lockless read of the entry's node, relaxed or (`careful`) acquire. Args: entry.
    ListEmpty {
        careful: bool,
    },
    /// `prepare_to_wait(q, &w, S)` / `prepare_to_wait_exclusive(q, &w, S)`: takes the lock,
    /// links the entry if it is not linked (head, or tail for exclusive), sets the state.
    /// One step. Args: entry, S.
    PrepareToWait {
        queue: QueueId,
        exclusive: bool,
    },
    /// `prepare_to_wait_event(q, &w, S)` -> 0 or `-ERESTARTSYS` (kernel/sched/wait.c, v4.13+):
    /// takes the lock; if a signal S admits is pending, unlinks the entry (an exclusive
    /// waiter chosen by a wakeup must not consume it) and returns `-ERESTARTSYS`; else links
    /// the entry if it is not linked (tail if its flags are EXCLUSIVE, else head) and sets
    /// the state. One step. Args: entry, S.
    PrepareToWaitEvent(QueueId),
    /// `finish_wait(q, &w)`: `__set_current_state(TASK_RUNNING)`, then unlink under the lock
    /// if linked. One step. Args: entry.
    FinishWait(QueueId),
    /// `waitqueue_active(q)` -> 1 if the list is non-empty (lockless read).
    WaitqueueActive(QueueId),
    /// `list_first_entry(&q, struct S, member)`: the first entry of `q`'s list (the
    /// caller holds `q`'s lock; an empty list is a run-time error, as the kernel's
    /// macro would return the head itself).
    ListFirst(QueueId),
    /// `wq_has_sleeper(q)`: `smp_mb()` then `waitqueue_active(q)`.
    WqHasSleeper(QueueId),
    /// `__wake_up(q, MODE, NR, key)` family: the `__wake_up_common` walk (see [`crate::interp`]).
    /// `takes_lock == false` for the `__wake_up_locked*` forms, whose caller holds the lock.
    /// Args: MODE, NR (0 = all), KEY (0 = `NULL`; else a [`frame_ptr`] that each wake
    /// function gets as its `key`). The checker supplies constants for the short forms:
    /// `wake_up(q)` = (TASK_NORMAL, 1), `wake_up_nr(q, n)` = (TASK_NORMAL, n),
    /// `wake_up_all(q)` = (TASK_NORMAL, 0), `wake_up_interruptible(q)` = (TASK_INTERRUPTIBLE, 1),
    /// `__wake_up_locked_key(q, MODE, key)` = (MODE, 1), `__wake_up_locked(q, MODE, NR)`.
    WakeUp {
        queue: QueueId,
        takes_lock: bool,
    },
    /// `autoremove_wake_function(w, mode, sync, key)`: try_to_wake_up(w->private, mode); if that
    /// returned 1, list_del_init(&w->entry). Returns what try_to_wake_up returned.
    /// `default_wake_function(w, mode, sync, key)`: try_to_wake_up only. In the DSL `sync` and
    /// `key` are optional and ignored. Args: entry, mode.
    AutoremoveWakeFunction,
    DefaultWakeFunction,

    // ---- futexes (kernel/futex) ----
    /// `futex_wait(&VAR, val)`: one step that, if VAR == val, queues the caller on VAR's futex
    /// queue in TASK_INTERRUPTIBLE, else returns -EAGAIN; then the caller sleeps until woken
    /// (returns 0) or signalled (returns -EINTR, unqueued). Args: val.
    FutexWait(QueueId),
    /// `futex_wake(&VAR, n)` -> number woken (FIFO). Args: n.
    FutexWake(QueueId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RmwOp {
    Xchg,
    Add,
    Sub,
    Or,
    And,
    AndNot,
    Xor,
}

impl RmwOp {
    /// The value an RMW with this operation writes over `old`.
    pub fn apply(self, old: Value, operand: Value) -> Value {
        match self {
            RmwOp::Xchg => operand,
            RmwOp::Add => old.wrapping_add(operand),
            RmwOp::Sub => old.wrapping_sub(operand),
            RmwOp::Or => old | operand,
            RmwOp::And => old & operand,
            RmwOp::AndNot => old & !operand,
            RmwOp::Xor => old ^ operand,
        }
    }
}

/// A scenario: a checked program plus the instance to explore.
#[derive(Clone, Debug)]
pub struct Instance {
    /// The scenario's path as given on the command line.
    pub name: String,
    pub program: Program,
    /// `init: {"PG_locked": 1}` overrides, already range-checked.
    pub init: Vec<(VarId, Value)>,
    pub threads: Vec<ThreadSpec>,
    pub actors: Vec<Actor>,
    pub bounds: Bounds,
    pub expect: Expectation,
    /// The weakest claim a run without a violation may make and still meet `expect`
    /// (`require: Exhaustive`); `None`: any claim, a sampled one included.
    pub require: Option<crate::verdict::Claim>,
    /// The engines that run this scenario when the command line does not choose
    /// (`backends: [Native, Loom]`; default `[Native]`).
    pub backends: Vec<Backend>,
    /// Settings of the loom backend (`loom: (...)`).
    pub loom: LoomSettings,
    /// Settings of the shuttle backend (`shuttle: (...)`).
    pub shuttle: ShuttleSettings,
    /// The memory models the native explorer runs under (`memory: [Sc, Tso]`; default
    /// `[Sc]`): one result per model.
    pub memory: Vec<MemoryModel>,
    /// Settings of the native explorer under TSO (`tso: (...)`).
    pub tso: TsoSettings,
    /// Where the `threads:` list is in the scenario file (for diagnostics about the thread
    /// count, such as loom's limit).
    pub threads_span: Span,
    /// `liveness: (returns: [...], fairness: Weak)`: what must eventually happen on every
    /// fair infinite run (`None`: safety only).
    pub liveness: Option<Liveness>,
}

/// `liveness: (returns: ["thread1"], fairness: Weak)`: the threads that must eventually
/// return on every fair run, and which runs are fair. Checked by the native explorer over
/// the whole state graph; shuttle recognises a thread that spins with nobody else able to
/// move (docs/dsl.md, "Liveness").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Liveness {
    /// Each must eventually return.
    pub returns: Vec<ThreadId>,
    pub fairness: Fairness,
}

/// Which infinite runs count. Environment actors (signals, timers) are never owed a move:
/// a signal need not arrive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Fairness {
    /// Every run counts, even one where a runnable thread is never scheduled again.
    None,
    /// A thread that stays able to move from some point on moves again (and a buffered
    /// store under TSO reaches memory). A sleeping or blocked thread is not able to move.
    #[default]
    Weak,
    /// A thread that is able to move again and again, even if not continuously, moves
    /// again.
    Strong,
}

impl Fairness {
    pub fn name(self) -> &'static str {
        match self {
            Fairness::None => "none",
            Fairness::Weak => "weak",
            Fairness::Strong => "strong",
        }
    }
}

/// An engine that runs scenarios.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Backend {
    /// The native explicit-state explorer (sequentially consistent, breadth-first).
    Native,
    /// loom: exhaustive exploration under the C11 memory model.
    Loom,
    /// shuttle: randomized (random, PCT) or depth-first schedules, with replay.
    Shuttle,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Native => "native",
            Backend::Loom => "loom",
            Backend::Shuttle => "shuttle",
        }
    }
}

/// The memory model of the native explorer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MemoryModel {
    /// Sequential consistency: every load reads the latest store.
    Sc,
    /// x86-TSO: each thread's stores wait in a FIFO store buffer until they reach memory
    /// (a step of their own); the thread's own loads read its buffer first; fences and
    /// locked instructions (every read-modify-write, spin_lock) drain it.
    Tso,
}

impl MemoryModel {
    pub fn name(self) -> &'static str {
        match self {
            MemoryModel::Sc => "sc",
            MemoryModel::Tso => "tso",
        }
    }
}

/// `tso: (expect: LostWakeup, store_buffer: 4)`: every field optional.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TsoSettings {
    /// The verdict expected under TSO when it differs from `expect`.
    pub expect: Option<Expectation>,
    /// Stores a thread's buffer holds at most (a store beyond that first sends the oldest
    /// to memory).
    pub store_buffer: Option<u8>,
}

/// `loom: (expect: LostWakeup, max_preemptions: 3, exhaustive: false, max_branches: 10000,
/// max_seconds: 60)`: every field optional.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoomSettings {
    /// The verdict expected on loom when it differs from `expect` (a weak-memory behaviour).
    pub expect: Option<Expectation>,
    /// The highest preemption bound of the iterative search (bound 0, 1, 2, ...).
    pub max_preemptions: Option<u32>,
    /// Run one unbounded exhaustive search instead of iterative preemption bounding.
    pub exhaustive: bool,
    /// loom's `max_branches` (scheduling decisions per execution).
    pub max_branches: Option<u32>,
    /// Wall-clock limit of the whole loom run, in seconds.
    pub max_seconds: Option<u64>,
}

/// shuttle's schedulers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ShuttleScheduler {
    /// A uniformly random choice at every scheduling point.
    Random,
    /// Probabilistic concurrency testing: random priorities with `depth - 1` priority
    /// change points per execution; finds a bug of depth d with probability at least
    /// 1/(n k^(d-1)) per execution.
    Pct,
    /// Depth-first enumeration of schedules (exhaustive when it runs to the end).
    Dfs,
}

/// `shuttle: (expect: LostWakeup, scheduler: Pct, depth: 3, iterations: 10000, seed: 1,
/// max_seconds: 60)`: every field optional.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShuttleSettings {
    /// The verdict expected on shuttle when it differs from `expect`.
    pub expect: Option<Expectation>,
    pub scheduler: Option<ShuttleScheduler>,
    /// PCT's bug depth.
    pub depth: Option<u32>,
    /// Executions to run (the iteration budget).
    pub iterations: Option<u64>,
    /// The seed of the random and PCT schedulers.
    pub seed: Option<u64>,
    /// Wall-clock limit of the whole shuttle run, in seconds.
    pub max_seconds: Option<u64>,
}

impl Instance {
    /// What the scenario expects of the native explorer under `memory`.
    pub fn expect_native(&self, memory: MemoryModel) -> Expectation {
        match memory {
            MemoryModel::Sc => self.expect,
            MemoryModel::Tso => self.tso.expect.unwrap_or(self.expect),
        }
    }

    /// What the scenario expects on `backend` (for the native explorer: under SC).
    pub fn expect_on(&self, backend: Backend) -> Expectation {
        match backend {
            Backend::Native => self.expect,
            Backend::Loom => self.loom.expect.unwrap_or(self.expect),
            Backend::Shuttle => self.shuttle.expect.unwrap_or(self.expect),
        }
    }
}

#[derive(Clone, Debug)]
pub struct ThreadSpec {
    pub name: String,
    /// A function whose parameters are all `int`/`bool`, called with `args`.
    pub func: FuncId,
    pub args: Vec<Value>,
    /// `daemon: true`: a thread that serves the others and may sleep for ever once they
    /// have returned (a kernel thread's loop), see [`crate::Model::daemons_idle`].
    pub daemon: bool,
}

#[derive(Clone, Debug)]
pub enum Actor {
    /// At any one moment (or never), send one signal to one of `targets` (chosen
    /// nondeterministically): set its pending flag and wake it if its state admits the
    /// signal (fatal: TASK_WAKEKILL or TASK_INTERRUPTIBLE; otherwise TASK_INTERRUPTIBLE).
    Signal {
        name: String,
        targets: Vec<ThreadId>,
        fatal: bool,
        /// `after: ("thread1", "label")`: the signal may be sent only once that thread
        /// has passed that label (its function, its label) at least once.
        after: Option<After>,
    },
    /// Thread `thread`'s timer (kernel/time/timer.c): while a `schedule_timeout()` of the
    /// thread has it armed, it may fire at any moment, once (`process_timeout()`:
    /// `wake_up_process()` of the thread). A scenario gets one per thread that can reach a
    /// timed sleep; it is the kernel's, not the environment's.
    Timer { name: String, thread: ThreadId },
}

/// A point of one thread that an actor waits for: thread `thread` passing label `label`
/// of function `func`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct After {
    pub thread: ThreadId,
    pub func: FuncId,
    pub label: LabelId,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bounds {
    /// Stop with `Inconclusive` when the search needs more than this many distinct states
    /// (None: no limit). A search that stores exactly this many and finishes is complete.
    pub max_states: Option<u64>,
    /// Stop with `Inconclusive` after this many seconds of search (None: no limit).
    pub max_seconds: Option<u64>,
    /// Stop the native explorer with `Inconclusive` rather than let its tables grow past
    /// this many MiB (None: the command line's default, from the machine's memory).
    pub max_memory_mib: Option<u64>,
}

/// The largest `max_memory_mib` (1 PiB): its bytes must fit 64 bits with room to spare.
pub const MAX_MEMORY_MIB: u64 = 1 << 30;

/// What the scenario says the outcome must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Expectation {
    Holds,
    LostWakeup,
    Deadlock,
    AssertionFailed,
    Starvation,
    Livelock,
    /// No `expect`: the scenario asks what the protocol does. Its verdict is reported and
    /// never checked, so it does not fail the gate.
    Unstated,
}
