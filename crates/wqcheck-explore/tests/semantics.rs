//! Tests that pin the reference semantics: the wake walk, schedule(), signals, verdicts.
//!
//! Each test writes a small model in the DSL, then either drives chosen moves and inspects
//! the state, or explores it and checks the verdict (and the state count, so that a change
//! of semantics shows up as a changed number).

use wqcheck_explore::{explore, Options, Outcome};
use wqcheck_model::ir::task::*;
use wqcheck_model::{Model, Mover, StepResult, Verdict};

fn model(src: &str, scenario_body: &str) -> Model {
    let program = match wqcheck_dsl::check_model("test.wq", src) {
        Ok(p) => p,
        Err(d) => panic!("{}", wqcheck_dsl::render_all(&d, |_| src)),
    };
    let ron = format!("Scenario(model: \"test.wq\", {scenario_body})");
    let file = match wqcheck_dsl::parse_scenario("test.ron", &ron) {
        Ok(f) => f,
        Err(d) => panic!("{}", wqcheck_dsl::render_all(&d, |_| ron.as_str())),
    };
    let inst = match wqcheck_dsl::resolve_scenario("test.ron", &ron, &file, program) {
        Ok(i) => i,
        Err(d) => panic!("{}", wqcheck_dsl::render_all(&d, |_| ron.as_str())),
    };
    Model::new(inst).expect("compiles")
}

fn search(m: &Model) -> Outcome {
    explore(m, &Options::default())
}

/// Step thread `t` once; panics if it cannot move.
fn step(m: &Model, s: &mut Vec<u8>, t: u8) {
    let mut c = s.clone();
    match m.step(&mut c, Mover::Thread(t), None) {
        StepResult::Moved => *s = c,
        r => panic!("thread {t} cannot move: {r:?}"),
    }
}

fn blocked(m: &Model, s: &[u8], t: u8) -> bool {
    let mut c = s.to_vec();
    m.step(&mut c, Mover::Thread(t), None) == StepResult::Blocked
}

/// Step thread `t` until it has returned.
fn run_to_end(m: &Model, s: &mut Vec<u8>, t: u8) {
    for _ in 0..100 {
        if m.layout.done(s, t as usize) {
            return;
        }
        step(m, s, t);
    }
    panic!("thread {t} did not finish");
}

/// The message of the violation `o` reports, which must be a `verdict`.
fn violation_message(o: Outcome, verdict: Verdict) -> String {
    assert_eq!(o.verdict, verdict, "{:?}", o.violation);
    o.violation.expect("violation").message
}

const WALK_MODEL: &str = r#"
waitqueue q;
bit stop_here = 0;

void waiter(void)
{
	DEFINE_WAIT(wait);
	prepare_to_wait(q, &wait, TASK_UNINTERRUPTIBLE);
	schedule();
	finish_wait(q, &wait);
}

void exclusive_waiter(void)
{
	DEFINE_WAIT(wait);
	prepare_to_wait_exclusive(q, &wait, TASK_UNINTERRUPTIBLE);
	schedule();
	finish_wait(q, &wait);
}

/* queued exclusively, but already running when the wakeup comes */
void running_exclusive_waiter(void)
{
	DEFINE_WAIT(wait);
	prepare_to_wait_exclusive(q, &wait, TASK_UNINTERRUPTIBLE);
	__set_current_state(TASK_RUNNING);
	schedule();
	finish_wait(q, &wait);
}

int stopper(wait_queue_entry_t *wait, unsigned mode, int sync, void *key)
{
	return -1;
}

void stopping_waiter(void)
{
	wait_queue_entry_t wait;
	init_wait(&wait);
	wait.func = stopper;
	spin_lock(&q->lock);
	__add_wait_queue_entry_tail(q, &wait);
	set_current_state(TASK_UNINTERRUPTIBLE);
	spin_unlock(&q->lock);
	schedule();
	finish_wait(q, &wait);
}

void waker(void) { wake_up(q); }
void waker_all(void) { wake_up_all(q); }
void waker_nr2(void) { wake_up_nr(q, 2); }
"#;

fn threads(names: &[(&str, &str)]) -> String {
    let t: Vec<String> = names
        .iter()
        .map(|(n, f)| format!("Thread(name: \"{n}\", run: \"{f}\")"))
        .collect();
    format!("threads: [{}], expect: Holds", t.join(", "))
}

/// Queue the first `n` threads (one step each: prepare_to_wait), run the last one (the
/// waker) to the end, and return the state.
fn queue_then_wake(m: &Model, queued_steps: &[(u8, usize)], waker: u8) -> Vec<u8> {
    let mut s = m.initial_state().expect("initial state");
    for &(t, steps) in queued_steps {
        for _ in 0..steps {
            step(m, &mut s, t);
        }
    }
    run_to_end(m, &mut s, waker);
    s
}

#[test]
fn wake_up_wakes_every_non_exclusive_waiter_and_one_exclusive() {
    let m = model(
        WALK_MODEL,
        &threads(&[
            ("shared1", "waiter"),
            ("excl1", "exclusive_waiter"),
            ("excl2", "exclusive_waiter"),
            ("shared2", "waiter"),
            ("waker", "waker"),
        ]),
    );
    let s = queue_then_wake(&m, &[(0, 1), (1, 1), (2, 1), (3, 1)], 4);
    let l = &m.layout;
    assert_eq!(
        l.task_state(&s, 0),
        TASK_RUNNING,
        "non-exclusive shared1 woken"
    );
    assert_eq!(
        l.task_state(&s, 3),
        TASK_RUNNING,
        "non-exclusive shared2 woken"
    );
    assert_eq!(l.task_state(&s, 1), TASK_RUNNING, "first exclusive woken");
    assert_eq!(
        l.task_state(&s, 2),
        TASK_UNINTERRUPTIBLE,
        "second exclusive still asleep"
    );
    // autoremove_wake_function unlinked the woken ones only.
    assert_eq!(l.queue_list(&s, 0).len(), 1);
    assert!(!blocked(&m, &s, 0) && !blocked(&m, &s, 1) && !blocked(&m, &s, 3));
    assert!(blocked(&m, &s, 2));
}

#[test]
fn wake_up_all_and_wake_up_nr_count_exclusive_wakeups() {
    let names = [
        ("excl1", "exclusive_waiter"),
        ("excl2", "exclusive_waiter"),
        ("excl3", "exclusive_waiter"),
    ];
    let mut all = names.to_vec();
    all.push(("waker", "waker_all"));
    let m = model(WALK_MODEL, &threads(&all));
    let s = queue_then_wake(&m, &[(0, 1), (1, 1), (2, 1)], 3);
    for t in 0..3 {
        assert_eq!(
            m.layout.task_state(&s, t),
            TASK_RUNNING,
            "wake_up_all woke thread {t}"
        );
    }
    let mut nr2 = names.to_vec();
    nr2.push(("waker", "waker_nr2"));
    let m = model(WALK_MODEL, &threads(&nr2));
    let s = queue_then_wake(&m, &[(0, 1), (1, 1), (2, 1)], 3);
    let states: Vec<i32> = (0..3).map(|t| m.layout.task_state(&s, t)).collect();
    assert_eq!(
        states,
        vec![TASK_RUNNING, TASK_RUNNING, TASK_UNINTERRUPTIBLE]
    );
}

#[test]
fn negative_return_from_a_wake_function_stops_the_walk() {
    let m = model(
        WALK_MODEL,
        &threads(&[
            ("stopper", "stopping_waiter"),
            ("shared1", "waiter"),
            ("excl1", "exclusive_waiter"),
            ("waker", "waker"),
        ]),
    );
    // stopping_waiter: spin_lock, add, set state, unlock = 4 steps. Then the others queue:
    // shared1 at the head, excl1 at the tail: [shared1, stopper, excl1].
    let s = queue_then_wake(&m, &[(0, 4), (1, 1), (2, 1)], 3);
    let l = &m.layout;
    assert_eq!(
        l.task_state(&s, 1),
        TASK_RUNNING,
        "before the stopper: woken"
    );
    assert_eq!(
        l.task_state(&s, 0),
        TASK_UNINTERRUPTIBLE,
        "the stopper returns -1 without waking"
    );
    assert_eq!(
        l.task_state(&s, 2),
        TASK_UNINTERRUPTIBLE,
        "after the stopper: not reached"
    );
}

#[test]
fn exclusive_waiter_already_running_does_not_consume_the_exclusive_wakeup() {
    let m = model(
        WALK_MODEL,
        &threads(&[
            ("running", "running_exclusive_waiter"),
            ("excl2", "exclusive_waiter"),
            ("waker", "waker"),
        ]),
    );
    // running: prepare_to_wait_exclusive, then __set_current_state(TASK_RUNNING).
    let s = queue_then_wake(&m, &[(0, 2), (1, 1)], 2);
    let l = &m.layout;
    assert_eq!(
        l.task_state(&s, 1),
        TASK_RUNNING,
        "the wakeup went on to excl2"
    );
    // try_to_wake_up() returned 0 for the running task, so autoremove left it queued.
    let list = l.queue_list(&s, 0);
    assert_eq!(list.len(), 1);
    assert_eq!(m.entry_name(list[0]), "running");
}

const SCHED_MODEL: &str = r#"
waitqueue q;
void sleeper(int state)
{
	set_current_state(state);
	schedule();
}
void runner(void)
{
	set_current_state(TASK_UNINTERRUPTIBLE);
	__set_current_state(TASK_RUNNING);
	schedule();
}
"#;

#[test]
fn schedule_returns_at_once_when_the_task_is_running() {
    let m = model(
        SCHED_MODEL,
        "threads: [Thread(name: \"r\", run: \"runner\"), Thread(name: \"s\", run: \"sleeper\", args: [2])], expect: Holds",
    );
    let mut s = m.initial_state().expect("init");
    step(&m, &mut s, 0);
    step(&m, &mut s, 0);
    assert!(!blocked(&m, &s, 0), "schedule() in TASK_RUNNING returns");
    step(&m, &mut s, 0);
    assert!(m.layout.done(&s, 0));
    step(&m, &mut s, 1);
    assert!(
        blocked(&m, &s, 1),
        "schedule() in TASK_UNINTERRUPTIBLE sleeps"
    );
}

fn signalled_sleeper(state: i32, fatal: bool) -> (bool, i32) {
    let m = model(
        SCHED_MODEL,
        &format!(
            "threads: [Thread(name: \"s\", run: \"sleeper\", args: [{state}])], actors: [Signal(target: [\"s\"], fatal: {fatal})], expect: Holds"
        ),
    );
    let mut s = m.initial_state().expect("init");
    step(&m, &mut s, 0); // set_current_state
    assert!(blocked(&m, &s, 0));
    let mut c = s.clone();
    assert_eq!(
        m.step(
            &mut c,
            Mover::Actor {
                actor: 0,
                choice: 0
            },
            None
        ),
        StepResult::Moved
    );
    (!blocked(&m, &c, 0), m.layout.task_state(&c, 0))
}

#[test]
fn fatal_signal_wakes_killable_and_interruptible_sleepers_only() {
    assert_eq!(signalled_sleeper(TASK_KILLABLE, true), (true, TASK_RUNNING));
    assert_eq!(
        signalled_sleeper(TASK_INTERRUPTIBLE, true),
        (true, TASK_RUNNING)
    );
    assert_eq!(
        signalled_sleeper(TASK_UNINTERRUPTIBLE, true),
        (false, TASK_UNINTERRUPTIBLE)
    );
}

#[test]
fn non_fatal_signal_wakes_interruptible_sleepers_only() {
    assert_eq!(
        signalled_sleeper(TASK_INTERRUPTIBLE, false),
        (true, TASK_RUNNING)
    );
    assert_eq!(
        signalled_sleeper(TASK_KILLABLE, false),
        (false, TASK_KILLABLE)
    );
    assert_eq!(
        signalled_sleeper(TASK_UNINTERRUPTIBLE, false),
        (false, TASK_UNINTERRUPTIBLE)
    );
}

const CLASSIC: &str = r#"
bit cond = 0;
waitqueue wq until cond;

void check_then_sleep(void)
{
	DEFINE_WAIT(wait);
	if (!READ_ONCE(cond)) {
		prepare_to_wait(&wq, &wait, TASK_UNINTERRUPTIBLE);
		schedule();
		finish_wait(&wq, &wait);
	}
}

void prepare_then_check(void)
{
	DEFINE_WAIT(wait);
	for (;;) {
		prepare_to_wait(&wq, &wait, TASK_UNINTERRUPTIBLE);
		if (READ_ONCE(cond))
			break;
		schedule();
	}
	finish_wait(&wq, &wait);
}

void waker(void)
{
	WRITE_ONCE(cond, 1);
	wake_up(&wq);
}

void lock_and_leave(void) { spin_lock(&wq->lock); }
void lock_and_release(void) { spin_lock(&wq->lock); spin_unlock(&wq->lock); }
void failing(void) { assert(READ_ONCE(cond) == 1); }
"#;

fn two(a: &str, b: &str, expect: &str) -> String {
    format!("threads: [Thread(name: \"t1\", run: \"{a}\"), Thread(name: \"t2\", run: \"{b}\")], expect: {expect}")
}

#[test]
fn waiter_that_tests_before_queueing_loses_the_wakeup() {
    let m = model(CLASSIC, &two("check_then_sleep", "waker", "LostWakeup"));
    let o = search(&m);
    assert_eq!(o.verdict, Verdict::LostWakeup);
    // READ_ONCE(cond)=0, WRITE_ONCE(cond,1), wake_up's lock, its walk over an empty queue
    // ends in the unlock, prepare_to_wait, and the waiter sleeps: 5 moves.
    assert_eq!(o.path.len(), 5, "{:?}", o.path);
    let msg = o.violation.expect("violation").message;
    assert!(
        msg.contains("t1 asleep in schedule() on wq waiting for `cond`, which holds"),
        "{msg}"
    );
}

#[test]
fn waiter_that_queues_before_testing_holds() {
    let m = model(CLASSIC, &two("prepare_then_check", "waker", "Holds"));
    let o = search(&m);
    assert_eq!(o.verdict, Verdict::Holds);
    // Counted by hand, by the waker's position: before its write, cond = 0 and the waiter
    // is at prepare_to_wait, READ_ONCE or asleep (3 states); after the write 5, holding the
    // lock with the waiter queued 3, woken but not yet unlinked by autoremove_wake_function
    // 4 (the waiter at READ_ONCE, at schedule, or waiting for the lock in prepare_to_wait
    // or finish_wait), at the unlock 5, and done 7.
    assert_eq!(o.states, 27);
}

#[test]
fn lock_never_released_is_a_deadlock_not_a_lost_wakeup() {
    let m = model(
        CLASSIC,
        &two("lock_and_leave", "lock_and_release", "Deadlock"),
    );
    let msg = violation_message(search(&m), Verdict::Deadlock);
    assert!(msg.contains("t2 spins"), "{msg}");
    assert!(msg.contains("held by t1 (which has returned)"), "{msg}");
}

#[test]
fn false_assertion_is_reported_with_a_shortest_path() {
    let m = model(CLASSIC, &two("failing", "waker", "AssertionFailed"));
    let o = search(&m);
    assert_eq!(o.verdict, Verdict::AssertionFailed);
    assert_eq!(
        o.path,
        vec![Mover::Thread(0)],
        "the assert fails at once, before the waker"
    );
}

#[test]
fn exhausted_state_budget_is_inconclusive_never_holds() {
    let m = model(CLASSIC, &two("prepare_then_check", "waker", "Holds"));
    let o = explore(
        &m,
        &Options {
            max_states: Some(5),
            ..Options::default()
        },
    );
    assert_eq!(o.verdict, Verdict::Inconclusive);
    assert!(o.budget_hit.expect("budget").contains("5 distinct states"));
}

const WAKE_Q_MODEL: &str = r#"
bit done = 0;
struct task_struct *sleeper_task = NULL;
struct task_struct *other_task = NULL;

void sleeper(void)
{
	set_current_state(TASK_UNINTERRUPTIBLE);
	if (!done)
		schedule() until done;
	__set_current_state(TASK_RUNNING);
}

/* wake_q_add(), then wake_up_q() in a separate step of the test's choosing */
void waker(void)
{
	DEFINE_WAKE_Q(wake_q);

	done = 1;
	wake_q_add(&wake_q, sleeper_task);
	wake_q_add(&wake_q, other_task);
	wake_up_q(&wake_q);
}
"#;

fn wake_q_model() -> Model {
    model(
        WAKE_Q_MODEL,
        r#"init: { "sleeper_task": "s1", "other_task": "s2" },
           threads: [Thread(name: "s1", run: "sleeper"), Thread(name: "s2", run: "sleeper"),
                     Thread(name: "k1", run: "waker"), Thread(name: "k2", run: "waker")],
           expect: Holds"#,
    )
}

/// The task's node as the kernel has it: NULL, WAKE_Q_TAIL, or the next task + 1.
fn node(m: &Model, s: &[u8], t: usize) -> u8 {
    m.layout.wake_q_node(s, t)
}

#[test]
fn wake_q_add_queues_a_task_once_and_its_first_queuer_wakes_it() {
    let m = wake_q_model();
    let mut s = m.initial_state().expect("initial state");
    for t in [0, 1] {
        step(&m, &mut s, t); // set_current_state
        step(&m, &mut s, t); // if (!done)
        assert!(blocked(&m, &s, t), "s{} sleeps", t + 1);
    }
    // k1: done = 1, then queues s1 (the read of `sleeper_task`, then the add).
    for _ in 0..3 {
        step(&m, &mut s, 2);
    }
    assert_eq!(node(&m, &s, 0), wqcheck_model::state::WAKE_Q_TAIL);
    // k2's add of s1 finds it on k1's wake_q and does nothing; its add of s2 succeeds,
    // and its wake_up_q() wakes s2 only.
    run_to_end(&m, &mut s, 3);
    assert!(blocked(&m, &s, 0), "s1 is k1's to wake");
    assert!(!blocked(&m, &s, 1), "k2 queued and woke s2");
    assert_eq!(node(&m, &s, 1), 0, "wake_up_q() cleared s2's node");
    assert_eq!(node(&m, &s, 0), wqcheck_model::state::WAKE_Q_TAIL);
    // k1's add of s2 now succeeds (its node was cleared): s2 follows s1 on k1's list.
    step(&m, &mut s, 2); // read other_task
    step(&m, &mut s, 2); // wake_q_add
    assert_eq!(node(&m, &s, 0), 2, "s1's next is s2 (thread 1 + 1)");
    run_to_end(&m, &mut s, 2);
    assert!(!blocked(&m, &s, 0));
    assert_eq!((node(&m, &s, 0), node(&m, &s, 1)), (0, 0));
}

#[test]
fn deferred_wakeups_from_two_wakers_lose_no_sleeper() {
    let m = wake_q_model();
    let o = search(&m);
    assert_eq!(o.verdict, Verdict::Holds, "{:?}", o.violation);
    // Pinned: a change in wake_q's steps or state shows here.
    assert_eq!(o.states, 6_034);
}

#[test]
fn wake_q_add_of_a_null_task_pointer_is_a_run_time_error() {
    // No `init`: the task pointers are NULL.
    let m = model(
        WAKE_Q_MODEL,
        r#"threads: [Thread(name: "s1", run: "sleeper"), Thread(name: "s2", run: "sleeper"),
                     Thread(name: "k1", run: "waker")],
           expect: AssertionFailed"#,
    );
    let msg = violation_message(search(&m), Verdict::AssertionFailed);
    assert!(msg.contains("wake_q_add() of a NULL task pointer"), "{msg}");
}

#[test]
fn unsigned_bit_fields_wrap_on_every_kind_of_store() {
    let src = r#"
unsigned int seq : 2 = 3;
int<0..3> seen = 0;

void t(void)
{
	int n;

	seq++;					/* 3 + 1 wraps to 0 */
	assert(seq == 0);
	atomic_dec(&seq);			/* 0 - 1 wraps to 3 */
	assert(seq == 3);
	n = atomic_add_return(&seq, 2);		/* the new value, wrapped */
	assert(n == 1 && seq == 1);
	n = atomic_fetch_sub(&seq, 2);		/* the old value */
	assert(n == 1 && seq == 3);
	WRITE_ONCE(seq, 6);
	assert(seq == 2);
	n = atomic_cmpxchg(&seq, 2, 5);
	assert(n == 2 && seq == 1);
	seen = seq;
}
"#;
    let m = model(
        src,
        r#"threads: [Thread(name: "t", run: "t")], expect: Holds"#,
    );
    let o = search(&m);
    assert_eq!(o.verdict, Verdict::Holds, "{:?}", o.violation);
    // A store out of an `int<..>`'s range is still an error.
    let m = model(
        "int<0..3> x = 3;\nvoid t(void) { x++; }\n",
        r#"threads: [Thread(name: "t", run: "t")], expect: AssertionFailed"#,
    );
    let o = search(&m);
    assert_eq!(o.verdict, Verdict::AssertionFailed);
}

/// epoll's shape (fs/eventpoll.c): the sleeper waits on `ep_wq` and has an entry on
/// `file_wq` whose wake function, `ep_poll_callback()`, wakes `ep_wq`: the writer's walk
/// of `file_wq` runs a second walk inside it.
const NESTED_WALK_MODEL: &str = r#"
bool ready;
waitqueue file_wq until ready;
waitqueue ep_wq until ready;
waitqueue third_wq until ready;

int ep_poll_callback(wait_queue_entry_t *wait, unsigned mode, int sync, void *key)
{
	wake_up(&ep_wq);
	return 1;
}

int deeper_callback(wait_queue_entry_t *wait, unsigned mode, int sync, void *key)
{
	wake_up(&third_wq);
	return 1;
}

void epoll_waiter(bool three_levels)
{
	wait_queue_entry_t epitem;
	wait_queue_entry_t nested;
	DEFINE_WAIT(wait);

	init_wait(&epitem);
	epitem.func = ep_poll_callback;
	add_wait_queue(&file_wq, &epitem);
	init_wait(&nested);
	nested.func = deeper_callback;
	if (three_levels)
		add_wait_queue(&ep_wq, &nested);
	for (;;) {
		prepare_to_wait(&ep_wq, &wait, TASK_INTERRUPTIBLE);
		if (ready)
			break;
		schedule();
	}
	finish_wait(&ep_wq, &wait);
	if (three_levels)
		remove_wait_queue(&ep_wq, &nested);
	remove_wait_queue(&file_wq, &epitem);
}

void writer(void)
{
	ready = 1;
	wake_up(&file_wq);
}
"#;

#[test]
fn a_wake_function_may_wake_another_queue_inside_the_walk() {
    let scenario = |levels: u8, expect: &str| {
        format!(
            r#"threads: [Thread(name: "w", run: "epoll_waiter", args: [{levels}]), Thread(name: "k", run: "writer")], expect: {expect}"#
        )
    };
    let m = model(NESTED_WALK_MODEL, &scenario(0, "Holds"));
    let o = search(&m);
    assert_eq!(o.verdict, Verdict::Holds, "{:?}", o.violation);
    // Pinned: a change in the nested walk's steps shows here.
    assert_eq!(o.states, 46);
    // A walk inside a walk inside a walk is refused, as a run-time error.
    let m = model(NESTED_WALK_MODEL, &scenario(1, "AssertionFailed"));
    let msg = violation_message(search(&m), Verdict::AssertionFailed);
    assert!(msg.contains("nested more than twice"), "{msg}");
}

const TIMER_MODEL: &str = r#"
bool done = false;
waitqueue wq until done;
int<0..2> timed_out = 0;

void sleeper(void)
{
	int left;

	set_current_state(TASK_UNINTERRUPTIBLE);
	left = schedule_timeout(5);
	assert(left == 0 || left == 5);
	if (!left)
		timed_out++;
}

void forever(void)
{
	set_current_state(TASK_UNINTERRUPTIBLE);
	schedule_timeout(MAX_SCHEDULE_TIMEOUT);
}

void negative(void)
{
	schedule_timeout(-1);
}
"#;

fn timer_model(run: &str) -> Model {
    model(
        TIMER_MODEL,
        &format!(r#"threads: [Thread(name: "t", run: "{run}")], expect: Holds"#),
    )
}

/// The timer actor of thread 0: the only actor of these scenarios.
const TIMER: Mover = Mover::Actor {
    actor: 0,
    choice: 0,
};

#[test]
fn a_timed_sleep_ends_when_its_timer_fires() {
    let m = timer_model("sleeper");
    assert_eq!(
        m.inst.actors.len(),
        1,
        "a timer for the thread with a timed sleep"
    );
    assert_eq!(m.actor_name(0), "timer(t)");
    let mut s = m.initial_state().expect("initial state");
    step(&m, &mut s, 0); // set_current_state
    assert_eq!(m.actor_choices(&s, 0), 0, "not armed yet");
    step(&m, &mut s, 0); // __mod_timer()
    assert_eq!(m.actor_choices(&s, 0), 1, "armed: it may fire");
    assert!(blocked(&m, &s, 0), "asleep in schedule()");
    assert_eq!(m.step(&mut s, TIMER, None), StepResult::Moved);
    assert_eq!(m.actor_choices(&s, 0), 0, "a timer fires once");
    assert_eq!(
        m.layout.task_state(&s, 0),
        TASK_RUNNING,
        "the timer woke it"
    );
    run_to_end(&m, &mut s, 0);
    assert_eq!(m.layout.var(&s, 1), 1, "schedule_timeout() returned 0");
}

#[test]
fn a_timed_sleep_is_never_stuck_and_may_end_either_way() {
    let m = timer_model("sleeper");
    let o = search(&m);
    assert_eq!(o.verdict, Verdict::Holds, "{:?}", o.violation);
    // Pinned: a change in the timer's steps or state shows here.
    assert_eq!(o.states, 8);
    // The same sleep without a timer is stuck.
    let m = timer_model("forever");
    assert!(m.inst.actors.is_empty() || m.actor_choices(&m.initial_state().unwrap(), 0) == 0);
    let o = search(&m);
    assert_eq!(o.verdict, Verdict::Deadlock, "{:?}", o.violation);
}

#[test]
fn schedule_timeout_of_a_negative_timeout_is_a_run_time_error() {
    let msg = violation_message(search(&timer_model("negative")), Verdict::AssertionFailed);
    assert!(
        msg.contains("schedule_timeout() with a negative timeout (-1)"),
        "{msg}"
    );
}

#[test]
fn a_wakeup_and_the_timer_may_end_one_sleep_together() {
    // The timer fires after the wakeup and before del_timer_sync(): schedule_timeout()
    // returns 0 although the sleep was ended by the wakeup (the false timeout of
    // 4c663cfc523a).
    let src = r#"
bool done = false;
waitqueue wq until done;
bool woken = false;

int record_wake(wait_queue_entry_t *wait, unsigned mode, int sync, void *key)
{
	int ret = autoremove_wake_function(wait, mode, sync, key);

	if (ret)
		woken = true;
	return ret;
}

void waiter(void)
{
	DEFINE_WAIT(wait);
	int left = 1;

	wait.func = record_wake;
	prepare_to_wait(&wq, &wait, TASK_UNINTERRUPTIBLE);
	if (!done)
		left = schedule_timeout(HZ);
	finish_wait(&wq, &wait);
	assert(left != 0 || !woken);
}

void waker(void)
{
	done = true;
	wake_up(&wq);
}
"#;
    let m = model(
        src,
        r#"threads: [Thread(name: "w", run: "waiter"), Thread(name: "k", run: "waker")],
           expect: AssertionFailed"#,
    );
    let o = search(&m);
    assert_eq!(o.verdict, Verdict::AssertionFailed, "{:?}", o.violation);
    // Replay the shortest counterexample: the wakeup makes w runnable, then its timer
    // fires.
    let timer = Mover::Actor {
        actor: 0,
        choice: 0,
    };
    let mut s = m.initial_state().expect("initial state");
    let mut woken_at = None;
    for (i, mv) in o.path.iter().enumerate() {
        // The last step is the assertion's.
        if m.step(&mut s, *mv, None) != StepResult::Moved {
            assert_eq!(i + 1, o.path.len());
        }
        if woken_at.is_none()
            && *mv == Mover::Thread(1)
            && m.layout.task_state(&s, 0) == TASK_RUNNING
        {
            woken_at = Some(i);
        }
    }
    let fired_at = o
        .path
        .iter()
        .position(|mv| *mv == timer)
        .expect("the timer fires");
    let woken_at = woken_at.expect("the waker wakes w");
    assert!(woken_at < fired_at, "the wakeup comes first: {:?}", o.path);
}

#[test]
fn a_label_in_an_if_takes_its_statement_along() {
    // C's labeled statement `L: S` is one statement: the label does not end the `if`.
    let src = r#"
int<0..3> x = 0;

void t(void)
{
	if (x == 1)
here:
		x = 2;
	assert(x == 0);
}
"#;
    let o = search(&model(
        src,
        r#"threads: [Thread(name: "t", run: "t")], expect: Holds"#,
    ));
    assert_eq!(o.verdict, Verdict::Holds, "{:?}", o.violation);
}

const AFTER_MODEL: &str = r#"
bool done = false;
int<0..1> hit = 0;

void waiter(void)
{
	if (done)
		return;
ready:
	hit = 1;
}

void setter(void)
{
	done = true;
}
"#;

#[test]
fn a_signal_after_a_label_waits_for_the_thread_to_pass_it() {
    let m = model(
        AFTER_MODEL,
        r#"threads: [Thread(name: "w", run: "waiter"), Thread(name: "s", run: "setter")],
           actors: [Signal(target: ["w"], fatal: true, after: ("w", "ready"))],
           expect: Holds"#,
    );
    let signal = Mover::Actor {
        actor: 0,
        choice: 0,
    };
    let mut s = m.initial_state().expect("initial state");
    assert_eq!(m.actor_choices(&s, 0), 0, "held back until `ready:`");
    step(&m, &mut s, 0); // if (done): false
    assert_eq!(m.actor_choices(&s, 0), 0);
    step(&m, &mut s, 0); // ready:
    assert_eq!(m.actor_choices(&s, 0), 1, "the label is passed");
    assert_eq!(m.step(&mut s, signal, None), StepResult::Moved);
    assert_eq!(m.actor_choices(&s, 0), 0, "a signal is sent once");
    // A waiter that returns before the label: the signal never comes, and nothing is stuck.
    let mut s = m.initial_state().expect("initial state");
    run_to_end(&m, &mut s, 1);
    run_to_end(&m, &mut s, 0);
    assert_eq!(m.actor_choices(&s, 0), 0);
    let o = search(&m);
    assert_eq!(o.verdict, Verdict::Holds, "{:?}", o.violation);
    // Pinned: the label's step and the held-back signal.
    assert_eq!(o.states, 13);
}

#[test]
fn flush_signals_forgets_a_pending_signal_so_the_next_sleep_sleeps() {
    let src = r#"
void kthread(void)
{
	set_current_state(TASK_INTERRUPTIBLE);
	if (signal_pending(current))
		flush_signals(current);
	schedule();
}
"#;
    let m = model(
        src,
        r#"threads: [Thread(name: "k", run: "kthread")],
           actors: [Signal(target: ["k"], fatal: false)],
           expect: Deadlock"#,
    );
    let signal = Mover::Actor {
        actor: 0,
        choice: 0,
    };
    let mut s = m.initial_state().expect("initial state");
    step(&m, &mut s, 0); // set_current_state
    assert_eq!(m.step(&mut s, signal, None), StepResult::Moved);
    assert_eq!(
        m.layout.task_state(&s, 0),
        TASK_RUNNING,
        "the signal woke it"
    );
    step(&m, &mut s, 0); // signal_pending(): 1
    step(&m, &mut s, 0); // flush_signals()
    assert_eq!(m.layout.sig(&s, 0), 0, "nothing pending");
    // Its state is TASK_RUNNING (the signal's wakeup): schedule() returns at once.
    run_to_end(&m, &mut s, 0);
    // Without the signal it sleeps on no queue, and nobody will wake it.
    let o = search(&m);
    assert_eq!(o.verdict, Verdict::Deadlock, "{:?}", o.violation);
}

/// A wake function that sleeps: it runs under the queue's lock.
const SLEEPING_WAKE_FUNCTION: &str = r#"
bool done = false;
waitqueue wq until done;

int my_wake(wait_queue_entry_t *wait, unsigned mode, int sync, void *key)
{
	schedule_timeout_uninterruptible(1);
	return autoremove_wake_function(wait, mode, sync, key);
}

void waiter(void)
{
	DEFINE_WAIT(wait);

	wait.func = my_wake;
	prepare_to_wait(&wq, &wait, TASK_UNINTERRUPTIBLE);
	if (!done)
		schedule();
	finish_wait(&wq, &wait);
}

void waker(void)
{
	done = true;
	wake_up(&wq);
}
"#;

#[test]
fn schedule_with_a_spinlock_held_is_a_run_time_error() {
    let m = model(
        SLEEPING_WAKE_FUNCTION,
        r#"threads: [Thread(name: "w", run: "waiter"), Thread(name: "k", run: "waker")],
           expect: AssertionFailed"#,
    );
    let msg = violation_message(search(&m), Verdict::AssertionFailed);
    assert!(
        msg.contains("schedule() while holding wq->lock")
            && msg.contains("scheduling while atomic"),
        "{msg}"
    );
}

/// A struct around a wait entry, and a wake key on the waker's stack
/// (`struct wait_page_queue`, `struct wait_page_key`), with the waiter's misuse chosen
/// by `mistake`.
fn keyed_model(mistake: &str) -> Model {
    let src = r#"
bit locked[2] = { 1, 1 };
waitqueue table;

struct key { int page; int seen; };
struct waiter_entry { int page; wait_queue_entry_t wait; };

int wake_fn(wait_queue_entry_t *wait, unsigned mode, int sync, void *arg)
{
	struct key *key = arg;
	struct waiter_entry *w = container_of(wait, struct waiter_entry, wait);

	if (w->page != key->page)
		return 0;
	key->seen++;
	return autoremove_wake_function(wait, mode, sync, key);
}

int late_read(wait_queue_entry_t *wait, unsigned mode, int sync, void *arg)
{
	struct waiter_entry *w = container_of(wait, struct waiter_entry, wait);
	int ret = autoremove_wake_function(wait, mode, sync, arg);

	return ret + w->page;
}

void waiter(int page, int mistake)
{
	struct waiter_entry we;

	init_wait(&we.wait);
	we.wait.func = mistake == 2 ? late_read : wake_fn;
	we.page = page;
	prepare_to_wait(&table, &we.wait, TASK_UNINTERRUPTIBLE);
	if (mistake == 1)
		we.page = 1 - page;
	if (locked[page])
		schedule() until !locked[page];
	finish_wait(&table, &we.wait);
}

void waker(int page, int null_key)
{
	struct key key;

	key.page = page;
	key.seen = 0;
	locked[page] = 0;
	if (null_key)
		wake_up(&table);
	else
		__wake_up(&table, TASK_NORMAL, 1, &key);
	assert(key.seen <= 1);
}
"#;
    let (mistake, null_key) = match mistake {
        "none" => (0, 0),
        "write while queued" => (1, 0),
        "read after unqueued" => (2, 0),
        _ => (0, 1),
    };
    model(
        src,
        &format!(
            r#"threads: [
                Thread(name: "w0", run: "waiter", args: [0, {mistake}]),
                Thread(name: "w1", run: "waiter", args: [1, 0]),
                Thread(name: "k1", run: "waker", args: [1, {null_key}]),
                Thread(name: "k0", run: "waker", args: [0, {null_key}]),
            ]"#
        ),
    )
}

#[test]
fn a_keyed_walk_wakes_only_the_entries_its_wake_function_matches() {
    // Both pages' waiters on one queue: each waker's key names its page, the wake
    // function skips the other page's entry (which costs no exclusive wakeup) and counts
    // its own on the waker's stack. Pinned, so that a change in how keys and struct
    // fields are stored or stepped shows.
    let o = search(&keyed_model("none"));
    assert_eq!(o.verdict, Verdict::Holds, "{:?}", o.violation);
    assert_eq!(o.states, 718);
}

#[test]
fn a_struct_field_of_a_queued_entry_is_written_only_before_it_is_queued() {
    let msg = violation_message(
        search(&keyed_model("write while queued")),
        Verdict::AssertionFailed,
    );
    assert!(
        msg.contains("a field of a queued wait entry's struct written"),
        "{msg}"
    );
}

#[test]
fn a_wake_function_reading_its_entry_after_unlinking_it_is_a_use_after_free() {
    let msg = violation_message(
        search(&keyed_model("read after unqueued")),
        Verdict::AssertionFailed,
    );
    assert!(
        msg.contains("read after the entry left its queue") && msg.contains("use after free"),
        "{msg}"
    );
}

#[test]
fn a_key_dereferenced_by_a_walk_without_one_is_a_run_time_error() {
    let msg = violation_message(search(&keyed_model("null key")), Verdict::AssertionFailed);
    assert!(msg.contains("NULL struct pointer dereferenced"), "{msg}");
}

#[test]
fn an_array_index_outside_the_array_is_a_run_time_error() {
    let src = r#"
bit done[2];

void t(int i)
{
	done[i] = 1;
}
"#;
    let ok = model(src, r#"threads: [Thread(name: "t", run: "t", args: [1])]"#);
    let o = search(&ok);
    assert_eq!(o.verdict, Verdict::Holds, "{:?}", o.violation);
    let bad = model(src, r#"threads: [Thread(name: "t", run: "t", args: [2])]"#);
    // Choosing the element is local work, before the thread's first step: the message
    // says whose and where, as no trace row can.
    let msg = violation_message(search(&bad), Verdict::AssertionFailed);
    assert_eq!(
        msg,
        "t: index 2 is out of bounds of `done[2]` (before its first step, line 6: `done[i] = 1;`)"
    );
}

/// A kernel thread that serves work until nobody is left, and one task that queues work.
fn daemon_model(daemon: bool, queuer: &str) -> Model {
    let src = r#"
int<0..1> work = 0;
int<0..1> done = 0;
struct task_struct *kthread_task = NULL;

void serve(void)
{
	WRITE_ONCE(kthread_task, current);
	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (READ_ONCE(work)) {
			__set_current_state(TASK_RUNNING);
			WRITE_ONCE(work, 0);
			WRITE_ONCE(done, 1);
			continue;
		}
		schedule() until work;
	}
}

void queue(void)
{
	struct task_struct *t;

	WRITE_ONCE(work, 1);
	smp_mb();
	t = READ_ONCE(kthread_task);
	if (t)
		wake_up_process(t);
}

void queue_no_wakeup(void)
{
	WRITE_ONCE(work, 1);
}

final assert(done == 1 || work == 1);
"#;
    model(
        src,
        &format!(
            r#"threads: [
                Thread(name: "kthread", run: "serve", daemon: {daemon}),
                Thread(name: "q", run: "{queuer}"),
            ]"#
        ),
    )
}

#[test]
fn a_daemon_asleep_once_the_others_are_done_is_an_idle_end() {
    let o = search(&daemon_model(true, "queue"));
    assert_eq!(o.verdict, Verdict::Holds, "{:?}", o.violation);
    assert_eq!(o.states, 37);
    // The same thread as an ordinary one: asleep at the end, waiting for work nobody
    // queues, is a deadlock.
    let msg = violation_message(search(&daemon_model(false, "queue")), Verdict::Deadlock);
    assert!(
        msg.contains("kthread asleep in schedule() waiting for `work`, which is false"),
        "{msg}"
    );
}

#[test]
fn a_daemon_asleep_while_what_it_waits_for_holds_is_a_lost_wakeup() {
    let msg = violation_message(
        search(&daemon_model(true, "queue_no_wakeup")),
        Verdict::LostWakeup,
    );
    assert!(
        msg.contains("kthread asleep in schedule() waiting for `work`, which holds"),
        "{msg}"
    );
}
