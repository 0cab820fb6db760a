//! Each fault window undoes only itself: overlapping windows compose (a message is cut
//! while any window cuts it), the nemesis ends only what it started, an explicit `heal`
//! still removes everything, and the realized schedule keeps each fault's own window
//! (also for faults scheduled during a run), so it replays to the same trace.

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use detsim::run::run_scenario;
use detsim::scenario::parse_scenario;
use detsim::{ClogTarget, Fault, NodeId, NodeState, SimTime, TimedFault};

use crate::support::{received, sender_sink};

const SINK: NodeId = NodeId(0);
const SENDER: NodeId = NodeId(1);

fn ms(n: u64) -> SimTime {
    SimTime::from_millis(n)
}

/// A sink and a sender of one message per millisecond for `count` ms, under `faults`.
fn steady(faults: &[TimedFault], count: u64) -> detsim::Simulation<u64, crate::support::Got> {
    let mut sim = sender_sink(5, count, ms(1));
    for f in faults {
        sim.schedule_timed(f.clone()).unwrap();
    }
    sim.run().unwrap();
    sim
}

/// Deliveries to the sink in `[from, to)`.
fn delivered_between(sim: &detsim::Simulation<u64, crate::support::Got>, from: SimTime, to: SimTime) -> usize {
    received(sim, SINK)
        .iter()
        .filter(|(t, _)| *t >= from && *t < to)
        .count()
}

#[test]
fn a_short_block_does_not_end_a_longer_partition() {
    let part = Fault::Partition {
        groups: vec![vec![SINK], vec![SENDER]],
    };
    let block = Fault::Block { from: SENDER, to: SINK };
    let sim = steady(
        &[
            TimedFault::window(ms(500), ms(2000), part),
            TimedFault::window(ms(600), ms(700), block),
        ],
        3000,
    );
    assert_eq!(
        delivered_between(&sim, ms(500), ms(2000)),
        0,
        "the partition cuts the link until its own end at 2s"
    );
    assert!(delivered_between(&sim, ms(2001), ms(3000)) > 900, "it heals at 2s");
}

#[test]
fn overlapping_windows_of_every_kind_compose() {
    // Two crash windows, one inside the other: down until the longer one ends.
    let crash = Fault::Crash { node: SINK };
    let sim = steady(
        &[
            TimedFault::window(ms(100), ms(500), crash.clone()),
            TimedFault::window(ms(200), ms(300), crash),
        ],
        1000,
    );
    assert_eq!(delivered_between(&sim, ms(100), ms(500)), 0, "down until 500ms");
    assert!(delivered_between(&sim, ms(501), ms(1000)) > 450);
    // Isolation inside a block of the same link.
    let sim = steady(
        &[
            TimedFault::window(ms(100), ms(500), Fault::Block { from: SENDER, to: SINK }),
            TimedFault::window(ms(200), ms(300), Fault::Isolate { node: SINK }),
        ],
        1000,
    );
    assert_eq!(delivered_between(&sim, ms(100), ms(500)), 0);
    // A node clog inside a link clog: held until the longer one ends, then delivered.
    let sim = steady(
        &[
            TimedFault::window(
                ms(100),
                ms(500),
                Fault::Clog {
                    target: ClogTarget::Link { from: SENDER, to: SINK },
                },
            ),
            TimedFault::window(
                ms(200),
                ms(300),
                Fault::Clog {
                    target: ClogTarget::Node { node: SINK },
                },
            ),
        ],
        1000,
    );
    assert_eq!(delivered_between(&sim, ms(101), ms(500)), 0, "held until 500ms");
    assert_eq!(received(&sim, SINK).len(), 1000, "held, not lost");
    // Two pauses, one inside the other.
    let pause = Fault::Pause { node: SINK };
    let sim = steady(
        &[
            TimedFault::window(ms(100), ms(500), pause.clone()),
            TimedFault::window(ms(200), ms(300), pause),
        ],
        1000,
    );
    assert_eq!(delivered_between(&sim, ms(101), ms(500)), 0, "paused until 500ms");
    assert_eq!(received(&sim, SINK).len(), 1000);
}

#[test]
fn an_explicit_heal_still_ends_every_cut_and_restart_every_crash() {
    let part = Fault::Partition {
        groups: vec![vec![SINK]],
    };
    let sim = steady(
        &[
            TimedFault::window(ms(100), ms(900), part),
            TimedFault::at(ms(300), Fault::Heal),
        ],
        1000,
    );
    assert_eq!(delivered_between(&sim, ms(101), ms(300)), 0);
    assert!(
        delivered_between(&sim, ms(301), ms(900)) > 590,
        "heal ended the window early"
    );
    let crash = Fault::Crash { node: SINK };
    let sim = steady(
        &[
            TimedFault::window(ms(100), ms(900), crash.clone()),
            TimedFault::at(ms(150), crash),
            TimedFault::at(ms(300), Fault::Restart { node: SINK }),
        ],
        1000,
    );
    assert!(
        delivered_between(&sim, ms(301), ms(900)) > 590,
        "restart ends every crash window"
    );
    assert_eq!(sim.node_state(SINK), Some(NodeState::Up));
}

#[test]
fn a_window_of_link_settings_returns_to_what_is_underneath() {
    let lossy = |drop: f64| Fault::SetLink {
        link: Some((SENDER, SINK)),
        config: detsim::LinkConfig {
            drop,
            ..detsim::LinkConfig::default()
        },
    };
    // Total loss for 100..900ms, and a shorter window of no loss inside it from 200..300:
    // the later window wins while it lasts, then total loss again until 900.
    let sim = steady(
        &[
            TimedFault::window(ms(100), ms(900), lossy(1.0)),
            TimedFault::window(ms(200), ms(300), lossy(0.0)),
        ],
        1000,
    );
    assert_eq!(delivered_between(&sim, ms(102), ms(201)), 0);
    assert!(delivered_between(&sim, ms(202), ms(301)) >= 99);
    assert_eq!(delivered_between(&sim, ms(302), ms(901)), 0);
    assert!(delivered_between(&sim, ms(902), ms(1001)) >= 98);
}

#[test]
fn faults_still_in_force_are_listed() {
    let mut sim = sender_sink(1, 10, ms(1));
    sim.schedule_window(ms(1), ms(5), Fault::Isolate { node: SINK })
        .unwrap();
    sim.schedule(ms(2), Fault::Crash { node: SINK }).unwrap();
    sim.schedule(
        ms(3),
        Fault::Clog {
            target: ClogTarget::Node { node: SENDER },
        },
    )
    .unwrap();
    sim.run_until(ms(4)).unwrap();
    assert_eq!(sim.faults_in_force(), vec![0, 1, 2]);
    sim.run_until(ms(6)).unwrap();
    assert_eq!(sim.faults_in_force(), vec![1, 2], "the isolation ended at 5ms");
}

#[test]
fn a_window_on_an_instant_fault_or_ending_before_it_starts_is_refused() {
    let mut sim = sender_sink(1, 1, ms(1));
    assert!(sim.schedule_window(ms(1), ms(2), Fault::Heal).is_err());
    assert!(sim.schedule_window(ms(5), ms(2), Fault::Crash { node: SINK }).is_err());
}

/// Runs `text` (a scenario) and returns the trace's JSON lines.
fn trace_of(text: &str) -> (detsim::run::RunReport, Vec<serde_json::Value>) {
    #[derive(Clone, Default)]
    struct Buf(Rc<RefCell<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, d: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(d);
            Ok(d.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let s = parse_scenario(&detsim::Protocols::builtin(), "t.json", text).unwrap();
    let buf = Buf::default();
    let report = run_scenario(&detsim::Protocols::builtin(), &s, s.seed, Some(Box::new(buf.clone()))).unwrap();
    let bytes = buf.0.borrow().clone();
    let lines = String::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (report, lines)
}

/// Deliveries between the nodes named `a` and `b` (either way) in `[from, to)`, ns.
fn crossings(
    report: &detsim::run::RunReport,
    lines: &[serde_json::Value],
    a: &str,
    b: &str,
    from: u64,
    to: u64,
) -> usize {
    let id = |n: &str| report.nodes.iter().position(|x| x == n).unwrap() as u64;
    let (a, b) = (id(a), id(b));
    let node = |v: &serde_json::Value| match v {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => report.nodes.iter().position(|x| x == s).map(|i| i as u64),
        _ => None,
    };
    lines
        .iter()
        .filter(|l| l["ev"] == "deliver")
        .filter(|l| {
            let (f, t) = (node(&l["from"]), node(&l["to"]));
            (f == Some(a) && t == Some(b)) || (f == Some(b) && t == Some(a))
        })
        .filter(|l| (from..to).contains(&l["t"].as_u64().unwrap()))
        .count()
}

#[test]
fn scenario_windows_keep_their_own_ends_in_the_trace_and_the_report() {
    let text = r#"{
      "name": "overlap", "seed": 1, "duration": "3s",
      "nodes": [
        { "id": "s1", "role": "rpc_server" },
        { "id": "c1", "role": "rpc_client", "server": "s1", "calls": 1000, "think": "2ms" }
      ],
      "faults": [
        { "kind": "partition", "at": "500ms", "until": "2s", "groups": [["s1"], ["c1"]] },
        { "kind": "block", "at": "600ms", "until": "700ms", "from": "c1", "to": "s1" }
      ]
    }"#;
    let (report, lines) = trace_of(text);
    assert_eq!(crossings(&report, &lines, "s1", "c1", 500_000_000, 2_000_000_000), 0);
    assert!(crossings(&report, &lines, "s1", "c1", 2_000_000_000, 3_000_000_000) > 0);
    // The JSON faults list: each with its own window.
    let faults = serde_json::to_value(&report).unwrap()["faults"].clone();
    assert_eq!(faults[0]["until"], "2s", "{faults}");
    assert_eq!(faults[1]["until"], "700ms", "{faults}");
    // The trace: the partition's end is its own, at 2s, and the block's at 700ms.
    let ends: Vec<(u64, u64)> = lines
        .iter()
        .filter(|l| l["ev"] == "fault_end" && l["applied"] == true)
        .map(|l| (l["index"].as_u64().unwrap(), l["t"].as_u64().unwrap()))
        .collect();
    assert_eq!(ends, vec![(1, 700_000_000), (0, 2_000_000_000)]);
}

#[test]
fn the_nemesis_ends_only_what_it_started() {
    // A scheduled partition until 9s; the nemesis only isolates s2 (and heals it).
    let text = r#"{
      "name": "nemesis-vs-schedule", "seed": 3, "duration": "10s",
      "nodes": [
        { "id": "s1", "role": "rpc_server" },
        { "id": "s2", "role": "rpc_server" },
        { "id": "c1", "role": "rpc_client", "server": "s1", "calls": 100000, "think": "5ms" }
      ],
      "faults": [ { "kind": "partition", "at": "500ms", "until": "9s", "groups": [["s1"], ["c1", "s2"]] } ],
      "nemesis": { "start": "1s", "stop": "8s", "targets": ["s2"], "partition_rate": 2 }
    }"#;
    let (report, lines) = trace_of(text);
    let nemesis_ends = lines
        .iter()
        .filter(|l| l["ev"] == "fault_end" && l["applied"] == true && l["index"] != 0)
        .count();
    assert!(nemesis_ends >= 3, "the nemesis isolated s2 and healed it several times");
    assert_eq!(
        crossings(&report, &lines, "s1", "c1", 500_000_000, 9_000_000_000),
        0,
        "no nemesis heal ended the scheduled partition"
    );
    assert!(crossings(&report, &lines, "s1", "c1", 9_000_000_000, 10_000_000_000) > 0);
}

#[test]
fn a_fault_scheduled_during_a_run_in_the_past_is_recorded_where_it_acted_and_replays() {
    // Schedule during the run: one fault in the past, one at the present instant and a
    // window in the future; the realized schedule replayed before the run gives the
    // same trace.
    let mut live = sender_sink(9, 300, ms(1));
    live.run_until(ms(100)).unwrap();
    live.schedule(ms(20), Fault::Crash { node: SINK }).unwrap();
    live.schedule(ms(100), Fault::Isolate { node: SENDER }).unwrap();
    live.run_until(ms(150)).unwrap();
    live.schedule_window(ms(150), ms(200), Fault::Pause { node: SENDER })
        .unwrap();
    live.schedule(ms(160), Fault::Restart { node: SINK }).unwrap();
    live.schedule(ms(170), Fault::Heal).unwrap();
    live.run().unwrap();
    let realized = live.realized_faults().to_vec();
    assert_eq!(
        realized[0].at,
        ms(100) + SimTime(1),
        "a time in the past is clamped to just after now"
    );
    assert_eq!(
        realized[2].until,
        Some(ms(200) + SimTime(1)),
        "a window keeps its length"
    );
    let mut replay = sender_sink(9, 300, ms(1));
    for f in &realized {
        replay.schedule_timed(f.clone()).unwrap();
    }
    replay.run().unwrap();
    assert_eq!(replay.trace_hash(), live.trace_hash());
    assert_eq!(replay.realized_faults(), &realized[..]);
}

#[test]
fn the_report_shows_each_fault_with_its_own_window() {
    let dir = crate::support::tempdir("fault-windows-report");
    let file = dir.join("overlap.json");
    std::fs::write(
        &file,
        r#"{ "name": "overlap", "seed": 1, "duration": "3s",
      "nodes": [ { "id": "s1", "role": "rpc_server" },
                 { "id": "c1", "role": "rpc_client", "server": "s1", "calls": 100, "think": "20ms" } ],
      "faults": [
        { "kind": "partition", "at": "500ms", "until": "2s", "groups": [["s1"], ["c1"]] },
        { "kind": "block", "at": "600ms", "until": "700ms", "from": "c1", "to": "s1" } ] }"#,
    )
    .unwrap();
    let html = dir.join("r.html");
    let out = crate::scenarios::detsim(&["run", file.to_str().unwrap(), "--report", html.to_str().unwrap()]);
    assert!(html.exists(), "{}", String::from_utf8_lossy(&out.stderr));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("<tr><td>partition {s1} | {c1}</td><td>500ms</td><td>2s</td></tr>"),
        "the partition keeps its own end in the fault table"
    );
    assert!(page.contains("<tr><td>block c1→s1</td><td>600ms</td><td>700ms</td></tr>"));
}

#[test]
fn a_crash_ends_the_pause_of_the_process_it_kills() {
    let mut sim = sender_sink(2, 200, ms(1));
    sim.schedule_window(ms(10), ms(100), Fault::Pause { node: SINK })
        .unwrap();
    sim.schedule_window(ms(50), ms(60), Fault::Crash { node: SINK })
        .unwrap();
    sim.schedule_window(ms(55), ms(58), Fault::Pause { node: SINK })
        .unwrap();
    sim.run_until(ms(56)).unwrap();
    assert_eq!(
        sim.faults_in_force(),
        vec![1],
        "only the crash: the pause ended with it"
    );
    sim.run_until(ms(61)).unwrap();
    assert_eq!(sim.node_state(SINK), Some(NodeState::Up), "restarted, not paused");
    assert!(sim.faults_in_force().is_empty());
    sim.run().unwrap();
    assert!(delivered_between(&sim, ms(61), ms(100)) >= 38);
}

#[test]
fn fault_periods_say_when_faults_were_really_in_force() {
    let mut sim = sender_sink(3, 100, ms(1));
    // A block planned until 90ms but healed at 20ms; a pause of a node that is about to be
    // crashed; a restart of a live node (does nothing); a crash window 50..60ms.
    sim.schedule_window(ms(10), ms(90), Fault::Block { from: SENDER, to: SINK })
        .unwrap();
    sim.schedule(ms(20), Fault::Heal).unwrap();
    sim.schedule(ms(30), Fault::Restart { node: SINK }).unwrap();
    sim.schedule_window(ms(50), ms(60), Fault::Crash { node: SINK })
        .unwrap();
    sim.schedule_window(ms(55), ms(95), Fault::Pause { node: SINK })
        .unwrap();
    sim.run().unwrap();
    assert_eq!(
        sim.fault_periods(),
        &[(ms(10), Some(ms(20))), (ms(50), Some(ms(60)))],
        "the heal ended the block early, the restart did nothing, the pause of a crashed node held nothing"
    );
}
