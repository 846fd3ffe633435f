//! The kernel prelude: headers written in the DSL from the kernel's source
//! (models/prelude/), which a model includes as C includes a header:
//! `#include <linux/completion.h>`. Their texts are compiled into the crate, so a model
//! that includes one needs no other file, and checks the same everywhere.
//!
//! A header's declarations come before the model's own, as in C; a header is included
//! once however often it is named. Its diagnostics, traces and messages name it by its
//! file (`<prelude>/linux/completion.wq`), with its own line numbers.

/// One header of the prelude.
pub struct Header {
    /// What `#include <...>` names: `linux/completion.h`.
    pub include: &'static str,
    /// The file its diagnostics name.
    pub file: &'static str,
    /// Its text.
    pub text: &'static str,
}

/// Every header, by the name a kernel source file includes it by.
pub const HEADERS: &[Header] = &[
    Header {
        include: "linux/completion.h",
        file: "<prelude>/linux/completion.wq",
        text: include_str!("../../../models/prelude/linux/completion.wq"),
    },
    Header {
        include: "linux/mutex.h",
        file: "<prelude>/linux/mutex.wq",
        text: include_str!("../../../models/prelude/linux/mutex.wq"),
    },
    Header {
        include: "linux/semaphore.h",
        file: "<prelude>/linux/semaphore.wq",
        text: include_str!("../../../models/prelude/linux/semaphore.wq"),
    },
];

/// Headers whose API the DSL has built in (`wait_event()`, `schedule()`, `set_bit()`,
/// ...): including them is allowed, so a model can open as its kernel source does, and
/// reads nothing.
pub const BUILTIN_HEADERS: &[&str] = &[
    "linux/wait.h",
    "linux/wait_bit.h",
    "linux/sched.h",
    "linux/sched/signal.h",
    "linux/sched/wake_q.h",
    "linux/spinlock.h",
    "linux/atomic.h",
    "linux/bitops.h",
    "linux/timer.h",
];

/// The header `#include <name>` names.
pub fn header(name: &str) -> Option<&'static Header> {
    HEADERS.iter().find(|h| h.include == name)
}

/// The text of the header whose diagnostics name `file`, for rendering them.
pub fn text(file: &str) -> Option<&'static str> {
    HEADERS.iter().find(|h| h.file == file).map(|h| h.text)
}
