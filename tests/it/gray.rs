//! Gray failures (issue 14 items 2 and 6): a node's processing model gives exact service
//! times (and a speed factor multiplies them), link bandwidth delays messages and drops
//! them with `queue_full` when the queue is full, slow and thin windows end exactly when
//! they should, bad fields are refused with their paths, the scenario's one liveness
//! bound applies to every protocol and never passes undone work, and the retry-storm
//! canary is found by `explore` only when the slow-node fault is on (CANARY14.md).

use std::path::PathBuf;

use detsim::check::Status;
use detsim::explore::shrink::Sizes;
use detsim::run::run_scenario;
use detsim::scenario::{Scenario, load_scenario, parse_scenario};
use detsim::{
    Bandwidth, Dist, DropReason, Fault, NodeId, Processing, Protocols, SimConfig, SimTime, Simulation, TraceEvent,
    TraceSink,
};

use crate::scenarios::{detsim, scenario};
use crate::support::{Got, Sender, received, sender_sink};
use crate::sweep_support::explore_and_shrink_canary;

fn ms(n: u64) -> SimTime {
    SimTime::from_millis(n)
}

/// Counts drops by reason (a `queue_full` counter).
struct Drops(std::rc::Rc<std::cell::Cell<u64>>);

impl TraceSink<u64> for Drops {
    fn event(&mut self, _at: SimTime, ev: &TraceEvent<'_, u64>) {
        if let TraceEvent::Drop {
            reason: DropReason::QueueFull,
            ..
        } = ev
        {
            self.0.set(self.0.get() + 1);
        }
    }
}

#[test]
fn a_node_handles_one_message_at_a_time_at_its_speed() {
    // Five messages sent at 0 arrive together at 1 ms; each takes 2 ms × 1.5 = 3 ms.
    let mut sim = sender_sink(1, 5, SimTime::ZERO);
    let sink = NodeId(0);
    let model = Processing {
        service: Dist::constant(ms(2)),
        speed: 1.5,
    };
    sim.set_processing(sink, &model).unwrap();
    sim.run().unwrap();
    let times: Vec<SimTime> = received(&sim, sink).iter().map(|r| r.0).collect();
    assert_eq!(times, vec![ms(4), ms(7), ms(10), ms(13), ms(16)]);
    assert_eq!(
        received(&sim, sink).iter().map(|r| r.1).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4]
    );
    assert_eq!(sim.queued(sink), 0, "all handled");
    // Without a model the same run delivers all five at 1 ms.
    let mut plain = sender_sink(1, 5, SimTime::ZERO);
    plain.run().unwrap();
    assert!(received(&plain, sink).iter().all(|r| r.0 == ms(1)));
}

#[test]
fn exponential_service_times_give_the_queueing_mean() {
    // D/M/1: arrivals every 10 ms, exponential service of mean 5 ms (utilisation 0.5).
    // Its mean wait is s * sigma / (1 - sigma) with sigma = exp(-(1 - sigma) / rho), i.e.
    // sigma = 0.2032 and a wait of 1.275 ms: a mean sojourn of 6.275 ms.
    let count = 4000;
    let mut sim = sender_sink(9, count, ms(10));
    sim.set_processing(NodeId(0), &Processing::new(Dist::Exponential { mean: ms(5) }))
        .unwrap();
    sim.run().unwrap();
    let got = received(&sim, NodeId(0));
    assert_eq!(got.len() as u64, count);
    // Message i was sent at 10 i ms and arrived 1 ms later.
    let sojourn: f64 = got
        .iter()
        .map(|(at, i)| (at.as_nanos() - (10 * i + 1) * 1_000_000) as f64 / 1e6)
        .sum::<f64>()
        / count as f64;
    assert!(sojourn > 5.8 && sojourn < 6.8, "mean sojourn {sojourn} ms");
}

#[test]
fn a_link_with_a_bandwidth_delays_messages_and_drops_them_when_its_queue_is_full() {
    let mut sim = sender_sink(2, 5, SimTime::ZERO);
    let (sink, sender) = (NodeId(0), NodeId(1));
    sim.set_bandwidth(sender, sink, Bandwidth { rate: 1000.0, queue: 3 })
        .unwrap();
    let drops = std::rc::Rc::new(std::cell::Cell::new(0));
    sim.add_trace_sink(Box::new(Drops(drops.clone())));
    sim.run().unwrap();
    // 1 ms per message on the link, then 1 ms of latency; the 4th and 5th find it full.
    assert_eq!(received(&sim, sink), vec![(ms(2), 0), (ms(3), 1), (ms(4), 2)]);
    assert_eq!(drops.get(), 2);
    assert!(
        sim.set_bandwidth(sender, sink, Bandwidth { rate: 1.0, queue: 1 })
            .is_err(),
        "after the start"
    );
}

#[test]
fn slow_and_thin_windows_end_exactly_and_undo_only_themselves() {
    // A message every 5 ms; service 1 ms; slow ×10 over [10 ms, 30 ms), ×4 over
    // [12 ms, 20 ms) inside it (the largest applies; ending the inner one changes nothing).
    let mut sim = sender_sink(3, 8, ms(5));
    let (sink, sender) = (NodeId(0), NodeId(1));
    sim.set_processing(sink, &Processing::new(Dist::constant(ms(1))))
        .unwrap();
    sim.schedule_window(
        ms(10),
        ms(30),
        Fault::SlowNode {
            node: sink,
            factor: 10.0,
        },
    )
    .unwrap();
    sim.schedule_window(
        ms(12),
        ms(20),
        Fault::SlowNode {
            node: sink,
            factor: 4.0,
        },
    )
    .unwrap();
    sim.run().unwrap();
    // Arrivals at 1, 6, 11, 16, 21, 26, 31, 36 ms. Services starting at 1 and 6 take
    // 1 ms; from 11 ms (in the window) 10 ms each: 11→21, 21→31; the one starting at
    // 31 ms (after the window) 1 ms, and so on.
    let times: Vec<SimTime> = received(&sim, sink).iter().map(|r| r.0).collect();
    assert_eq!(
        times,
        vec![ms(2), ms(7), ms(21), ms(31), ms(32), ms(33), ms(34), ms(37)]
    );
    assert_eq!(sim.fault_periods(), &[(ms(10), Some(ms(30)))]);
    assert!(sim.faults_in_force().is_empty());

    // A thin window on a link without a rate of its own: 100 messages/s while it lasts.
    let mut sim = sender_sink(4, 6, ms(5));
    sim.schedule_window(
        ms(9),
        ms(21),
        Fault::ThinLink {
            from: sender,
            to: sink,
            rate: 100.0,
        },
    )
    .unwrap();
    sim.run().unwrap();
    // Sent at 0, 5 (no limit: +1 ms), 10, 15, 20 (10 ms each, one at a time), 25 (after
    // the window, but behind what the link still holds: a FIFO link never reorders).
    let times: Vec<SimTime> = received(&sim, sink).iter().map(|r| r.0).collect();
    assert_eq!(times, vec![ms(1), ms(6), ms(21), ms(31), ms(41), ms(41)]);
    assert_eq!(
        received(&sim, sink).iter().map(|r| r.1).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4, 5]
    );
    assert_eq!(sim.fault_periods(), &[(ms(9), Some(ms(21)))]);
}

#[test]
fn timers_are_not_delayed_by_service_and_a_crash_drops_the_inbox() {
    struct Ticker;
    impl detsim::Node<u64, Got> for Ticker {
        fn on_start(&mut self, ctx: &mut detsim::Ctx<'_, u64, Got>) {
            ctx.set_timer(ms(3), 7);
        }
        fn on_message(&mut self, ctx: &mut detsim::Ctx<'_, u64, Got>, from: NodeId, msg: u64) {
            ctx.observe((from, msg));
        }
        fn on_timer(&mut self, ctx: &mut detsim::Ctx<'_, u64, Got>, _t: detsim::TimerId, tag: u64) {
            ctx.observe((NodeId(99), tag));
        }
    }
    let mut sim: Simulation<u64, Got> = Simulation::new(SimConfig::new(5));
    let t = sim.add_node("ticker", || Box::new(Ticker)).unwrap();
    sim.add_node("sender", move || {
        Box::new(Sender {
            to: t,
            count: 4,
            every: SimTime::ZERO,
            next: 0,
        })
    })
    .unwrap();
    sim.set_processing(t, &Processing::new(Dist::constant(ms(5)))).unwrap();
    sim.schedule_window(ms(12), ms(13), Fault::Crash { node: t }).unwrap();
    sim.run().unwrap();
    // The timer fires at 3 ms while the first message is in service (1 ms → 6 ms); the
    // second is handled at 11 ms; the crash at 12 ms drops the other two.
    // Restarted at 13 ms, it sets its timer again (16 ms).
    assert_eq!(
        received(&sim, t),
        vec![(ms(3), 7), (ms(6), 0), (ms(11), 1), (ms(16), 7)]
    );
    assert_eq!(sim.stats().dropped_crashed, 2);
}

fn errors(text: &str) -> Vec<(String, String)> {
    match parse_scenario(&Protocols::builtin(), "t.json", text) {
        Ok(_) => Vec::new(),
        Err(e) => e.0.into_iter().map(|e| (e.place, e.message)).collect(),
    }
}

/// A valid base: one server, one client; `extra` is spliced into the top level, `node`
/// into the server, `link` into a link override.
fn base(extra: &str, node: &str, link: &str) -> String {
    format!(
        r#"{{"name": "t", "duration": "1s",
  "network": {{"links": [{{"from": "c1", "to": "s1"{link}}}]}},
  "nodes": [{{"id": "s1", "role": "rpc_server"{node}}},
            {{"id": "c1", "role": "rpc_client", "server": "s1", "calls": 3}}]{extra}}}"#
    )
}

#[test]
fn bad_gray_fields_are_refused_with_their_paths() {
    assert!(
        errors(&base(
            "",
            r#", "processing": {"service": {"dist": "constant", "value": "1ms"}}"#,
            ""
        ))
        .is_empty()
    );
    let cases = [
        (
            base(
                "",
                r#", "processing": {"service": {"dist": "constant", "value": "1ms"}, "speed": 0}"#,
                "",
            ),
            "nodes[0].processing.speed",
        ),
        (
            base("", r#", "processing": {"service": "1ms"}"#, ""),
            "nodes[0].processing.service",
        ),
        (
            base(
                "",
                r#", "processing": {"service": {"dist": "constant", "value": "1ms"}, "sped": 2}"#,
                "",
            ),
            "nodes[0].processing",
        ),
        (
            base("", "", r#", "bandwidth": {"rate": 10, "queue": 0}"#),
            "network.links[0].bandwidth.queue",
        ),
        (
            base("", "", r#", "bandwidth": {"rate": -1}"#),
            "network.links[0].bandwidth.rate",
        ),
        (
            base(
                r#", "faults": [{"kind": "slow_node", "at": "1ms", "until": "2ms", "node": "s1", "factor": -3}]"#,
                "",
                "",
            ),
            "faults[0].factor",
        ),
        (
            base(
                r#", "faults": [{"kind": "thin_link", "at": "1ms", "from": "c1", "to": "zz", "rate": 5}]"#,
                "",
                "",
            ),
            "faults[0].to",
        ),
        (
            base(
                r#", "nemesis": {"stop": "1s", "slow_rate": 1, "slow_factor": {"min": 9, "max": 2}}"#,
                "",
                "",
            ),
            "nemesis.slow_factor.min",
        ),
        (
            base(r#", "nemesis": {"stop": "1s", "thin_link_rate": -1}"#, "", ""),
            "nemesis.thin_link_rate",
        ),
        (base(r#", "checks": {"liveness": "0s"}"#, "", ""), "checks.liveness"),
        (base(r#", "checks": {"liveness": 5}"#, "", ""), "checks.liveness"),
    ];
    for (text, path) in cases {
        let e = errors(&text);
        assert!(e.iter().any(|(place, _)| place.contains(path)), "{path}: {e:?}\n{text}");
    }
}

fn status(s: &Scenario, check: &str) -> Status {
    let r = run_scenario(&Protocols::builtin(), s, s.seed, None).unwrap();
    r.checks
        .iter()
        .find(|c| c.name == check)
        .unwrap_or_else(|| panic!("no {check}"))
        .status
}

/// One scenario per built-in protocol whose work is still undone when it ends, with
/// `checks.liveness` set to `bound` (or not at all).
fn undone(protocol: &str, bound: Option<&str>) -> Scenario {
    let checks = bound.map_or(String::new(), |b| format!(r#", "checks": {{"liveness": "{b}"}}"#));
    let body = match protocol {
        "rpc" => {
            r#""duration": "500ms", "nodes": [
            {"id": "s1", "role": "rpc_server", "processing": {"service": {"dist": "constant", "value": "1s"}}},
            {"id": "c1", "role": "rpc_client", "server": "s1", "calls": 5, "timeout": "10s", "max_attempts": 1}]"#
        }
        "pool" => {
            r#""duration": "500ms", "nodes": [
            {"id": "d", "role": "dispatcher", "arrivals": {"kind": "batch", "jobs": 1000}},
            {"id": "w", "role": "worker", "dispatcher": "d", "service_time": {"dist": "constant", "value": "10ms"}}]"#
        }
        "discovery" => {
            r#""duration": "500500us", "nodes": [
            {"id": "r", "role": "registry"},
            {"id": "s1", "role": "rpc_server", "register": {"registry": "r", "service": "x", "ttl": "300ms"}}],
            "faults": [{"kind": "isolate", "at": "100ms", "until": "450ms", "node": "s1"}]"#
        }
        _ => {
            r#""duration": "1s", "nodes": [
            {"id": "r1", "role": "rkv_replica", "peers": ["r2", "r3"]},
            {"id": "r2", "role": "rkv_replica", "peers": ["r1", "r3"]},
            {"id": "r3", "role": "rkv_replica", "peers": ["r1", "r2"]},
            {"id": "c1", "role": "rkv_client", "replicas": ["r1", "r2", "r3"], "ops": 100, "keys": 2, "think": "30ms"}]"#
        }
    };
    let text = format!(r#"{{"name": "{protocol}-undone", {body}{checks}}}"#);
    parse_scenario(&Protocols::builtin(), "t.json", &text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// Every built-in protocol's liveness check judges undone work by the scenario's one
/// bound: due before the end (a tiny bound) it fails; due after the end (a huge bound)
/// it is not judged; never a pass, whatever the bound.
#[test]
fn the_liveness_bound_applies_to_every_protocol_and_undone_work_never_passes() {
    for (protocol, check) in [
        ("rpc", "rpc.liveness"),
        ("pool", "pool.liveness"),
        ("discovery", "disc.visible_after_heal"),
        ("rkv", "rkv.progress"),
    ] {
        let tiny = undone(protocol, Some("1ns"));
        let huge = undone(protocol, Some("1h"));
        assert_eq!(status(&tiny, check), Status::Fail, "{protocol} with a 1ns bound");
        assert_eq!(status(&huge, check), Status::NotJudged, "{protocol} with a 1h bound");
        assert_ne!(
            status(&undone(protocol, None), check),
            Status::Pass,
            "{protocol}: undone work"
        );
    }
    // Nothing ran: a client whose first call comes after the end is never a pass.
    let idle = parse_scenario(
        &Protocols::builtin(),
        "t.json",
        r#"{"name": "idle", "duration": "100ms", "checks": {"liveness": "1h"}, "nodes": [
            {"id": "s1", "role": "rpc_server"},
            {"id": "c1", "role": "rpc_client", "server": "s1", "calls": 5, "start_after": "1s"}]}"#,
    )
    .unwrap();
    assert_ne!(status(&idle, "rpc.liveness"), Status::Pass);
}

// ---- The retry-storm canary (CANARY14.md) ----

const CANARY: &str = "retry_storm_canary";
/// The first seed `explore` finds failing `rpc.liveness` (the file's own seed).
const FIRST: u64 = 18;

fn load(name: &str) -> Scenario {
    load_scenario(&Protocols::builtin(), &PathBuf::from(scenario(name))).unwrap()
}

/// The canary scenario with the slow-node fault switched off (its rate 0).
fn without_slow(s: &Scenario) -> Scenario {
    let mut s = s.clone();
    if let Some(n) = &mut s.nemesis {
        n.slow_rate = 0.0;
    }
    s
}

fn fails_liveness(s: &Scenario, seed: u64) -> bool {
    let r = run_scenario(&Protocols::builtin(), s, seed, None).unwrap();
    r.violations.iter().any(|v| v.check == "rpc.liveness")
}

#[test]
fn explore_finds_the_retry_storm_and_shrinks_it_to_at_most_two_faults() {
    let s = load(CANARY);
    assert_eq!(s.seed, FIRST, "the file's seed is its first failing seed");
    let (failure, small, after) = explore_and_shrink_canary(CANARY);
    assert_eq!((failure.seed, failure.check.as_str()), (FIRST, "rpc.liveness"));
    assert!(failure.message.contains("retry storm"), "{}", failure.message);
    assert!(failure.message.contains("never drained"), "{}", failure.message);
    // Shrunk: at most two faults, the same check, and it replays to its hash.
    let sizes = Sizes::of(&after.scenario);
    eprintln!("{CANARY}: seed {FIRST} shrunk to {sizes}");
    assert!(sizes.faults <= 2, "{sizes}");
    assert!(
        after
            .scenario
            .faults
            .iter()
            .any(|f| matches!(f.fault, Fault::SlowNode { .. })),
        "the slow window stays"
    );
    assert_eq!(after.check, "rpc.liveness");
    let out = detsim(&["replay", small.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["same_hash"], serde_json::Value::Bool(true), "{v}");
    assert_eq!(v["expected_trace_hash"].as_str(), Some(after.trace_hash.as_str()));
}

/// Without the slow-node fault (the other kinds still on) no seed fails, and with the
/// canary off and the fault on every seed passes: `seeds` of each.
fn only_the_slow_fault_finds_it(seeds: std::ops::Range<u64>) {
    let s = load(CANARY);
    let no_slow = without_slow(&s);
    let clean = s.without_canaries();
    for seed in seeds {
        assert!(
            !fails_liveness(&no_slow, seed),
            "seed {seed} fails without the slow fault"
        );
        if seed < 300 {
            assert!(!fails_liveness(&clean, seed), "seed {seed} fails with the canary off");
        }
    }
}

#[test]
fn the_retry_storm_needs_the_slow_fault_and_the_canary() {
    only_the_slow_fault_finds_it(0..300);
}

/// The full count of CANARY14.md, by hand in release:
/// `cargo test --release --test it -- --ignored retry_storm_not_found_in_5000_seeds_without_the_fault`.
#[test]
#[ignore]
fn retry_storm_not_found_in_5000_seeds_without_the_fault() {
    only_the_slow_fault_finds_it(0..5000);
}

/// A fault that changes nothing excuses nothing: a nemesis of slow windows on a node
/// without a processing model (nothing to slow) or of full disks on nodes that never use
/// their disk gives exactly the verdicts of the same run without it (a wrong pass
/// otherwise: failures caused by loss were excused as "a fault on its path").
#[test]
fn faults_that_change_nothing_excuse_no_failure() {
    let run = |nemesis: &str| {
        let text = format!(
            r#"{{"name": "noop", "duration": "4s", "seed": 1,
            "network": {{"default": {{"latency": {{"dist": "constant", "value": "1ms"}}, "drop": 0.3}}}},
            "nodes": [{{"id": "s", "role": "rpc_server"}},
                      {{"id": "c", "role": "rpc_client", "server": "s", "calls": 50, "interval": "20ms",
                        "timeout": "10ms", "max_attempts": 2}}]{nemesis}}}"#
        );
        let s = parse_scenario(&Protocols::builtin(), "noop.json", &text).unwrap();
        let r = run_scenario(&detsim::plugin::Protocols::builtin(), &s, 1, None).unwrap();
        let liveness = r.checks.iter().find(|c| c.name == "rpc.liveness").unwrap();
        (liveness.status, liveness.violations, r.messages.delivered)
    };
    let plain = run("");
    assert_eq!(plain.0, Status::Fail, "the loss fails calls: {plain:?}");
    for nemesis in [
        r#", "nemesis": {"start": "0s", "stop": "2s", "targets": ["c", "s"], "slow_rate": 50.0, "slow_time": {"min": "200ms", "max": "500ms"}}"#,
        r#", "nemesis": {"start": "0s", "stop": "2s", "targets": ["c", "s"], "disk_full_rate": 50.0}"#,
    ] {
        assert_eq!(run(nemesis), plain, "{nemesis}");
    }
}

/// `thin_link` with `rate: 0` and no `until` removes the link's limit (as documented);
/// a rate too small to deliver anything within a run is refused.
#[test]
fn a_thin_link_of_rate_zero_removes_the_limit_and_tiny_rates_are_refused() {
    let text = |fault: &str| {
        format!(
            r#"{{"name": "thin", "duration": "2s", "seed": 1,
            "network": {{"links": [{{"from": "c", "to": "s", "bandwidth": {{"rate": 5, "queue": 2}}}}]}},
            "nodes": [{{"id": "s", "role": "rpc_server"}},
                      {{"id": "c", "role": "rpc_client", "server": "s", "calls": 40, "interval": "10ms"}}],
            "faults": [{fault}]}}"#
        )
    };
    let p = detsim::plugin::Protocols::builtin();
    let s = parse_scenario(
        &p,
        "t.json",
        &text(r#"{"kind": "thin_link", "at": "1ms", "from": "c", "to": "s", "rate": 0}"#),
    )
    .unwrap();
    let r = run_scenario(&p, &s, 1, None).unwrap();
    assert_eq!(r.messages.dropped_by_reason.queue_full, 0, "no limit after rate 0");
    assert!(r.checks.iter().all(|c| c.status == Status::Pass), "{:?}", r.checks);
    let bad = errors(&text(
        r#"{"kind": "thin_link", "at": "1ms", "from": "c", "to": "s", "rate": 1e-300}"#,
    ));
    assert!(bad.iter().any(|(_, m)| m.contains("rate")), "{bad:?}");
}
