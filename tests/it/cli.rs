//! The command line as a user meets it: `run` and `validate` read FAILURE files,
//! `explore --keep-going` groups a systematic bug by check and writes a few FAILURE
//! files, `--seeds N` runs one seed, and counts are printed in good English.

use std::path::{Path, PathBuf};

use crate::scenarios::{detsim, scenario};
use crate::support::tempdir;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json_lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    stdout(out).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The FAILURE file of the deposit canary at `seed`, written by `explore` into `dir`.
pub(crate) fn canary_failure(dir: &Path, seed: u64) -> PathBuf {
    let out_dir = dir.join("failures");
    let out = detsim(&[
        "explore",
        &scenario("deposit_partition_canary"),
        "--seeds",
        &seed.to_string(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let file = out_dir.join(format!("deposit-partition-canary-seed{seed}.json"));
    assert!(file.exists(), "{}", stdout(&out));
    file
}

#[test]
fn run_and_validate_read_a_failure_file() {
    let dir = tempdir("cli-failure-run");
    let file = canary_failure(&dir, 3);
    let f: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let path = file.to_str().unwrap();

    // run: the embedded scenario at the recorded seed, saying so; the same run as recorded.
    let out = detsim(&["run", path]);
    assert_eq!(out.status.code(), Some(1), "the violation is found: {}", stderr(&out));
    assert!(
        stderr(&out).contains("FAILURE file: running its scenario at seed 3"),
        "{}",
        stderr(&out)
    );
    let text = stdout(&out);
    assert!(
        text.contains(&format!("seed 3  trace hash {}", f["trace_hash"].as_str().unwrap())),
        "{text}"
    );
    assert!(text.contains("[FAIL] rpc.at_most_once"), "{text}");
    let out = detsim(&["run", path, "--json"]);
    let r: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!((r["seed"].as_u64(), &r["trace_hash"]), (Some(3), &f["trace_hash"]));
    // --seed still overrides, and says what it overrode.
    let out = detsim(&["run", path, "--seed", "4", "--json"]);
    let r: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(r["seed"], 4);
    assert!(stderr(&out).contains("at seed 4 (given instead of the recorded seed 3)"));

    // validate: checks the embedded scenario.
    let out = detsim(&["validate", path]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("ok (FAILURE file of rpc.at_most_once at seed 3; its scenario has 3 nodes"),
        "{}",
        stdout(&out)
    );
    // ... and reports the embedded scenario's problems by their place in the file.
    let mut broken = f.clone();
    broken["scenario"]["nodes"][1]["calls"] = "many".into();
    let bad = dir.join("broken-failure.json");
    std::fs::write(&bad, serde_json::to_string_pretty(&broken).unwrap()).unwrap();
    for cmd in ["validate", "run", "replay"] {
        let out = detsim(&[cmd, bad.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        assert!(
            stderr(&out).contains("broken-failure.json:") && stderr(&out).contains("at scenario.nodes[1].calls:"),
            "{cmd}: {}",
            stderr(&out)
        );
    }
    // explore needs a scenario, and says what it was given.
    let out = detsim(&["explore", path, "--seeds", "0..2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("this is a FAILURE file"), "{}", stderr(&out));
}

#[test]
fn explore_groups_a_systematic_bug_by_check_and_writes_a_few_files() {
    // The dedupe canary fails rpc.at_most_once on every seed.
    let dir = tempdir("cli-groups");
    let out_dir = dir.join("failures");
    let canary = scenario("deposit_partition_canary");
    let args = |extra: &[&str]| {
        let mut v = vec!["explore", canary.as_str(), "--seeds", "0..40", "--keep-going", "--out"];
        v.push(out_dir.to_str().unwrap());
        v.extend_from_slice(extra);
        v.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let run = |extra: &[&str]| {
        let _ = std::fs::remove_dir_all(&out_dir);
        let a = args(extra);
        detsim(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let files = || std::fs::read_dir(&out_dir).map_or(0, |d| d.count());

    let out = run(&[]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("explored 40 seeds of deposit-partition-canary"), "{text}");
    assert!(text.contains("): 40 failing"), "{text}");
    assert!(
        text.contains("  rpc.at_most_once: 40 seeds (first 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 …)"),
        "{text}"
    );
    assert!(
        text.contains("  seed 0 fails rpc.at_most_once: "),
        "each seed line names its check: {text}"
    );
    assert!(
        text.contains("35 failing seeds without a FAILURE file: at most 5 per check"),
        "{text}"
    );
    assert!(text.lines().count() <= 8, "a summary, not a line per seed:\n{text}");
    assert_eq!(files(), 5, "five FAILURE files by default");

    let out = run(&["--json"]);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 40, "still one JSON line per seed");
    for l in &lines {
        let seed = l["seed"].as_u64().unwrap();
        assert_eq!(l["status"], "fail");
        let written = &l["failure_file"];
        if seed < 5 {
            let p = written.as_str().unwrap_or_else(|| panic!("seed {seed}: {l}"));
            assert!(p.ends_with(&format!("deposit-partition-canary-seed{seed}.json")) && Path::new(p).exists());
        } else {
            assert!(written.is_null(), "seed {seed}: {l}");
        }
    }
    assert!(
        stderr(&out).contains("rpc.at_most_once: 40 seeds"),
        "the summary goes to stderr"
    );

    let out = run(&["--max-failures", "2"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(files(), 2);
    assert!(stdout(&out).contains("38 failing seeds without a FAILURE file: at most 2 per check"));
    let out = run(&["--max-failures", "0", "--json"]);
    assert_eq!(out.status.code(), Some(1), "failing seeds are still a finding");
    assert_eq!(files(), 0);
    assert!(json_lines(&out).iter().all(|l| l["failure_file"].is_null()));
}

#[test]
fn one_seed_and_counts_of_one_in_the_singular() {
    for seeds in ["100", "100..101", "100..=100"] {
        let out = detsim(&[
            "explore",
            &scenario("rpc_multiply"),
            "--seeds",
            seeds,
            "--jobs",
            "1",
            "--json",
        ]);
        assert_eq!(out.status.code(), Some(0), "{seeds}: {}", stderr(&out));
        let lines = json_lines(&out);
        assert_eq!(lines.len(), 1, "{seeds}");
        assert_eq!(lines[0]["seed"], 100);
        assert!(
            stderr(&out).contains("explored 1 seed of rpc-multiply") && stderr(&out).contains(", 1 job): 0 failing"),
            "{seeds}: {}",
            stderr(&out)
        );
    }
    let out = detsim(&["explore", &scenario("rpc_multiply"), "--seeds", "ten"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("expected N (one seed), A..B"), "{}", stderr(&out));

    // One fault: "1 fault" in validate and in the run summary.
    let dir = tempdir("cli-singular");
    let file = dir.join("one-fault.json");
    std::fs::write(
        &file,
        r#"{"name":"one","duration":"1s","nodes":[{"id":"s","role":"rpc_server"},{"id":"c","role":"rpc_client","server":"s","calls":2}],
           "faults":[{"kind":"pause","at":"100ms","node":"s"}]}"#,
    )
    .unwrap();
    let out = detsim(&["validate", file.to_str().unwrap()]);
    assert!(
        stdout(&out).contains("ok (2 nodes, 1 fault, duration 1s)"),
        "{}",
        stdout(&out)
    );
    let out = detsim(&["run", file.to_str().unwrap()]);
    assert!(stdout(&out).contains("; 1 fault\n"), "{}", stdout(&out));
    for bad in ["1 seeds", "1 faults", "1 jobs", "1 nodes", "1 events"] {
        assert!(!stdout(&out).contains(bad), "{bad}");
    }
}

/// Was: `explore --seeds 0..100000000000` collected every seed up front and aborted
/// (`memory allocation … failed`). The seeds are made lazily, a chunk at a time: on the
/// canary (it fails on every seed), without --keep-going the sweep stops at the first
/// failing seed of the range or of the shard, at once.
#[test]
fn a_huge_seed_range_stops_at_the_first_failing_seed() {
    let dir = tempdir("cli-huge");
    let out_dir = dir.join("failures");
    let canary = scenario("deposit_partition_canary");
    for (shard, first) in [(None, 0u64), (Some("3/16"), 3), (Some("15/16"), 15)] {
        let mut args = vec![
            "explore",
            canary.as_str(),
            "--seeds",
            "0..100000000000",
            "--jobs",
            "2",
            "--max-failures",
            "1",
            "--json",
            "--out",
            out_dir.to_str().unwrap(),
        ];
        if let Some(s) = shard {
            args.extend(["--shard", s]);
        }
        let out = detsim(&args);
        assert_eq!(out.status.code(), Some(1), "{shard:?}: {}", stderr(&out));
        let lines = json_lines(&out);
        assert_eq!(lines.len(), 1, "{shard:?}: the first failing seed only");
        assert_eq!(lines[0]["seed"], first, "{shard:?}");
        assert_eq!(lines[0]["status"], "fail");
        assert!(
            stderr(&out).contains("explored 1 seed of deposit-partition-canary"),
            "{shard:?}: {}",
            stderr(&out)
        );
    }
    // The very end of the seeds: no overflow, the last seed included.
    let out = detsim(&[
        "explore",
        &canary,
        "--seeds",
        "18446744073709551610..=18446744073709551614",
        "--shard",
        "1/2",
        "--keep-going",
        "--max-failures",
        "0",
        "--json",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let seeds: Vec<u64> = json_lines(&out).iter().map(|l| l["seed"].as_u64().unwrap()).collect();
    assert_eq!(seeds, [18446744073709551611, 18446744073709551613]);
}

/// A FAILURE file of the canary, edited by `edit`, replayed with --json: the exit code,
/// the JSON and the human output.
fn replay_edited(
    dir: &Path,
    name: &str,
    edit: impl Fn(&mut serde_json::Value),
) -> (Option<i32>, serde_json::Value, String) {
    let file = canary_failure(dir, 3);
    let mut f: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    edit(&mut f);
    let edited = dir.join(format!("{name}.json"));
    std::fs::write(&edited, serde_json::to_string_pretty(&f).unwrap()).unwrap();
    let out = detsim(&["replay", edited.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let human = detsim(&["replay", edited.to_str().unwrap()]);
    assert_eq!(
        human.status.code(),
        out.status.code(),
        "{name}: the same code with and without --json"
    );
    (out.status.code(), v, stdout(&human))
}

/// Was: `replay` exited 0 whenever the recorded violation did not come back, even when
/// the re-run failed another check or could not be judged. Now: 1 when the violation came
/// back; else the re-run's own verdict (1 another check failed, 3 not judged, 0 pass),
/// said in the output and in the JSON (`status`, `failed_checks`).
#[test]
fn replay_exits_with_the_reruns_verdict_when_the_violation_does_not_come_back() {
    let dir = tempdir("cli-replay-codes");
    // As recorded: the violation comes back.
    let (code, v, _) = replay_edited(&dir, "same", |_| {});
    assert_eq!(code, Some(1));
    assert_eq!((&v["same_violation"], &v["status"]), (&true.into(), &"fail".into()));
    assert_eq!(v["report"]["status"], "fail");

    // The file names a check that passes, while rpc.at_most_once still fails.
    let (code, v, human) = replay_edited(&dir, "other", |f| f["check"] = "rpc.correct_result".into());
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["same_violation"], false);
    assert_eq!(v["status"], "fail");
    assert_eq!(v["failed_checks"], serde_json::json!(["rpc.at_most_once"]));
    assert!(
        human.contains("violation of rpc.correct_result did NOT come back")
            && human.contains("replay: but another check failed: rpc.at_most_once"),
        "{human}"
    );

    // The bug fixed (dedupe on), and the bank crashed for good mid-run: not judged.
    let (code, v, human) = replay_edited(&dir, "not-judged", |f| {
        f["scenario"]["nodes"][0]["dedupe"] = true.into();
        f["scenario"]["faults"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"kind": "crash", "at": "500ms", "node": "bank"}));
    });
    assert_eq!(code, Some(3), "{v}");
    assert_eq!(
        (&v["same_violation"], &v["status"]),
        (&false.into(), &"not_judged".into())
    );
    assert!(
        human.contains("replay: but not every check could be judged: rpc.liveness"),
        "{human}"
    );

    // The bug fixed, nothing else: every check passes.
    let (code, v, human) = replay_edited(&dir, "fixed", |f| f["scenario"]["nodes"][0]["dedupe"] = true.into());
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(
        (&v["status"], &v["failed_checks"]),
        (&"pass".into(), &serde_json::json!([]))
    );
    assert!(human.contains("replay: every check passed"), "{human}");
}

/// `run --json` has the run's verdict as a top-level `status`, agreeing with the exit
/// code and the checks.
#[test]
fn run_json_has_the_runs_status() {
    for (name, code, status) in [("rpc_multiply", 0, "pass"), ("deposit_partition_canary", 1, "fail")] {
        let out = detsim(&["run", &scenario(name), "--json"]);
        assert_eq!(out.status.code(), Some(code), "{name}");
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(r["status"], status, "{name}");
    }
    let dir = tempdir("cli-status");
    let file = dir.join("not-judged.json");
    std::fs::write(
        &file,
        r#"{"name":"nj","duration":"3s","nodes":[{"id":"s","role":"rpc_server"},{"id":"c","role":"rpc_client","server":"s","calls":10,"interval":"20ms","mix":{"multiply":1}}],
           "faults":[{"kind":"crash","at":"100ms","node":"s"}]}"#,
    )
    .unwrap();
    let out = detsim(&["run", file.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(3));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["status"], "not_judged");
}
