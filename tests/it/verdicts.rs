//! Verdicts through the real binary: liveness checks that cannot pass vacuously (work
//! left undone is `fail` when it was due or can never happen, `not_judged` with a reason
//! when a fault never healed or the run ended too soon, exit code 3), explore counting
//! not-judged seeds, the RPC oracle catching the wrapping-multiply canary, and node
//! names (never `n<digit>`) in violations, evidence, summaries, traces and reports.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::scenarios::detsim;
use crate::support::tempdir;

/// Write `text` as `<dir>/<name>.json`.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(format!("{name}.json"));
    std::fs::write(&p, text).unwrap();
    p
}

/// `detsim run FILE --json`: the exit code and the report.
fn run_json(file: &Path) -> (Option<i32>, serde_json::Value) {
    let out = detsim(&["run", file.to_str().unwrap(), "--json"]);
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), v)
}

/// The report's entry for one check.
fn check<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {report}"))
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Where `s` mentions a node by index (`n5`): an `n` right after a non-word character
/// (or the start) and followed by a digit.
fn index_reference(s: &str) -> Option<String> {
    let b = s.as_bytes();
    (0..b.len().saturating_sub(1))
        .find(|&i| {
            b[i] == b'n'
                && b[i + 1].is_ascii_digit()
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        })
        .map(|i| s[i.saturating_sub(30)..(i + 30).min(s.len())].to_string())
}

const ONE_WORKER_CRASHED_FOR_GOOD: &str = r#"{
  "name": "crashed-for-good", "seed": 1, "duration": "4s",
  "nodes": [
    { "id": "dispatcher", "role": "dispatcher", "arrivals": { "kind": "batch", "jobs": 10 } },
    { "id": "w1", "role": "worker", "dispatcher": "dispatcher",
      "service_time": { "dist": "constant", "value": "1s" } }
  ],
  "faults": [ { "kind": "crash", "at": "500ms", "node": "w1" } ]
}"#;

/// The issue's case: the only worker crashed for good at 500 ms, a batch of 10 jobs,
/// none accepted. Was `[pass]`, exit 0; now not judged, naming w1, exit 3.
#[test]
fn a_worker_crashed_for_good_is_not_judged_naming_it() {
    let dir = tempdir("verdict-crashed");
    let f = write(&dir, "crashed", ONE_WORKER_CRASHED_FOR_GOOD);
    let (code, r) = run_json(&f);
    assert_eq!(code, Some(3), "{r}");
    let live = check(&r, "pool.liveness");
    assert_eq!(live["status"], "not_judged");
    assert_eq!(
        live["reason"], "w1 crashed at 500ms and never restarted; 10 jobs undone",
        "{live}"
    );
    assert_eq!(check(&r, "pool.correct_result")["status"], "pass");
    assert_eq!(r["heal_at_ns"], serde_json::Value::Null, "it never healed");
    assert_eq!(r["unhealed"][0]["node"], "w1");
    assert_eq!(r["unhealed"][0]["what"], "crashed");
    assert_eq!(r["unhealed"][0]["since_ns"], 500_000_000);
    let out = detsim(&["run", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out).contains("  [NOT JUDGED] pool.liveness: w1 crashed at 500ms and never restarted; 10 jobs undone\n"),
        "{}",
        text(&out)
    );
}

/// A dispatcher with no worker at all is refused (exit 2, naming it): its jobs could
/// never be done. The checker still fails such a run when one is built by hand (the
/// library does not validate): the run is quiescent at once with 10 jobs queued and no
/// fault, so they will never be accepted.
#[test]
fn a_dispatcher_with_no_workers_is_refused_and_its_run_fails() {
    let dir = tempdir("verdict-noworker");
    let text = r#"{ "name": "no-workers", "seed": 1, "duration": "4s",
  "nodes": [ { "id": "dispatcher", "role": "dispatcher", "arrivals": { "kind": "batch", "jobs": 10 } } ] }"#;
    let f = write(&dir, "noworker", text);
    let out = detsim(&["run", f.to_str().unwrap(), "--json"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("noworker.json:at nodes[0]: dispatcher \"dispatcher\" has no worker"),
        "{err}"
    );
    let s: detsim::scenario::Scenario = detsim::Protocols::builtin()
        .scope(|| serde_json::from_str(text))
        .unwrap();
    let r = detsim::run::run_scenario(&detsim::Protocols::builtin(), &s, 1, None).unwrap();
    assert_eq!(r.outcome, detsim::Outcome::Quiescent);
    let live = r.checks.iter().find(|c| c.name == "pool.liveness").unwrap();
    assert_eq!(live.status, detsim::run::Status::Fail);
    assert_eq!(r.violations.len(), 10, "one per undone job");
    let m = &r.violations[0].message;
    assert!(
        m.starts_with("job dispatcher/1, submitted at 0s, was never accepted"),
        "{m}"
    );
    assert!(m.contains("quiescent"), "{m}");
    assert_eq!(r.violations[0].events[0].name, "dispatcher");
}

/// The review's case: a dispatcher with no worker and a queue of capacity 0, a batch of
/// 10 jobs: every job was rejected, none accepted, and `pool.liveness` passed (exit 0).
/// And `calls: 0` / `jobs: 0` gave four passes on a run that did nothing, as did a
/// dispatcher waiting for pool clients when there is none. Each is now bad input (exit
/// 2) naming the field; nothing runs.
#[test]
fn work_that_cannot_be_done_or_judged_is_bad_input() {
    let dir = tempdir("verdict-nothing");
    let worker = r#"{ "id": "w1", "role": "worker", "dispatcher": "d", "service_time": { "dist": "constant", "value": "1ms" } }"#;
    let cases = [
        (
            r#"{ "id": "d", "role": "dispatcher", "arrivals": { "kind": "batch", "jobs": 10 }, "queue_capacity": 0 }"#
                .to_string(),
            vec![
                "at nodes[0].queue_capacity: must be at least 1",
                "at nodes[0]: dispatcher \"d\" has no worker: its jobs could never be done; add a worker with \"dispatcher\": \"d\"",
            ],
        ),
        (
            format!(r#"{{ "id": "d", "role": "dispatcher", "arrivals": {{ "kind": "batch", "jobs": 0 }} }}, {worker}"#),
            vec!["at nodes[0].arrivals.jobs: must be at least 1 (a run with no jobs has nothing to check)"],
        ),
        (
            format!(
                r#"{{ "id": "d", "role": "dispatcher", "arrivals": {{ "kind": "poisson", "rate": 5.0, "jobs": 0 }} }}, {worker}"#
            ),
            vec!["at nodes[0].arrivals.jobs: must be at least 1"],
        ),
        (
            format!(
                r#"{{ "id": "d", "role": "dispatcher", "arrivals": {{ "kind": "clients" }} }}, {worker},
                   {{ "id": "c", "role": "pool_client", "dispatcher": "d", "jobs": 0 }}"#
            ),
            vec!["at nodes[2].jobs: must be at least 1"],
        ),
        (
            format!(r#"{{ "id": "d", "role": "dispatcher", "arrivals": {{ "kind": "clients" }} }}, {worker}"#),
            vec![
                "at nodes[0].arrivals: dispatcher \"d\" takes its jobs from pool clients (\"kind\": \"clients\") and none names it",
            ],
        ),
        (
            r#"{ "id": "s", "role": "rpc_server" }, { "id": "c", "role": "rpc_client", "server": "s", "calls": 0 }"#
                .to_string(),
            vec!["at nodes[1].calls: must be at least 1 (a run with no calls has nothing to check)"],
        ),
        (
            r#"{ "id": "s", "role": "rpc_server" }, { "id": "c", "role": "rpc_client", "server": "s", "calls": 1 }"#
                .to_string()
                + r#"], "nemesis": { "stop": "1s", "crash_rate": 1.0, "targets": ["s", "c", "s"] }, "faults": ["#,
            vec!["at nemesis.targets[2]: node \"s\" is named twice in nemesis.targets"],
        ),
    ];
    for (i, (nodes, expect)) in cases.iter().enumerate() {
        let f = write(
            &dir,
            &format!("case{i}"),
            &format!(r#"{{ "name": "nothing", "duration": "2s", "nodes": [ {nodes} ] }}"#),
        );
        for cmd in ["run", "validate"] {
            let out = detsim(&[cmd, f.to_str().unwrap()]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "case {i} ({cmd}): {err}");
            for e in expect {
                assert!(
                    err.contains(&format!("case{i}.json:{e}")),
                    "case {i} ({cmd}): {e:?} in {err}"
                );
            }
            assert!(out.stdout.is_empty() || cmd == "validate", "case {i}: nothing ran");
        }
    }
}

/// A worker that finds its dispatcher through the registry serves it: valid, and the
/// jobs are done.
#[test]
fn a_worker_found_through_the_registry_serves_its_dispatcher() {
    let dir = tempdir("verdict-served");
    let text = r#"{ "name": "served", "seed": 1, "duration": "3s",
  "nodes": [
    { "id": "registry", "role": "registry" },
    { "id": "d", "role": "dispatcher", "arrivals": { "kind": "batch", "jobs": 5 },
      "register": { "registry": "registry", "service": "pool", "ttl": "300ms" } },
    { "id": "w1", "role": "worker", "service": { "registry": "registry", "service": "SERVICE" },
      "service_time": { "dist": "constant", "value": "1ms" } }
  ] }"#;
    let f = write(&dir, "served", &text.replace("SERVICE", "pool"));
    let (code, r) = run_json(&f);
    assert_eq!(code, Some(0), "{r}");
    assert_eq!(check(&r, "pool.liveness")["status"], "pass");
    // The worker looks up another service: nobody serves the dispatcher.
    let f = write(&dir, "unserved", &text.replace("SERVICE", "p00l"));
    let out = detsim(&["validate", f.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(r#"at nodes[1]: dispatcher "d" has no worker: its jobs could never be done; add a worker with "dispatcher": "d", or a worker whose `service` is {"registry": "registry", "service": "pool"}"#),
        "{err}"
    );
}

/// A run that ends before the bound of work still undone: not judged ("run longer"),
/// never a pass. Was `[pass]`, exit 0.
#[test]
fn a_run_too_short_for_its_undone_work_is_not_judged() {
    let dir = tempdir("verdict-short");
    let f = write(
        &dir,
        "short",
        r#"{ "name": "short", "seed": 1, "duration": "500ms",
  "nodes": [
    { "id": "dispatcher", "role": "dispatcher", "arrivals": { "kind": "batch", "jobs": 10 } },
    { "id": "w1", "role": "worker", "dispatcher": "dispatcher",
      "service_time": { "dist": "constant", "value": "100ms" } }
  ],
  "checks": { "pool_liveness_bound": "2s" } }"#,
    );
    let (code, r) = run_json(&f);
    assert_eq!(code, Some(3), "{r}");
    let live = check(&r, "pool.liveness");
    assert_eq!(live["status"], "not_judged");
    let why = live["reason"].as_str().unwrap();
    assert!(
        why.contains("jobs still undone when the run ended at 500ms, due only at 2s: run longer"),
        "{why}"
    );
    // Long enough: every job is done, and the same check passes.
    let f = write(
        &dir,
        "long",
        &std::fs::read_to_string(&f).unwrap().replace("500ms", "3s"),
    );
    let (code, r) = run_json(&f);
    assert_eq!(
        (code, &check(&r, "pool.liveness")["status"]),
        (Some(0), &"pass".into()),
        "{r}"
    );
}

/// A pool client configured to make 10 jobs that made none (it looks the dispatcher up
/// under a service name nobody registers; another client finds it): nothing ran, and the
/// run healed long before the first job was due. Was `[pass]`; now a failure naming the
/// client.
#[test]
fn a_pool_client_that_made_no_job_fails() {
    let dir = tempdir("verdict-idle");
    let f = write(
        &dir,
        "idle",
        r#"{ "name": "idle-client", "seed": 1, "duration": "3s",
  "nodes": [
    { "id": "registry", "role": "registry" },
    { "id": "dispatcher", "role": "dispatcher", "arrivals": { "kind": "clients" },
      "register": { "registry": "registry", "service": "pool", "ttl": "300ms" } },
    { "id": "w1", "role": "worker", "dispatcher": "dispatcher",
      "service_time": { "dist": "constant", "value": "1ms" } },
    { "id": "c1", "role": "pool_client", "service": { "registry": "registry", "service": "p00l" },
      "jobs": 10 },
    { "id": "c2", "role": "pool_client", "service": { "registry": "registry", "service": "pool" },
      "jobs": 5 }
  ],
  "checks": { "pool_liveness_bound": "1s" } }"#,
    );
    let (code, r) = run_json(&f);
    assert_eq!(code, Some(1), "{r}");
    assert_eq!(check(&r, "pool.liveness")["status"], "fail");
    let m = r["violations"][0]["message"].as_str().unwrap();
    assert!(m.starts_with("c1 was configured to make 10 jobs and made none"), "{m}");
}

const RPC_SERVER_CRASHED_FOR_GOOD: &str = r#"{
  "name": "rpc-crashed", "seed": 1, "duration": "3s",
  "nodes": [
    { "id": "s1", "role": "rpc_server" },
    { "id": "c1", "role": "rpc_client", "server": "s1", "calls": 10, "interval": "20ms",
      "mix": { "multiply": 1 } }
  ],
  "faults": [ { "kind": "crash", "at": "100ms", "node": "s1" } ]
}"#;

/// The RPC server crashed for good: the calls after it failed while the fault was in
/// force and it never healed. Was a failure (judged as if healed at the crash); now not
/// judged, naming s1.
#[test]
fn an_rpc_server_crashed_for_good_is_not_judged() {
    let dir = tempdir("verdict-rpc-crashed");
    let f = write(&dir, "crashed", RPC_SERVER_CRASHED_FOR_GOOD);
    let (code, r) = run_json(&f);
    assert_eq!(code, Some(3), "{r}");
    let live = check(&r, "rpc.liveness");
    assert_eq!(live["status"], "not_judged");
    let why = live["reason"].as_str().unwrap();
    assert!(why.starts_with("s1 crashed at 100ms and never restarted; "), "{why}");
    assert!(why.contains(" calls undone"), "{why}");
    // Restarted at 1 s: healed; the failures during the crash are excused, and it passes.
    let f = write(
        &dir,
        "restarted",
        &RPC_SERVER_CRASHED_FOR_GOOD.replace(r#""node": "s1" }"#, r#""node": "s1", "until": "1s" }"#),
    );
    let (code, r) = run_json(&f);
    assert_eq!(
        (code, &check(&r, "rpc.liveness")["status"]),
        (Some(0), &"pass".into()),
        "{r}"
    );
}

/// A client that can reach no server (it looks up a service name no server registers),
/// in a run that healed: every call failed before the first fault (an unrelated pause at
/// 2 s), with no fault in force. Was `[pass]` (only calls invoked after the last fault
/// were judged); now a failure.
#[test]
fn an_rpc_client_with_no_reachable_server_fails() {
    let dir = tempdir("verdict-rpc-unreachable");
    let f = write(
        &dir,
        "unreachable",
        r#"{ "name": "rpc-unreachable", "seed": 1, "duration": "3s",
  "nodes": [
    { "id": "registry", "role": "registry" },
    { "id": "s1", "role": "rpc_server", "register": { "registry": "registry", "service": "arith", "ttl": "300ms" } },
    { "id": "c1", "role": "rpc_client", "service": { "registry": "registry", "service": "arithmetic" },
      "calls": 3, "interval": "10ms", "mix": { "multiply": 1 } }
  ],
  "faults": [ { "kind": "pause", "at": "2s", "until": "2100ms", "node": "s1" } ] }"#,
    );
    let (code, r) = run_json(&f);
    assert_eq!(code, Some(1), "{r}");
    assert_eq!(check(&r, "rpc.liveness")["status"], "fail");
    assert_eq!(check(&r, "rpc.liveness")["violations"], 3);
    let m = r["violations"][0]["message"].as_str().unwrap();
    assert!(
        m.contains("of c1") && m.contains("with no fault on its path in force meanwhile"),
        "{m}"
    );
}

const REGISTRY: &str = r#"{ "name": "disc", "seed": 1, "duration": "3s",
  "nodes": [
    { "id": "registry", "role": "registry" },
    { "id": "s1", "role": "rpc_server", "register": { "registry": "registry", "service": "arith", "ttl": "300ms" } }
  ] FAULTS NETWORK }"#;

/// Discovery: the registry crashed for good, so no registration can reach it: not
/// judged (was a pass: no lookup was served after the heal, nothing was checked).
#[test]
fn a_registry_crashed_for_good_is_not_judged() {
    let dir = tempdir("verdict-disc-crashed");
    let f = write(
        &dir,
        "crashed",
        &REGISTRY
            .replace(
                "FAULTS",
                r#", "faults": [ { "kind": "crash", "at": "1s", "node": "registry" } ]"#,
            )
            .replace("NETWORK", ""),
    );
    let (code, r) = run_json(&f);
    assert_eq!(code, Some(3), "{r}");
    let vis = check(&r, "disc.visible_after_heal");
    assert_eq!(vis["status"], "not_judged");
    assert_eq!(
        vis["reason"],
        "registry crashed at 1s and never restarted; 1 registration undone"
    );
}

/// Discovery, healed: s1 heartbeats but every heartbeat to the registry is lost and
/// nobody looks the service up. Its registration never became visible although the run
/// had no fault at all. Was a pass (no lookup, nothing checked); now a failure.
#[test]
fn a_registration_that_never_reaches_its_registry_fails() {
    let dir = tempdir("verdict-disc-lost");
    let f = write(
        &dir,
        "lost",
        &REGISTRY.replace("FAULTS", "").replace(
            "NETWORK",
            r#", "network": { "links": [ { "from": "s1", "to": "registry", "drop": 1.0 } ] }"#,
        ),
    );
    let (code, r) = run_json(&f);
    assert_eq!(code, Some(1), "{r}");
    assert_eq!(check(&r, "disc.visible_after_heal")["status"], "fail");
    let m = r["violations"][0]["message"].as_str().unwrap();
    assert!(
        m.starts_with("s1 heartbeats for \"arith\" to registry, but no registration"),
        "{m}"
    );
}

/// explore: a not-judged seed is counted and shown, writes no FAILURE file, and its
/// JSON line says so; the sweep exits 3.
#[test]
fn explore_counts_not_judged_seeds_without_failure_files() {
    let dir = tempdir("verdict-explore");
    let f = write(&dir, "crashed", ONE_WORKER_CRASHED_FOR_GOOD);
    let out_dir = dir.join("failures");
    let out = detsim(&[
        "explore",
        f.to_str().unwrap(),
        "--seeds",
        "0..3",
        "--jobs",
        "1",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains(": 0 failing, 3 not judged"), "{}", text(&out));
    assert!(
        text(&out).contains("  seed 1: not judged (pool.liveness: w1 crashed at 500ms"),
        "{}",
        text(&out)
    );
    assert!(!out_dir.exists(), "no FAILURE file for a seed that did not fail");
    let out = detsim(&[
        "explore",
        f.to_str().unwrap(),
        "--seeds",
        "0..3",
        "--jobs",
        "1",
        "--json",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3));
    let lines: Vec<serde_json::Value> = text(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    for l in &lines {
        assert_eq!(l["status"], "not_judged", "{l}");
        assert_eq!(l["violations"], serde_json::json!([]));
        assert!(
            l["not_judged"][0]
                .as_str()
                .unwrap()
                .starts_with("pool.liveness: w1 crashed"),
            "{l}"
        );
    }
}

const WRAPPING_CANARY: &str = r#"{
  "name": "wrapping-canary", "seed": 3, "duration": "2s",
  "nodes": [
    { "id": "s1", "role": "rpc_server", "canary_wrapping_multiply": true },
    { "id": "c1", "role": "rpc_client", "server": "s1", "calls": 60, "interval": "5ms",
      "mix": { "multiply": 1 } }
  ]
}"#;

/// `rpc.correct_result` catches a server whose multiply wraps on overflow (its oracle
/// is its own, not the server's function); the same scenario without the canary passes.
/// Every violation, evidence line, summary line, trace line and the report's violation
/// list name nodes by the scenario's ids, never `n<digit>`.
#[test]
fn the_wrapping_multiply_canary_is_caught_and_named() {
    let dir = tempdir("verdict-wrapping");
    let f = write(&dir, "canary", WRAPPING_CANARY);
    let trace = dir.join("t.jsonl");
    let out = detsim(&["run", f.to_str().unwrap(), "--json", "--trace", trace.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(check(&r, "rpc.correct_result")["status"], "fail");
    let violations = r["violations"].as_array().unwrap();
    assert!(!violations.is_empty());
    let v = violations.iter().find(|v| v["check"] == "rpc.correct_result").unwrap();
    assert!(
        v["message"].as_str().unwrap().contains("expected error: overflow"),
        "{v}"
    );
    let names: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].as_str().unwrap())
        .collect();
    assert!(names.iter().all(|n| *n == "s1" || *n == "c1"), "{names:?}");
    assert!(v["events"][0]["node_index"].is_u64());
    for v in violations {
        let s = v.to_string().replace("\"node_index\":", "");
        assert_eq!(index_reference(&s), None, "{s}");
    }
    let lines = std::fs::read_to_string(&trace).unwrap();
    let first_send: serde_json::Value = lines
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|l| l["ev"] == "send")
        .unwrap();
    assert_eq!((&first_send["from"], &first_send["to"]), (&"c1".into(), &"s1".into()));
    for l in lines.lines() {
        assert_eq!(index_reference(l), None, "{l}");
    }
    let human = detsim(&["run", f.to_str().unwrap()]);
    assert_eq!(index_reference(&text(&human)), None, "{}", text(&human));
    assert!(text(&human).contains(" s1: executed call"), "{}", text(&human));
    // The HTML report's violation list too.
    let html = dir.join("r.html");
    let out = detsim(&["run", f.to_str().unwrap(), "--report", html.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let page = std::fs::read_to_string(&html).unwrap();
    let list = &page[page.find(r#"<ul class="viol">"#).unwrap()..];
    let list = &list[..list.find("</ul>").unwrap()];
    assert!(list.contains("of c1"), "{list}");
    assert_eq!(index_reference(list), None, "{list}");
    // Without the canary, the same calls pass.
    let f = write(
        &dir,
        "fixed",
        &WRAPPING_CANARY.replace(r#", "canary_wrapping_multiply": true"#, ""),
    );
    let (code, r) = run_json(&f);
    assert_eq!(code, Some(0), "{r}");
}

/// The shipped deposit canary names its nodes in its violations and trace too.
#[test]
fn the_deposit_canary_names_its_nodes() {
    let dir = tempdir("verdict-deposit-names");
    let trace = dir.join("t.jsonl");
    let out = detsim(&[
        "run",
        &crate::scenarios::scenario("deposit_partition_canary"),
        "--json",
        "--trace",
        trace.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let nodes: Vec<String> = r["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().into())
        .collect();
    for v in r["violations"].as_array().unwrap() {
        let s = v.to_string().replace("\"node_index\":", "");
        assert_eq!(index_reference(&s), None, "{s}");
        for e in v["events"].as_array().unwrap() {
            assert!(nodes.contains(&e["node"].as_str().unwrap().to_string()), "{e}");
        }
    }
    for l in std::fs::read_to_string(&trace).unwrap().lines() {
        assert_eq!(index_reference(l), None, "{l}");
    }
}

/// A partition that never heals (no `until`, no `heal`) with calls left undone: the run
/// never healed, so rpc.liveness is not judged, naming the partition; an explicit heal
/// later makes it judgeable again (and it passes).
#[test]
fn a_network_fault_that_never_heals_is_not_judged_naming_it() {
    let dir = tempdir("verdict-partition-forever");
    let text = r#"{
      "name": "partition-forever", "seed": 1, "duration": "5s",
      "nodes": [
        { "id": "s1", "role": "rpc_server" },
        { "id": "c1", "role": "rpc_client", "server": "s1", "calls": 50, "think": "50ms" }
      ],
      "faults": [ { "kind": "partition", "at": "500ms", "groups": [["s1"], ["c1"]] } ]
    }"#;
    let f = write(&dir, "forever", text);
    let (code, r) = run_json(&f);
    assert_eq!(code, Some(3), "{r}");
    let live = check(&r, "rpc.liveness");
    assert_eq!(live["status"], "not_judged", "{r}");
    let why = live["reason"].as_str().unwrap();
    assert!(
        why.starts_with("partition {s1} | {c1} from 500ms never healed"),
        "{why}"
    );
    assert_eq!(r["unhealed"][0]["what"], "cut", "{r}");
    let healed = text.replace(
        r#""groups": [["s1"], ["c1"]] } ]"#,
        r#""groups": [["s1"], ["c1"]] }, { "kind": "heal", "at": "1s" } ]"#,
    );
    let f = write(&dir, "healed", &healed);
    let (code, r) = run_json(&f);
    assert_eq!(code, Some(0), "{r}");
    assert_eq!(check(&r, "rpc.liveness")["status"], "pass");
}

/// Calls that fail for their own reason (a 2 ms timeout on a 5 ms link) in a run with
/// faults: liveness is judged from when the faults actually ended, so neither faults
/// planned to end later (a `heal` ended them early), nor a second window much later,
/// nor an undo that undid nothing (restarting a live node) excuse them.
#[test]
fn liveness_is_judged_from_when_faults_really_ended() {
    let dir = tempdir("verdict-real-heal");
    let base = r#"{ "name": "real-heal", "seed": 1, "duration": "5s",
      "network": { "default": { "latency": { "dist": "constant", "value": "5ms" } } },
      "nodes": [ { "id": "server", "role": "rpc_server" },
        { "id": "client", "role": "rpc_client", "server": "server", "calls": 20, "interval": "50ms",
          "mix": { "multiply": 1 }, "timeout": "2ms", "max_attempts": 2, "backoff_base": "1ms", "backoff_max": "1ms" } ],
      "faults": FAULTS }"#;
    for (tag, faults) in [
        (
            "healed-early",
            r#"[ { "kind": "block", "at": "0ms", "until": "4.9s", "from": "client", "to": "server" },
                 { "kind": "heal", "at": "1ms" } ]"#,
        ),
        (
            "two-windows",
            r#"[ { "kind": "crash", "at": "0ms", "until": "1ms", "node": "server" },
                 { "kind": "crash", "at": "4.8s", "until": "4.9s", "node": "server" } ]"#,
        ),
        (
            "no-op-restart",
            r#"[ { "kind": "block", "at": "0ms", "until": "1ms", "from": "client", "to": "server" },
                 { "kind": "restart", "at": "4.9s", "node": "server" } ]"#,
        ),
    ] {
        let f = write(&dir, tag, &base.replace("FAULTS", faults));
        let (code, r) = run_json(&f);
        assert_eq!(code, Some(1), "{tag}: {r}");
        let live = check(&r, "rpc.liveness");
        assert_eq!(live["status"], "fail", "{tag}: {r}");
        assert!(live["violations"].as_u64().unwrap() >= 15, "{tag}: {r}");
    }
    // The never-reassign canary stays caught when a no-op restart comes late.
    let canary = r#"{ "name": "cp", "seed": 1, "duration": "20s",
      "nodes": [ { "id": "d", "role": "dispatcher", "arrivals": {"kind": "batch", "jobs": 20},
                   "canary_never_reassign": true, "lease": "1s" },
                 { "id": "w1", "role": "worker", "dispatcher": "d", "service_time": {"dist":"constant","value":"50ms"} } ],
      "faults": [ { "kind": "crash", "at": "20ms", "until": "500ms", "node": "w1" },
                  { "kind": "restart", "at": "19s", "node": "w1" } ],
      "checks": { "pool_liveness_bound": "5s" } }"#;
    let f = write(&dir, "canary", canary);
    let (code, r) = run_json(&f);
    assert_eq!(
        (code, &check(&r, "pool.liveness")["status"]),
        (Some(1), &"fail".into()),
        "{r}"
    );
    assert_eq!(r["heal_at_ns"], 500_000_000u64, "{r}");
}

/// A call that fails for its own reason (its server's replies to it are all lost) is not
/// excused by a fault elsewhere: a pause of another client, or a window of settings on
/// another client's link. A fault on its own path (a pause of its server) does excuse it.
#[test]
fn only_a_fault_on_the_calls_path_excuses_its_failure() {
    let dir = tempdir("verdict-path");
    let base = r#"{ "name": "path", "seed": 1, "duration": "5s",
      "network": { "links": [ { "from": "server", "to": "client1", "drop": 1.0 } ] },
      "nodes": [ { "id": "server", "role": "rpc_server" },
        { "id": "client1", "role": "rpc_client", "server": "server", "calls": 5, "interval": "20ms", "mix": { "multiply": 1 } },
        { "id": "client2", "role": "rpc_client", "server": "server", "calls": 5, "interval": "20ms", "mix": { "multiply": 1 } } ],
      "faults": [ FAULT ] }"#;
    for (tag, fault, code) in [
        (
            "other-client-paused",
            r#"{ "kind": "pause", "at": "0ms", "until": "1s", "node": "client2" }"#,
            1,
        ),
        (
            "other-link-settings",
            r#"{ "kind": "set_link", "at": "1ms", "until": "1s", "from": "client2", "to": "server",
                 "config": { "latency": { "dist": "constant", "value": "1ms" } } }"#,
            1,
        ),
        (
            "its-server-paused",
            r#"{ "kind": "pause", "at": "0ms", "until": "1s", "node": "server" }"#,
            0,
        ),
    ] {
        let f = write(&dir, tag, &base.replace("FAULT", fault));
        let (got, r) = run_json(&f);
        assert_eq!(got, Some(code), "{tag}: {r}");
        let want = if code == 1 { "fail" } else { "pass" };
        assert_eq!(check(&r, "rpc.liveness")["status"], want, "{tag}: {r}");
    }
}

/// A run in which no check ran judged nothing: not judged (exit 3) with a warning, never
/// a pass; and the same scenario with its checks on passes, so it is the switch.
#[test]
fn a_run_with_every_check_switched_off_is_not_judged() {
    let dir = tempdir("verdict-no-check");
    let scenario = |rpc: bool| {
        format!(
            r#"{{"name": "no-check", "duration": "1s",
  "nodes": [ {{ "id": "s", "role": "rpc_server" }},
             {{ "id": "c", "role": "rpc_client", "server": "s", "calls": 5 }} ],
  "checks": {{ "rpc": {rpc} }} }}"#
        )
    };
    let off = write(&dir, "off", &scenario(false));
    let (code, r) = run_json(&off);
    assert_eq!(code, Some(3), "{r}");
    assert_eq!(r["status"], "not_judged");
    assert_eq!(r["checks"].as_array().unwrap().len(), 0);
    assert!(r["warnings"][0].as_str().unwrap().contains("no check ran"), "{r}");
    let out = detsim(&["explore", off.to_str().unwrap(), "--seeds", "0..3", "--json"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("no check ran"), "{}", text(&out));
    let on = write(&dir, "on", &scenario(true));
    let (code, r) = run_json(&on);
    assert_eq!(code, Some(0), "{r}");
}
