//! Scenario files (`.ron`, docs/dsl.md §10): parsing with serde + `ron`, locating the
//! text of each value (serde gives no spans), and resolving names against a checked
//! [`ir::Program`] into an [`ir::Instance`].
//!
//! This module owns the scenario format (which fields exist, which are optional, unknown
//! fields being errors), the translation of `ron`/serde errors into diagnostics with
//! spans and the allowed values, and every semantic rule on scenarios (thread names,
//! thread bodies and their arguments, signal targets, `init` overrides, backends, loom
//! and shuttle settings).

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use wqcheck_model::ir::{self, Span, Value, MAX_MEMORY_MIB};
use wqcheck_model::verdict::Claim;

use crate::diag::{did_you_mean, name_list, Diagnostic, Kept, MAX_LISTED_NAMES, MAX_SUGGESTIONS};

/// The most threads a scenario may have.
pub const MAX_THREADS: usize = ir::MAX_TASKS;
/// The most actors (signals) a scenario may have: each is a mover of every state, and the
/// engines number movers with a byte.
pub const MAX_ACTORS: usize = 16;

/// The largest `loom.max_preemptions` a scenario may ask for.
pub const MAX_LOOM_PREEMPTIONS: u32 = 10;

/// The largest `shuttle.depth` (PCT's bug depth) a scenario may ask for.
pub const MAX_SHUTTLE_DEPTH: u32 = 10;

/// The largest `shuttle.iterations` a scenario may ask for.
pub const MAX_SHUTTLE_ITERATIONS: u64 = 10_000_000;

/// The largest `tso.store_buffer` a scenario may ask for.
pub const MAX_STORE_BUFFER: u8 = 8;

/// The store buffer of the native explorer under TSO, when a scenario does not say.
pub const DEFAULT_STORE_BUFFER: u8 = 2;

/// A parsed scenario file; names are not resolved yet (see [`resolve_scenario`]).
/// Every span is a byte range in the scenario text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioFile {
    /// The model path exactly as written (relative to the scenario file).
    pub model: String,
    pub model_span: Span,
    /// `init` overrides in file order.
    pub init: Vec<InitOverride>,
    pub threads: Vec<ScenarioThread>,
    /// Span of the `threads` field name (for "no threads").
    pub threads_span: Span,
    /// Span of the `threads` list value, from its `[` to its `]` (becomes
    /// [`ir::Instance::threads_span`]).
    pub threads_list_span: Span,
    pub actors: Vec<ScenarioActor>,
    pub bounds: ir::Bounds,
    /// Span of the `max_memory_mib` value (default when absent).
    pub max_memory_span: Span,
    /// [`ir::Expectation::Unstated`] when the scenario has no `expect`.
    pub expect: ir::Expectation,
    /// `require: Exhaustive`: the weakest claim a run without a violation may make.
    pub require: Option<Claim>,
    /// `backends: [...]` in file order, each with the span of its name; `None` when the
    /// field is absent (the default, `[Native]`, is applied by [`resolve_scenario`]).
    pub backends: Option<Vec<(ir::Backend, Span)>>,
    /// Span of the `backends` list value, `[` to `]` (default when absent).
    pub backends_span: Span,
    /// `loom: (...)`; all default when absent.
    pub loom: ScenarioLoom,
    /// `shuttle: (...)`; all default when absent.
    pub shuttle: ScenarioShuttle,
    /// `memory: [...]` in file order, each with the span of its name; `None` when absent
    /// (the default, `[Sc]`).
    pub memory: Option<Vec<(ir::MemoryModel, Span)>>,
    /// Span of the `memory` list value (default when absent).
    pub memory_span: Span,
    /// `tso: (...)`; all default when absent.
    pub tso: ScenarioTso,
    /// `liveness: (returns: [..], fairness: ..)`; `None` when absent.
    pub liveness: Option<ScenarioLiveness>,
}

/// `liveness: (returns: ["thread1"], fairness: Weak)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioLiveness {
    /// Thread names with the span of each.
    pub returns: Vec<(String, Span)>,
    pub fairness: ir::Fairness,
    /// Span of the `liveness` field name.
    pub span: Span,
}

/// `tso: (expect: .., store_buffer: ..)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScenarioTso {
    pub settings: ir::TsoSettings,
    /// Span of the `store_buffer` value (default when absent).
    pub store_buffer_span: Span,
}

/// `loom: (expect: .., max_preemptions: .., exhaustive: .., max_branches: .., max_seconds: ..)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScenarioLoom {
    /// The values as written; a field not written is `None` (`exhaustive`: `false`).
    pub settings: ir::LoomSettings,
    /// Span of the `max_preemptions` value (default when absent).
    pub max_preemptions_span: Span,
    /// Span of the `max_branches` value (default when absent).
    pub max_branches_span: Span,
}

/// `shuttle: (expect: .., scheduler: .., depth: .., iterations: .., seed: .., max_seconds: ..)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScenarioShuttle {
    /// The values as written; a field not written is `None` (defaults are the backend's).
    pub settings: ir::ShuttleSettings,
    /// Span of the `scheduler` value (default when absent).
    pub scheduler_span: Span,
    /// Span of the `depth` field name (default when absent).
    pub depth_key_span: Span,
    /// Span of the `depth` value (default when absent).
    pub depth_span: Span,
    /// Span of the `iterations` value (default when absent).
    pub iterations_span: Span,
}

/// `"NAME": value` in `init`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitOverride {
    pub var: String,
    /// The integer, or 0 when the value is a thread's name (`thread`).
    pub value: i64,
    /// `"NAME": "thread1"`: a task pointer that starts pointing to that thread.
    pub thread: Option<String>,
    pub var_span: Span,
    pub value_span: Span,
}

/// `Thread(name: .., run: .., args: [..], daemon: ..)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioThread {
    pub name: String,
    pub name_span: Span,
    pub run: String,
    pub run_span: Span,
    pub args: Vec<i64>,
    /// `daemon: true`: it may sleep for ever once the other threads have returned.
    pub daemon: bool,
}

/// An environment actor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScenarioActor {
    /// `Signal(target: [..], fatal: bool, name: "..")`.
    Signal {
        name: Option<String>,
        name_span: Span,
        /// Thread names with the span of each.
        targets: Vec<(String, Span)>,
        fatal: bool,
        /// `after: ("thread", "label")`: the thread and the label, with their spans.
        after: Option<((String, Span), (String, Span))>,
        /// Span of the `target` field name.
        span: Span,
    },
}

// ---------------------------------------------------------------- serde shapes

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename = "Scenario")]
struct RawScenario {
    model: String,
    #[serde(default)]
    init: InitMap,
    threads: Vec<RawThread>,
    #[serde(default)]
    actors: Vec<RawActor>,
    #[serde(default)]
    bounds: RawBounds,
    #[serde(default)]
    backends: Option<Vec<RawBackend>>,
    #[serde(default)]
    loom: RawLoom,
    #[serde(default)]
    shuttle: RawShuttle,
    #[serde(default)]
    memory: Option<Vec<RawMemory>>,
    #[serde(default)]
    tso: RawTso,
    #[serde(default)]
    expect: Option<RawExpect>,
    #[serde(default)]
    require: Option<RawRequire>,
    #[serde(default)]
    liveness: Option<RawLiveness>,
}

/// `liveness: (returns: ["thread1"], fairness: Weak)`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename = "Liveness")]
struct RawLiveness {
    returns: Vec<String>,
    /// Not an `Option`: RON would read `fairness: None` as an absent value.
    #[serde(default)]
    fairness: RawFairness,
}

#[derive(Deserialize, Clone, Copy, Default)]
#[serde(rename = "Fairness")]
enum RawFairness {
    None,
    #[default]
    Weak,
    Strong,
}

impl RawFairness {
    fn to_ir(self) -> ir::Fairness {
        match self {
            RawFairness::None => ir::Fairness::None,
            RawFairness::Weak => ir::Fairness::Weak,
            RawFairness::Strong => ir::Fairness::Strong,
        }
    }
}

/// `require: Exhaustive | Bounded | Sampled`.
#[derive(Deserialize, Clone, Copy)]
#[serde(rename = "Require")]
enum RawRequire {
    Exhaustive,
    Bounded,
    Sampled,
}

impl RawRequire {
    fn to_claim(self) -> Claim {
        match self {
            RawRequire::Exhaustive => Claim::Exhaustive,
            RawRequire::Bounded => Claim::Bounded,
            RawRequire::Sampled => Claim::Sampled,
        }
    }
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename = "Memory")]
enum RawMemory {
    Sc,
    Tso,
}

impl RawMemory {
    fn to_ir(self) -> ir::MemoryModel {
        match self {
            RawMemory::Sc => ir::MemoryModel::Sc,
            RawMemory::Tso => ir::MemoryModel::Tso,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename = "Tso")]
struct RawTso {
    #[serde(default)]
    expect: Option<RawExpect>,
    #[serde(default)]
    store_buffer: Option<u8>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename = "Thread")]
struct RawThread {
    name: String,
    run: String,
    #[serde(default)]
    args: Vec<RawArg>,
    #[serde(default)]
    daemon: bool,
}

/// A thread argument: an integer, or the name of a predefined constant
/// (`"TASK_KILLABLE"`, docs/dsl.md §6).
#[derive(Deserialize)]
#[serde(untagged)]
enum RawArg {
    Int(i64),
    Name(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename = "Actor")]
enum RawActor {
    Signal {
        target: Vec<String>,
        fatal: bool,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        after: Option<(String, String)>,
    },
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename = "Bounds")]
struct RawBounds {
    #[serde(default)]
    max_states: Option<u64>,
    #[serde(default)]
    max_seconds: Option<u64>,
    #[serde(default)]
    max_memory_mib: Option<u64>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename = "Expect")]
enum RawExpect {
    Holds,
    LostWakeup,
    Deadlock,
    AssertionFailed,
    Starvation,
    Livelock,
}

impl RawExpect {
    fn to_ir(self) -> ir::Expectation {
        match self {
            RawExpect::Holds => ir::Expectation::Holds,
            RawExpect::LostWakeup => ir::Expectation::LostWakeup,
            RawExpect::Deadlock => ir::Expectation::Deadlock,
            RawExpect::AssertionFailed => ir::Expectation::AssertionFailed,
            RawExpect::Starvation => ir::Expectation::Starvation,
            RawExpect::Livelock => ir::Expectation::Livelock,
        }
    }
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename = "Backend")]
enum RawBackend {
    Native,
    Loom,
    Shuttle,
}

impl RawBackend {
    fn to_ir(self) -> ir::Backend {
        match self {
            RawBackend::Native => ir::Backend::Native,
            RawBackend::Loom => ir::Backend::Loom,
            RawBackend::Shuttle => ir::Backend::Shuttle,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename = "Loom")]
struct RawLoom {
    #[serde(default)]
    expect: Option<RawExpect>,
    #[serde(default)]
    max_preemptions: Option<u32>,
    #[serde(default)]
    exhaustive: bool,
    #[serde(default)]
    max_branches: Option<u32>,
    #[serde(default)]
    max_seconds: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename = "Shuttle")]
struct RawShuttle {
    #[serde(default)]
    expect: Option<RawExpect>,
    #[serde(default)]
    scheduler: Option<RawScheduler>,
    #[serde(default)]
    depth: Option<u32>,
    #[serde(default)]
    iterations: Option<u64>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    max_seconds: Option<u64>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename = "Scheduler")]
enum RawScheduler {
    Random,
    Pct,
    Dfs,
}

impl RawScheduler {
    fn to_ir(self) -> ir::ShuttleScheduler {
        match self {
            RawScheduler::Random => ir::ShuttleScheduler::Random,
            RawScheduler::Pct => ir::ShuttleScheduler::Pct,
            RawScheduler::Dfs => ir::ShuttleScheduler::Dfs,
        }
    }
}

/// `init: { "NAME": value, ... }`, in file order, duplicates kept (reported later).
#[derive(Default)]
struct InitMap(Vec<(String, RawInitValue)>);

/// An `init` value: an integer, or a thread's name (for a task pointer).
#[derive(Deserialize)]
#[serde(untagged)]
enum RawInitValue {
    Int(i64),
    Thread(String),
}

impl<'de> Deserialize<'de> for InitMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = InitMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a map of shared variable names to integers, like `{ \"PG_locked\": 1 }` (a task pointer's value is a thread's name)",
                )
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<InitMap, A::Error> {
                let mut v = Vec::new();
                while let Some((k, x)) = m.next_entry::<String, RawInitValue>()? {
                    v.push((k, x));
                }
                Ok(InitMap(v))
            }
        }
        d.deserialize_map(V)
    }
}

/// What each struct's fields are, for "missing field" and "unknown field" help.
fn fields_of(outer: &str) -> Option<&'static str> {
    Some(match outer {
        "Scenario" => "`model`, `init` (optional), `threads`, `actors` (optional), `bounds` (optional), `backends` (optional), `memory` (optional), `loom` (optional), `shuttle` (optional), `tso` (optional), `expect` (optional: without it the verdict is reported, not checked), `require` (optional), `liveness` (optional)",
        "Thread" => "`name`, `run`, `args` (optional), `daemon` (optional)",
        "Signal" => "`target`, `fatal`, `name` (optional)",
        "Bounds" => "`max_states`, `max_seconds`, `max_memory_mib` (each optional)",
        "Loom" => "`expect`, `max_preemptions`, `exhaustive`, `max_branches`, `max_seconds` (each optional)",
        "Shuttle" => "`expect`, `scheduler`, `depth`, `iterations`, `seed`, `max_seconds` (each optional)",
        "Tso" => "`expect`, `store_buffer` (each optional)",
        "Liveness" => "`returns` (the threads that must eventually return), `fairness` (optional: `Weak`, the default, `Strong` or `None`)",
        _ => return None,
    })
}

fn missing_field_help(field: &str) -> Option<&'static str> {
    Some(match field {
        "model" => "add `model: \"path/to/model.wq\"` (relative to this file)",
        "threads" => "add `threads: [Thread(name: \"thread1\", run: \"FUNCTION\")]`",
        "name" => "add `name: \"thread1\"`",
        "run" => "add `run: \"FUNCTION\"`, the model function the thread runs",
        "target" => "add `target: [\"thread1\"]`, the threads the signal may go to",
        "fatal" => "add `fatal: true` (SIGKILL) or `fatal: false`",
        _ => return None,
    })
}

// ---------------------------------------------------------------- parsing

/// Parses a scenario file. `name` is the file name used in diagnostics.
pub fn parse_scenario(name: &str, text: &str) -> Result<ScenarioFile, Vec<Diagnostic>> {
    let opts =
        ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
    let raw: RawScenario = match opts.from_str(text) {
        Ok(r) => r,
        Err(e) => return Err(vec![ron_error(name, text, &e)]),
    };
    let loc = Locator::new(text);
    // The strings of each (top-level field, field, list element), indexed once: looking
    // them up by a scan per thread or actor made long lists quadratic.
    let mut by_field: HashMap<(&str, &str, usize), Vec<&StrLoc>> = HashMap::new();
    for s in &loc.strings {
        if let (Some(top), Some(key), Some(elem), false) =
            (s.top.as_deref(), s.key.as_deref(), s.elem, s.map_key)
        {
            by_field.entry((top, key, elem)).or_default().push(s);
        }
    }
    let strings_of = |top: &str, key: &str, elem: Option<usize>| -> Vec<&StrLoc> {
        match elem {
            Some(e) => by_field.get(&(top, key, e)).cloned().unwrap_or_default(),
            None => loc
                .strings
                .iter()
                .filter(|s| {
                    s.top.as_deref() == Some(top) && s.key.as_deref() == Some(key) && !s.map_key
                })
                .collect(),
        }
    };
    let find = |value: &str, structural: Option<&StrLoc>| -> Span {
        match structural {
            Some(s) if s.value == value => s.span,
            _ => loc.search(value),
        }
    };

    let model_span = find(
        &raw.model,
        strings_of("model", "model", None).first().copied(),
    );

    let init_keys: Vec<&StrLoc> = loc
        .strings
        .iter()
        .filter(|s| s.top.as_deref() == Some("init") && s.map_key)
        .collect();
    let init = raw
        .init
        .0
        .into_iter()
        .enumerate()
        .map(|(i, (var, value))| {
            let at = init_keys.get(i).copied();
            let var_span = find(&var, at);
            let value_span = match at {
                Some(s) if s.value == var => s.value_span.unwrap_or(var_span),
                _ => var_span,
            };
            let (value, thread) = match value {
                RawInitValue::Int(v) => (v, None),
                RawInitValue::Thread(t) => (0, Some(t)),
            };
            InitOverride {
                var,
                value,
                thread,
                var_span,
                value_span,
            }
        })
        .collect();

    let mut arg_errors = Vec::new();
    let threads = raw
        .threads
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let args = t
                .args
                .into_iter()
                .map(|a| match a {
                    RawArg::Int(v) => v,
                    RawArg::Name(n) => match crate::builtins::constant(&n) {
                        Some(v) => i64::from(v),
                        None => {
                            let span = find(
                                &n,
                                strings_of("threads", "args", Some(i))
                                    .into_iter()
                                    .find(|s| s.value == n),
                            );
                            let help = crate::diag::suggest(
                                &n,
                                crate::builtins::CONSTANTS.iter().map(|(c, _)| *c),
                            )
                            .unwrap_or_else(|| {
                                "an argument is an integer or a predefined constant such as \"TASK_KILLABLE\" (docs/dsl.md §6)".to_string()
                            });
                            arg_errors.push(
                                Diagnostic::new(
                                    name,
                                    span,
                                    format!("`{n}` is not a predefined constant"),
                                )
                                .with_opt_help(Some(help)),
                            );
                            0
                        }
                    },
                })
                .collect();
            let name_span = find(
                &t.name,
                strings_of("threads", "name", Some(i)).first().copied(),
            );
            let run_span = find(
                &t.run,
                strings_of("threads", "run", Some(i)).first().copied(),
            );
            ScenarioThread {
                name: t.name,
                name_span,
                run: t.run,
                run_span,
                args,
                daemon: t.daemon,
            }
        })
        .collect();
    if !arg_errors.is_empty() {
        return Err(arg_errors);
    }
    let threads_span = loc.key_span("threads").unwrap_or_default();
    let threads_list_span = loc.value_span("threads", "threads").unwrap_or(threads_span);

    let backends_span = loc.value_span("backends", "backends").unwrap_or_default();
    let backends = raw.backends.map(|list| {
        // `ron` accepted the list, so its identifiers are the backend names in order.
        let names = loc.idents_in(backends_span);
        list.into_iter()
            .enumerate()
            .map(|(i, b)| {
                let span = names.get(i).copied().unwrap_or(backends_span);
                (b.to_ir(), span)
            })
            .collect()
    });
    let loom = ScenarioLoom {
        settings: ir::LoomSettings {
            expect: raw.loom.expect.map(RawExpect::to_ir),
            max_preemptions: raw.loom.max_preemptions,
            exhaustive: raw.loom.exhaustive,
            max_branches: raw.loom.max_branches,
            max_seconds: raw.loom.max_seconds,
        },
        max_preemptions_span: loc
            .value_span("loom", "max_preemptions")
            .unwrap_or_default(),
        max_branches_span: loc.value_span("loom", "max_branches").unwrap_or_default(),
    };
    let shuttle = ScenarioShuttle {
        settings: ir::ShuttleSettings {
            expect: raw.shuttle.expect.map(RawExpect::to_ir),
            scheduler: raw.shuttle.scheduler.map(RawScheduler::to_ir),
            depth: raw.shuttle.depth,
            iterations: raw.shuttle.iterations,
            seed: raw.shuttle.seed,
            max_seconds: raw.shuttle.max_seconds,
        },
        scheduler_span: loc.value_span("shuttle", "scheduler").unwrap_or_default(),
        depth_key_span: loc.field_key_span("shuttle", "depth").unwrap_or_default(),
        depth_span: loc.value_span("shuttle", "depth").unwrap_or_default(),
        iterations_span: loc.value_span("shuttle", "iterations").unwrap_or_default(),
    };

    let memory_span = loc.value_span("memory", "memory").unwrap_or_default();
    let memory = raw.memory.map(|list| {
        let names = loc.idents_in(memory_span);
        list.into_iter()
            .enumerate()
            .map(|(i, m)| (m.to_ir(), names.get(i).copied().unwrap_or(memory_span)))
            .collect()
    });
    let tso = ScenarioTso {
        settings: ir::TsoSettings {
            expect: raw.tso.expect.map(RawExpect::to_ir),
            store_buffer: raw.tso.store_buffer,
        },
        store_buffer_span: loc.value_span("tso", "store_buffer").unwrap_or_default(),
    };

    let actors = raw
        .actors
        .into_iter()
        .enumerate()
        .map(|(k, a)| {
            let RawActor::Signal {
                target,
                fatal,
                name,
                after,
            } = a;
            let tlocs = strings_of("actors", "target", Some(k));
            let targets = target
                .into_iter()
                .enumerate()
                .map(|(j, t)| {
                    let span = find(&t, tlocs.get(j).copied());
                    (t, span)
                })
                .collect();
            let name_span = match &name {
                Some(n) => find(n, strings_of("actors", "name", Some(k)).first().copied()),
                None => Span::default(),
            };
            let span = loc.elem_key_span("target", k).unwrap_or_default();
            let after = after.map(|(thread, label)| {
                // The tuple's own strings, so that a thread named elsewhere too (in
                // `threads`) is pointed at here.
                let own = strings_of("actors", "after", Some(k));
                let at = |i: usize, v: &str| match own.get(i) {
                    Some(s) if s.value == v => s.span,
                    _ => loc.search(v),
                };
                let (ts, ls) = (at(0, &thread), at(1, &label));
                ((thread, ts), (label, ls))
            });
            ScenarioActor::Signal {
                name,
                name_span,
                targets,
                fatal,
                after,
                span,
            }
        })
        .collect();

    let liveness = raw.liveness.map(|lv| {
        let locs = strings_of("liveness", "returns", None);
        ScenarioLiveness {
            returns: lv
                .returns
                .into_iter()
                .enumerate()
                .map(|(j, t)| {
                    let span = find(&t, locs.get(j).copied());
                    (t, span)
                })
                .collect(),
            fairness: lv.fairness.to_ir(),
            span: loc.key_span("liveness").unwrap_or_default(),
        }
    });

    Ok(ScenarioFile {
        model: raw.model,
        model_span,
        init,
        threads,
        threads_span,
        threads_list_span,
        actors,
        bounds: ir::Bounds {
            max_states: raw.bounds.max_states,
            max_seconds: raw.bounds.max_seconds,
            max_memory_mib: raw.bounds.max_memory_mib,
        },
        max_memory_span: loc
            .value_span("bounds", "max_memory_mib")
            .unwrap_or_default(),
        expect: raw
            .expect
            .map_or(ir::Expectation::Unstated, RawExpect::to_ir),
        require: raw.require.map(RawRequire::to_claim),
        backends,
        backends_span,
        loom,
        shuttle,
        memory,
        memory_span,
        tso,
        liveness,
    })
}

/// Byte offset of a `ron` position (1-based line, 1-based byte column).
fn offset_of(text: &str, line: usize, col: usize) -> usize {
    if line == 0 {
        return 0;
    }
    let mut start = 0usize;
    for _ in 1..line {
        match text.get(start..).and_then(|s| s.find('\n')) {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    let mut o = (start + col.saturating_sub(1)).min(text.len());
    while o > 0 && !text.is_char_boundary(o) {
        o -= 1;
    }
    o
}

/// The last whole-word occurrence of `word` ending at or before `before`.
fn find_word_before(text: &str, word: &str, before: usize) -> Option<Span> {
    if word.is_empty() {
        return None;
    }
    let hay = text.get(..before.min(text.len()))?;
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut end = hay.len();
    while let Some(i) = hay.get(..end).and_then(|h| h.rfind(word)) {
        let prev_ok = hay
            .get(..i)
            .and_then(|s| s.chars().next_back())
            .is_none_or(|c| !is_word(c));
        let next_ok = text
            .get(i + word.len()..)
            .and_then(|s| s.chars().next())
            .is_none_or(|c| !is_word(c));
        if prev_ok && next_ok {
            return Some(Span::new(i, i + word.len()));
        }
        end = i;
    }
    None
}

fn quoted_list(items: &[&str]) -> String {
    let q: Vec<String> = items.iter().map(|s| format!("`{s}`")).collect();
    q.join(", ")
}

fn ron_error(name: &str, text: &str, e: &ron::error::SpannedError) -> Diagnostic {
    use ron::error::Error as E;
    let at = offset_of(text, e.position.line, e.position.col);
    let point = Span::new(at, (at + 1).min(text.len()).max(at));
    let point = if text.is_char_boundary(point.end as usize) {
        point
    } else {
        Span::new(at, at)
    };
    let word_span = |w: &str| find_word_before(text, w, at).unwrap_or(point);
    let d = |span: Span, msg: String| Diagnostic::new(name, span, msg);
    // RON stops after a value of the wrong kind: point at the word before, if there is one.
    let word_before = || {
        let before = text.get(..at).unwrap_or("").trim_end();
        let start = before
            .char_indices()
            .rev()
            .take_while(|&(_, c)| c.is_ascii_alphanumeric() || c == '_')
            .last()
            .map(|(i, _)| i);
        match start {
            Some(i) => Span::new(i, before.len()),
            None => point,
        }
    };
    let diag = match &e.code {
        E::NoSuchEnumVariant {
            expected,
            found,
            outer,
        } => {
            let outer = outer.as_deref().unwrap_or("");
            let span = word_span(found);
            let (msg, help) = match outer {
                "Actor" => (
                    format!("unknown actor `{found}`"),
                    "the only actor is `Signal(target: [\"thread1\"], fatal: true)`".to_string(),
                ),
                "Backend" => (
                    format!("unknown backend `{found}`"),
                    format!("the backends are {}", quoted_list(expected)),
                ),
                "Scheduler" => (
                    format!("unknown shuttle scheduler `{found}`"),
                    format!("the schedulers are {}", quoted_list(expected)),
                ),
                "Require" => (
                    format!("unknown value `{found}` for `require`"),
                    format!(
                        "`require` takes the weakest claim a result without a violation may make: one of {}",
                        quoted_list(expected)
                    ),
                ),
                _ if found == "NoViolationFound" => (
                    format!("unknown value `{found}` for `expect`"),
                    format!(
                        "`{found}` is a verdict, not an expectation: write `Holds`, which a sampled `{found}` meets (`expect` takes one of {})",
                        quoted_list(expected)
                    ),
                ),
                _ if found == "Inconclusive" => (
                    format!("unknown value `{found}` for `expect`"),
                    format!(
                        "`{found}` is a verdict, not an expectation: `expect` takes one of {}",
                        quoted_list(expected)
                    ),
                ),
                _ => (
                    format!("unknown value `{found}` for `expect`"),
                    format!("expected one of {}", quoted_list(expected)),
                ),
            };
            let help = match did_you_mean(found, expected.iter().copied()) {
                Some(s) => format!("did you mean `{s}`? ({help})"),
                None => help,
            };
            d(span, msg).with_help(help)
        }
        E::NoSuchStructField {
            expected,
            found,
            outer,
        } => {
            let outer = outer.as_deref().unwrap_or("");
            let span = word_span(found);
            let list = fields_of(outer)
                .map(|s| s.to_string())
                .unwrap_or_else(|| quoted_list(expected));
            let help = match did_you_mean(found, expected.iter().copied()) {
                Some(s) => format!("did you mean `{s}`? `{outer}` has the fields {list}"),
                None => format!("`{outer}` has the fields {list}"),
            };
            d(span, format!("unknown field `{found}` in `{outer}`")).with_help(help)
        }
        E::MissingStructField { field, outer } => {
            let outer = outer.as_deref().unwrap_or("");
            let help = missing_field_help(field)
                .map(|s| s.to_string())
                .or_else(|| fields_of(outer).map(|f| format!("`{outer}` has the fields {f}")));
            d(point, format!("missing field `{field}` in `{outer}`")).with_opt_help(help)
        }
        E::DuplicateStructField { field, outer } => {
            let outer = outer.as_deref().unwrap_or("");
            d(
                word_span(field),
                format!("field `{field}` is given twice in `{outer}`"),
            )
            .with_help("remove one of them")
        }
        E::ExpectedDifferentStructName { expected, found } => {
            let span = word_span(found);
            let is_field = text
                .get(span.end as usize..)
                .is_some_and(|rest| rest.trim_start().starts_with(':'));
            if is_field {
                d(
                    span,
                    format!("expected `{expected}(...)`, found the field `{found}`"),
                )
                .with_help(format!("is a closing `]` or `)` missing before `{found}`?"))
            } else {
                let call = text
                    .get(span.end as usize..)
                    .is_some_and(|rest| rest.trim_start().starts_with('('));
                let shown = if call {
                    format!("{found}(...)")
                } else {
                    found.to_string()
                };
                let help = field_at(text, span.start as usize)
                    .and_then(|f| value_help(&f))
                    .unwrap_or_else(|| format!("write `{expected}(...)`"));
                d(span, format!("expected `{expected}(...)`, found `{shown}`")).with_help(help)
            }
        }
        E::ExpectedNamedStructLike(n) if !n.is_empty() => {
            d(point, format!("expected `{n}(...)` here"))
        }
        E::InvalidValueForType { expected, found } => {
            d(point, format!("expected {expected}, found {found}"))
        }
        E::ExpectedComma => {
            // Point right after the previous value, like a missing `;` in C.
            let before = text.get(..at).unwrap_or("").trim_end().len();
            d(
                Span::new(before, before),
                "expected `,` between items (or a closing bracket)".to_string(),
            )
            .with_help("add `,` here")
        }
        E::ExpectedString => d(
            point,
            "expected a string in double quotes, like `\"thread1\"`".to_string(),
        ),
        E::ExpectedInteger if text.get(at..).is_some_and(|r| r.starts_with('-')) => d(
            Span::new(at, word_end(text, at + 1)),
            "expected an integer of at least 0, found a negative number".to_string(),
        ),
        E::ExpectedInteger => d(point, "expected an integer".to_string()),
        E::ExpectedBoolean => d(point, "expected `true` or `false`".to_string()),
        E::ExpectedArray => d(point, "expected a list `[...]`".to_string()),
        E::ExpectedArrayEnd => d(point, "expected `,` or `]` to close the list".to_string()),
        E::ExpectedMap => d(
            point,
            "expected a map `{ \"NAME\": VALUE, ... }`".to_string(),
        ),
        E::ExpectedMapEnd => d(point, "expected `,` or `}` to close the map".to_string()),
        E::ExpectedMapColon => d(
            point,
            "expected `:` between a map key and its value".to_string(),
        ),
        E::ExpectedStructLike => d(point, "expected `(`".to_string()),
        E::ExpectedStructLikeEnd => d(point, "expected `,` or `)`".to_string()),
        E::ExpectedIdentifier if text.get(at..).is_some_and(|r| r.starts_with('"')) => d(
            point,
            "expected a name without quotes, found a string".to_string(),
        ),
        E::ExpectedIdentifier => d(point, "expected a field name".to_string()),
        E::SuggestRawIdentifier(found) => d(point, format!("expected a name, found `{found}`")),
        E::IntegerOutOfBounds => d(point, "integer out of range".to_string()),
        E::TrailingCharacters => d(
            point,
            "unexpected text after the end of the scenario".to_string(),
        )
        .with_help("a scenario file holds one `Scenario(...)`"),
        E::ExceededRecursionLimit => d(point, "the scenario is nested too deeply".to_string()),
        E::Eof => d(point, "unexpected end of file".to_string())
            .with_help("a `(`, `[` or `{` is probably not closed"),
        E::Message(m) if m.contains("untagged enum RawInitValue") => d(
            word_before(),
            "an `init` value is an integer, or a thread's name in quotes for a task pointer"
                .to_string(),
        )
        .with_help(
            "write `\"count\": 1`, or `\"owner\": \"thread1\"` for a `struct task_struct *`",
        ),
        E::Message(m) if m.contains("untagged enum RawArg") => d(
            word_before(),
            "a thread argument is an integer or a predefined constant's name in quotes".to_string(),
        )
        .with_help("write `args: [0]` or `args: [\"TASK_KILLABLE\"]`"),
        E::Message(m) => d(point, m.clone()),
        other => {
            let mut m = other.to_string();
            if let Some(first) = m.get(..1) {
                let lower = first.to_lowercase();
                m.replace_range(..1, &lower);
            }
            d(point, m)
        }
    };
    // A value of the wrong type: say what the field takes.
    let type_error = matches!(
        e.code,
        E::InvalidValueForType { .. }
            | E::ExpectedString
            | E::ExpectedInteger
            | E::ExpectedBoolean
            | E::ExpectedArray
            | E::ExpectedIdentifier
            | E::SuggestRawIdentifier(_)
            | E::IntegerOutOfBounds
            | E::ExpectedNamedStructLike(_)
            | E::ExpectedStructLike
    );
    // `1.5` where an integer is expected: `ron` stops at the `.` and asks for a `,`.
    let decimal = matches!(e.code, E::ExpectedComma)
        && text.get(at..).is_some_and(|r| r.starts_with('.'))
        && number_before(text, at).is_some();
    let mut diag = if decimal {
        let start = number_before(text, at).map_or(at, |s| s.start as usize);
        d(
            Span::new(start, word_end(text, at + 1)),
            "expected an integer, found a decimal number".to_string(),
        )
    } else {
        diag
    };
    // `ron` reports a bad number (`1e4`, out of range) after reading it: point at it.
    if type_error {
        if let Some(span) = number_before(text, at) {
            diag.span = span;
        }
    }
    match field_at(text, at).and_then(|f| value_help(&f)) {
        Some(help) if (type_error || decimal) && diag.help.is_none() => diag.with_help(help),
        _ => diag,
    }
}

/// Where the word (letters, digits, `_`) that continues at byte `from` ends: the rest of
/// a number such as `-3` or `1.5` that a diagnostic underlines.
fn word_end(text: &str, from: usize) -> usize {
    let b = text.as_bytes();
    let mut end = from;
    while b
        .get(end)
        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
    {
        end += 1;
    }
    end
}

/// The number-like token (`12`, `-3`, `1e4`, `0x1f`) that ends right at byte `at`.
fn number_before(text: &str, at: usize) -> Option<Span> {
    let b = text.as_bytes();
    let mut start = at.min(b.len());
    while start > 0
        && b.get(start - 1)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
    {
        start -= 1;
    }
    if !b.get(start).is_some_and(u8::is_ascii_digit) || start == at {
        return None;
    }
    if start > 0 && matches!(b.get(start - 1), Some(b'-' | b'+')) {
        start -= 1;
    }
    Some(Span::new(start, at))
}

/// The field whose value contains byte `at`: the innermost `name:` before it whose value
/// is neither closed nor ended by a `,` before `at`.
fn field_at(text: &str, at: usize) -> Option<String> {
    let toks = tokenize(text.get(..at)?);
    // Groups closed between the token looked at and `at`.
    let mut depth = 0usize;
    // A `,` at this level: the keys before it in the same group are siblings.
    let mut sibling = false;
    for k in (0..toks.len()).rev() {
        match toks.get(k) {
            Some((RTok::Other(')' | ']' | '}'), _)) => depth += 1,
            Some((RTok::Other('(' | '[' | '{'), _)) => {
                if depth == 0 {
                    sibling = false;
                } else {
                    depth -= 1;
                }
            }
            Some((RTok::Other(','), _)) if depth == 0 => sibling = true,
            Some((RTok::Ident(n), _))
                if depth == 0
                    && !sibling
                    && matches!(toks.get(k + 1), Some((RTok::Other(':'), _))) =>
            {
                return Some(n.clone());
            }
            _ => {}
        }
    }
    None
}

/// What a field's value must look like, for type errors.
fn value_help(field: &str) -> Option<String> {
    Some(match field {
        "backends" => "`backends` takes a list of backend names without quotes, like `backends: [Native, Loom, Shuttle]`".to_string(),
        "loom" => "`loom` takes `(expect: .., max_preemptions: .., exhaustive: .., max_branches: .., max_seconds: ..)`, each field optional".to_string(),
        "max_preemptions" => format!(
            "`max_preemptions` takes an integer from 0 to {MAX_LOOM_PREEMPTIONS}, like `max_preemptions: 3`"
        ),
        "exhaustive" => "`exhaustive` takes `true` or `false`".to_string(),
        "shuttle" => "`shuttle` takes `(expect: .., scheduler: .., depth: .., iterations: .., seed: .., max_seconds: ..)`, each field optional".to_string(),
        "scheduler" => "`scheduler` takes one of `Random`, `Pct`, `Dfs`, without quotes".to_string(),
        "depth" => format!(
            "`depth` takes an integer from 1 to {MAX_SHUTTLE_DEPTH}, like `depth: 3`"
        ),
        "iterations" => format!(
            "`iterations` takes an integer from 1 to {MAX_SHUTTLE_ITERATIONS}, like `iterations: 10000`"
        ),
        "seed" => format!("`seed` takes an integer from 0 to {}, like `seed: 42`", u64::MAX),
        "max_branches" => "`max_branches` takes a positive integer, like `max_branches: 10000`".to_string(),
        "max_seconds" => "`max_seconds` takes a whole number of seconds, like `max_seconds: 60`".to_string(),
        "max_states" => "`max_states` takes a whole number, like `max_states: 1000000`".to_string(),
        "max_memory_mib" => format!("`max_memory_mib` takes a whole number of MiB from 1 to {MAX_MEMORY_MIB}, like `max_memory_mib: 4096`"),
        "require" => "`require` takes one of `Exhaustive`, `Bounded`, `Sampled`, without quotes".to_string(),
        "expect" => "`expect` takes one of `Holds`, `LostWakeup`, `Deadlock`, `AssertionFailed`, without quotes".to_string(),
        _ => return None,
    })
}

// ---------------------------------------------------------------- locating values

/// A string literal in the RON text, with where it sits in the structure.
#[derive(Debug)]
struct StrLoc {
    /// The top-level field it is under (`threads`, `actors`, `init`, `model`).
    top: Option<String>,
    /// The field whose value it is (or is inside of).
    key: Option<String>,
    /// The index of the element of the top-level list it is in.
    elem: Option<usize>,
    /// It is a key of a map (`init`).
    map_key: bool,
    value: String,
    span: Span,
    /// For a map key: the span of its value.
    value_span: Option<Span>,
}

#[derive(Debug)]
struct KeyLoc {
    top: Option<String>,
    name: String,
    elem: Option<usize>,
    span: Span,
    /// The span of the field's value (see [`value_extent`]).
    value: Option<Span>,
}

#[derive(Debug)]
enum RTok {
    Ident(String),
    Str(String),
    Other(char),
    Number,
}

/// A small RON tokenizer that knows enough structure to say which field each string is
/// the value of. It is only used after `ron` accepted the text.
struct Locator<'a> {
    text: &'a str,
    strings: Vec<StrLoc>,
    keys: Vec<KeyLoc>,
    /// Every token, comments excluded.
    toks: Vec<(RTok, Span)>,
    /// The first string literal of each value, for [`Locator::search`].
    first_string: HashMap<String, Span>,
    /// The first key of each name in each top-level list element, for
    /// [`Locator::elem_key_span`].
    elem_keys: HashMap<(String, usize), Span>,
    /// Searches of the raw text [`Locator::search`] may still do: each is a scan of the
    /// file, and a file with many strings the tokenizer reads differently from `ron`
    /// (escapes) must not cost a scan per string.
    text_searches_left: std::cell::Cell<usize>,
}

/// Raw-text searches one scenario file may cost (see `Locator::text_searches_left`).
const MAX_TEXT_SEARCHES: usize = 64;

impl<'a> Locator<'a> {
    fn new(text: &'a str) -> Locator<'a> {
        let toks = tokenize(text);
        let mut strings = Vec::new();
        let mut keys = Vec::new();
        let mut all = Vec::new();
        // Each open bracket remembers the field that opened it.
        let mut stack: Vec<Option<String>> = Vec::new();
        let mut pending: Option<String> = None;
        let mut elem_counter: usize = 0;
        let mut i = 0;
        while let Some((tok, span)) = toks.get(i) {
            let next_is_colon = matches!(toks.get(i + 1), Some((RTok::Other(':'), _)));
            let top = |stack: &Vec<Option<String>>, pending: &Option<String>| {
                if stack.len() <= 1 {
                    pending.clone()
                } else {
                    stack.get(1).cloned().flatten()
                }
            };
            let elem = |stack: &Vec<Option<String>>, c: usize| {
                if stack.len() >= 3 {
                    Some(c.saturating_sub(1))
                } else {
                    None
                }
            };
            match tok {
                RTok::Ident(name) if next_is_colon => {
                    keys.push(KeyLoc {
                        top: top(&stack, &Some(name.clone())),
                        name: name.clone(),
                        elem: elem(&stack, elem_counter),
                        span: *span,
                        value: value_extent(&toks, i + 2),
                    });
                    pending = Some(name.clone());
                    i += 2;
                    continue;
                }
                RTok::Other('(' | '[' | '{') => {
                    stack.push(pending.take());
                    if stack.len() == 2 {
                        elem_counter = 0;
                    } else if stack.len() == 3 {
                        elem_counter += 1;
                    }
                }
                RTok::Other(')' | ']' | '}') => {
                    stack.pop();
                    pending = None;
                }
                RTok::Other(',') => {
                    pending = None;
                }
                RTok::Str(s) => {
                    all.push((s.clone(), *span));
                    let map_key = next_is_colon;
                    let value_span = if map_key {
                        value_span_after(&toks, i + 2)
                    } else {
                        None
                    };
                    let key = pending
                        .clone()
                        .or_else(|| stack.iter().rev().find_map(|k| k.clone()));
                    strings.push(StrLoc {
                        top: top(&stack, &pending),
                        key,
                        elem: elem(&stack, elem_counter),
                        map_key,
                        value: s.clone(),
                        span: *span,
                        value_span,
                    });
                    if map_key {
                        i += 2;
                        continue;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        let mut first_string = HashMap::new();
        for (s, span) in all {
            first_string.entry(s).or_insert(span);
        }
        let mut elem_keys = HashMap::new();
        for k in &keys {
            if let Some(e) = k.elem {
                elem_keys.entry((k.name.clone(), e)).or_insert(k.span);
            }
        }
        Locator {
            text,
            strings,
            keys,
            toks,
            first_string,
            elem_keys,
            text_searches_left: std::cell::Cell::new(MAX_TEXT_SEARCHES),
        }
    }

    /// The first string literal `"value"` (outside comments), or the start of the file.
    /// Past [`MAX_TEXT_SEARCHES`] raw-text searches, a string the tokenizer did not
    /// see is placed at the start of the file.
    fn search(&self, value: &str) -> Span {
        if let Some(span) = self.first_string.get(value) {
            return *span;
        }
        let left = self.text_searches_left.get();
        if left == 0 {
            return Span::default();
        }
        self.text_searches_left.set(left - 1);
        self.text
            .find(&format!("\"{value}\""))
            .map(|i| Span::new(i, i + value.len() + 2))
            .unwrap_or_default()
    }

    /// The span of the first key `name` in element `elem` of a top-level list.
    fn elem_key_span(&self, name: &str, elem: usize) -> Option<Span> {
        self.elem_keys.get(&(name.to_string(), elem)).copied()
    }

    /// The span of the top-level field `name`.
    fn key_span(&self, name: &str) -> Option<Span> {
        self.keys
            .iter()
            .find(|k| k.name == name && k.top.as_deref() == Some(name))
            .map(|k| k.span)
    }

    /// The span of the value of the field `name` under the top-level field `top` (for a
    /// top-level field, `top == name`), outside list elements.
    fn value_span(&self, top: &str, name: &str) -> Option<Span> {
        self.keys
            .iter()
            .find(|k| k.name == name && k.top.as_deref() == Some(top) && k.elem.is_none())
            .and_then(|k| k.value)
    }

    /// The span of the field name `name` under the top-level field `top`, outside list
    /// elements.
    fn field_key_span(&self, top: &str, name: &str) -> Option<Span> {
        self.keys
            .iter()
            .find(|k| k.name == name && k.top.as_deref() == Some(top) && k.elem.is_none())
            .map(|k| k.span)
    }

    /// The identifiers inside `span`, in order.
    fn idents_in(&self, span: Span) -> Vec<Span> {
        self.toks
            .iter()
            .filter(|(t, s)| {
                matches!(t, RTok::Ident(_)) && s.start >= span.start && s.end <= span.end
            })
            .map(|(_, s)| *s)
            .collect()
    }
}

/// The span of the value that starts at token `i`: a bracketed value (`[..]`, `(..)`,
/// `{..}`, and `Name(..)`) up to its closing bracket, a signed number, or one token.
fn value_extent(toks: &[(RTok, Span)], i: usize) -> Option<Span> {
    let (first, start) = toks.get(i)?;
    let open = match (first, toks.get(i + 1)) {
        (RTok::Other('(' | '[' | '{'), _) => i,
        (RTok::Ident(_), Some((RTok::Other('('), _))) => i + 1,
        _ => return value_span_after(toks, i),
    };
    let mut depth = 0usize;
    for (t, s) in toks.get(open..)? {
        match t {
            RTok::Other('(' | '[' | '{') => depth += 1,
            RTok::Other(')' | ']' | '}') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(start.to(*s));
                }
            }
            _ => {}
        }
    }
    None
}

fn value_span_after(toks: &[(RTok, Span)], i: usize) -> Option<Span> {
    match toks.get(i) {
        Some((RTok::Other('-' | '+'), s)) => match toks.get(i + 1) {
            Some((RTok::Number, n)) => Some(s.to(*n)),
            _ => Some(*s),
        },
        Some((_, s)) => Some(*s),
        None => None,
    }
}

fn tokenize(text: &str) -> Vec<(RTok, Span)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let next = b.get(i + 1).copied().unwrap_or(0);
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'/' && next == b'/' {
            while b.get(i).is_some_and(|c| *c != b'\n') {
                i += 1;
            }
        } else if c == b'/' && next == b'*' {
            // RON block comments nest.
            let mut depth = 0usize;
            while i < b.len() {
                if b.get(i) == Some(&b'/') && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else if b.get(i) == Some(&b'*') && b.get(i + 1) == Some(&b'/') {
                    depth = depth.saturating_sub(1);
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == b'"' {
            let start = i;
            i += 1;
            let mut s = String::new();
            let mut closed = false;
            while let Some(ch) = text.get(i..).and_then(|r| r.chars().next()) {
                i += ch.len_utf8();
                match ch {
                    '"' => {
                        closed = true;
                        break;
                    }
                    '\\' => {
                        if let Some(e) = text.get(i..).and_then(|r| r.chars().next()) {
                            i += e.len_utf8();
                            s.push(match e {
                                'n' => '\n',
                                't' => '\t',
                                other => other,
                            });
                        }
                    }
                    other => s.push(other),
                }
            }
            let _ = closed;
            out.push((RTok::Str(s), Span::new(start, i)));
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while b
                .get(i)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
            {
                i += 1;
            }
            let w = text.get(start..i).unwrap_or("").to_string();
            out.push((RTok::Ident(w), Span::new(start, i)));
        } else if c.is_ascii_digit() {
            let start = i;
            while b
                .get(i)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.')
            {
                i += 1;
            }
            out.push((RTok::Number, Span::new(start, i)));
        } else {
            let ch = text.get(i..).and_then(|r| r.chars().next()).unwrap_or('?');
            out.push((RTok::Other(ch), Span::new(i, i + ch.len_utf8())));
            i += ch.len_utf8();
        }
    }
    out
}

// ---------------------------------------------------------------- resolution

fn type_name(t: ir::Type) -> &'static str {
    match t {
        ir::Type::Void => "void",
        ir::Type::Int => "int",
        ir::Type::Bool => "bool",
        ir::Type::Entry => "wait_queue_entry_t",
        ir::Type::EntryPtr => "wait_queue_entry_t *",
        ir::Type::Task => "struct task_struct *",
        ir::Type::WakeFn => "wake function",
        ir::Type::WakeQ => "wake_q head",
        ir::Type::WakeQPtr => "struct wake_q_head *",
        ir::Type::ObjectPtr => "struct *",
    }
}

/// The function's header as written in the model (`int f(wait_queue_entry_t *w, ...)`),
/// whitespace collapsed; built from the IR if the text is not available.
fn signature(program: &ir::Program, f: &ir::Function) -> String {
    let header = program
        .source
        .text
        .get(f.span.start as usize..f.span.end as usize)
        .and_then(|t| t.split('{').next())
        .map(|h| h.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|h| h.contains(&f.name) && h.ends_with(')'));
    header.unwrap_or_else(|| signature_from_ir(f))
}

fn signature_from_ir(f: &ir::Function) -> String {
    let params: Vec<String> = f
        .locals
        .iter()
        .take(f.params)
        .map(|l| format!("{} {}", type_name(l.ty), l.name).replace("* ", "*"))
        .collect();
    let params = if params.is_empty() {
        "void".to_string()
    } else {
        params.join(", ")
    };
    format!("{} {}({params})", type_name(f.ret), f.name)
}

/// The functions of `program` a scenario's thread may run (only `int`/`bool`
/// parameters), in declaration order.
pub fn thread_bodies(program: &ir::Program) -> Vec<&str> {
    program
        .functions
        .iter()
        .filter(|f| is_thread_body(f))
        .map(|f| f.name.as_str())
        .collect()
}

/// The functions of `program` that look like a thread's whole job: thread bodies no
/// function calls (`kthread_should_stop()` is a helper of `threadfn()`, not a thread), or
/// every thread body when each is called somewhere.
pub fn top_level_thread_bodies(program: &ir::Program) -> Vec<&str> {
    let mut called = HashSet::new();
    for f in &program.functions {
        visit_exprs(&f.body, &mut |e| {
            if let ir::ExprKind::Call { func, .. } = e.kind {
                called.insert(func);
            }
        });
    }
    let top: Vec<&str> = (program.functions.iter().enumerate())
        .filter(|(i, f)| is_thread_body(f) && !called.contains(&(*i as ir::FuncId)))
        .map(|(_, f)| f.name.as_str())
        .collect();
    if top.is_empty() {
        thread_bodies(program)
    } else {
        top
    }
}

/// Calls `f` on every expression of `body`, subexpressions included.
fn visit_exprs(body: &[ir::Stmt], f: &mut dyn FnMut(&ir::Expr)) {
    fn expr(e: &ir::Expr, f: &mut dyn FnMut(&ir::Expr)) {
        f(e);
        match &e.kind {
            ir::ExprKind::Call { args, .. } | ir::ExprKind::Builtin { args, .. } => {
                args.iter().for_each(|a| expr(a, f))
            }
            ir::ExprKind::Unary(_, x)
            | ir::ExprKind::Field { entry: x, .. }
            | ir::ExprKind::FrameField { ptr: x, .. } => expr(x, f),
            ir::ExprKind::Binary(_, a, b) => {
                expr(a, f);
                expr(b, f);
            }
            ir::ExprKind::Ternary(c, a, b) => {
                expr(c, f);
                expr(a, f);
                expr(b, f);
            }
            ir::ExprKind::Select { index, arms, .. } => {
                expr(index, f);
                arms.iter().for_each(|a| expr(a, f));
            }
            ir::ExprKind::Assign { place, value, .. } => {
                if let ir::Place::Field(x, _) | ir::Place::FrameField(x, _) = place {
                    expr(x, f);
                }
                expr(value, f);
            }
            _ => {}
        }
    }
    for s in body {
        match &s.kind {
            ir::StmtKind::Expr(e) | ir::StmtKind::Assert(e) => expr(e, f),
            ir::StmtKind::Return(e) => e.iter().for_each(|e| expr(e, f)),
            ir::StmtKind::If {
                cond,
                then_branch,
                else_branch,
            } => {
                expr(cond, f);
                visit_exprs(then_branch, f);
                visit_exprs(else_branch, f);
            }
            ir::StmtKind::Loop {
                cond, body, step, ..
            } => {
                cond.iter().chain(step).for_each(|e| expr(e, f));
                visit_exprs(body, f);
            }
            ir::StmtKind::Atomic(b) | ir::StmtKind::Block(b) => visit_exprs(b, f),
            ir::StmtKind::Break
            | ir::StmtKind::Continue
            | ir::StmtKind::Label(_)
            | ir::StmtKind::Goto(_) => {}
        }
    }
}

/// Whether function `start`, or a function it calls, sleeps with a timeout
/// (`schedule_timeout()` and the `_timeout` forms).
fn sleeps_with_a_timeout(program: &ir::Program, start: usize) -> bool {
    let mut seen = HashSet::new();
    let mut todo = vec![start];
    let mut timed = false;
    while let Some(fid) = todo.pop() {
        if !seen.insert(fid) {
            continue;
        }
        let Some(func) = program.functions.get(fid) else {
            continue;
        };
        visit_exprs(&func.body, &mut |e| match &e.kind {
            ir::ExprKind::Call { func, .. } => todo.push(*func as usize),
            ir::ExprKind::Builtin {
                op: ir::Builtin::ScheduleTimeout { .. },
                ..
            } => timed = true,
            _ => {}
        });
    }
    timed
}

fn is_thread_body(f: &ir::Function) -> bool {
    f.locals
        .iter()
        .take(f.params)
        .all(|l| matches!(l.ty, ir::Type::Int | ir::Type::Bool))
}

/// `after: ("thread", "label")` of an actor: the thread must be one of the scenario's, and
/// the label a label of the model (in one function only). `None` after an error.
fn resolve_after(
    program: &ir::Program,
    index: &HashMap<&str, usize>,
    names: &[&str],
    (thread, tspan): &(String, Span),
    (label, lspan): &(String, Span),
    err: &mut impl FnMut(Span, String, Option<String>),
) -> Option<ir::After> {
    let Some(&t) = index.get(thread.as_str()) else {
        let help = match did_you_mean(thread, names.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!(
                "the scenario's threads are: {}",
                name_list(names.iter().copied(), MAX_LISTED_NAMES)
            ),
        };
        err(
            *tspan,
            format!("unknown thread `{thread}` in `after`"),
            Some(help),
        );
        return None;
    };
    let found: Vec<(usize, usize)> = program
        .functions
        .iter()
        .enumerate()
        .flat_map(|(f, func)| {
            func.label_names
                .iter()
                .enumerate()
                .filter(|(_, n)| *n == label)
                .map(move |(l, _)| (f, l))
        })
        .collect();
    match found.as_slice() {
        [(f, l)] => Some(ir::After {
            thread: t as ir::ThreadId,
            func: *f as ir::FuncId,
            label: *l as ir::LabelId,
        }),
        [] => {
            let all = program
                .functions
                .iter()
                .flat_map(|f| f.label_names.iter().filter(|n| !n.is_empty()))
                .map(String::as_str);
            let help = match did_you_mean(label, all.clone()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => "`after` names a label of the model (`woken:` before a statement), which the thread passes"
                    .to_string(),
            };
            err(
                *lspan,
                format!("no label `{label}` in the model"),
                Some(help),
            );
            None
        }
        several => {
            let funcs: Vec<&str> = several
                .iter()
                .map(|(f, _)| program.functions[*f].name.as_str())
                .collect();
            err(
                *lspan,
                format!(
                    "label `{label}` is in several functions ({})",
                    funcs.join(", ")
                ),
                Some("rename it in all but one, so that `after` names one point".to_string()),
            );
            None
        }
    }
}

/// Resolves a parsed scenario against its checked model. `name` becomes
/// [`ir::Instance::name`] and the file of every diagnostic; `text` is the scenario text
/// `file` was parsed from (diagnostic spans index into it).
pub fn resolve_scenario(
    name: &str,
    text: &str,
    file: &ScenarioFile,
    program: ir::Program,
) -> Result<ir::Instance, Vec<Diagnostic>> {
    let mut diags = Kept::default();
    let mut err = |span: Span, msg: String, help: Option<String>| {
        // Spans come from `parse_scenario(text)`; clamp them in case of a mismatch.
        let len = text.len();
        let span = Span::new((span.start as usize).min(len), (span.end as usize).min(len));
        diags.push(Diagnostic::new(name, span, msg).with_opt_help(help));
    };
    // ---- threads
    if file.threads.is_empty() {
        err(
            file.threads_span,
            "the scenario has no threads".to_string(),
            Some("add `Thread(name: \"thread1\", run: \"FUNCTION\")` to `threads`".to_string()),
        );
    }
    if file.threads.len() > MAX_THREADS {
        let span = file
            .threads
            .get(MAX_THREADS)
            .map_or(file.threads_span, |t| t.name_span);
        err(
            span,
            format!(
                "too many threads: {} (at most {MAX_THREADS})",
                file.threads.len()
            ),
            Some("split the scenario, or model several tasks in one thread body".to_string()),
        );
        // Nothing else about the threads and their targets is worth checking: the
        // scenario must be split anyway, and checking ten thousand threads (each target
        // against each thread name) would only make this diagnostic slow.
        return Err(diags.finish(name, text.len()));
    }
    let bodies = thread_bodies(&program);
    let mut threads = Vec::new();
    let mut seen = HashSet::new();
    for t in &file.threads {
        if !seen.insert(t.name.as_str()) {
            err(
                t.name_span,
                format!("thread name `{}` is used twice", t.name),
                Some("thread names must be unique (signals name their targets)".to_string()),
            );
        }
        let func = program.functions.iter().position(|f| f.name == t.run);
        let Some(fid) = func else {
            let help = match did_you_mean(&t.run, bodies.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None if bodies.is_empty() => {
                    "the model has no function that can be a thread body".to_string()
                }
                None => format!(
                    "functions that can be thread bodies: {}",
                    name_list(bodies.iter().copied(), MAX_LISTED_NAMES)
                ),
            };
            err(
                t.run_span,
                format!("unknown function `{}` in `run`", t.run),
                Some(help),
            );
            continue;
        };
        let Some(f) = program.functions.get(fid) else {
            continue;
        };
        if !is_thread_body(f) {
            let bad = f
                .locals
                .iter()
                .take(f.params)
                .find(|l| !matches!(l.ty, ir::Type::Int | ir::Type::Bool));
            let what = bad
                .map(|l| format!("parameter `{}` is `{}`", l.name, type_name(l.ty)))
                .unwrap_or_default();
            err(
                t.run_span,
                format!("`{}` cannot be a thread body: {what}", t.run),
                Some(format!(
                    "a thread body takes only `int`/`bool` parameters; `{}`",
                    signature(&program, f)
                )),
            );
            continue;
        }
        if t.args.len() != f.params {
            err(
                t.run_span,
                format!(
                    "`{}` takes {} argument{} but the thread gives {}",
                    t.run,
                    f.params,
                    if f.params == 1 { "" } else { "s" },
                    t.args.len()
                ),
                Some(format!(
                    "set `args: [...]` to match `{}`",
                    signature(&program, f)
                )),
            );
            continue;
        }
        let mut args = Vec::new();
        for (a, p) in t.args.iter().zip(f.locals.iter()) {
            let ok = match p.ty {
                ir::Type::Bool => (0..=1).contains(a),
                _ => Value::try_from(*a).is_ok(),
            };
            if !ok {
                err(
                    t.run_span,
                    format!(
                        "argument {a} for parameter `{}` of `{}` is out of range",
                        p.name, t.run
                    ),
                    Some(match p.ty {
                        ir::Type::Bool => "a `bool` parameter takes 0 or 1".to_string(),
                        _ => "values are 32-bit signed integers".to_string(),
                    }),
                );
            }
            args.push(Value::try_from(*a).unwrap_or(0));
        }
        if t.daemon && sleeps_with_a_timeout(&program, fid) {
            err(
                t.name_span,
                format!(
                    "`{}` is a daemon, but `{}` can sleep with a timeout",
                    t.name, t.run
                ),
                Some(
                    "a daemon may sleep for ever once the others have returned, and its timer could end that sleep at any time: give the daemon sleeps without a timeout, or make it an ordinary thread that returns"
                        .to_string(),
                ),
            );
        }
        threads.push(ir::ThreadSpec {
            name: t.name.clone(),
            func: fid as ir::FuncId,
            args,
            daemon: t.daemon,
        });
    }

    // ---- actors
    let names: Vec<&str> = file.threads.iter().map(|t| t.name.as_str()).collect();
    let index: HashMap<&str, usize> = names
        .iter()
        .enumerate()
        .rev()
        .map(|(i, n)| (*n, i))
        .collect();
    let mut distinct = HashSet::new();
    let listed = name_list(
        names.iter().copied().filter(|n| distinct.insert(*n)),
        MAX_LISTED_NAMES,
    );
    let mut actors = Vec::new();
    let count = file.actors.len();
    if count > MAX_ACTORS {
        let ScenarioActor::Signal { span, .. } = &file.actors[MAX_ACTORS];
        err(
            *span,
            format!("too many actors: {count} (at most {MAX_ACTORS})"),
            Some(
                "one `Signal` with several targets sends one signal to any one of them; \
                 split the scenario for more"
                    .to_string(),
            ),
        );
        return Err(diags.finish(name, text.len()));
    }
    let mut actor_names: HashSet<String> = HashSet::new();
    for (k, a) in file.actors.iter().enumerate() {
        let ScenarioActor::Signal {
            name: aname,
            name_span,
            targets,
            fatal,
            after,
            span,
        } = a;
        let aname = match aname {
            Some(n) => n.clone(),
            None if count == 1 => "signal".to_string(),
            None => format!("signal{}", k + 1),
        };
        if !actor_names.insert(aname.clone()) {
            err(
                if aname.is_empty() { *span } else { *name_span },
                format!("actor name `{aname}` is used twice"),
                Some("give each `Signal` a distinct `name`".to_string()),
            );
        }
        if targets.is_empty() {
            err(
                *span,
                "a `Signal` needs at least one target".to_string(),
                Some("write `target: [\"thread1\"]`".to_string()),
            );
        }
        let mut ids = Vec::new();
        for (t, tspan) in targets {
            match index.get(t.as_str()).copied() {
                Some(i) => {
                    let id = i as ir::ThreadId;
                    if ids.contains(&id) {
                        err(
                            *tspan,
                            format!("thread `{t}` is listed twice in this `target`"),
                            Some("list each thread once".to_string()),
                        );
                    } else {
                        ids.push(id);
                    }
                }
                None => {
                    let help = match did_you_mean(t, names.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`? (threads: {listed})"),
                        None if names.is_empty() => "the scenario has no threads".to_string(),
                        None => format!("the scenario's threads are: {listed}"),
                    };
                    err(
                        *tspan,
                        format!("unknown thread `{t}` in the target of `{aname}`"),
                        Some(help),
                    );
                }
            }
        }
        let after = after.as_ref().and_then(|(thread, label)| {
            let a = resolve_after(&program, &index, &names, thread, label, &mut err)?;
            if file.threads.get(a.thread as usize).is_some_and(|t| t.daemon) {
                err(
                    thread.1,
                    format!("`{}` is a daemon: a signal cannot wait for its label", thread.0),
                    Some("a daemon never returns, so a signal it never passes the label for would wait for ever; order the signal after a label of an ordinary thread".to_string()),
                );
                return None;
            }
            Some(a)
        });
        actors.push(ir::Actor::Signal {
            name: aname,
            targets: ids,
            fatal: *fatal,
            after,
        });
    }

    // ---- init
    // Names are looked up in maps built once (the first variable or bit of each name, as
    // a scan would find it): a scan per override was quadratic in long `init` maps.
    let mut bit_of: HashMap<&str, (usize, usize)> = HashMap::new();
    let mut var_of: HashMap<&str, usize> = HashMap::new();
    for (v, var) in program.vars.iter().enumerate() {
        var_of.entry(var.name.as_str()).or_insert(v);
        for (i, b) in var.bits.iter().enumerate() {
            bit_of.entry(b.name.as_str()).or_insert((v, i));
        }
    }
    let queue_names: HashSet<&str> = program
        .queues
        .iter()
        .filter(|q| q.kind == ir::QueueKind::WaitQueue)
        .map(|q| q.name.as_str())
        .collect();
    let function_names: HashSet<&str> = program.functions.iter().map(|f| f.name.as_str()).collect();
    let all_vars: Vec<&str> = program
        .vars
        .iter()
        .flat_map(|v| {
            std::iter::once(v.name.as_str()).chain(v.bits.iter().map(|b| b.name.as_str()))
        })
        .collect();
    let vars_help = if all_vars.is_empty() {
        "the model has no shared variables".to_string()
    } else {
        format!(
            "the model's shared variables are: {}",
            name_list(all_vars.iter().copied(), MAX_LISTED_NAMES)
        )
    };
    let mut suggestions_left = MAX_SUGGESTIONS;
    let mut init: Vec<(ir::VarId, Value)> = Vec::new();
    // The position in `init` of each variable in it.
    let mut init_at: HashMap<usize, usize> = HashMap::new();
    let mut set = HashSet::new();
    for o in &file.init {
        // A bit of a word sets that bit of the word's initial value.
        let bit = bit_of.get(o.var.as_str()).copied();
        if let Some((vid, i)) = bit {
            if !set.insert(o.var.as_str()) {
                err(
                    o.var_span,
                    format!("`{}` is set twice in `init`", o.var),
                    Some("remove one of them".to_string()),
                );
                continue;
            }
            if let Some(t) = &o.thread {
                err(
                    o.value_span,
                    format!("`{}` is a bit; `\"{t}\"` is a thread's name", o.var),
                    Some("a bit starts at 0 or 1".to_string()),
                );
                continue;
            }
            if !(0..=1).contains(&o.value) {
                err(
                    o.value_span,
                    format!(
                        "initial value {} for `{}` is out of range (a bit: 0 or 1)",
                        o.value, o.var
                    ),
                    None,
                );
                continue;
            }
            let at = *init_at.entry(vid).or_insert_with(|| {
                init.push((vid as ir::VarId, program.vars[vid].init));
                init.len() - 1
            });
            if let Some(word) = init.get_mut(at) {
                word.1 = (word.1 & !(1 << i)) | ((o.value as Value) << i);
            }
            continue;
        }
        let Some(vid) = var_of.get(o.var.as_str()).copied() else {
            let other = if queue_names.contains(o.var.as_str()) {
                Some(format!(
                    "`{}` is a wait queue; `init` sets shared variables",
                    o.var
                ))
            } else if function_names.contains(o.var.as_str()) {
                Some(format!(
                    "`{}` is a function; `init` sets shared variables",
                    o.var
                ))
            } else {
                None
            };
            let suggestion = if suggestions_left > 0 {
                suggestions_left -= 1;
                did_you_mean(&o.var, all_vars.iter().copied())
            } else {
                None
            };
            let help = other.or_else(|| match suggestion {
                Some(s) => Some(format!("did you mean `{s}`?")),
                None => Some(vars_help.clone()),
            });
            err(
                o.var_span,
                format!("unknown variable `{}` in `init`", o.var),
                help,
            );
            continue;
        };
        if !set.insert(o.var.as_str()) {
            err(
                o.var_span,
                format!("`{}` is set twice in `init`", o.var),
                Some("remove one of them".to_string()),
            );
            continue;
        }
        let Some(var) = program.vars.get(vid) else {
            continue;
        };
        let (lo, hi, what) = match var.ty {
            ir::VarType::Bit => (0, 1, "a bit: 0 or 1".to_string()),
            ir::VarType::Int { min, max } => (min, max, format!("int<{min}..{max}>")),
            ir::VarType::Word { bits } => (0, (1 << bits) - 1, format!("a word of {bits} bits")),
            ir::VarType::Unsigned { bits } => {
                (0, (1 << bits) - 1, format!("unsigned int : {bits}"))
            }
            ir::VarType::Task => {
                // A task pointer starts pointing to a thread of the scenario, named.
                let Some(t) = &o.thread else {
                    err(
                        o.value_span,
                        format!("`{}` is a task pointer; its initial value is a thread", o.var),
                        Some(format!(
                            "name one of the scenario's threads in quotes, e.g. `\"{}\": \"{}\"` (it starts NULL without `init`)",
                            o.var,
                            file.threads.first().map_or("thread1", |t| t.name.as_str())
                        )),
                    );
                    continue;
                };
                let Some(i) = file.threads.iter().position(|x| &x.name == t) else {
                    let names = file.threads.iter().map(|x| x.name.as_str());
                    let help = match did_you_mean(t, names.clone()) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!(
                            "the scenario's threads are: {}",
                            name_list(names, MAX_LISTED_NAMES)
                        ),
                    };
                    err(
                        o.value_span,
                        format!("unknown thread `{t}` as the initial value of `{}`", o.var),
                        Some(help),
                    );
                    continue;
                };
                init_at.insert(vid, init.len());
                init.push((vid as ir::VarId, i as Value + 1));
                continue;
            }
        };
        if let Some(t) = &o.thread {
            err(
                o.value_span,
                format!("`{}` is {what}; `\"{t}\"` is a thread's name", o.var),
                Some(
                    "only a `struct task_struct *` starts as a thread; give an integer".to_string(),
                ),
            );
            continue;
        }
        if o.value < i64::from(lo) || o.value > i64::from(hi) {
            err(
                o.value_span,
                format!(
                    "initial value {} for `{}` is out of range ({what})",
                    o.value, o.var
                ),
                None,
            );
            continue;
        }
        if init_at.contains_key(&vid) {
            err(
                o.var_span,
                format!("`{}` is set in `init` after one of its bits", o.var),
                Some("set the whole word or its bits, not both".to_string()),
            );
            continue;
        }
        init_at.insert(vid, init.len());
        init.push((vid as ir::VarId, Value::try_from(o.value).unwrap_or(0)));
    }
    init.sort_by_key(|(v, _)| *v);

    // ---- backends
    let mut backends: Vec<ir::Backend> = Vec::new();
    match &file.backends {
        None => backends.push(ir::Backend::Native),
        Some(list) if list.is_empty() => err(
            file.backends_span,
            "the `backends` list is empty".to_string(),
            Some(
                "list at least one of `Native`, `Loom`, `Shuttle`, or remove `backends` for the default `[Native]`"
                    .to_string(),
            ),
        ),
        Some(list) => {
            for (b, span) in list {
                if backends.contains(b) {
                    err(
                        *span,
                        format!("backend `{}` is listed twice in `backends`", backend_name(*b)),
                        Some("list each backend once".to_string()),
                    );
                } else {
                    backends.push(*b);
                }
            }
        }
    }

    // ---- memory models of the native explorer, and its TSO settings
    let mut memory: Vec<ir::MemoryModel> = Vec::new();
    match &file.memory {
        None => memory.push(ir::MemoryModel::Sc),
        Some(list) if list.is_empty() => err(
            file.memory_span,
            "the `memory` list is empty".to_string(),
            Some("list `Sc`, `Tso` or both, or remove `memory` for the default `[Sc]`".to_string()),
        ),
        Some(list) => {
            for (m, span) in list {
                if memory.contains(m) {
                    err(
                        *span,
                        format!(
                            "memory model `{}` is listed twice in `memory`",
                            memory_name(*m)
                        ),
                        Some("list each memory model once".to_string()),
                    );
                } else {
                    memory.push(*m);
                }
            }
        }
    }
    let tso = file.tso.settings;
    if let Some(n) = tso
        .store_buffer
        .filter(|n| *n == 0 || *n > MAX_STORE_BUFFER)
    {
        err(
            file.tso.store_buffer_span,
            format!("`store_buffer: {n}` is out of range (from 1 to {MAX_STORE_BUFFER})"),
            Some(format!(
                "the stores a thread's buffer holds before the oldest must reach memory; omit it for the default, {DEFAULT_STORE_BUFFER}"
            )),
        );
    }

    // ---- loom
    let loom = file.loom.settings;
    if let Some(n) = loom.max_preemptions.filter(|n| *n > MAX_LOOM_PREEMPTIONS) {
        err(
            file.loom.max_preemptions_span,
            format!("`max_preemptions: {n}` is too large (at most {MAX_LOOM_PREEMPTIONS})"),
            Some(
                "loom's cost grows exponentially with the bound; use the shuttle or native backend"
                    .to_string(),
            ),
        );
    }
    if loom.max_branches == Some(0) {
        err(
            file.loom.max_branches_span,
            "`max_branches` must be at least 1".to_string(),
            Some(
                "it bounds the scheduling decisions of one loom execution; omit it for the default, 10000"
                    .to_string(),
            ),
        );
    }

    // ---- shuttle
    let shuttle = file.shuttle.settings;
    if let Some(d) = shuttle.depth {
        let range =
            format!("PCT's bug depth: from 1 to {MAX_SHUTTLE_DEPTH}; omit it for the default, 3");
        if d == 0 {
            err(
                file.shuttle.depth_span,
                "`depth` must be at least 1".to_string(),
                Some(range),
            );
        } else if d > MAX_SHUTTLE_DEPTH {
            err(
                file.shuttle.depth_span,
                format!("`depth: {d}` is too large (at most {MAX_SHUTTLE_DEPTH})"),
                Some(range),
            );
        }
        if let Some(s) = shuttle
            .scheduler
            .filter(|s| *s != ir::ShuttleScheduler::Pct)
        {
            err(
                file.shuttle.depth_key_span,
                format!("`depth` is given with `scheduler: {}`", scheduler_name(s)),
                Some(
                    "`depth` is PCT's bug depth; use `scheduler: Pct`, or remove `depth`"
                        .to_string(),
                ),
            );
        }
    }
    match shuttle.iterations {
        Some(0) => err(
            file.shuttle.iterations_span,
            "`iterations` must be at least 1".to_string(),
            Some(
                "it is the number of shuttle executions; omit it for the default, 1000".to_string(),
            ),
        ),
        Some(n) if n > MAX_SHUTTLE_ITERATIONS => err(
            file.shuttle.iterations_span,
            format!("`iterations: {n}` is too large (at most {MAX_SHUTTLE_ITERATIONS})"),
            Some("for a longer search, run again with another `seed`".to_string()),
        ),
        _ => {}
    }

    // ---- bounds
    if let Some(m) = file
        .bounds
        .max_memory_mib
        .filter(|m| *m == 0 || *m > MAX_MEMORY_MIB)
    {
        err(
            file.max_memory_span,
            format!("`max_memory_mib: {m}` is out of range (from 1 to {MAX_MEMORY_MIB})"),
            Some(
                "the native explorer's memory budget in MiB, like `max_memory_mib: 4096`; omit it for the default, half of the machine's memory"
                    .to_string(),
            ),
        );
    }

    // ---- liveness
    let liveness = file.liveness.as_ref().map(|lv| {
        if lv.returns.is_empty() {
            err(
                lv.span,
                "`liveness` names no thread that must return".to_string(),
                Some("write `returns: [\"thread1\"]`, or leave `liveness` out".to_string()),
            );
        }
        let mut ids: Vec<ir::ThreadId> = Vec::new();
        for (t, tspan) in &lv.returns {
            match index.get(t.as_str()).copied() {
                Some(i) if file.threads[i].daemon => err(
                    *tspan,
                    format!("`{t}` is a daemon: it never has to return"),
                    Some("name the threads that must return; a daemon serves them and may sleep for ever".to_string()),
                ),
                Some(i) if ids.contains(&(i as ir::ThreadId)) => err(
                    *tspan,
                    format!("thread `{t}` is listed twice in `returns`"),
                    Some("list each thread once".to_string()),
                ),
                Some(i) => ids.push(i as ir::ThreadId),
                None => {
                    let help = match did_you_mean(t, names.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`? (threads: {listed})"),
                        None => format!("the scenario's threads are: {listed}"),
                    };
                    err(*tspan, format!("unknown thread `{t}` in `returns`"), Some(help));
                }
            }
        }
        ids.sort_unstable();
        ir::Liveness {
            returns: ids,
            fairness: lv.fairness,
        }
    });

    if !diags.is_empty() {
        return Err(diags.finish(name, text.len()));
    }
    Ok(ir::Instance {
        name: name.to_string(),
        program,
        init,
        threads,
        actors,
        bounds: file.bounds,
        expect: file.expect,
        require: file.require,
        backends,
        loom,
        shuttle,
        memory,
        tso,
        threads_span: file.threads_list_span,
        liveness,
    })
}

/// A backend's name as written in scenario files.
fn backend_name(b: ir::Backend) -> &'static str {
    match b {
        ir::Backend::Native => "Native",
        ir::Backend::Loom => "Loom",
        ir::Backend::Shuttle => "Shuttle",
    }
}

/// A memory model's name as written in scenario files.
fn memory_name(m: ir::MemoryModel) -> &'static str {
    match m {
        ir::MemoryModel::Sc => "Sc",
        ir::MemoryModel::Tso => "Tso",
    }
}

/// A shuttle scheduler's name as written in scenario files.
fn scheduler_name(s: ir::ShuttleScheduler) -> &'static str {
    match s {
        ir::ShuttleScheduler::Random => "Random",
        ir::ShuttleScheduler::Pct => "Pct",
        ir::ShuttleScheduler::Dfs => "Dfs",
    }
}
