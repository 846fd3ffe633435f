//! Loading scenarios for the tests (the CLI crate does this for users).

use std::path::{Path, PathBuf};
use wqcheck_model::Model;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Load `scenarios/<name>` (or any path relative to the repository root).
pub fn load(rel: &str) -> Model {
    let path = root().join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    let file = wqcheck_dsl::parse_scenario(rel, &text).unwrap();
    let model_path = path.parent().unwrap().join(&file.model);
    let model_text = std::fs::read_to_string(&model_path).unwrap();
    let program = wqcheck_dsl::check_model("model.wq", &model_text).unwrap();
    let inst = wqcheck_dsl::resolve_scenario(rel, &text, &file, program).unwrap();
    Model::new(inst).unwrap()
}
