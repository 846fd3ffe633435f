//! Data-driven test: every `.wq` and `.ron` file in `tests/fixtures/invalid/` must be
//! rejected, and its rendered diagnostics are snapshot-tested (one snapshot per
//! fixture, in `tests/snapshots/`). Scenario fixtures name a model in the same folder
//! (`ok-model.wq.inc`, an extension this test does not iterate), which must be valid.

use std::fs;
use std::path::{Path, PathBuf};

use wqcheck_dsl::{check_model, parse_scenario, render_all, resolve_scenario};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The rendered diagnostics of one fixture (panics if it has none).
fn diagnose(path: &Path) -> String {
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
    let name = format!("invalid/{file_name}");
    let text = read(path);
    if name.ends_with(".wq") {
        return match check_model(&name, &text) {
            Ok(_) => panic!("{name} checked without errors"),
            Err(d) => render_all(&d, |f| wqcheck_dsl::prelude::text(f).unwrap_or(&text)),
        };
    }
    let scenario = match parse_scenario(&name, &text) {
        Ok(s) => s,
        Err(d) => return render_all(&d, |_| text.as_str()),
    };
    let model_path = path.with_file_name(&scenario.model);
    let model_text = read(&model_path);
    let program = check_model(&scenario.model, &model_text)
        .unwrap_or_else(|d| panic!("the model of {name} must be valid: {d:?}"));
    match resolve_scenario(&name, &text, &scenario, program) {
        Ok(_) => panic!("{name} resolved without errors"),
        Err(d) => render_all(&d, |f| {
            if f == name {
                text.as_str()
            } else {
                wqcheck_dsl::prelude::text(f).unwrap_or(&model_text)
            }
        }),
    }
}

#[test]
fn invalid_fixtures_render_their_diagnostics() {
    let mut paths: Vec<PathBuf> = fs::read_dir(fixture_dir())
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    paths.retain(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("wq" | "ron")));
    paths.sort();
    assert!(paths.len() >= 14, "only {} fixtures", paths.len());
    for path in paths {
        let rendered = diagnose(&path);
        let stem = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .replace('.', "_");
        insta::with_settings!({
            prepend_module_to_snapshot => false,
            omit_expression => true,
            description => format!("tests/fixtures/invalid/{}", path.file_name().and_then(|n| n.to_str()).unwrap_or("?")),
        }, {
            insta::assert_snapshot!(stem, rendered);
        });
    }
}
