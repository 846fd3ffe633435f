//! Checking several scenarios at once (`--jobs N`) with the output of one at a time.
//!
//! Each job is a worker thread that takes the next scenario not yet taken and sends its
//! events, tagged with the scenario's position, as soon as each is known. The printing
//! thread puts them back in the scenarios' order ([`InOrder`]): the events of the first
//! unfinished scenario are printed as they come, those of later ones wait for it. So
//! the output is the same, byte for byte, whatever the number of jobs, and with one job
//! it streams exactly as before.
//!
//! With several jobs a search's own progress line (`--progress`) would fight the
//! others' on one terminal line; the printing thread shows one status line instead
//! ([`Status`]): how many scenarios finished, and which one the output waits for.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use wqcheck_report::Event;

use crate::{display_name, Args};

/// What a job sends: an event of the `i`-th scenario, or that it is finished.
pub enum Done {
    /// Boxed: a result with its trace is large, and most messages are small.
    Event(usize, Box<Event>),
    Finished(usize),
}

/// How many jobs to run: `--jobs`, else the machine's cores; never more than there are
/// scenarios, and one for a replay.
pub fn jobs_for(args: &Args, scenarios: usize) -> usize {
    if args.replay.is_some() {
        return 1;
    }
    let wanted = args.jobs.map(|j| j as usize).unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    wanted.clamp(1, scenarios.max(1))
}

/// Start `jobs` worker threads over `paths`. An error only when not even one could
/// start.
pub fn start_jobs(
    paths: Vec<PathBuf>,
    args: Args,
    jobs: usize,
    progress: bool,
    tx: mpsc::Sender<Done>,
) -> io::Result<()> {
    let paths = Arc::new(paths);
    let args = Arc::new(args);
    let taken = Arc::new(AtomicUsize::new(0));
    // A search's own progress line only when it has the terminal to itself.
    let progress = progress && jobs == 1;
    let mut started = 0;
    for k in 0..jobs {
        let (paths, args, taken, tx) = (paths.clone(), args.clone(), taken.clone(), tx.clone());
        // The main thread's stack size, for the same work the main thread used to do.
        let worker = std::thread::Builder::new()
            .name(format!("wqcheck-job-{k}"))
            .stack_size(8 << 20)
            .spawn(move || loop {
                let i = taken.fetch_add(1, Ordering::Relaxed);
                let Some(path) = paths.get(i) else {
                    return;
                };
                let go_on = crate::check_path(path, &args, progress, &|e| {
                    tx.send(Done::Event(i, Box::new(e))).is_ok()
                });
                if tx.send(Done::Finished(i)).is_err() || !go_on {
                    return;
                }
            });
        match worker {
            Ok(_) => started += 1,
            Err(e) if started == 0 => return Err(e),
            // Fewer jobs than asked: the ones running take every scenario.
            Err(_) => break,
        }
    }
    Ok(())
}

/// The jobs' events put back in the scenarios' order.
#[derive(Default)]
pub struct InOrder {
    /// The first scenario not finished: its events are printed as they come.
    pub next: usize,
    /// Events of later scenarios, waiting for `next` to finish.
    waiting: BTreeMap<usize, Vec<Event>>,
    /// Later scenarios that finished.
    finished: BTreeSet<usize>,
}

impl InOrder {
    /// Take what a job sent; returns the events that can be printed now, in order.
    pub fn push(&mut self, done: Done) -> Vec<Event> {
        let mut ready = Vec::new();
        match done {
            Done::Event(i, e) if i == self.next => ready.push(*e),
            Done::Event(i, e) => self.waiting.entry(i).or_default().push(*e),
            Done::Finished(i) => {
                self.finished.insert(i);
                while self.finished.remove(&self.next) {
                    self.next += 1;
                    ready.extend(self.waiting.remove(&self.next).unwrap_or_default());
                }
            }
        }
        ready
    }

    /// Every event still waiting, in the scenarios' order (an interrupted run prints
    /// what finished).
    pub fn rest(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.waiting)
            .into_values()
            .flatten()
            .collect()
    }
}

/// The status line of a run with several jobs, on stderr: `12 of 40 scenarios
/// finished; waiting for scenarios/folio/stall-4-lockers.ron`, at most once a second
/// and only after the first second.
pub struct Status {
    on: bool,
    paths: Vec<PathBuf>,
    start: Instant,
    shown: Option<Instant>,
    /// The width of the line on screen, to clear it.
    width: usize,
    next: usize,
}

impl Status {
    pub fn new(on: bool, paths: Vec<PathBuf>) -> Status {
        Status {
            on,
            paths,
            start: Instant::now(),
            shown: None,
            width: 0,
            next: 0,
        }
    }

    /// Show the line (the output waits for the `next`-th scenario), if a second has
    /// passed since it was last shown.
    pub fn show(&mut self, next: usize) {
        self.next = next;
        let now = Instant::now();
        let due = self.shown.map_or(now - self.start, |t| now - t) >= Duration::from_secs(1);
        let Some(path) = self.paths.get(self.next) else {
            return;
        };
        if !self.on || !due {
            return;
        }
        let line = crate::progress::jobs_line(
            self.next,
            self.paths.len(),
            self.start.elapsed().as_secs(),
            &display_name(path),
        );
        self.clear();
        eprint!("\r{line}");
        let _ = io::stderr().flush();
        self.width = line.chars().count();
        self.shown = Some(now);
    }

    /// Take the line off the screen (before a result is printed).
    pub fn clear(&mut self) {
        if self.width > 0 {
            eprint!("\r{}\r", " ".repeat(self.width));
            let _ = io::stderr().flush();
            self.width = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(i: usize) -> Event {
        Event::Error {
            scenario: format!("s{i}"),
            message: String::new(),
            records: Vec::new(),
        }
    }

    fn ev(i: usize, e: Event) -> Done {
        Done::Event(i, Box::new(e))
    }

    fn names(events: &[Event]) -> Vec<String> {
        events
            .iter()
            .map(|e| match e {
                Event::Error { scenario, .. } => scenario.clone(),
                _ => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn events_of_later_scenarios_wait_for_the_earlier_ones_to_finish() {
        let mut o = InOrder::default();
        assert!(o.push(ev(1, error(1))).is_empty());
        assert!(o.push(ev(2, error(2))).is_empty());
        assert!(o.push(Done::Finished(2)).is_empty());
        // The first scenario's events stream as they come.
        assert_eq!(names(&o.push(ev(0, error(0)))), ["s0"]);
        assert!(o.push(ev(1, error(11))).is_empty());
        // It finishes: the second's events follow, and the third, already finished.
        assert_eq!(names(&o.push(Done::Finished(0))), ["s1", "s11"]);
        assert_eq!(o.next, 1);
        assert_eq!(names(&o.push(Done::Finished(1))), ["s2"]);
        assert_eq!(o.next, 3);
        assert!(o.rest().is_empty());
    }

    #[test]
    fn an_interrupted_run_gets_the_waiting_events_in_order() {
        let mut o = InOrder::default();
        o.push(ev(3, error(3)));
        o.push(ev(1, error(1)));
        o.push(ev(2, error(2)));
        assert_eq!(names(&o.rest()), ["s1", "s2", "s3"]);
        // What comes after: the first scenario's events are ready at once, the rest wait.
        assert_eq!(names(&o.push(ev(0, error(0)))), ["s0"]);
        assert!(o.push(ev(4, error(4))).is_empty());
        assert_eq!(names(&o.rest()), ["s4"]);
    }
}
