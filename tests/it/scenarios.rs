//! The example scenarios through the real binary: each exits with the code it is meant to
//! have and reproduces its pinned trace hash; explore finds the canary, replay reproduces
//! it, and shards cover exactly the unsharded run.

use std::path::{Path, PathBuf};

use crate::support::tempdir;
use std::process::{Command, Output};

/// Golden trace hashes of the example scenarios, at their own seeds. A deliberate change
/// of the engine or a protocol updates them in the same commit and says why.
pub(crate) const GOLDEN: [(&str, i32, &str); 19] = [
    ("all_systems_nemesis", 0, "887b8ac8e3486679"),
    ("buggify", 0, "ea04d748b0090e95"),
    ("clock_skew", 0, "a2c8ec3d11a32f7e"),
    ("clock_skew_canary", 1, "0a5fe00b239e3d2a"),
    ("deposit_partition", 0, "794a4b017d4d7b1a"),
    ("deposit_partition_canary", 1, "361a4d375c5face4"),
    ("discovery_churn", 0, "dc0a3e24bad1a4a9"),
    ("gray_failure", 0, "6287786e367c4a94"),
    ("pool_batch", 0, "7cfed00c01fa1033"),
    // Its Poisson stream stops (a `jobs` limit) well before the end, so every job is
    // done and pool.liveness is judged (without the limit it would be not judged).
    ("pool_poisson_mmc", 0, "2cad246f00662a5b"),
    ("pool_worker_crashes", 0, "94bf6ef1e92bd836"),
    ("retry_storm_canary", 1, "5b52290b6465e4bb"),
    ("rkv_lost_write_canary", 1, "069b3a1ac02227aa"),
    ("rkv_nemesis", 0, "7eee70ac8616da9c"),
    ("rkv_stale_read_canary", 1, "6570f0ca83f7b9c1"),
    ("rpc_loss_retries", 0, "0084513996a48acd"),
    ("rpc_multiply", 0, "817efee43950a0c0"),
    // Three canaries under a dense nemesis: the swarm-coverage scenario.
    ("swarm_canaries", 1, "7685246ba1a96339"),
    ("unsynced_dedupe_canary", 1, "f55af542af6f77f3"),
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
    let faults = f["scenario"]["faults"].as_array().unwrap();
    assert!(faults.len() >= 2);
    assert!(
        faults.iter().all(|f| f.get("until").is_some()),
        "each nemesis fault is a window with its own end: {faults:?}"
    );
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

/// Every shipped scenario meant to pass (exit 0 at its own seed) passes `explore` over
/// `seeds(name)`: its description's promise holds on every seed, not just its own.
fn passing_scenarios_pass(seeds: impl Fn(&str) -> u64) {
    for (name, code, _) in GOLDEN {
        if code != 0 {
            continue;
        }
        let n = seeds(name);
        let range = format!("0..{n}");
        let out = detsim(&["explore", &scenario(name), "--seeds", &range, "--keep-going", "--json"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let failing: Vec<&str> = stdout
            .lines()
            .filter(|l| serde_json::from_str::<serde_json::Value>(l).map_or(true, |v| v["status"] != "pass"))
            .collect();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name} failed some seeds of {range}: {failing:?}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(failing.is_empty(), "{name}: {failing:?}");
        assert_eq!(stdout.lines().count() as u64, n, "{name}: one line per seed");
    }
}

#[test]
fn every_passing_scenario_passes_a_sample_of_seeds() {
    // 64 seeds each; the ten-minute M/M/4 run (about a million events a seed) gets 4.
    passing_scenarios_pass(|name| if name == "pool_poisson_mmc" { 4 } else { 64 });
}

/// The full sweep (minutes): `cargo test --release -- --ignored ten_thousand_seeds`.
#[test]
#[ignore]
fn every_passing_scenario_passes_ten_thousand_seeds() {
    passing_scenarios_pass(|_| 10_000);
}
