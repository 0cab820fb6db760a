//! The engine stands apart: no file in `src/engine/` uses serde or JSON, nor imports a
//! layer above it (scenario, protocols, checks, metrics, runs, exploration, reports, the
//! command line). Read from the source, so a new import fails here, not in review.

use std::path::Path;

/// Layers above the engine, as `crate::` paths.
const ABOVE: [&str; 10] = [
    "scenario",
    "protocols",
    "plugin",
    "check",
    "metrics",
    "run",
    "explore",
    "report",
    "cli",
    "bench",
];

/// Engine files allowed serde (none).
const SERDE_ALLOWED: [&str; 0] = [];

/// Each line of each engine file (name, line number, text), comments included.
fn engine_lines() -> Vec<(String, usize, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/engine");
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 10, "engine files in {}", dir.display());
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, line) in text.lines().enumerate() {
            out.push((name.clone(), i + 1, line.to_string()));
        }
    }
    out
}

#[test]
fn the_engine_has_no_serde_and_no_json() {
    let bad: Vec<String> = engine_lines()
        .into_iter()
        .filter(|(name, _, _)| !SERDE_ALLOWED.contains(&name.as_str()))
        .filter(|(_, _, line)| line.contains("serde") || line.contains("json!") || line.contains("Serialize"))
        .map(|(name, n, line)| format!("src/engine/{name}:{n}: {line}"))
        .collect();
    assert!(bad.is_empty(), "serde or JSON in the engine:\n{}", bad.join("\n"));
}

#[test]
fn the_engine_imports_no_layer_above_it() {
    let bad: Vec<String> = engine_lines()
        .into_iter()
        .filter(|(_, _, line)| {
            ABOVE.iter().any(|layer| {
                line.contains(&format!("crate::{layer}::"))
                    || line.contains(&format!("crate::{layer};"))
                    || line.contains(&format!("detsim::{layer}::"))
            })
        })
        .map(|(name, n, line)| format!("src/engine/{name}:{n}: {line}"))
        .collect();
    assert!(
        bad.is_empty(),
        "the engine imports a layer above it:\n{}",
        bad.join("\n")
    );
}
