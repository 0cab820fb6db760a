//! Every resource has a budget (issue 12, item 2): each row of the issue's table, scaled
//! down to run in seconds, ends in a clear error (exit 2 before the run) or a reported
//! `budget exhausted` outcome (exit 4) or a bounded figure; never an abort. Each runs
//! the binary under a memory cap, so that today's unbounded behaviour fails as a signal.

use std::time::Duration;

use serde_json::{Value, json};

use super::capped::{Ended, run_capped, scratch};
use super::scenarios::scenario;

/// The cap every run here gets: far above what a bounded run needs.
const CAP_MIB: u64 = 2048;

/// Write `v` as a scenario file in a fresh directory and run `detsim run FILE args`.
fn run_json(v: &Value, args: &[&str]) -> (Ended, std::path::PathBuf) {
    let dir = scratch("budget");
    let file = dir.join("s.json");
    std::fs::write(&file, serde_json::to_string_pretty(v).unwrap()).unwrap();
    let f = file.display().to_string();
    let mut all = vec!["run", f.as_str()];
    all.extend_from_slice(args);
    (run_capped(&all, CAP_MIB, Duration::from_secs(120), &dir), dir)
}

fn shipped(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(scenario(name)).unwrap()).unwrap()
}

/// Two RPC clients calling `server` `calls` times each, one call every `interval`.
fn rpc(duration: &str, calls: u64, interval: &str) -> Value {
    json!({
        "name": "budget",
        "duration": duration,
        "nodes": [
            { "id": "server", "role": "rpc_server" },
            { "id": "c1", "role": "rpc_client", "server": "server", "calls": calls, "interval": interval, "max_attempts": 1 },
            { "id": "c2", "role": "rpc_client", "server": "server", "calls": calls, "interval": interval, "max_attempts": 1 }
        ]
    })
}

fn assert_exhausted(e: &Ended, budget: &str) {
    assert_eq!(e.code, Some(4), "budget exhausted is exit 4: {}", e.stderr);
    assert!(
        e.stderr.contains(&format!("budget exhausted ({budget})")),
        "the warning names the {budget} budget: {}",
        e.stderr
    );
}

/// The report's `budget_exhausted` object.
fn exhausted_json(e: &Ended) -> Value {
    let r: Value = serde_json::from_str(&e.stdout).expect("a JSON report");
    assert_eq!(r["outcome"], "budget_exhausted");
    assert_eq!(r["status"], "not_judged", "a run a budget stopped never passes");
    r["budget_exhausted"].clone()
}

/// "A server clogged or paused for 720h: out of memory in 30-40 s." Messages held by
/// the clog (or the pause) count against the memory budget: the run stops, exit 4, at
/// the same event every time (the counted budget is deterministic).
#[test]
fn a_server_clogged_or_paused_for_720h_stops_at_the_held_messages_budget() {
    for kind in ["clog", "pause"] {
        let mut s = rpc("720h", 100_000, "1ms");
        let fault = if kind == "clog" {
            json!({ "kind": "clog", "at": "0s", "until": "720h", "target": { "node": "server" } })
        } else {
            json!({ "kind": "pause", "at": "0s", "until": "720h", "node": "server" })
        };
        s["faults"] = json!([fault]);
        // 1 MiB: half of it at 128 bytes a held message is 4,096 messages.
        let (e, _) = run_json(&s, &["--max-memory", "1MiB", "--json"]);
        assert_exhausted(&e, "held_messages");
        let b = exhausted_json(&e);
        assert_eq!(b["budget"], "held_messages");
        assert_eq!(b["deterministic"], true);
        let (again, _) = run_json(&s, &["--max-memory", "1MiB", "--json"]);
        let hash = |e: &Ended| serde_json::from_str::<Value>(&e.stdout).unwrap()["trace_hash"].clone();
        assert_eq!(hash(&e), hash(&again), "{kind}: stopped at the same event");
    }
}

/// "A batch of 10 M jobs, 9,999 workers: a valid file inside the limits used 10 GB, then
/// OOM." The dispatcher makes its whole batch within one event (its start), before any
/// budget can be looked at: under a 256 MiB address space a batch of 1 M jobs aborted
/// there ("memory allocation failed", signal 6). So a batch is counted against the
/// memory budget (by default half of `ulimit -v`) before the run starts: budget
/// exhausted (exit 4, deterministic) at the start, not an abort. A batch within the
/// budget runs to its end.
#[test]
fn a_batch_over_the_memory_budget_stops_before_it_is_made() {
    let mut s = shipped("pool_batch");
    s["nodes"][0]["arrivals"] = json!({ "kind": "batch", "jobs": 1_000_000 });
    let dir = scratch("batch");
    let file = dir.join("s.json");
    std::fs::write(&file, serde_json::to_string_pretty(&s).unwrap()).unwrap();
    let f = file.display().to_string();
    let e = run_capped(&["run", &f, "--json"], 256, Duration::from_secs(120), &dir);
    assert_exhausted(&e, "memory");
    assert!(
        e.stderr.contains("1000000 items of work") && e.stderr.contains("the run stopped at 0s"),
        "{}",
        e.stderr
    );
    let b = exhausted_json(&e);
    assert_eq!(b["deterministic"], true, "counted, not measured");
    // 4 MiB: half of it at 256 bytes a job is 8,192 jobs.
    for (jobs, code) in [(5_000, 0), (10_000, 4)] {
        s["nodes"][0]["arrivals"] = json!({ "kind": "batch", "jobs": jobs });
        let (e, _) = run_json(&s, &["--max-memory", "4MiB", "--json"]);
        assert_eq!(e.code, Some(code), "{jobs} jobs: {e:?}");
    }
}

/// Pending events (messages in flight on slow links) count against the memory budget.
#[test]
fn pending_events_stop_at_their_budget() {
    let mut s = rpc("1h", 100_000, "100us");
    s["network"] = json!({ "default": { "latency": { "dist": "constant", "value": "10s" } } });
    for c in [1, 2] {
        s["nodes"][c]["timeout"] = json!("1m");
    }
    let (e, _) = run_json(&s, &["--max-memory", "1MiB", "--json"]);
    assert_exhausted(&e, "pending_events");
    assert_eq!(exhausted_json(&e)["budget"], "pending_events");
}

/// `--max-trace-bytes`: the run stops within 4,096 events of the trace reaching it,
/// and the trace holds every event up to the stop (whole lines).
#[test]
fn the_trace_stops_at_its_budget() {
    let dir = scratch("trace");
    let trace = dir.join("t.jsonl");
    let t = trace.display().to_string();
    let (e, _) = run_json(
        &rpc("1h", 100_000, "1ms"),
        &["--trace", &t, "--max-trace-bytes", "100000", "--json"],
    );
    assert_exhausted(&e, "trace_bytes");
    let text = std::fs::read_to_string(&trace).expect("the trace is written");
    assert!(text.len() >= 100_000, "{}", text.len());
    assert!(
        text.len() < 100_000 + 4096 * 400,
        "at most 4,096 events more: {}",
        text.len()
    );
    assert!(text.ends_with('\n'));
    let r: Value = serde_json::from_str(&e.stdout).unwrap();
    assert_eq!(
        text.lines().count() as u64,
        r["trace_events"].as_u64().unwrap(),
        "every event of the run, and only those"
    );
}

/// "10,000 rpc_servers, nemesis partition_rate 1 over 720h: 9.3 GB, then out of memory."
/// Scaled to 2,000 servers: the plan's partitions hold at most 1,000,000 nodes in all;
/// the plan is cut (every kind planned up to the cut) and the run says where.
#[test]
fn a_nemesis_over_thousands_of_nodes_is_cut_at_its_group_budget() {
    let mut nodes: Vec<Value> = (0..2000)
        .map(|i| json!({ "id": format!("s{i}"), "role": "rpc_server" }))
        .collect();
    nodes.push(json!({ "id": "c", "role": "rpc_client", "server": "s0", "calls": 10 }));
    let s = json!({
        "name": "big-nemesis",
        "duration": "720h",
        "max_events": 20000,
        "nodes": nodes,
        "nemesis": { "start": "0s", "stop": "720h", "partition_rate": 1.0, "crash_rate": 0.001 }
    });
    let (e, _) = run_json(&s, &["--json"]);
    assert!(e.signal.is_none() && !e.timed_out, "{e:?}");
    assert!(matches!(e.code, Some(0 | 1 | 3)), "{e:?}");
    assert!(
        e.stderr.contains("the nemesis plan was cut at ")
            && e.stderr
                .contains("1000000 nodes in all in the groups of its partitions")
            && e.stderr.contains("every fault kind is planned up to"),
        "{}",
        e.stderr
    );
    let r: Value = serde_json::from_str(&e.stdout).unwrap();
    let held: usize = r["faults"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["groups"].as_array())
        .map(|g| g.iter().map(|x| x.as_array().map_or(0, Vec::len)).sum::<usize>())
        .sum();
    assert!(held > 900_000 && held <= 1_000_000, "{held}");
}

/// "`pool_poisson_mmc` with `rate: 3200000` (one fuzzed number): 3.5 GB in 9 s, abort."
/// Without its `jobs` bound, the stream's rate x duration is over the event budget:
/// refused before the run (exit 2, naming the field). With it, the run is bounded: its
/// report keeps at most 1,000 violations per check and counts the rest.
#[test]
fn a_fuzzed_poisson_rate_is_refused_or_bounded() {
    let mut s = shipped("pool_poisson_mmc");
    s["nodes"][0]["arrivals"] = json!({ "kind": "poisson", "rate": 3200000.0 });
    let (e, _) = run_json(&s, &[]);
    assert_eq!(e.code, Some(2), "{e:?}");
    assert!(
        e.stderr.contains("nodes[0].arrivals.rate") && e.stderr.contains("over the event budget"),
        "{}",
        e.stderr
    );
    s["nodes"][0]["arrivals"]["jobs"] = json!(189000);
    let (e, _) = run_json(&s, &["--json"]);
    assert_eq!(e.code, Some(1), "{e:?}");
    assert!(e.stdout.len() < 4 << 20, "a bounded report: {} bytes", e.stdout.len());
    let r: Value = serde_json::from_str(&e.stdout).unwrap();
    let kept = r["violations"].as_array().unwrap().len();
    let counted: u64 = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["violations"].as_u64().unwrap())
        .sum();
    assert!(kept <= 1000 && counted > 100_000, "kept {kept} of {counted}");
    assert!(e.stderr.contains("the first 1000 kept"), "{}", e.stderr);
}

/// "2 M faults, `--report`: a 603 MB page at 7 GB RSS (messages are capped at 4,000;
/// faults are not)." Scaled to 6,000 fault windows: the page draws at most 4,000 and
/// says how many it left out.
#[test]
fn a_report_draws_at_most_4000_faults_and_says_how_many_it_left_out() {
    let mut s = rpc("10s", 50, "20ms");
    let faults: Vec<Value> = (0..6000u64)
        .map(|i| {
            json!({ "kind": "clog", "at": format!("{}us", i * 1000), "until": format!("{}us", i * 1000 + 500),
                    "target": { "node": "c2" } })
        })
        .collect();
    s["faults"] = json!(faults);
    let dir = scratch("report");
    let page = dir.join("r.html");
    let p = page.display().to_string();
    let (e, _) = run_json(&s, &["--report", &p]);
    assert!(matches!(e.code, Some(0 | 1 | 3)), "{e:?}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains(r#"id="faults-left-out">2,000 more fault windows are not drawn"#),
        "the page says how many faults it left out"
    );
    let rows = html.matches("<tr><td>clog").count();
    assert_eq!(rows, 4000, "the table lists at most 4,000");
}
