//! Runs the recursive parser and checker on a thread with a large stack.
//!
//! Their recursion is bounded by [`MAX_DEPTH`](crate::parser::MAX_DEPTH) levels, but an
//! unoptimised build uses several kilobytes of stack per level, more than a test
//! thread's 2 MiB. A scoped thread with a generous stack makes the bound safe in every
//! build; if the thread cannot be spawned the work runs on the caller's thread.

/// Stack size for the worker thread (reserved, committed lazily by the OS).
const STACK_SIZE: usize = 64 << 20;

/// Runs `f` on a scoped thread with a [`STACK_SIZE`] stack and returns its result; a
/// panic in `f` is resumed on the caller's thread.
pub(crate) fn with_big_stack<R: Send, F: FnOnce() -> R + Send>(f: F) -> R {
    let mut job = Some(f);
    let ran = std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .name("wqcheck-dsl".to_string())
            .stack_size(STACK_SIZE)
            .spawn_scoped(scope, || job.take().map(|f| f()));
        match spawned {
            Ok(handle) => match handle.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            },
            Err(_) => None,
        }
    });
    match ran {
        Some(r) => r,
        None => match job.take() {
            Some(f) => f(),
            // The thread took the job and returned None only if it never ran `f`, which
            // `Option::map` rules out; keep a total fallback anyway.
            None => std::panic::resume_unwind(Box::new("wqcheck-dsl worker lost its job")),
        },
    }
}
