//! Node lifecycle: crash (timers die, volatile state lost, durable kept, messages to a
//! down node dropped and counted), restart, pause and resume.

use detsim::{Ctx, Fault, Node, NodeId, NodeState, SimConfig, SimTime, Simulation, TimerId};

use crate::support::{Got, received, sender_sink};

const SINK: NodeId = NodeId(0);

/// What the lifecycle probe observes.
#[derive(Clone, Debug, PartialEq)]
enum Seen {
    /// At start: (durable start count, volatile counter, incarnation).
    Started(u64, u64, u32),
    /// A timer fired with this tag.
    Fired(u64),
}

#[derive(Clone, Default)]
struct Durable {
    starts: u64,
}

/// Counts starts durably and volatilely, and sets a timer at each start tagged with the
/// incarnation.
#[derive(Default)]
struct Probe {
    volatile: u64,
}

impl Node<u64, Seen> for Probe {
    fn on_start(&mut self, ctx: &mut Ctx<'_, u64, Seen>) {
        self.volatile += 1;
        ctx.durable::<Durable>().starts += 1;
        let starts = ctx.durable::<Durable>().starts;
        let inc = ctx.incarnation();
        ctx.observe(Seen::Started(starts, self.volatile, inc));
        ctx.set_timer(SimTime::from_millis(10), inc as u64);
        // A timer that is cancelled must never fire.
        let t = ctx.set_timer(SimTime::from_millis(1), 99);
        ctx.cancel_timer(t);
    }
    fn on_message(&mut self, _ctx: &mut Ctx<'_, u64, Seen>, _from: NodeId, _msg: u64) {}
    fn on_timer(&mut self, ctx: &mut Ctx<'_, u64, Seen>, _t: TimerId, tag: u64) {
        ctx.observe(Seen::Fired(tag));
    }
}

fn probe_run(faults: &[(u64, Fault)]) -> (Vec<(SimTime, Seen)>, Simulation<u64, Seen>) {
    let mut sim = Simulation::<u64, Seen>::new(SimConfig::new(1));
    sim.add_node("probe", || Box::new(Probe::default())).unwrap();
    for (ms, f) in faults {
        sim.schedule(SimTime::from_millis(*ms), f.clone()).unwrap();
    }
    sim.run().unwrap();
    let seen = sim.history().records().iter().map(|r| (r.at, r.obs.clone())).collect();
    (seen, sim)
}

#[test]
fn crash_kills_timers_and_volatile_state_but_not_durable_storage() {
    let p = NodeId(0);
    let (seen, sim) = probe_run(&[(5, Fault::Crash { node: p }), (6, Fault::Restart { node: p })]);
    let ms = SimTime::from_millis;
    assert_eq!(
        seen,
        vec![
            (ms(0), Seen::Started(1, 1, 0)),
            // The timer set at 0 ms for 10 ms died with the crash at 5 ms.
            (ms(6), Seen::Started(2, 1, 1)),
            (ms(16), Seen::Fired(1)),
        ]
    );
    assert_eq!(sim.node_state(p), Some(NodeState::Up));
    assert_eq!(sim.stats().timers, 1);
}

#[test]
fn without_a_crash_the_timer_fires() {
    let (seen, _) = probe_run(&[]);
    assert_eq!(seen.last(), Some(&(SimTime::from_millis(10), Seen::Fired(0))));
}

#[test]
fn restarting_a_live_node_does_nothing() {
    let (seen, sim) = probe_run(&[(5, Fault::Restart { node: NodeId(0) })]);
    assert_eq!(seen.len(), 2);
    assert_eq!(sim.stats().faults, 0, "a restart of a live node is not applied");
}

#[test]
fn messages_to_a_down_node_are_dropped_and_counted() {
    let mut sim = sender_sink(3, 100, SimTime::from_millis(1));
    // Sent at k ms, arriving at k+1 ms; the sink is down over [20 ms, 30 ms).
    sim.schedule(SimTime::from_millis(20), Fault::Crash { node: SINK })
        .unwrap();
    sim.schedule(SimTime::from_millis(30), Fault::Restart { node: SINK })
        .unwrap();
    sim.run().unwrap();
    let got: Vec<u64> = received(&sim, SINK).iter().map(|g| g.1).collect();
    assert_eq!(sim.stats().dropped_node_down, 10);
    assert_eq!(got.len(), 90);
    assert!(
        !got.iter().any(|p| (19..29).contains(p)),
        "arrivals while down are lost"
    );
}

#[test]
fn pause_holds_everything_and_resume_delivers_it_in_order() {
    let mut sim = sender_sink(3, 100, SimTime::from_millis(1));
    sim.schedule(SimTime::from_millis(20), Fault::Pause { node: SINK })
        .unwrap();
    sim.schedule(SimTime::from_millis(50), Fault::Resume { node: SINK })
        .unwrap();
    sim.run().unwrap();
    let got = received(&sim, SINK);
    assert_eq!(got.len(), 100, "nothing lost");
    let ms = SimTime::from_millis;
    assert!(
        !got.iter().any(|(t, _)| *t >= ms(20) && *t < ms(50)),
        "nothing is processed while paused"
    );
    assert_eq!(got.iter().filter(|(t, _)| *t == ms(50)).count(), 31); // arrivals at 20..=50 ms
    assert!(got.windows(2).all(|w| w[1].1 == w[0].1 + 1), "delivered in order");
    assert_eq!(sim.stats().held_paused, 30);
}

#[test]
fn a_paused_nodes_timer_fires_after_resume() {
    let p = NodeId(0);
    let (seen, _) = probe_run(&[(5, Fault::Pause { node: p }), (40, Fault::Resume { node: p })]);
    assert_eq!(seen.last(), Some(&(SimTime::from_millis(40), Seen::Fired(0))));
}

#[test]
fn crash_while_paused_drops_what_was_held() {
    let mut sim = sender_sink(3, 100, SimTime::from_millis(1));
    sim.schedule(SimTime::from_millis(20), Fault::Pause { node: SINK })
        .unwrap();
    sim.schedule(SimTime::from_millis(30), Fault::Crash { node: SINK })
        .unwrap();
    sim.schedule(SimTime::from_millis(40), Fault::Restart { node: SINK })
        .unwrap();
    sim.run().unwrap();
    let s = sim.stats();
    assert_eq!(s.dropped_crashed, 10); // held at 20..29 ms
    assert_eq!(s.dropped_node_down, 10); // arriving at 30..39 ms
    assert_eq!(received(&sim, SINK).len(), 80);
}

#[test]
fn bad_parameters_are_typed_errors_not_panics() {
    let mut sim: Simulation<u64, Got> = sender_sink(1, 1, SimTime::ZERO);
    assert!(matches!(
        sim.schedule(SimTime::ZERO, Fault::Crash { node: NodeId(7) }),
        Err(detsim::Error::UnknownNode(NodeId(7)))
    ));
    assert!(matches!(
        sim.schedule(SimTime::ZERO, Fault::Partition { groups: vec![vec![]] }),
        Err(detsim::Error::InvalidParameter(_))
    ));
    assert!(matches!(
        sim.schedule(
            SimTime::ZERO,
            Fault::Partition {
                groups: vec![vec![NodeId(0)], vec![NodeId(0)]]
            }
        ),
        Err(detsim::Error::InvalidParameter(m)) if m.contains("twice")
    ));
    let bad = detsim::LinkConfig {
        duplicate: f64::NAN,
        ..Default::default()
    };
    assert!(matches!(
        sim.schedule(
            SimTime::ZERO,
            Fault::SetLink {
                link: None,
                config: bad
            }
        ),
        Err(detsim::Error::InvalidProbability { .. })
    ));
    assert!(matches!(
        sim.add_node("sink", || Box::new(crate::support::Sink)),
        Err(detsim::Error::DuplicateNode(_))
    ));
    let nem = detsim::NemesisConfig {
        crash_rate: -1.0,
        targets: vec![SINK],
        ..Default::default()
    };
    assert!(sim.set_nemesis(nem).is_err());
    let nem = detsim::NemesisConfig {
        targets: vec![NodeId(9)],
        ..Default::default()
    };
    assert!(matches!(sim.set_nemesis(nem), Err(detsim::Error::UnknownNode(_))));
}

/// Keeps a `u64` and a `String` in durable storage: the first incarnation writes both
/// (the `String` after the `u64`), every incarnation reports what it finds at start.
struct TwoTypes;

impl Node<u64, (u64, String)> for TwoTypes {
    fn on_start(&mut self, ctx: &mut Ctx<'_, u64, (u64, String)>) {
        if ctx.incarnation() == 0 {
            *ctx.durable::<u64>() = 42;
            *ctx.durable::<String>() = "forty-two".to_string();
        }
        let n = *ctx.durable::<u64>();
        let s = ctx.durable::<String>().clone();
        ctx.observe((n, s));
    }
    fn on_message(&mut self, _ctx: &mut Ctx<'_, u64, (u64, String)>, _from: NodeId, _msg: u64) {}
}

#[test]
fn durable_values_of_different_types_live_side_by_side_across_a_restart() {
    // Issue 10, item 14: `durable::<String>()` used to replace an earlier `durable::<u64>()`
    // with a fresh String (and the u64 read back as 0).
    let mut sim = Simulation::<u64, (u64, String)>::new(SimConfig::new(1));
    let p = sim.add_node("two", || Box::new(TwoTypes)).unwrap();
    sim.schedule(SimTime::from_millis(5), Fault::Crash { node: p }).unwrap();
    sim.schedule(SimTime::from_millis(6), Fault::Restart { node: p })
        .unwrap();
    sim.run().unwrap();
    let seen: Vec<(u64, String)> = sim.history().records().iter().map(|r| r.obs.clone()).collect();
    let both = (42, "forty-two".to_string());
    assert_eq!(seen, vec![both.clone(), both], "before and after the crash");
    let storage = sim.storage(p).unwrap();
    assert_eq!(storage.get::<u64>(), Some(&42));
    assert_eq!(storage.get::<String>().map(String::as_str), Some("forty-two"));
    assert_eq!(storage.get::<u32>(), None, "a type never stored has no value");
    assert_eq!(storage.len(), 2);
}
