//! Per-node clocks (issue 14.1): exact readings with an offset, a drift and steps; a fast
//! clock fires its timers early in true time by the right amount, and a step moves no
//! timer; perfect clocks change nothing (the trace hash of a golden scenario is the same
//! with `"clock": {}` on every node); bad clock fields are refused with their field path
//! (exit 2); and the skewed-TTL canary (`canary_trust_registrant_clock`) is found by
//! `explore` within 1,000 seeds only when clock faults are on, shrunk to at most 2 faults,
//! and a correct registry passes under the same clock faults. The 5,000-seed sweep
//! without clock faults is `#[ignore]`d: `cargo test --release --test it -- --ignored
//! clock_skew_canary_is_not_found_in_5000_seeds_without_the_fault`.

use std::path::PathBuf;

use detsim::explore::shrink::Sizes;
use detsim::run::run_scenario;
use detsim::scenario::{Scenario, load_scenario};
use detsim::{ClockConfig, ClockStep, Ctx, Fault, Node, NodeId, Protocols, SimConfig, SimTime, Simulation, TimerId};

use crate::scenarios::{detsim, scenario};
use crate::support::tempdir;
use crate::sweep_support::explore_and_shrink_canary;

/// What the probe saw: (tag, local_now, monotonic_now) at each timer.
type Seen = (u64, SimTime, SimTime);

/// Sets one timer per `(after, tag)` at start and records its clocks when each fires.
struct Probe(Vec<(SimTime, u64)>);

impl Node<u64, Seen> for Probe {
    fn on_start(&mut self, ctx: &mut Ctx<'_, u64, Seen>) {
        ctx.observe((u64::MAX, ctx.local_now(), ctx.monotonic_now()));
        for &(after, tag) in &self.0 {
            ctx.set_timer(after, tag);
        }
    }
    fn on_message(&mut self, _: &mut Ctx<'_, u64, Seen>, _: NodeId, _: u64) {}
    fn on_timer(&mut self, ctx: &mut Ctx<'_, u64, Seen>, _: TimerId, tag: u64) {
        ctx.observe((tag, ctx.local_now(), ctx.monotonic_now()));
    }
}

fn secs(n: u64) -> SimTime {
    SimTime::from_secs(n)
}

/// A probe with `timers` on a clock `cfg` (and `faults`), run to the end: (true time,
/// what it saw) per record, and the trace hash.
fn probe(
    cfg: Option<ClockConfig>,
    timers: Vec<(SimTime, u64)>,
    faults: Vec<(SimTime, Option<SimTime>, Fault)>,
) -> (Vec<(SimTime, Seen)>, u64) {
    let mut sim = Simulation::<u64, Seen>::new(SimConfig::new(1));
    let n = sim.add_node("p", move || Box::new(Probe(timers.clone()))).unwrap();
    if let Some(cfg) = cfg {
        sim.set_clock(n, cfg).unwrap();
    }
    for (at, until, f) in faults {
        match until {
            Some(u) => sim.schedule_window(at, u, f).unwrap(),
            None => sim.schedule(at, f).unwrap(),
        }
    }
    sim.run().unwrap();
    let seen = sim.history().records().iter().map(|r| (r.at, r.obs)).collect();
    (seen, sim.trace_hash())
}

#[test]
fn local_now_reads_offset_drift_and_steps_exactly() {
    let cfg = ClockConfig {
        offset_ns: -200_000_000,
        drift_ppm: 50,
        steps: vec![ClockStep {
            at: secs(10),
            by_ns: -1_000_000_000,
        }],
    };
    // A drift of 50 ppm: 20 s of local time is 19.999 000 049 999.. s of true time,
    // rounded up to the nanosecond: 19_999_000_050.
    let (seen, _) = probe(Some(cfg), vec![(secs(1), 1), (secs(20), 2)], vec![]);
    assert_eq!(
        seen[0],
        (SimTime::ZERO, (u64::MAX, SimTime::ZERO, SimTime::ZERO)),
        "below zero reads zero"
    );
    // 1 s of local time: true ceil(1e9 / 1.00005) = 999_950_003 ns; the monotonic clock
    // then reads floor(999_950_003 * 1.00005) = 1_000_000_000 (0.15 ns rounded down).
    assert_eq!(
        seen[1],
        (SimTime(999_950_003), (1, SimTime(800_000_000), SimTime(1_000_000_000)))
    );
    // 20 s local: true 19_999_000_050; the step of -1 s at 10 s is in the wall reading.
    assert_eq!(
        seen[2],
        (
            SimTime(19_999_000_050),
            (
                2,
                SimTime(20_000_000_000 - 200_000_000 - 1_000_000_000),
                SimTime(20_000_000_000)
            )
        )
    );
}

#[test]
fn a_fast_clock_fires_timers_early_in_true_time_and_a_step_moves_no_timer() {
    let after = secs(2);
    // +10%: 2 s of local time is 2 / 1.1 s = 1.818181818.. s, rounded up.
    let (fast, _) = probe(
        Some(ClockConfig {
            drift_ppm: 100_000,
            ..ClockConfig::default()
        }),
        vec![(after, 1)],
        vec![],
    );
    assert_eq!(fast[1].0, SimTime(1_818_181_819));
    // -10%: 2 / 0.9 s = 2.222222222.. s, rounded up.
    let (slow, _) = probe(
        Some(ClockConfig {
            drift_ppm: -100_000,
            ..ClockConfig::default()
        }),
        vec![(after, 1)],
        vec![],
    );
    assert_eq!(slow[1].0, SimTime(2_222_222_223));
    // A step of the wall clock (scheduled or a fault) moves the reading, not the timer.
    let step = |by_ns| {
        (
            SimTime::from_millis(500),
            None,
            Fault::ClockStep { node: NodeId(0), by_ns },
        )
    };
    let (stepped, _) = probe(None, vec![(after, 1)], vec![step(-5_000_000_000)]);
    assert_eq!(
        stepped[1],
        (after, (1, SimTime::ZERO, after)),
        "stepped 5 s back: reads zero"
    );
    let (stepped, _) = probe(None, vec![(after, 1)], vec![step(3_000_000_000)]);
    assert_eq!(stepped[1], (after, (1, secs(5), after)));
    // A drift window changes the rate while it lasts, and the reading stays continuous:
    // +100% from 1 s to 2 s (the timer set at 0 keeps its true time).
    let drift = (
        secs(1),
        Some(secs(2)),
        Fault::ClockDrift {
            node: NodeId(0),
            ppm: 500_000,
        },
    );
    let (drifted, _) = probe(None, vec![(secs(3), 1)], vec![drift]);
    assert_eq!(
        drifted[1],
        (secs(3), (1, SimTime(3_500_000_000), SimTime(3_500_000_000)))
    );
}

#[test]
fn perfect_clocks_change_nothing() {
    // The engine: a perfect clock set on the node gives the same run, byte for byte.
    let timers = vec![(SimTime(999), 1), (secs(3), 2)];
    let (plain, h0) = probe(None, timers.clone(), vec![]);
    let (perfect, h1) = probe(Some(ClockConfig::default()), timers, vec![]);
    assert_eq!((plain, h0), (perfect, h1));
    // A golden scenario with `"clock": {}` on every node has its golden trace hash.
    let text = std::fs::read_to_string(scenario("discovery_churn")).unwrap();
    let with_clocks = text.replace("{ \"id\":", "{ \"clock\": {}, \"id\":");
    assert_eq!(with_clocks.matches("\"clock\": {}").count(), 5);
    let dir = tempdir("clock-perfect");
    let path = dir.join("perfect.json");
    std::fs::write(&path, with_clocks).unwrap();
    let out = detsim(&["run", path.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["trace_hash"], "dc0a3e24bad1a4a9", "discovery_churn's golden hash");
}

#[test]
fn bad_clock_fields_are_refused_with_their_field_path() {
    let dir = tempdir("clock-bad");
    // Each case: `from` replaced by `to` in the shipped scenario `name`, refused (exit 2)
    // with `want` in the error.
    let refused = |name: &str, cases: &[(&str, &str, &str)]| {
        let base = std::fs::read_to_string(scenario(name)).unwrap();
        for &(from, to, want) in cases {
            assert!(base.contains(from), "{from}");
            let path = dir.join("bad.json");
            std::fs::write(&path, base.replacen(from, to, 1)).unwrap();
            let out = detsim(&["validate", path.to_str().unwrap()]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{to}: {err}");
            assert!(err.contains(want), "{to}: {err}");
        }
    };
    refused(
        "clock_skew",
        &[
            (
                "\"drift_ppm\": 120",
                "\"drift_ppm\": 900000",
                "at nodes[0].clock.drift_ppm: a drift must be within ±500000 ppm",
            ),
            ("\"offset\": \"-1s\"", "\"offset\": \"-1x\"", "nodes[0].clock.offset"),
            ("\"offset\": \"-1s\"", "\"ofset\": \"-1s\"", "nodes[0].clock.ofset"),
            ("\"by\": \"-2s\"", "\"by\": \"-40d\"", "nodes[0].clock.steps[0].by"),
            (
                "\"by\": \"-2s\"",
                "\"by\": \"-9999h\"",
                "at nodes[0].clock.steps[0].by: a clock offset or step must be within ±30 days",
            ),
            (
                "{ \"at\": \"3s\"",
                "{ \"at\": \"30s\"",
                "at nodes[0].clock.steps[0].at: 30s is after the end of the run",
            ),
            (
                "\"ppm\": 100000",
                "\"ppm\": -600000",
                "at faults[0].ppm: a drift must be within",
            ),
            ("\"ppm\": 100000", "\"ppm\": \"fast\"", "faults[0].ppm"),
            ("\"by\": \"-800ms\"", "\"by\": 5", "faults[1].by"),
            (
                "\"kind\": \"clock_step\", \"at\": \"6s\"",
                "\"kind\": \"clock_step\", \"until\": \"7s\", \"at\": \"6s\"",
                "faults[1]",
            ),
        ],
    );
    // The nemesis's clock settings.
    refused(
        "clock_skew_canary",
        &[
            (
                "\"clock_drift_ppm\": { \"min\": -200, \"max\": 200 }",
                "\"clock_drift_ppm\": { \"min\": -200, \"max\": 700000 }",
                "at nemesis.clock_drift_ppm.max: a drift must be within",
            ),
            (
                "\"clock_drift_ppm\": { \"min\": -200, \"max\": 200 }",
                "\"clock_drift_ppm\": { \"min\": 200, \"max\": -200 }",
                "at nemesis.clock_drift_ppm.min: must not be greater than max",
            ),
            (
                "\"clock_rate\": 0.3",
                "\"clock_rate\": -1",
                "at nemesis.clock_rate: must be a rate >= 0",
            ),
            (
                "\"clock_step\": { \"min\": \"100ms\", \"max\": \"1s\" }",
                "\"clock_step\": { \"min\": \"100ms\", \"max\": \"800h\" }",
                "at nemesis.clock_step.max: a clock offset or step must be within ±30 days",
            ),
        ],
    );
}

const CANARY: &str = "clock_skew_canary";
const CHECKS: [&str; 3] = ["disc.no_phantom", "disc.no_stale", "disc.visible_after_heal"];

fn load(name: &str) -> Scenario {
    load_scenario(&Protocols::builtin(), &PathBuf::from(scenario(name))).unwrap()
}

/// The canary scenario with its clock faults switched off (and nothing else changed).
fn without_clock_faults() -> Scenario {
    let mut s = load(CANARY);
    s.nemesis.as_mut().unwrap().clock_rate = 0.0;
    s
}

/// The discovery checks that failed in a run of `s` at `seed`.
fn failed(s: &Scenario, seed: u64) -> Vec<String> {
    let r = run_scenario(&Protocols::builtin(), s, seed, None).unwrap();
    r.checks
        .iter()
        .filter(|c| c.status == detsim::check::Status::Fail)
        .map(|c| c.name.clone())
        .collect()
}

/// `detsim explore` over 0..1000 stops at the first failing seed (the file's own, 2),
/// failing `disc.visible_after_heal`; `detsim shrink` takes it to at most 2 faults (a
/// clock step), still failing the same check, and the shrunk file replays to its hash.
#[test]
fn explore_finds_the_clock_skew_canary_and_shrinks_it_to_a_clock_fault() {
    let (failure, small, after) = explore_and_shrink_canary(CANARY);
    assert_eq!((failure.seed, failure.check.as_str()), (2, "disc.visible_after_heal"));
    assert_eq!(load(CANARY).seed, 2, "the file's seed is its first failing seed");
    let sizes = Sizes::of(&after.scenario);
    assert!(sizes.faults <= 2, "{sizes}");
    assert_eq!(after.check, "disc.visible_after_heal");
    assert!(
        after
            .scenario
            .faults
            .iter()
            .any(|f| matches!(f.fault, Fault::ClockStep { .. } | Fault::ClockDrift { .. })),
        "the shrunk schedule keeps a clock fault: {:?}",
        after.scenario.faults
    );
    let out = detsim(&["replay", small.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("trace hash matches"), "{stdout}");
}

/// `n` seeds: the canary is never found without clock faults, and the correct registry
/// passes every check with them.
fn only_the_clock_faults_find_it(n: u64) {
    let off = without_clock_faults();
    let correct = load(CANARY).without_canaries();
    for seed in 0..n {
        let f = failed(&off, seed);
        assert!(
            !f.iter().any(|c| CHECKS.contains(&c.as_str())),
            "seed {seed} without clock faults: {f:?}"
        );
        if seed < 300 {
            assert_eq!(
                failed(&correct, seed),
                Vec::<String>::new(),
                "seed {seed}, correct registry"
            );
        }
    }
}

#[test]
fn the_clock_skew_canary_needs_clock_faults_and_a_correct_registry_survives_them() {
    only_the_clock_faults_find_it(300);
}

#[test]
#[ignore]
fn clock_skew_canary_is_not_found_in_5000_seeds_without_the_fault() {
    only_the_clock_faults_find_it(5000);
}
