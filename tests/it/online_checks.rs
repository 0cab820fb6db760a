//! The checks run online (issue 12, item 1): what they keep while a run goes on is its
//! live state (open calls, jobs not yet accepted, runs of settled ids), so it does not
//! grow with the run. Scaled-down versions of the runs that ran out of memory when the
//! checks kept every observation: each measured at two sizes, ten times apart.

use detsim::Protocols;
use detsim::run::{Status, run_scenario_retained};
use detsim::scenario::parse_scenario;

/// The most entries of state the checks held together (sampled every 256
/// observations, or only at the end with `end_only`), after a run of `text` that
/// passed every check.
fn retained(text: &str, end_only: bool) -> usize {
    let p = Protocols::builtin();
    let s = parse_scenario(&p, "online_checks", text).unwrap();
    let every = if end_only { u64::MAX } else { 256 };
    let (r, kept) = run_scenario_retained(&p, &s, s.seed, every).unwrap();
    assert_eq!(r.verdict(), Status::Pass, "{:?} {:?}", r.checks, r.violations.first());
    kept
}

fn workers(n: usize, service: &str) -> String {
    (1..=n)
        .map(|i| format!(r#"{{ "id": "w{i}", "role": "worker", "dispatcher": "d", "service_time": {service} }}"#))
        .collect::<Vec<_>>()
        .join(",")
}

/// A batch of `jobs` jobs on many workers (the issue's "a batch of 10 M jobs, 9,999
/// workers"): once the batch is done, the checks hold per worker, not per job.
fn batch(jobs: u64) -> String {
    format!(
        r#"{{ "name": "batch", "seed": 3, "duration": "60s",
  "network": {{ "default": {{ "latency": {{ "dist": "constant", "value": "100us" }} }} }},
  "nodes": [ {{ "id": "d", "role": "dispatcher", "arrivals": {{ "kind": "batch", "jobs": {jobs} }} }}, {} ] }}"#,
        workers(200, r#"{ "dist": "uniform", "min": "1ms", "max": "3ms" }"#)
    )
}

#[test]
fn a_finished_batch_leaves_the_checks_holding_per_worker_state_not_per_job() {
    let small = retained(&batch(2_000), true);
    let large = retained(&batch(20_000), true);
    // Per worker (its idle slots, the conservation check's view), plus a few runs of
    // accepted ids: the same for ten times the jobs. Keeping the observations, it was
    // several records per job (over 100,000 here).
    assert!(large <= small + 50, "{small} -> {large}");
    assert!(large < 2_000, "{large} entries for 20,000 jobs");
}

/// A Poisson stream of `jobs` jobs into 8 workers at utilisation 0.8 (the issue's "run
/// of 10 M pool jobs with checks on").
fn stream(jobs: u64) -> String {
    let secs = jobs / 400 + 10;
    format!(
        r#"{{ "name": "stream", "seed": 5, "duration": "{secs}s",
  "network": {{ "default": {{ "latency": {{ "dist": "constant", "value": "1us" }} }} }},
  "nodes": [ {{ "id": "d", "role": "dispatcher", "arrivals": {{ "kind": "poisson", "rate": 400.0, "jobs": {jobs} }} }}, {} ] }}"#,
        workers(8, r#"{ "dist": "exponential", "mean": "16ms" }"#)
    )
}

#[test]
fn a_long_pool_stream_keeps_the_checks_state_flat() {
    let small = retained(&stream(3_000), false);
    let large = retained(&stream(30_000), false);
    // The queue and the jobs in service (a few dozen at most), the workers, a few runs:
    // it peaks where the queue did, not at the number of jobs.
    assert!(
        large < 400,
        "peak {large} entries over 30,000 jobs ({small} over 3,000)"
    );
    assert!(large < small * 3, "{small} -> {large}");
}

/// `clients` RPC clients making `calls` calls each, under the default event budget (the
/// issue's "9,999 rpc_clients, default 50 M event budget").
fn clients(clients: usize, calls: u64) -> String {
    let cs: Vec<String> = (1..=clients)
        .map(|i| {
            format!(r#"{{ "id": "c{i}", "role": "rpc_client", "server": "s", "calls": {calls}, "interval": "10ms" }}"#)
        })
        .collect();
    let secs = calls / 100 + 10;
    format!(
        r#"{{ "name": "clients", "seed": 7, "duration": "{secs}s",
  "network": {{ "default": {{ "latency": {{ "dist": "constant", "value": "200us" }} }} }},
  "nodes": [ {{ "id": "s", "role": "rpc_server" }}, {} ] }}"#,
        cs.join(",")
    )
}

#[test]
fn many_rpc_clients_keep_the_checks_state_flat_as_calls_grow() {
    let small = retained(&clients(30, 200), false);
    let large = retained(&clients(30, 2_000), false);
    // Open calls, calls settled less than one retry budget (0.92 s here, about 92
    // calls of a client) ago, a few runs per client: set by the call rate, not by how
    // many calls the run makes. Keeping the observations, it was several per call.
    assert!(large < small + small / 2, "{small} -> {large}");
    assert!(large < 30 * 250, "{large} entries for 60,000 calls");
}
