//! A hand-written loom model of page-lock variant (b) at SPIN's granularity, the yardstick
//! of the executor's cost (wqcheck issue 15, `wqcheck-memory-bench`'s loom table).
//!
//! It is what a person would write for loom from `models/linux/spin-granularity/
//! lockpage-b-abort-exclusive-wait.wq` (and `lockpage.pml`, VARIANT 2): every step of that
//! model, one `d_step` of the Promela model, is one critical section of one loom mutex over
//! the whole state (the page's `PG_locked`, the queue, each task's state and pending
//! signal), and sleeping is a wait on a loom condition variable under that mutex. So loom
//! sees one scheduling point per step, and a lost wakeup is loom's deadlock. Nothing here
//! is weak memory: at this granularity every step is sequentially consistent, as it is in
//! the SPIN model and in wqcheck's model of it (every location there is covered by an
//! `atomic { }` block).
//!
//! [`page_lock_b_per_object`] is the same protocol with one loom object per kernel object
//! (`PG_locked` an atomic, the queue's spinlock a mutex, each task's state and signal
//! behind a mutex of its own), so that loom's partial-order reduction can tell
//! independent steps apart: fewer executions, and the figure to compare the executor's
//! kernel-faithful models with is somewhere between the two.
//!
//! It is not a backend and reads no model: the executor's execution counts on
//! `scenarios/spin/lockpage-b-n2.ron` are compared with these, per preemption bound and per
//! signal target (the scenario's signal may hit either locker; loom has no choice operator,
//! so both the executor and this model run one search per target).

use std::sync::atomic::{AtomicU64, Ordering as StdOrdering};
use std::sync::Arc;

use loom::sync::atomic::AtomicBool;
use loom::sync::{Condvar, Mutex};

/// `TASK_RUNNING`.
const RUNNING: u8 = 0;
/// `TASK_KILLABLE`: woken by `TASK_NORMAL` wakeups and by a fatal signal.
const KILLABLE: u8 = 1;

/// Two lockers, then the holder, then the signal: loom's thread numbering.
const LOCKERS: usize = 2;

/// What the one lock protects: the Promela model's global state.
struct Page {
    pg_locked: bool,
    /// The wait queue, in order: lockers by index.
    queue: Vec<usize>,
    state: [u8; LOCKERS],
    /// A fatal signal is pending.
    sig: [bool; LOCKERS],
}

struct World {
    page: Mutex<Page>,
    /// One per locker: its `schedule()` sleeps here.
    wakeup: [Condvar; LOCKERS],
}

impl World {
    fn step(&self) -> loom::sync::MutexGuard<'_, Page> {
        self.page.lock().unwrap()
    }

    /// `try_to_wake_up(p, TASK_NORMAL)`: wake `p` if it is not running.
    fn wake(&self, page: &mut Page, p: usize) -> bool {
        if page.state[p] == RUNNING {
            return false;
        }
        page.state[p] = RUNNING;
        self.wakeup[p].notify_all();
        true
    }

    /// `__wake_up_locked_key(q, TASK_NORMAL, NULL)` with `wake_page_function()`: the first
    /// entry whose wake function succeeds is woken and unlinked (one exclusive wakeup).
    fn wake_up_page(&self, page: &mut Page) {
        for i in 0..page.queue.len() {
            let p = page.queue[i];
            // wake_page_function(): the bit is set again, leave the waiter queued.
            if page.pg_locked {
                continue;
            }
            // autoremove_wake_function()
            if self.wake(page, p) {
                page.queue.remove(i);
                return;
            }
        }
    }
}

/// The three operations of the protocol a loom model provides; [`run`] drives them.
trait PageLock: Send + Sync + 'static {
    fn lock_page_killable(&self, me: usize) -> i32;
    fn unlock_page(&self);
    /// A fatal signal to locker `target`: `signal_wake_up_state()` wakes it if it sleeps
    /// killable.
    fn signal(&self, target: usize);
}

/// Run the model `make` builds with loom at preemption bound `bound` (`None`: unbounded):
/// two lockers (the first on loom's main thread), the holder's unlock, and the fatal signal
/// to locker `target`. The number of executions loom ran; a lost wakeup would be loom's
/// deadlock, a panic.
fn run<W: PageLock>(bound: Option<u32>, target: usize, make: fn() -> W) -> u64 {
    let executions = Arc::new(AtomicU64::new(0));
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = bound.map(|b| b as usize);
    builder.checkpoint_file = None;
    builder.log = false;
    let count = executions.clone();
    builder.check(move || {
        count.fetch_add(1, StdOrdering::Relaxed);
        let w = Arc::new(make());
        let locker = |w: &W, me: usize| {
            if w.lock_page_killable(me) == 0 {
                w.unlock_page();
            }
        };
        let spawn = |f: Box<dyn FnOnce(&W) + Send>| {
            let w = w.clone();
            loom::thread::spawn(move || f(&w))
        };
        let mut threads: Vec<_> = (1..LOCKERS)
            .map(|me| spawn(Box::new(move |w: &W| locker(w, me))))
            .collect();
        threads.push(spawn(Box::new(|w: &W| w.unlock_page())));
        threads.push(spawn(Box::new(move |w: &W| w.signal(target))));
        locker(&w, 0);
        for t in threads {
            t.join().unwrap();
        }
    });
    executions.load(StdOrdering::Relaxed)
}

impl PageLock for World {
    /// `unlock_page()`: L_OWNER, then L_WAKE.
    fn unlock_page(&self) {
        self.step().pg_locked = false;
        let mut page = self.step();
        self.wake_up_page(&mut page);
    }

    /// `lock_page_killable()`: 0 or -EINTR.
    fn lock_page_killable(&self, me: usize) -> i32 {
        // L_TRY
        {
            let mut page = self.step();
            if !page.pg_locked {
                page.pg_locked = true;
                return 0;
            }
        }
        let mut ret = 0;
        loop {
            // L_PREP
            {
                let mut page = self.step();
                if !page.queue.contains(&me) {
                    page.queue.push(me);
                }
                page.state[me] = KILLABLE;
            }
            // L_TESTBIT
            if self.step().pg_locked {
                // L_SLEEP: schedule() returns when woken or when a fatal signal is pending.
                {
                    let mut page = self.step();
                    while page.state[me] != RUNNING && !page.sig[me] {
                        page = self.wakeup[me].wait(page).unwrap();
                    }
                    page.state[me] = RUNNING;
                }
                // L_CHKSIG
                if self.step().sig[me] {
                    ret = -4;
                    break;
                }
            }
            // L_TAS
            {
                let mut page = self.step();
                if !page.pg_locked {
                    page.pg_locked = true;
                    break;
                }
            }
        }
        let mut page = self.step();
        page.state[me] = RUNNING;
        if let Some(i) = page.queue.iter().position(|&p| p == me) {
            // L_FIN_OK, L_FIN_INTR: still queued, unlink.
            page.queue.remove(i);
        } else if ret != 0 && !page.queue.is_empty() {
            // L_FIN_INTR, abort_exclusive_wait(): woken but not taking the lock, pass the
            // wakeup on.
            self.wake_up_page(&mut page);
        }
        ret
    }

    fn signal(&self, target: usize) {
        let mut page = self.step();
        page.sig[target] = true;
        if page.state[target] == KILLABLE {
            page.state[target] = RUNNING;
            self.wakeup[target].notify_all();
        }
    }
}

/// Run the model once with loom at preemption bound `bound` (`None`: unbounded), the fatal
/// signal going to locker `target` (0 or 1); the number of executions loom ran. A lost
/// wakeup would be loom's deadlock, a panic.
pub fn page_lock_b(bound: Option<u32>, target: usize) -> u64 {
    run(bound, target, || World {
        page: Mutex::new(Page {
            pg_locked: true,
            queue: Vec::new(),
            state: [RUNNING; LOCKERS],
            sig: [false; LOCKERS],
        }),
        wakeup: [Condvar::new(), Condvar::new()],
    })
}

/// A task's state and pending fatal signal, behind the task's own lock.
struct Task {
    state: u8,
    sig: bool,
}

/// [`World`] with one loom object per kernel object.
struct Objects {
    pg_locked: AtomicBool,
    /// The wait queue behind its spinlock.
    q: Mutex<Vec<usize>>,
    task: [Mutex<Task>; LOCKERS],
    wakeup: [Condvar; LOCKERS],
}

impl Objects {
    fn wake(&self, p: usize) -> bool {
        let mut t = self.task[p].lock().unwrap();
        if t.state == RUNNING {
            return false;
        }
        t.state = RUNNING;
        self.wakeup[p].notify_all();
        true
    }

    fn wake_up_page(&self, q: &mut Vec<usize>) {
        for i in 0..q.len() {
            let p = q[i];
            if self.pg_locked.load(StdOrdering::SeqCst) {
                continue;
            }
            if self.wake(p) {
                q.remove(i);
                return;
            }
        }
    }
}

impl PageLock for Objects {
    fn unlock_page(&self) {
        // A swap, not a store: loom 0.7.3 lets this thread's own next load of the bit read
        // an older value after a plain store mixed with read-modify-writes (the executor
        // makes every write an exchange for the same reason, `mem.rs`).
        self.pg_locked.swap(false, StdOrdering::SeqCst);
        let mut q = self.q.lock().unwrap();
        self.wake_up_page(&mut q);
    }

    fn lock_page_killable(&self, me: usize) -> i32 {
        if !self.pg_locked.swap(true, StdOrdering::SeqCst) {
            return 0;
        }
        let mut ret = 0;
        loop {
            {
                let mut q = self.q.lock().unwrap();
                if !q.contains(&me) {
                    q.push(me);
                }
                self.task[me].lock().unwrap().state = KILLABLE;
            }
            if self.pg_locked.load(StdOrdering::SeqCst) {
                {
                    let mut t = self.task[me].lock().unwrap();
                    while t.state != RUNNING && !t.sig {
                        t = self.wakeup[me].wait(t).unwrap();
                    }
                    t.state = RUNNING;
                }
                if self.task[me].lock().unwrap().sig {
                    ret = -4;
                    break;
                }
            }
            if !self.pg_locked.swap(true, StdOrdering::SeqCst) {
                break;
            }
        }
        self.task[me].lock().unwrap().state = RUNNING;
        let mut q = self.q.lock().unwrap();
        if let Some(i) = q.iter().position(|&p| p == me) {
            q.remove(i);
        } else if ret != 0 && !q.is_empty() {
            self.wake_up_page(&mut q);
        }
        ret
    }

    fn signal(&self, target: usize) {
        let mut t = self.task[target].lock().unwrap();
        t.sig = true;
        if t.state == KILLABLE {
            t.state = RUNNING;
            self.wakeup[target].notify_all();
        }
    }
}

/// [`page_lock_b`] at `bound`, one search per signal target, summed as the backend sums
/// its one search per target: the figure to compare the backend's executions with.
pub fn page_lock_b_both_targets(bound: u32) -> u64 {
    (0..LOCKERS).map(|t| page_lock_b(Some(bound), t)).sum()
}

/// [`page_lock_b`] with one loom object per kernel object.
pub fn page_lock_b_per_object(bound: Option<u32>, target: usize) -> u64 {
    fn task() -> Mutex<Task> {
        Mutex::new(Task {
            state: RUNNING,
            sig: false,
        })
    }
    run(bound, target, || Objects {
        pg_locked: AtomicBool::new(true),
        q: Mutex::new(Vec::new()),
        task: [task(), task()],
        wakeup: [Condvar::new(), Condvar::new()],
    })
}
