//! The example scenarios through the real binary: each exits with the code it is meant to
//! have and reproduces its pinned trace hash; explore finds the canary, replay reproduces
//! it, and shards cover exactly the unsharded run.

use std::path::{Path, PathBuf};

use crate::support::tempdir;
use std::process::{Command, Output};

/// Golden trace hashes of the example scenarios, at their own seeds. A deliberate change
/// of the engine or a protocol updates them in the same commit and says why.
const GOLDEN: [(&str, i32, &str); 9] = [
    ("all_systems_nemesis", 0, "f145c508dc12e6d3"),
    ("deposit_partition", 0, "0ca11c15191381f8"),
    ("deposit_partition_canary", 1, "02e3a537428b62c7"),
    ("discovery_churn", 0, "cc68f4266174fdfd"),
    ("pool_batch", 0, "7cfed00c01fa1033"),
    ("pool_poisson_mmc", 0, "bae74515fca9a7ce"),
    ("pool_worker_crashes", 0, "101777d015b3301f"),
    ("rpc_loss_retries", 0, "0084513996a48acd"),
    ("rpc_multiply", 0, "817efee43950a0c0"),
];

pub fn detsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_detsim"))
        .args(args)
        .env_remove("DETSIM_SEED")
        .output()
        .expect("run detsim")
}

pub fn scenario(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(format!("{name}.json"))
        .display()
        .to_string()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn every_example_scenario_is_pinned() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path().file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let pinned: Vec<&str> = GOLDEN.iter().map(|g| g.0).collect();
    assert_eq!(files, pinned, "every file in scenarios/ has a golden hash");
}

#[test]
fn example_scenarios_exit_as_meant_with_their_golden_hash() {
    for (name, code, hash) in GOLDEN {
        let out = detsim(&["run", &scenario(name), "--json"]);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v = json(&out);
        assert_eq!(v["trace_hash"], hash, "{name}: trace hash changed");
        let failed = v["checks"].as_array().unwrap().iter().any(|c| c["status"] == "fail");
        assert_eq!(failed, code == 1, "{name}: check verdicts agree with the exit code");
        assert!(!v["checks"].as_array().unwrap().is_empty(), "{name}: some check ran");
        for key in [
            "scenario",
            "seed",
            "sim_time_ns",
            "events",
            "messages",
            "faults",
            "violations",
            "metrics",
        ] {
            assert!(v.get(key).is_some(), "{name}: report lacks {key}");
        }
    }
}

#[test]
fn seed_flag_and_env_override_the_scenario_seed() {
    let base = json(&detsim(&["run", &scenario("rpc_loss_retries"), "--json"]));
    let flag = json(&detsim(&[
        "run",
        &scenario("rpc_loss_retries"),
        "--json",
        "--seed",
        "99",
    ]));
    let env = Command::new(env!("CARGO_BIN_EXE_detsim"))
        .args(["run", &scenario("rpc_loss_retries"), "--json"])
        .env("DETSIM_SEED", "99")
        .output()
        .unwrap();
    let env = json(&env);
    assert_eq!(flag["seed"], 99);
    assert_eq!(flag["trace_hash"], env["trace_hash"]);
    assert_ne!(flag["trace_hash"], base["trace_hash"]);
}

#[test]
fn check_determinism_agrees_and_trace_file_has_every_event() {
    let dir = tempdir("trace");
    let trace = dir.join("t.jsonl");
    let out = detsim(&["run", &scenario("deposit_partition"), "--json", "--check-determinism"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("two runs agree"));
    let out = detsim(&[
        "run",
        &scenario("deposit_partition"),
        "--json",
        "--trace",
        trace.to_str().unwrap(),
    ]);
    let v = json(&out);
    let lines = std::fs::read_to_string(&trace).unwrap().lines().count() as u64;
    assert_eq!(lines, v["trace_events"].as_u64().unwrap());
}

fn seed_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn explore_finds_the_canary_and_replay_reproduces_it() {
    let dir = tempdir("explore");
    let out_dir = dir.join("failures");
    let out = detsim(&[
        "explore",
        &scenario("deposit_partition_canary"),
        "--seeds",
        "0..20",
        "--json",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "explore exits 1 when a seed fails");
    let lines = seed_lines(&out);
    let failing: Vec<_> = lines.iter().filter(|l| l["status"] == "fail").collect();
    assert!(!failing.is_empty());
    assert!(
        failing[0]["violations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == "rpc.at_most_once")
    );
    let file = out_dir.join(format!("deposit-partition-canary-seed{}.json", failing[0]["seed"]));
    let replay = detsim(&["replay", file.to_str().unwrap(), "--json"]);
    assert_eq!(
        replay.status.code(),
        Some(1),
        "replay exits 1 when the violation comes back"
    );
    let r = json(&replay);
    assert_eq!(r["same_violation"], true);
    assert_eq!(r["same_hash"], true);
    assert_eq!(r["report"]["trace_hash"], failing[0]["trace_hash"]);
    // The FAILURE file is an ordinary scenario underneath: no nemesis, explicit faults.
    let f: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(f["scenario"].get("nemesis").is_none());
    assert!(f["scenario"]["faults"].as_array().unwrap().len() >= 4);
}

/// The nemesis scenario with the dedupe canary planted in its bank server, written to `dir`.
pub fn planted_nemesis(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(scenario("all_systems_nemesis")).unwrap();
    let planted = text.replace(
        "{ \"id\": \"bank\", \"role\": \"rpc_server\" }",
        "{ \"id\": \"bank\", \"role\": \"rpc_server\", \"dedupe\": false }",
    );
    assert_ne!(planted, text, "the canary was planted");
    let file = dir.join("planted.json");
    std::fs::write(&file, planted).unwrap();
    file
}

#[test]
fn explore_replays_nemesis_failures_by_explicit_schedule() {
    // The nemesis scenario with the dedupe canary planted: failures found under a random
    // nemesis replay with the same hash from the explicit schedule.
    let dir = tempdir("nemesis");
    let file = planted_nemesis(&dir);
    let out_dir = dir.join("f");
    let out = detsim(&[
        "explore",
        file.to_str().unwrap(),
        "--seeds",
        "0..40",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    let failure = std::fs::read_dir(&out_dir).unwrap().next().unwrap().unwrap().path();
    let r = json(&detsim(&["replay", failure.to_str().unwrap(), "--json"]));
    assert_eq!(
        (r["same_violation"].clone(), r["same_hash"].clone()),
        (true.into(), true.into())
    );
}

#[test]
fn shards_cover_exactly_the_unsharded_run() {
    let s = scenario("all_systems_nemesis");
    let all = seed_lines(&detsim(&[
        "explore",
        &s,
        "--seeds",
        "0..30",
        "--json",
        "--keep-going",
        "--jobs",
        "2",
    ]));
    let mut merged = seed_lines(&detsim(&[
        "explore",
        &s,
        "--seeds",
        "0..30",
        "--json",
        "--keep-going",
        "--shard",
        "0/2",
        "--jobs",
        "1",
    ]));
    merged.extend(seed_lines(&detsim(&[
        "explore",
        &s,
        "--seeds",
        "0..30",
        "--json",
        "--keep-going",
        "--shard",
        "1/2",
    ])));
    merged.sort_by_key(|l| l["seed"].as_u64().unwrap());
    assert_eq!(all.len(), 30);
    assert_eq!(merged, all);
}

#[test]
fn the_documented_example_is_a_valid_scenario_that_runs() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scenario-format.md")).unwrap();
    let start = doc.find("```json\n").expect("a json block") + 8;
    let end = start + doc[start..].find("```").unwrap();
    let dir = tempdir("doc");
    let file = dir.join("example.json");
    std::fs::write(&file, &doc[start..end]).unwrap();
    let out = detsim(&["run", file.to_str().unwrap(), "--json"]);
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert!(
        v["faults"].as_array().unwrap().len() > 8,
        "scheduled and nemesis faults both realized"
    );
}

#[test]
fn the_human_summary_shows_each_protocols_key_metrics() {
    let out = detsim(&["run", &scenario("all_systems_nemesis")]);
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "  rpc: 350 calls",
        "  pool: 800 submitted, 800 accepted",
        "  discovery: ",
        "reproduce: detsim run ",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
    assert!(
        !text.contains('?'),
        "a metric the summary looks for is missing from the report:\n{text}"
    );
}
