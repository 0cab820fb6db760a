//! Helpers shared by the tests that drive `explore` and `shrink` through the binary:
//! reading a FAILURE file, and a canary scenario explored until its first failing seed
//! and shrunk.

use std::path::{Path, PathBuf};

use detsim::Protocols;
use detsim::explore::FailureFile;

use crate::scenarios::{detsim, scenario};
use crate::support::tempdir;

/// The FAILURE file at `p`, read as `replay` reads it.
pub fn read_failure(p: &Path) -> FailureFile {
    detsim::explore::load_failure(&Protocols::builtin(), p).unwrap()
}

/// `detsim explore` of the shipped scenario `name` over seeds 0..1000 (one job, so it
/// stops at the first failing seed), which must find exactly one FAILURE file, then
/// `detsim shrink` of it: (the FAILURE file, the shrunk file's path, the shrunk file).
pub fn explore_and_shrink_canary(name: &str) -> (FailureFile, PathBuf, FailureFile) {
    let dir = tempdir(&format!("canary-{name}"));
    let out_dir = dir.join("failures");
    let out = detsim(&[
        "explore",
        &scenario(name),
        "--seeds",
        "0..1000",
        "--jobs",
        "1",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let found: Vec<PathBuf> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    let small = dir.join("small.json");
    let out = detsim(&["shrink", found[0].to_str().unwrap(), "-o", small.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let after = read_failure(&small);
    (read_failure(&found[0]), small, after)
}
