//! Interruption by a signal, and the loom and shuttle child processes wqcheck runs.
//!
//! This module owns two pieces of process-wide state:
//!
//! - The interrupt flag. SIGINT, SIGTERM and SIGHUP to wqcheck set it instead of killing
//!   the process ([`install`], [`received`]); [`crate::run`] polls it, stops, kills the
//!   running child, prints the results that finished and a summary saying the run was
//!   interrupted, and returns [`crate::exit::interrupted`]. A second such signal ends the
//!   process at once, in case stopping cleanly ever hangs.
//! - The running children (one per job, `--jobs`). Every loom and shuttle child is
//!   started ([`spawn`]) and reaped ([`try_wait`], [`kill_and_reap`]) under one lock, so
//!   that [`stop_children`] never races a spawn and never kills a pid that was already
//!   reaped (and may be reused).
//!
//! A child also dies with wqcheck when wqcheck is killed outright (SIGKILL cannot be
//! caught): it asks the kernel for a parent-death signal ([`die_with_parent`]).

use std::io;
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, Once};
use std::time::Duration;

/// The signal that interrupted the run (0: none yet).
static SIGNAL: AtomicUsize = AtomicUsize::new(0);
/// Set by the first terminating signal: a second one exits at once.
static ARMED: AtomicBool = AtomicBool::new(false);

/// The environment variable through which a parent tells its child its pid, so that the
/// child can tell whether its parent died before the parent-death signal was armed.
pub const PARENT_PID_VAR: &str = "WQCHECK_PARENT_PID";

/// The signals that interrupt a run.
#[cfg(unix)]
const SIGNALS: [i32; 3] = [
    signal_hook::consts::SIGINT,
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGHUP,
];

/// Catch SIGINT, SIGTERM and SIGHUP from now on (idempotent).
pub fn install() -> io::Result<()> {
    static ONCE: Once = Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| {
        #[cfg(unix)]
        for sig in SIGNALS.into_iter().filter(|s| !ignored_at_start(*s)) {
            // The order matters: the shutdown action sees ARMED as it was before this
            // signal, so only a second signal exits at once (signal-hook runs a signal's
            // actions in the order they were registered).
            let r = signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, &ARMED)
                .and_then(|_| signal_hook::flag::register(sig, &ARMED))
                .and_then(|_| signal_hook::flag::register_usize(sig, &SIGNAL, sig as usize));
            if let Err(e) = r {
                result = Err(e);
                return;
            }
        }
    });
    result
}

/// Whether `sig` was ignored when wqcheck started (`nohup` ignores SIGHUP, a shell's
/// background job SIGINT): a handler would undo what the user asked for, so such a signal
/// stays ignored. Read from the kernel's `SigIgn` mask in `/proc/self/status`; elsewhere
/// than on Linux, every signal counts as not ignored.
#[cfg(unix)]
fn ignored_at_start(sig: i32) -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    let mask = status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        .unwrap_or(0);
    (1..=64).contains(&sig) && mask & (1 << (sig - 1)) != 0
}

/// The signal that interrupted the run, if one did.
pub fn received() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => i32::try_from(s).ok(),
    }
}

/// A signal's name, `SIGTERM`, or its number when it has none we know.
pub fn signal_name(sig: i32) -> String {
    #[cfg(unix)]
    if let Some(name) = signal_hook::low_level::signal_name(sig) {
        return name.to_string();
    }
    format!("signal {sig}")
}

/// The running children's pids, and whether more may start.
struct Slot {
    pids: Vec<u32>,
    closed: bool,
}

static CHILDREN: Mutex<Slot> = Mutex::new(Slot {
    pids: Vec::new(),
    closed: false,
});
/// Notified whenever a running child has been reaped.
static REAPED: Condvar = Condvar::new();

fn slot() -> MutexGuard<'static, Slot> {
    // The slot holds pids and a flag: a panic elsewhere cannot leave it inconsistent.
    CHILDREN.lock().unwrap_or_else(|e| e.into_inner())
}

impl Slot {
    /// `child` is reaped: it is no longer running.
    fn reaped(&mut self, child: &Child) {
        self.pids.retain(|&p| p != child.id());
        REAPED.notify_all();
    }
}

/// Start `cmd` as a running child, unless the run was interrupted (then `None`).
pub fn spawn(cmd: &mut Command) -> io::Result<Option<Child>> {
    let mut slot = slot();
    if slot.closed || received().is_some() {
        return Ok(None);
    }
    let child = cmd.spawn()?;
    slot.pids.push(child.id());
    Ok(Some(child))
}

/// [`Child::try_wait`] for a running child; once it has ended (and so been reaped), it
/// is no longer running.
pub fn try_wait(child: &mut Child) -> io::Result<Option<ExitStatus>> {
    let mut slot = slot();
    let r = child.try_wait();
    if !matches!(r, Ok(None)) {
        slot.reaped(child);
    }
    r
}

/// Kill a running child and reap it.
pub fn kill_and_reap(child: &mut Child) {
    let mut slot = slot();
    let _ = child.kill();
    let _ = child.wait();
    slot.reaped(child);
}

/// Kill the running children, let no other start, and wait at most `patience` for the
/// threads that started them to reap them (their wait loops poll every few
/// milliseconds).
pub fn stop_children(patience: Duration) {
    let mut slot = slot();
    slot.closed = true;
    for &pid in &slot.pids {
        kill(pid);
    }
    let _ = REAPED.wait_timeout_while(slot, patience, |s| !s.pids.is_empty());
}

/// SIGKILL to `pid`, a child not yet reaped (so the pid is still ours).
fn kill(pid: u32) {
    #[cfg(unix)]
    if let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    }
    #[cfg(not(unix))]
    let _ = pid;
}

/// In a child: die when the parent does, even when the parent is killed outright. If the
/// parent already died before this was armed (the race the parent-death signal leaves),
/// exit now.
pub fn die_with_parent() {
    #[cfg(target_os = "linux")]
    {
        let _ =
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL));
        let expected = std::env::var(PARENT_PID_VAR)
            .ok()
            .and_then(|v| v.parse::<i32>().ok());
        let parent = rustix::process::getppid().map(|p| p.as_raw_nonzero().get());
        if expected.is_some() && parent != expected {
            std::process::exit(crate::exit::ERROR);
        }
    }
}
