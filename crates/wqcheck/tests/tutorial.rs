//! docs/tutorial.md shows commands and what they print: every ```console block is run
//! from the repository's root, and its output must be the block's, times aside.

mod common;

use common::{root, without_times, wqcheck};

/// The tutorial's `$ wqcheck ARGS` blocks: (args, the output shown).
fn console_blocks(doc: &str) -> Vec<(Vec<String>, String)> {
    let mut blocks = Vec::new();
    let mut lines = doc.lines();
    while let Some(l) = lines.next() {
        if l.trim() != "```console" {
            continue;
        }
        let command = lines.next().expect("a command after ```console");
        let args = command
            .strip_prefix("$ wqcheck ")
            .unwrap_or_else(|| panic!("not a wqcheck command: {command}"))
            .split_whitespace()
            .map(String::from)
            .collect();
        let output: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
        blocks.push((args, output.join("\n")));
    }
    blocks
}

#[test]
fn every_command_of_the_tutorial_prints_what_it_shows() {
    let doc = std::fs::read_to_string(root().join("docs/tutorial.md")).expect("docs/tutorial.md");
    let blocks = console_blocks(&doc);
    assert!(blocks.len() >= 3, "{} console blocks", blocks.len());
    for (args, shown) in blocks {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = wqcheck(&root(), &args);
        let printed = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            without_times(printed.trim_end()),
            without_times(shown.trim_end()),
            "`wqcheck {}` printed something else than docs/tutorial.md shows",
            args.join(" ")
        );
    }
}
