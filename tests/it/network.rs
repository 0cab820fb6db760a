//! The network, measured by counting: loss, duplication, FIFO vs datagram ordering,
//! partitions cutting messages in flight, one-way blocks, clogs, latency distributions.

use detsim::{ClogTarget, Fault, Latency, LinkConfig, NodeId, SimTime, Simulation};

use crate::support::{Got, Sender, received, sender_sink};

const SINK: NodeId = NodeId(0);
const SENDER: NodeId = NodeId(1);

fn set_default(sim: &mut Simulation<u64, Got>, cfg: LinkConfig) {
    sim.network_mut().unwrap().set_default(cfg).unwrap();
}

fn jitter() -> Latency {
    Latency::Uniform {
        min: SimTime::from_millis(1),
        max: SimTime::from_millis(10),
    }
}

/// `n` independent trials of probability `p`: the count is within 5 standard deviations.
fn assert_binomial(count: u64, n: u64, p: f64) {
    let mean = n as f64 * p;
    let sd = (n as f64 * p * (1.0 - p)).sqrt();
    assert!(
        (count as f64 - mean).abs() <= 5.0 * sd,
        "{count} of {n} is not within 5 sd ({sd:.1}) of {mean}"
    );
}

#[test]
fn drop_rate_is_within_statistical_bounds() {
    let mut sim = sender_sink(11, 100_000, SimTime::ZERO);
    set_default(
        &mut sim,
        LinkConfig {
            drop: 0.1,
            ..LinkConfig::default()
        },
    );
    sim.run().unwrap();
    let s = sim.stats().clone();
    assert_eq!(s.sent, 100_000);
    assert_binomial(s.dropped_loss, 100_000, 0.1);
    assert_eq!(s.delivered + s.dropped_loss, 100_000);
    assert_eq!(received(&sim, SINK).len() as u64, s.delivered);
}

#[test]
fn duplicates_appear_at_their_rate_and_are_delivered_twice() {
    let mut sim = sender_sink(12, 20_000, SimTime::ZERO);
    set_default(
        &mut sim,
        LinkConfig {
            duplicate: 0.05,
            ..LinkConfig::default()
        },
    );
    sim.run().unwrap();
    let s = sim.stats().clone();
    assert_binomial(s.duplicated, 20_000, 0.05);
    assert_eq!(s.delivered, 20_000 + s.duplicated);
    let mut payloads: Vec<u64> = received(&sim, SINK).iter().map(|r| r.1).collect();
    payloads.sort_unstable();
    let twice = payloads.windows(2).filter(|w| w[0] == w[1]).count() as u64;
    assert_eq!(twice, s.duplicated);
}

fn inversions(xs: &[(SimTime, u64)]) -> usize {
    xs.windows(2).filter(|w| w[1].1 < w[0].1).count()
}

#[test]
fn fifo_link_never_reorders_while_datagram_link_does() {
    for (fifo, seed) in [(true, 1), (false, 1), (true, 2)] {
        let mut sim = sender_sink(seed, 2_000, SimTime::from_micros(100));
        set_default(
            &mut sim,
            LinkConfig {
                latency: jitter(),
                fifo,
                duplicate: 0.01,
                ..LinkConfig::default()
            },
        );
        sim.run().unwrap();
        let got = received(&sim, SINK);
        assert_eq!(got.len() as u64, 2_000 + sim.stats().duplicated);
        if fifo {
            // Duplicates repeat a payload but never go back before a later one.
            assert!(got.windows(2).all(|w| w[1].1 >= w[0].1), "FIFO link reordered");
        } else {
            assert!(inversions(&got) > 100, "datagram link with jitter did not reorder");
        }
    }
}

#[test]
fn fifo_holds_with_random_tiebreak_too() {
    let mut sim = Simulation::new(detsim::SimConfig::new(3).random_tiebreak(true));
    let sink = sim.add_node("sink", || Box::new(crate::support::Sink)).unwrap();
    sim.add_node("sender", move || {
        Box::new(Sender {
            to: sink,
            count: 500,
            every: SimTime::ZERO,
            next: 0,
        })
    })
    .unwrap();
    sim.run().unwrap();
    let got = received(&sim, sink);
    assert_eq!(
        got.iter().map(|g| g.1).collect::<Vec<_>>(),
        (0..500).collect::<Vec<_>>()
    );
}

#[test]
fn partition_drops_messages_already_in_flight() {
    // 100 messages sent at t=0 arrive at 10 ms; the partition is in force from 5 ms to 15 ms.
    let mut sim = sender_sink(4, 100, SimTime::ZERO);
    set_default(
        &mut sim,
        LinkConfig {
            latency: Latency::constant(SimTime::from_millis(10)),
            ..LinkConfig::default()
        },
    );
    sim.schedule(
        SimTime::from_millis(5),
        Fault::Partition {
            groups: vec![vec![SINK], vec![SENDER]],
        },
    )
    .unwrap();
    sim.schedule(SimTime::from_millis(15), Fault::Heal).unwrap();
    sim.run().unwrap();
    assert_eq!(sim.stats().dropped_partition, 100);
    assert_eq!(sim.stats().delivered, 0);
    assert!(received(&sim, SINK).is_empty());
}

#[test]
fn messages_after_heal_get_through() {
    let mut sim = sender_sink(4, 100, SimTime::from_millis(1));
    sim.schedule(SimTime::ZERO, Fault::Isolate { node: SINK }).unwrap();
    sim.schedule(SimTime::from_millis(50), Fault::Heal).unwrap();
    sim.run().unwrap();
    let got = received(&sim, SINK);
    // Sent at k ms, arriving at k+1 ms: arrivals before 50 ms are cut, the rest arrive.
    assert_eq!(sim.stats().dropped_partition, 49);
    assert_eq!(got.len(), 51);
    assert!(got.iter().all(|(t, _)| *t >= SimTime::from_millis(50)));
}

#[test]
fn one_way_block_stops_one_direction_only() {
    let mut sim: Simulation<u64, Got> = Simulation::new(detsim::SimConfig::new(5));
    let a = NodeId(0);
    let b = NodeId(1);
    for (name, to) in [("a", b), ("b", a)] {
        sim.add_node(name, move || {
            Box::new(Sender {
                to,
                count: 100,
                every: SimTime::from_millis(1),
                next: 0,
            })
        })
        .unwrap();
    }
    sim.schedule(SimTime::ZERO, Fault::Block { from: a, to: b }).unwrap();
    sim.run().unwrap();
    assert_eq!(received(&sim, b).len(), 0, "a -> b is blocked");
    assert_eq!(received(&sim, a).len(), 100, "b -> a is open");
    assert_eq!(sim.stats().dropped_partition, 100);
}

#[test]
fn clogged_messages_arrive_after_unclog_in_order_none_lost() {
    let mut sim = sender_sink(6, 100, SimTime::from_millis(1));
    let link = ClogTarget::Link { from: SENDER, to: SINK };
    sim.schedule(SimTime::from_millis(10), Fault::Clog { target: link })
        .unwrap();
    sim.schedule(SimTime::from_millis(50), Fault::Unclog { target: link })
        .unwrap();
    sim.run().unwrap();
    let got = received(&sim, SINK);
    assert_eq!(got.len(), 100, "none lost");
    assert_eq!(sim.stats().dropped(), 0);
    // Arrivals due in [10 ms, 50 ms) were held and all come out at 50 ms.
    let held: Vec<_> = got.iter().filter(|(t, _)| *t == SimTime::from_millis(50)).collect();
    assert_eq!(sim.stats().held_clogged, 40);
    assert!(held.len() >= 40);
    assert!(
        got.iter()
            .all(|(t, _)| *t < SimTime::from_millis(10) || *t >= SimTime::from_millis(50))
    );
    assert!(got.windows(2).all(|w| w[1].1 > w[0].1), "released in order");
}

#[test]
fn releasing_a_node_clog_keeps_arrival_order_across_links_and_holds_what_is_still_clogged() {
    // Two senders to one sink, every 1 ms, default latency. The sink is clogged over
    // [5 ms, 40 ms); the second sender's link also over [5 ms, 60 ms).
    let mut sim = sender_sink(7, 50, SimTime::from_millis(1));
    let sink = SINK;
    let other = sim
        .add_node("sender2", move || {
            Box::new(Sender {
                to: sink,
                count: 50,
                every: SimTime::from_millis(1),
                next: 0,
            })
        })
        .unwrap();
    let ms = SimTime::from_millis;
    sim.schedule_window(
        ms(5),
        ms(40),
        Fault::Clog {
            target: ClogTarget::Node { node: SINK },
        },
    )
    .unwrap();
    sim.schedule_window(
        ms(5),
        ms(60),
        Fault::Clog {
            target: ClogTarget::Link { from: other, to: SINK },
        },
    )
    .unwrap();
    sim.run().unwrap();
    // (time, sender, value) of each delivery to the sink, in delivery order.
    let got: Vec<(SimTime, NodeId, u64)> = sim
        .history()
        .records()
        .iter()
        .filter(|r| r.node == SINK)
        .map(|r| (r.at, r.obs.0, r.obs.1))
        .collect();
    assert_eq!(got.len(), 100, "none lost");
    let at = |t: SimTime| got.iter().filter(|g| g.0 == t).map(|g| (g.1, g.2)).collect::<Vec<_>>();
    // At 40 ms only the first sender's held messages come out, in the order they came.
    let first = at(ms(40));
    assert!(first.len() >= 30 && first.iter().all(|g| g.0 == SENDER), "{first:?}");
    assert!(first.windows(2).all(|w| w[0].1 < w[1].1));
    // At 60 ms the rest of the second sender's (all it sent from 5 ms on), in order.
    let second = at(ms(60));
    assert!(second.len() >= 40, "{second:?}");
    assert!(second.iter().all(|g| g.0 == other) && second.windows(2).all(|w| w[0].1 < w[1].1));
    assert_eq!(sim.stats().dropped(), 0);
}

#[test]
fn clogging_a_node_holds_its_traffic() {
    let mut sim = sender_sink(6, 20, SimTime::from_millis(1));
    sim.schedule(
        SimTime::ZERO,
        Fault::Clog {
            target: ClogTarget::Node { node: SINK },
        },
    )
    .unwrap();
    sim.schedule(SimTime::from_millis(100), Fault::UnclogAll).unwrap();
    sim.run().unwrap();
    let got = received(&sim, SINK);
    assert_eq!(got.len(), 20);
    assert!(got.iter().all(|(t, _)| *t == SimTime::from_millis(100)));
}

#[test]
fn latency_samples_match_their_distribution_mean() {
    let ms = SimTime::from_millis;
    let dists = [
        Latency::constant(ms(3)),
        Latency::Uniform { min: ms(1), max: ms(9) },
        Latency::Normal {
            mean: ms(10),
            std_dev: ms(2),
        },
        Latency::Exponential { mean: ms(4) },
        Latency::LogNormal {
            median: ms(5),
            sigma: 0.5,
        },
        Latency::Pareto {
            scale: ms(2),
            alpha: 3.0,
        },
    ];
    for (i, latency) in dists.into_iter().enumerate() {
        let n = 40_000;
        let mut sim = sender_sink(100 + i as u64, n, SimTime::ZERO);
        let expected = latency.mean_ns();
        set_default(
            &mut sim,
            LinkConfig {
                latency: latency.clone(),
                fifo: false,
                ..LinkConfig::default()
            },
        );
        sim.run().unwrap();
        let got = received(&sim, SINK);
        assert_eq!(got.len() as u64, n);
        // Everything was sent at t = 0, so the delivery time is the latency.
        let mean = got.iter().map(|(t, _)| t.as_nanos() as f64).sum::<f64>() / n as f64;
        let rel = (mean - expected).abs() / expected;
        assert!(rel < 0.02, "{latency:?}: mean {mean:.0} ns, expected {expected:.0} ns");
        if let Latency::Constant { value } = latency {
            assert!(got.iter().all(|(t, _)| *t == value));
        }
    }
}

#[test]
fn per_link_settings_override_the_default() {
    let mut sim = sender_sink(8, 1_000, SimTime::ZERO);
    set_default(
        &mut sim,
        LinkConfig {
            drop: 1.0,
            ..LinkConfig::default()
        },
    );
    sim.network_mut()
        .unwrap()
        .set_link(SENDER, SINK, LinkConfig::default())
        .unwrap();
    sim.run().unwrap();
    assert_eq!(received(&sim, SINK).len(), 1_000);
}

#[test]
fn set_link_fault_changes_settings_at_a_time() {
    let mut sim = sender_sink(9, 100, SimTime::from_millis(1));
    let lossy = LinkConfig {
        drop: 1.0,
        ..LinkConfig::default()
    };
    sim.schedule(
        SimTime::from_millis(30),
        Fault::SetLink {
            link: Some((SENDER, SINK)),
            config: lossy,
        },
    )
    .unwrap();
    sim.schedule(
        SimTime::from_millis(60),
        Fault::SetLink {
            link: Some((SENDER, SINK)),
            config: LinkConfig::default(),
        },
    )
    .unwrap();
    sim.run().unwrap();
    // Messages sent at 30..59 ms are lost.
    assert_eq!(sim.stats().dropped_loss, 30);
    assert_eq!(received(&sim, SINK).len(), 70);
}

#[test]
fn fifo_holds_when_a_constant_latency_is_lowered_mid_run() {
    // Constant 10 ms, then from 5 ms on a constant 1 ms: the messages sent from 5 ms on
    // must wait for the ones still in flight (the constant-latency FIFO shortcut must
    // hand its bounds back when the settings change).
    let constant = |ms| LinkConfig {
        latency: Latency::constant(SimTime::from_millis(ms)),
        ..LinkConfig::default()
    };
    let mut sim = sender_sink(1, 20, SimTime::from_millis(1));
    set_default(&mut sim, constant(10));
    sim.schedule(
        SimTime::from_millis(5),
        Fault::SetLink {
            link: None,
            config: constant(1),
        },
    )
    .unwrap();
    sim.run().unwrap();
    let got = received(&sim, SINK);
    assert_eq!(got.len(), 20);
    assert!(got.windows(2).all(|w| w[1].1 > w[0].1), "FIFO link reordered: {got:?}");
    // Sent at 4 ms, it arrives at 14 ms; the one sent at 5 ms is held back to 14 ms too.
    assert_eq!(got[4], (SimTime::from_millis(14), 4));
    assert_eq!(got[5], (SimTime::from_millis(14), 5));
    assert_eq!(got[19], (SimTime::from_millis(20), 19));
}
