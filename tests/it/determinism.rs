//! Reproducibility: the same seed gives the same trace hash, in this process and in two
//! separate processes; different seeds differ; the nemesis' realized schedule, replayed
//! explicitly, gives the same hash.

use std::process::Command;

use detsim::{
    Ctx, DurationRange, Latency, LinkConfig, NemesisConfig, Node, NodeId, SimConfig, SimTime, Simulation, TimedFault,
    TimerId,
};

fn bench_hash(seed: u64) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_detsim"))
        .args([
            "bench",
            "--clients",
            "10",
            "--messages",
            "20000",
            "--repeat",
            "1",
            "--jitter",
            "--json",
        ])
        .args(["--seed", &seed.to_string()])
        .output()
        .expect("run detsim");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("bench --json prints JSON");
    let hash = v["runs"][0]["trace_hash"].as_str().expect("trace_hash").to_string();
    assert_eq!(hash.len(), 16);
    hash
}

#[test]
fn same_seed_same_hash_across_processes_and_different_seeds_differ() {
    let a = bench_hash(5);
    let b = bench_hash(5);
    assert_eq!(a, b, "two processes, same seed");
    assert_ne!(
        a,
        bench_hash(6),
        "random latency: a different seed gives a different run"
    );
}

/// Every millisecond, sends a counter to a peer drawn from its own stream; observes what
/// it receives.
struct Gossip;

impl Node<u64, u64> for Gossip {
    fn on_start(&mut self, ctx: &mut Ctx<'_, u64, u64>) {
        ctx.set_timer(SimTime::from_millis(1), 0);
    }
    fn on_message(&mut self, ctx: &mut Ctx<'_, u64, u64>, _from: NodeId, msg: u64) {
        ctx.observe(msg);
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_, u64, u64>, _t: TimerId, tag: u64) {
        let n = ctx.node_count() as u64;
        let peer = NodeId(ctx.rng().range(0, n) as u32);
        ctx.send(peer, tag);
        ctx.set_timer(SimTime::from_millis(1), tag + 1);
    }
}

fn gossip(seed: u64, nodes: u32, nemesis: bool, schedule: &[TimedFault], tiebreak: bool) -> Simulation<u64, u64> {
    let cfg = SimConfig::new(seed)
        .max_time(SimTime::from_secs(2))
        .random_tiebreak(tiebreak);
    let mut sim = Simulation::new(cfg);
    for i in 0..nodes {
        sim.add_node(&format!("g{i}"), || Box::new(Gossip)).unwrap();
    }
    sim.network_mut()
        .unwrap()
        .set_default(LinkConfig {
            latency: Latency::Exponential {
                mean: SimTime::from_millis(2),
            },
            fifo: false,
            ..LinkConfig::default()
        })
        .unwrap();
    if nemesis {
        let d = DurationRange::new(SimTime::from_millis(20), SimTime::from_millis(200));
        sim.set_nemesis(NemesisConfig {
            start: SimTime::from_millis(100),
            stop: SimTime::from_millis(1500),
            targets: (0..nodes).map(NodeId).collect(),
            crash_rate: 4.0,
            downtime: d,
            pause_rate: 4.0,
            pause_time: d,
            partition_rate: 4.0,
            partition_time: d,
            clog_rate: 4.0,
            clog_time: d,
            loss_rate: 4.0,
            loss_time: d,
            max_down: 2,
            ..NemesisConfig::default()
        })
        .unwrap();
    }
    for tf in schedule {
        sim.schedule_timed(tf.clone()).unwrap();
    }
    sim.run().unwrap();
    sim
}

#[test]
fn same_seed_same_hash_in_process_different_seed_differs() {
    let a = gossip(1, 5, true, &[], false);
    let b = gossip(1, 5, true, &[], false);
    let c = gossip(2, 5, true, &[], false);
    assert_eq!(a.trace_hash(), b.trace_hash());
    assert_eq!(a.stats(), b.stats());
    assert_ne!(a.trace_hash(), c.trace_hash());
}

#[test]
fn nemesis_same_seed_same_faults_and_explicit_replay_same_hash() {
    for seed in 1..=5 {
        let a = gossip(seed, 5, true, &[], false);
        let b = gossip(seed, 5, true, &[], false);
        let realized = a.realized_faults().to_vec();
        assert_eq!(realized, b.realized_faults(), "seed {seed}: same realized fault list");
        assert!(realized.len() > 10, "seed {seed}: the nemesis injected faults");
        for kind in ["Crash", "Pause", "Partition", "Clog", "SetLink"] {
            assert!(
                realized.iter().any(|f| format!("{:?}", f.fault).starts_with(kind)
                    || (kind == "Partition" && format!("{:?}", f.fault).starts_with("Isolate"))),
                "seed {seed}: no {kind} fault"
            );
        }
        assert!(a.stats().faults > 0);
        let replay = gossip(seed, 5, false, &realized, false);
        assert_eq!(replay.realized_faults(), &realized[..]);
        assert_eq!(replay.trace_hash(), a.trace_hash(), "seed {seed}: explicit replay");
        assert_ne!(gossip(seed + 100, 5, true, &[], false).realized_faults(), &realized[..]);
    }
}

/// Observes its first five random draws at start.
struct Drawer;

impl Node<u64, u64> for Drawer {
    fn on_start(&mut self, ctx: &mut Ctx<'_, u64, u64>) {
        for _ in 0..5 {
            let x = ctx.rng().next_u64();
            ctx.observe(x);
        }
    }
    fn on_message(&mut self, _ctx: &mut Ctx<'_, u64, u64>, _from: NodeId, _msg: u64) {}
}

#[test]
fn adding_a_node_does_not_change_the_others_draws() {
    let draws_of = |nodes: u32, seed: u64| {
        let mut sim = Simulation::<u64, u64>::new(SimConfig::new(seed));
        for i in 0..nodes {
            sim.add_node(&format!("d{i}"), || Box::new(Drawer)).unwrap();
        }
        sim.run().unwrap();
        let per_node = |n: u32| -> Vec<u64> {
            sim.history()
                .records()
                .iter()
                .filter(|r| r.node == NodeId(n))
                .map(|r| r.obs)
                .collect()
        };
        (per_node(0), per_node(1))
    };
    let (a0, a1) = draws_of(2, 9);
    let (b0, b1) = draws_of(7, 9);
    assert_eq!((a0.len(), a1.len()), (5, 5));
    assert_eq!(a0, b0, "node 0 draws the same with 2 or 7 nodes");
    assert_eq!(a1, b1);
    assert_ne!(a0, a1, "each node has its own stream");
    assert_ne!(draws_of(2, 10).0, a0, "the stream depends on the seed");
}

#[test]
fn random_tiebreak_explores_other_orders_but_stays_reproducible() {
    let a = gossip(4, 5, false, &[], true);
    let b = gossip(4, 5, false, &[], true);
    let c = gossip(4, 5, false, &[], false);
    assert_eq!(a.trace_hash(), b.trace_hash());
    assert_ne!(a.trace_hash(), c.trace_hash());
}

#[test]
fn the_queue_stays_bounded_over_a_long_run() {
    // Memory is O(pending events + node state): the queue stays at its steady-state size
    // however many events were processed (nothing per event is kept without a writer).
    let sim = gossip(5, 5, false, &[], false);
    let events = sim.stats().events;
    assert!(events > 10_000);
    assert!(sim.pending_events() < 100, "pending {}", sim.pending_events());
}

/// A `Write` into a shared buffer.
#[derive(Clone, Default)]
struct SharedBuf(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl std::io::Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn trace_writer_streams_every_event_as_a_json_line_without_changing_the_hash() {
    let cfg = SimConfig::new(8).max_time(SimTime::from_millis(300));
    let make = || {
        let mut sim = Simulation::<u64, u64>::new(cfg.clone());
        for i in 0..3 {
            sim.add_node(&format!("g{i}"), || Box::new(Gossip)).unwrap();
        }
        sim.network_mut()
            .unwrap()
            .set_default(LinkConfig {
                drop: 0.2,
                duplicate: 0.1,
                ..LinkConfig::default()
            })
            .unwrap();
        sim.schedule(SimTime::from_millis(100), detsim::Fault::Crash { node: NodeId(1) })
            .unwrap();
        sim.schedule(SimTime::from_millis(200), detsim::Fault::Restart { node: NodeId(1) })
            .unwrap();
        sim
    };
    let mut plain = make();
    plain.run().unwrap();
    let buf = SharedBuf::default();
    let mut traced = make();
    traced.add_trace_sink(Box::new(detsim::run::JsonLines::new(Box::new(buf.clone()))));
    traced.run().unwrap();
    assert_eq!(
        plain.trace_hash(),
        traced.trace_hash(),
        "writing the trace does not change the run"
    );
    let text = String::from_utf8(buf.0.borrow().clone()).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len() as u64, traced.trace_events());
    let count = |ev: &str| lines.iter().filter(|l| l["ev"] == ev).count() as u64;
    let s = traced.stats();
    assert_eq!(count("send"), s.sent);
    assert_eq!(count("deliver"), s.delivered);
    assert_eq!(count("drop"), s.dropped());
    assert_eq!(count("duplicate"), s.duplicated);
    assert_eq!(count("fault"), 2);
    assert!(lines.iter().any(|l| l["ev"] == "drop" && l["reason"] == "loss"));
    assert!(lines.iter().any(|l| l["ev"] == "drop" && l["reason"] == "node_down"));
    let times: Vec<u64> = lines.iter().map(|l| l["t"].as_u64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "trace is in time order");
}

/// A planted determinism leak: a node whose message depends on state outside the
/// simulation (a process-wide counter), so two runs in one process differ.
static LEAK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

struct Leaky;

impl Node<u64, u64> for Leaky {
    fn on_start(&mut self, ctx: &mut Ctx<'_, u64, u64>) {
        ctx.set_timer(SimTime::from_millis(5), 0);
    }
    fn on_message(&mut self, _ctx: &mut Ctx<'_, u64, u64>, _from: NodeId, _msg: u64) {}
    fn on_timer(&mut self, ctx: &mut Ctx<'_, u64, u64>, _t: TimerId, tag: u64) {
        let leak = LEAK.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Deterministic for its first three sends, then it leaks.
        ctx.send(NodeId(0), if tag < 3 { tag } else { 1000 + leak });
        if tag < 6 {
            ctx.set_timer(SimTime::from_millis(5), tag + 1);
        }
    }
}

fn traced_run(leaky: bool, sink: Box<dyn detsim::TraceSink<u64>>) -> Result<u64, detsim::Error> {
    let mut sim = Simulation::<u64, u64>::new(SimConfig::new(1));
    sim.add_node("sink", || Box::new(Gossip))?;
    if leaky {
        sim.add_node("leaky", || Box::new(Leaky))?;
    } else {
        sim.add_node("g", || Box::new(Gossip))?;
    }
    sim.add_trace_sink(sink);
    sim.run_until(SimTime::from_millis(100))?;
    Ok(sim.trace_hash())
}

#[test]
fn check_determinism_names_the_first_diverging_event() {
    let (_, none) = detsim::run::first_divergence(|w| traced_run(false, w)).unwrap();
    assert_eq!(none, None, "a deterministic simulation does not diverge");
    let (_, found) = detsim::run::first_divergence(|w| traced_run(true, w)).unwrap();
    let d = found.expect("the leak is found");
    let (a, b) = (d.first.unwrap(), d.second.unwrap());
    assert_ne!(a, b);
    // The fourth send (tag 3, at 20 ms) is the first event that differs.
    let ev: serde_json::Value = serde_json::from_str(&b).unwrap();
    assert_eq!(
        (ev["ev"].as_str(), ev["t"].as_u64()),
        (Some("send"), Some(20_000_000)),
        "{b}"
    );
    let msg = |line: &str| -> u64 {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        v["msg"].as_str().unwrap().parse().unwrap()
    };
    assert!(msg(&a) >= 1000 && msg(&b) >= 1000 && msg(&a) != msg(&b), "{a} / {b}");
}
