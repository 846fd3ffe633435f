//! `wqcheck [OPTIONS] <PATH>...` — see the crate docs of `wqcheck` (src/lib.rs).
use clap::Parser;

fn main() {
    // Panics are caught per scenario and reported as internal errors; the default hook
    // would print Rust's panic noise in the middle of the report.
    std::panic::set_hook(Box::new(|_| {}));
    let args = wqcheck::Args::parse();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let code = wqcheck::run(&args, &mut out);
    // `exit` runs no destructors: flush what is buffered first. An interrupted run may
    // leave a native search running on its worker thread; exiting ends it.
    let _ = std::io::Write::flush(&mut out);
    std::process::exit(code);
}
