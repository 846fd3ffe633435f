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
    std::process::exit(code);
}
