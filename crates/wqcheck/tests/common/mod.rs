//! Running the wqcheck binary as a user does, for the CLI tests.

#![allow(dead_code, reason = "each test file uses a different subset")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Run `wqcheck args...` in `dir` with extra environment variables.
pub fn wqcheck_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wqcheck"))
        .current_dir(dir)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("runs wqcheck")
}

pub fn wqcheck(dir: &Path, args: &[&str]) -> Output {
    wqcheck_env(dir, args, &[])
}

/// stdout as JSON Lines.
pub fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// `scenarios/*.ron`, relative to the repository root, sorted.
pub fn scenario_files() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("scenarios"))
        .expect("scenarios/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .map(|p| format!("scenarios/{}", p.file_name().unwrap().to_str().unwrap()))
        .collect();
    v.sort();
    v
}
