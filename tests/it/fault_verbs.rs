//! Fault verbs on the simulation (`sim.crash(n)`, `sim.partition(..)`, ...): each is
//! recorded exactly like a scheduled fault, so a run driven by verbs mid-run replays
//! from its realized schedule, with no verbs, to the same trace hash. The network is
//! configured before the run only; during a run it changes through `set_link`.

use detsim::{
    ClogTarget, Ctx, Fault, LinkConfig, Node, NodeId, NodeState, SimConfig, SimTime, Simulation, TimedFault, TimerId,
};

fn ms(n: u64) -> SimTime {
    SimTime::from_millis(n)
}

/// Every millisecond sends a counter to a peer drawn from its own stream; observes what
/// it receives.
struct Gossip;

impl Node<u64, u64> for Gossip {
    fn on_start(&mut self, ctx: &mut Ctx<'_, u64, u64>) {
        ctx.set_timer(ms(1), 0);
    }
    fn on_message(&mut self, ctx: &mut Ctx<'_, u64, u64>, _from: NodeId, msg: u64) {
        ctx.observe(msg);
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_, u64, u64>, _t: TimerId, tag: u64) {
        let n = ctx.node_count() as u64;
        let peer = NodeId(ctx.rng().range(0, n) as u32);
        ctx.send(peer, tag);
        ctx.set_timer(ms(1), tag + 1);
    }
}

const N: u32 = 4;

fn gossip() -> Simulation<u64, u64> {
    let mut sim = Simulation::new(SimConfig::new(3).max_time(ms(400)));
    for i in 0..N {
        sim.add_node(&format!("g{i}"), || Box::new(Gossip)).unwrap();
    }
    sim
}

#[test]
fn a_run_driven_by_verbs_replays_from_its_realized_schedule() {
    let (a, b, c) = (NodeId(0), NodeId(1), NodeId(2));
    let mut live = gossip();
    live.pause_for(c, ms(30)).unwrap(); // before the run: acts at the start
    live.run_until(ms(50)).unwrap();
    live.crash(a).unwrap();
    live.partition(vec![vec![b], vec![c, NodeId(3)]]).unwrap();
    live.run_until(ms(100)).unwrap();
    assert_eq!(live.node_state(a), Some(NodeState::Down));
    live.restart(a).unwrap();
    live.heal().unwrap();
    live.clog_for(ClogTarget::Node { node: b }, ms(20)).unwrap();
    live.set_link(
        None,
        LinkConfig {
            drop: 0.5,
            ..LinkConfig::default()
        },
    )
    .unwrap();
    live.block_for(c, a, ms(40)).unwrap();
    for _ in 0..30 {
        live.step(); // verbs between single steps, at whatever time that is
    }
    live.isolate(NodeId(3)).unwrap();
    live.pause(b).unwrap();
    live.run_until(ms(200)).unwrap();
    live.resume(b).unwrap();
    live.heal().unwrap();
    live.crash_for(c, ms(10)).unwrap();
    live.set_link_for(Some((a, b)), LinkConfig::default(), ms(50)).unwrap();
    live.unclog_all().unwrap();
    live.run().unwrap();

    let realized = live.realized_faults().to_vec();
    assert_eq!(realized.len(), 15);
    // Before the run a verb acts at the start; during it, 1 ns after the present.
    assert_eq!((realized[0].at, realized[0].until), (SimTime::ZERO, Some(ms(30))));
    assert_eq!(realized[1].at, ms(50) + SimTime(1));
    assert_eq!(realized[1].fault, Fault::Crash { node: a });
    assert_eq!(realized[5].until, Some(ms(100) + SimTime(1) + ms(20)));
    assert!(live.stats().faults >= 14, "{:?}", live.stats());
    assert!(live.stats().dropped_partition > 0 && live.stats().dropped_loss > 0);

    let mut replay = gossip();
    for tf in &realized {
        replay.schedule_timed(tf.clone()).unwrap();
    }
    replay.run().unwrap();
    assert_eq!(
        replay.trace_hash(),
        live.trace_hash(),
        "the realized schedule replays the run"
    );
    assert_eq!(replay.stats(), live.stats());
    assert_eq!(replay.realized_faults(), &realized[..]);

    // The verbs are not a no-op: without them the run differs.
    let mut quiet = gossip();
    quiet.run().unwrap();
    assert_ne!(quiet.trace_hash(), live.trace_hash());
}

#[test]
fn verbs_check_their_faults_like_the_schedule_does() {
    let mut sim = gossip();
    sim.run_until(ms(10)).unwrap();
    assert!(sim.crash(NodeId(N)).is_err(), "unknown node");
    assert!(
        sim.partition(vec![vec![NodeId(0)], vec![NodeId(0)]]).is_err(),
        "a node in two groups"
    );
    let bad = LinkConfig {
        drop: 2.0,
        ..LinkConfig::default()
    };
    assert!(sim.set_link(None, bad).is_err());
    assert!(sim.realized_faults().is_empty(), "a rejected verb records nothing");
}

#[test]
fn the_network_is_configured_before_the_run_only() {
    let mut sim = gossip();
    let lossy = LinkConfig {
        drop: 1.0,
        ..LinkConfig::default()
    };
    sim.network_mut().unwrap().set_default(lossy).unwrap();
    sim.step();
    let err = sim
        .network_mut()
        .map(|_| ())
        .expect_err("configuring the network mid-run is an error");
    assert!(err.to_string().contains("set_link"), "{err}");
    // The way to change it mid-run: a recorded fault.
    sim.set_link(None, LinkConfig::default()).unwrap();
    sim.run_until(ms(5)).unwrap();
    assert_eq!(sim.network().default_config(), &LinkConfig::default());
    assert_eq!(
        sim.realized_faults(),
        &[TimedFault::at(
            SimTime(1),
            Fault::SetLink {
                link: None,
                config: LinkConfig::default()
            }
        )]
    );
}
