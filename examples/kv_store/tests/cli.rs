//! The user's binary (`kvsim`, detsim's whole command line over the key-value store's
//! roles) driven as a user would: validate, run, explore finds the planted bug, shrink
//! makes it small, replay reproduces it by hash, and `--report` draws the store's own
//! message labels.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn kvsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kvsim"))
        .args(args)
        .output()
        .expect("kvsim runs")
}

fn scenario(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(format!("{name}.json"))
        .to_string_lossy()
        .into_owned()
}

fn text(out: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(out)))
}

fn lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// A fresh directory under the target directory, for this test's outputs.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn status_of(report: &serde_json::Value, check: &str) -> String {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == check)
        .map(|c| c["status"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no check {check} in {report}"))
}

#[test]
fn the_correct_store_passes_its_own_checks_beside_nothing_else() {
    let out = kvsim(&["validate", &scenario("kv_quorum"), &scenario("kv_read_one_canary")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let out = kvsim(&["run", &scenario("kv_quorum"), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let r = json(&out);
    assert_eq!(status_of(&r, "kv.no_stale_read"), "pass");
    assert_eq!(status_of(&r, "kv.progress"), "pass");
    // Not vacuous: both clients did all their work, and the nemesis did something.
    assert_eq!(r["metrics"]["kv"]["gets"], 80, "{}", r["metrics"]);
    assert_eq!(r["metrics"]["kv"]["puts"], 80);
    assert!(r["faults"].as_array().unwrap().len() >= 3, "the nemesis acted");

    // The human summary has the store's own line.
    let out = kvsim(&["run", &scenario("kv_quorum")]);
    assert!(
        text(&out).contains("  kv: 80 puts, 80 gets, 0 stale reads"),
        "{}",
        text(&out)
    );

    // A handful of seeds: no false alarm.
    let out = kvsim(&["explore", &scenario("kv_quorum"), "--seeds", "0..20", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(lines(&out).len(), 20);
}

#[test]
fn progress_is_never_passed_with_work_undone() {
    // Two replicas isolated for good: no majority, the clients can never finish.
    let dir = scratch("kv_progress");
    let mut s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(scenario("kv_quorum")).unwrap()).unwrap();
    s.as_object_mut().unwrap().remove("nemesis");
    s["faults"] = serde_json::json!([
        { "kind": "isolate", "at": "100ms", "node": "r1" },
        { "kind": "isolate", "at": "100ms", "node": "r2" }
    ]);
    let file = dir.join("stuck.json");
    std::fs::write(&file, s.to_string()).unwrap();
    let out = kvsim(&["run", file.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(3), "not judged: {}", text(&out));
    assert_eq!(status_of(&json(&out), "kv.progress"), "not_judged");

    // Healed at 200ms but the run ends before the bound: still not judged; a bound
    // that passed: a violation.
    s["faults"][0]["until"] = "200ms".into();
    s["faults"][1]["until"] = "200ms".into();
    s["faults"][1]["kind"] = "crash".into();
    s["nodes"][3]["timeout"] = "1h".into(); // c1 never retries: never finishes
    std::fs::write(&file, s.to_string()).unwrap();
    let out = kvsim(&["run", file.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(status_of(&json(&out), "kv.progress"), "fail");
}

#[test]
fn explore_finds_the_planted_stale_read_and_shrink_replay_and_report_follow() {
    let dir = scratch("kv_canary");
    let failures = dir.join("failures");
    let out = kvsim(&[
        "explore",
        &scenario("kv_read_one_canary"),
        "--seeds",
        "0..100",
        "--out",
        failures.to_str().unwrap(),
        "--max-failures",
        "1",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let found: Vec<_> = lines(&out)
        .into_iter()
        .filter(|l| {
            l["violations"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v == "kv.no_stale_read")
        })
        .collect();
    assert!(!found.is_empty(), "the canary is found in 100 seeds");
    let first = found
        .iter()
        .find(|l| l["failure_file"].is_string())
        .expect("a FAILURE file");
    let failure = PathBuf::from(first["failure_file"].as_str().unwrap());
    assert!(failure.exists());

    // The user's binary suggests its own commands.
    let seed = first["seed"].to_string();
    let out = kvsim(&[
        "explore",
        &scenario("kv_read_one_canary"),
        "--seeds",
        &seed,
        "--out",
        failures.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("(kvsim replay "), "{}", text(&out));

    // The same store without its canary passes on that seed: the bug is the canary.
    let out = kvsim(&["run", &scenario("kv_quorum"), "--seed", &seed, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // Replay reproduces the violation and the trace hash.
    let out = kvsim(&["replay", failure.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let r = json(&out);
    assert_eq!(r["same_violation"], true);
    assert_eq!(r["same_hash"], true);
    assert_eq!(r["expected_trace_hash"], first["trace_hash"]);

    // Shrink: the same check still fails, with at most 2 faults and fewer operations.
    let small = dir.join("small.json");
    let out = kvsim(&["shrink", failure.to_str().unwrap(), "-o", small.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let shrunk: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&small).unwrap()).unwrap();
    let faults = shrunk["scenario"]["faults"].as_array().map_or(0, Vec::len);
    assert!(faults <= 2, "shrunk to {faults} faults: {shrunk}");
    assert!(shrunk["scenario"]["nemesis"].is_null());
    let out = kvsim(&["replay", small.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let r = json(&out);
    assert_eq!(r["same_violation"], true);
    assert_eq!(r["same_hash"], true);

    // The report draws the store's own labels (its Display, through Protocol::label).
    let html = dir.join("small.html");
    let out = kvsim(&["replay", small.to_str().unwrap(), "--report", html.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("put k"), "user labels on the arrows");
    assert!(page.contains("get k"));
    assert!(page.contains("kv.no_stale_read"));
}
