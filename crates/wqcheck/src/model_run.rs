//! A model (`.wq`) checked directly, without a scenario file: `wqcheck check MODEL.wq
//! --init PG_locked=1 --thread locker --thread locker --thread holder --fatal-signal
//! locker1`.
//!
//! The command line's `--init`, `--thread`, `--signal` and `--fatal-signal` are written out as the
//! scenario a user would have saved ([`scenario_text`]), and that text goes through the
//! same parser and checks as a file would: one set of rules and messages, and a
//! diagnostic about a thread points at the scenario line the option became, under the
//! name [`COMMAND_LINE`]. Such a scenario has no `expect`: its results are explorations
//! (reported, never failed), as for a saved scenario without one.
//!
//! loom and shuttle children get the same options and rebuild the same scenario, so every
//! engine runs exactly what the parent checked.

use std::path::Path;

use crate::Args;

/// The file name diagnostics give the scenario written from the command line.
pub const COMMAND_LINE: &str = "<command line>";

/// Whether `path` names a model (`.wq`) rather than a scenario.
pub fn is_model(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "wq")
}

/// Whether the command line describes the threads of a model run.
pub fn given(args: &Args) -> bool {
    options(args).iter().any(|(_, values)| !values.is_empty())
}

/// A scenario value from the command line: an integer as it is, anything else (a
/// constant's or a thread's name) as a RON string.
fn value(x: &str) -> String {
    match x.trim().parse::<i64>() {
        Ok(n) => n.to_string(),
        Err(_) => format!("{:?}", x.trim()),
    }
}

/// One `--thread [NAME=]FUNCTION[(ARG, ...)]`.
#[derive(Debug, PartialEq, Eq)]
struct ThreadSpec<'a> {
    name: Option<&'a str>,
    run: &'a str,
    args: Vec<&'a str>,
}

/// Read `[NAME=]FUNCTION[(ARG, ...)]`.
fn thread_spec(text: &str) -> Result<ThreadSpec<'_>, String> {
    let bad = |why: &str| {
        format!("`--thread {text}`: {why}; give `FUNCTION`, `NAME=FUNCTION` or `FUNCTION(ARG, ...)`, e.g. `--thread locker` or `--thread t2=waiter(TASK_KILLABLE)`")
    };
    let (name, rest) = match text.split_once('=') {
        Some((n, r)) => (Some(n.trim()), r.trim()),
        None => (None, text.trim()),
    };
    let (run, args) = match rest.split_once('(') {
        Some((f, a)) => {
            let a = a
                .trim_end()
                .strip_suffix(')')
                .ok_or_else(|| bad("the arguments have no closing `)`"))?;
            let args: Vec<&str> = a
                .split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .collect();
            (f.trim(), args)
        }
        None => (rest, Vec::new()),
    };
    let ident = |s: &str| {
        !s.is_empty()
            && !s.starts_with(|c: char| c.is_ascii_digit())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    if !ident(run) {
        return Err(bad("no function name"));
    }
    if let Some(n) = name {
        if n.is_empty() || n.chars().any(|c| c.is_control() || c == '"' || c == '\\') {
            return Err(bad("the thread's name is empty or has a quote"));
        }
    }
    for a in &args {
        if !(ident(a) || a.parse::<i64>().is_ok()) {
            return Err(bad(&format!(
                "argument `{a}` is neither an integer nor a constant's name"
            )));
        }
    }
    Ok(ThreadSpec { name, run, args })
}

/// The scenario the command line describes for the model at `path`, as RON: a thread per
/// `--thread` (named after its function, numbered when a function runs in several), a
/// `Signal` actor per `--signal` and `--fatal-signal` (comma-separated targets: one of
/// them gets it), no `expect`. An error is a usage error with its help.
pub fn scenario_text(path: &Path, args: &Args) -> Result<String, String> {
    if args.threads.is_empty() {
        return Err(
            "--signal, --fatal-signal and --init go with the threads of a model: add `--thread FUNCTION` for each thread".into(),
        );
    }
    let specs = args
        .threads
        .iter()
        .map(|t| thread_spec(t))
        .collect::<Result<Vec<_>, _>>()?;
    let model = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut text = format!("Scenario(\n    model: {model:?},\n");
    if !args.init.is_empty() {
        let mut inits = Vec::new();
        for i in &args.init {
            let Some((name, v)) = i.split_once('=') else {
                return Err(format!(
                    "`--init {i}`: give `NAME=VALUE`, e.g. `--init PG_locked=1` or `--init k=kthread`"
                ));
            };
            inits.push(format!("{:?}: {}", name.trim(), value(v)));
        }
        text += &format!("    init: {{ {} }},\n", inits.join(", "));
    }
    text += "    threads: [\n";
    let mut seen: std::collections::BTreeMap<&str, usize> = Default::default();
    for s in &specs {
        let runs = specs.iter().filter(|o| o.run == s.run).count();
        let name = match s.name {
            Some(n) => n.to_string(),
            None if runs == 1 => s.run.to_string(),
            None => {
                let k = seen.entry(s.run).or_default();
                *k += 1;
                format!("{}{k}", s.run)
            }
        };
        let args = if s.args.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = (s.args.iter()).map(|a| value(a)).collect();
            format!(", args: [{}]", list.join(", "))
        };
        text += &format!("        Thread(name: {name:?}, run: {:?}{args}),\n", s.run);
    }
    text += "    ],\n";
    let signals =
        (args.signal.iter().map(|t| (t, false))).chain(args.fatal_signal.iter().map(|t| (t, true)));
    let actors: Vec<String> = signals
        .map(|(targets, fatal)| {
            let list: Vec<String> = (targets.split(','))
                .map(|t| format!("{:?}", t.trim()))
                .collect();
            format!(
                "        Signal(target: [{}], fatal: {fatal}),\n",
                list.join(", ")
            )
        })
        .collect();
    if !actors.is_empty() {
        text += "    actors: [\n";
        text += &actors.concat();
        text += "    ],\n";
    }
    text += ")\n";
    Ok(text)
}

/// The options that make a model run's scenario, each with its values, in the order a
/// command line gives them.
fn options(args: &Args) -> [(&'static str, &[String]); 4] {
    [
        ("--init", &args.init),
        ("--thread", &args.threads),
        ("--signal", &args.signal),
        ("--fatal-signal", &args.fatal_signal),
    ]
}

/// How results name a model run: the model and the options that make its scenario, as
/// they would be typed again (so the replay hint of a shuttle result is a command that
/// works), e.g. `models/m.wq -t locker -t holder --fatal-signal locker1`.
pub fn display(model: &str, args: &Args) -> String {
    let mut text = model.to_string();
    for (flag, values) in options(args) {
        let flag = if flag == "--thread" { "-t" } else { flag };
        for x in values {
            text += &format!(" {flag} {}", shell_word(x));
        }
    }
    text
}

/// `x` as one shell word: as it is when that is safe, else in single quotes.
fn shell_word(x: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_=,.-+/:".contains(c);
    if !x.is_empty() && x.chars().all(plain) {
        x.to_string()
    } else {
        format!("'{}'", x.replace('\'', "'\\''"))
    }
}

/// The options a child needs to rebuild the scenario: the command line's own.
pub fn child_args(args: &Args) -> Vec<String> {
    let flags = options(args).into_iter();
    flags
        .flat_map(|(flag, values)| values.iter().map(move |x| format!("{flag}={x}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_specs_take_a_name_a_function_and_arguments() {
        assert_eq!(
            thread_spec("t2=waiter(TASK_KILLABLE, 2)"),
            Ok(ThreadSpec {
                name: Some("t2"),
                run: "waiter",
                args: vec!["TASK_KILLABLE", "2"]
            })
        );
        assert_eq!(
            thread_spec("locker"),
            Ok(ThreadSpec {
                name: None,
                run: "locker",
                args: vec![]
            })
        );
        for bad in ["", "2x", "f(1", "f(\"x\")", "=f", "a b"] {
            assert!(thread_spec(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_model_run_is_named_by_the_command_that_repeats_it() {
        let args = <Args as clap::Parser>::parse_from([
            "wqcheck",
            "m.wq",
            "-t",
            "waiter(TASK_KILLABLE, 1)",
            "-t",
            "b=waker",
            "--fatal-signal",
            "waiter",
        ]);
        assert_eq!(
            display("m.wq", &args),
            "m.wq -t 'waiter(TASK_KILLABLE, 1)' -t b=waker --fatal-signal waiter"
        );
        assert_eq!(shell_word("it's"), "'it'\\''s'");
    }

    #[test]
    fn a_function_run_by_several_threads_numbers_them() {
        let args = <Args as clap::Parser>::parse_from([
            "wqcheck",
            "m.wq",
            "--thread",
            "locker",
            "--thread",
            "locker",
            "--thread",
            "holder",
            "--fatal-signal",
            "locker1,locker2",
            "--init",
            "PG_locked=1",
        ]);
        assert_eq!(
            scenario_text(Path::new("models/m.wq"), &args).unwrap(),
            "Scenario(\n    model: \"m.wq\",\n    init: { \"PG_locked\": 1 },\n    threads: [\n        Thread(name: \"locker1\", run: \"locker\"),\n        Thread(name: \"locker2\", run: \"locker\"),\n        Thread(name: \"holder\", run: \"holder\"),\n    ],\n    actors: [\n        Signal(target: [\"locker1\", \"locker2\"], fatal: true),\n    ],\n)\n"
        );
    }
}
