//! The progress lines on stderr (`--progress`, or when stderr is a terminal): a bar of
//! how much of a budget a run has used, with what it has done and its rate.
//!
//! Three places draw one: a native search (states against `max_states`, else time
//! against `max_seconds`; with neither there is no budget to fill, and the line shows
//! the count and rate alone), a loom or shuttle child (time against its budget, the
//! one thing the parent sees of it), and several jobs at once (scenarios finished of
//! all). Each line overwrites itself (`\r`) and is cleared before a result is printed,
//! so the output on stdout is the same with or without progress.

/// The bar's width in characters, between its brackets.
const BAR: usize = 20;

/// `[#####...............]` for `done` of `total` (a full bar past the total; an empty
/// one for a total of 0).
pub fn bar(done: f64, total: f64) -> String {
    let fraction = if total > 0.0 {
        (done / total).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let filled = (fraction * BAR as f64).floor() as usize;
    format!("[{}{}]", "#".repeat(filled), ".".repeat(BAR - filled))
}

/// `1,234,567`: a count as result lines print it.
pub fn count(n: u64) -> String {
    wqcheck_report::thousands(n)
}

/// A native search's line: `NAME: [###...] 1,200 of 2,000 states, depth 9, 3 s, 400
/// states/s` with a state budget, the bar over time with a time budget, no bar without
/// either.
pub fn native_line(
    name: &str,
    states: u64,
    depth: u32,
    secs: f64,
    max_states: Option<u64>,
    max_secs: Option<f64>,
) -> String {
    let rate = if secs > 0.0 {
        states as f64 / secs
    } else {
        0.0
    };
    let rate = count(rate as u64);
    match (max_states, max_secs) {
        (Some(m), _) => format!(
            "  {name}: {} {} of {} states, depth {depth}, {secs:.0} s, {rate} states/s",
            bar(states as f64, m as f64),
            count(states),
            count(m)
        ),
        (None, Some(t)) => format!(
            "  {name}: {} {secs:.0} s of at most {t:.0} s, {} states, depth {depth}, {rate} states/s",
            bar(secs, t),
            count(states)
        ),
        (None, None) => format!(
            "  {name}: {} states, depth {depth}, {secs:.0} s, {rate} states/s",
            count(states)
        ),
    }
}

/// A loom or shuttle child's line: `NAME [loom]: [###...] 12 s of at most 60 s`, the
/// search's own budget (the one its result line names). loom may go on past it to
/// follow a counterexample it found, and the line says so then.
pub fn child_line(name: &str, engine: &str, secs: u64, budget: u64) -> String {
    let bar = bar(secs as f64, budget as f64);
    if secs > budget {
        format!("  {name} [{engine}]: {bar} {secs} s, past its {budget} s search: following a counterexample")
    } else {
        format!("  {name} [{engine}]: {bar} {secs} s of at most {budget} s")
    }
}

/// Several jobs' line: `[####...] 12 of 48 scenarios, 14 s, 0.9/s; waiting for NAME`.
pub fn jobs_line(finished: usize, total: usize, secs: u64, waiting_for: &str) -> String {
    let rate = if secs > 0 {
        finished as f64 / secs as f64
    } else {
        0.0
    };
    format!(
        "  {} {finished} of {total} scenarios, {secs} s, {rate:.1}/s; waiting for {waiting_for}",
        bar(finished as f64, total as f64)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_with_the_budget_used() {
        assert_eq!(bar(0.0, 10.0), format!("[{}]", ".".repeat(20)));
        assert_eq!(
            bar(5.0, 10.0),
            format!("[{}{}]", "#".repeat(10), ".".repeat(10))
        );
        assert_eq!(bar(11.0, 10.0), format!("[{}]", "#".repeat(20)));
        assert_eq!(bar(3.0, 0.0), format!("[{}]", ".".repeat(20)));
    }

    #[test]
    fn a_native_line_fills_its_bar_with_the_budget_it_has() {
        let states = native_line("s.ron", 1_500, 9, 3.0, Some(2_000), Some(60.0));
        assert_eq!(
            states,
            format!(
                "  s.ron: [{}{}] 1,500 of 2,000 states, depth 9, 3 s, 500 states/s",
                "#".repeat(15),
                ".".repeat(5)
            )
        );
        let time = native_line("s.ron", 1_500, 9, 30.0, None, Some(60.0));
        assert!(
            time.contains("] 30 s of at most 60 s, 1,500 states"),
            "{time}"
        );
        let none = native_line("s.ron", 1_500, 9, 3.0, None, None);
        assert_eq!(none, "  s.ron: 1,500 states, depth 9, 3 s, 500 states/s");
    }

    #[test]
    fn the_jobs_line_counts_scenarios_and_names_the_one_waited_for() {
        let line = jobs_line(12, 48, 10, "scenarios/x.ron");
        assert_eq!(
            line,
            format!(
                "  [{}{}] 12 of 48 scenarios, 10 s, 1.2/s; waiting for scenarios/x.ron",
                "#".repeat(5),
                ".".repeat(15)
            )
        );
        assert!(child_line("x.ron", "loom", 30, 60).ends_with("] 30 s of at most 60 s"));
        assert!(child_line("x.ron", "loom", 61, 60)
            .ends_with("] 61 s, past its 60 s search: following a counterexample"));
    }
}
