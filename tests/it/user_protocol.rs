//! A user's own protocol tested like the built-in ones: the primary/backup register of
//! `examples/primary_backup/` under generated fault schedules. The correct protocol keeps
//! its property; the planted bug is found and shrunk to a minimal schedule, the same one
//! for the same DETSIM_SEED.

#[allow(dead_code)]
#[path = "../../examples/primary_backup/protocol.rs"]
mod primary_backup;

use detsim::explore::strategies::{PlanKind, timed_faults};
use detsim::explore::testing::{Property, seed_from_env};
use detsim::{Latency, LinkConfig, SimTime};
use primary_backup::{NODES, Setup, run};
use proptest::prelude::*;

/// Datagram links with exponential latency: messages overtake each other.
fn link() -> LinkConfig {
    LinkConfig {
        latency: Latency::Exponential {
            mean: SimTime::from_millis(2),
        },
        fifo: false,
        ..LinkConfig::default()
    }
}

/// Constant 1 ms FIFO links: without a fault the replication always wins the race.
fn steady_link() -> LinkConfig {
    LinkConfig::default()
}

const DURATION: SimTime = SimTime::from_secs(1);

/// Setups: seed, number of writes, up to 4 windowed faults of any kind over the 3 nodes.
fn setups(bug: bool, link: LinkConfig) -> impl Strategy<Value = Setup> {
    setups_of(bug, link, PlanKind::ALL.to_vec())
}

/// Setups with faults of `kinds` only.
fn setups_of(bug: bool, link: LinkConfig, kinds: Vec<PlanKind>) -> impl Strategy<Value = Setup> {
    // Faults first: proptest shrinks a tuple's elements in order, so the schedule is
    // made minimal before the workload is cut down to what that schedule needs.
    (
        timed_faults(NODES.to_vec(), DURATION, kinds, 4, link.clone()),
        1u64..=20,
        0u64..1000,
    )
        .prop_map(move |(faults, writes, seed)| Setup {
            seed,
            writes,
            ack_before_replicate: bug,
            link: link.clone(),
            duration: DURATION,
            faults,
        })
}

fn property(s: Setup) -> Result<(), TestCaseError> {
    let (_, verdict) = run(&s).map_err(|e| TestCaseError::fail(e.to_string()))?;
    verdict.map_err(TestCaseError::fail)
}

#[test]
fn primary_backup_keeps_its_property() {
    let prop = Property::new("primary_backup_keeps_its_property", 3).unwrap().cases(48);
    prop.check(&setups(false, link()), property);
    prop.check(&setups(false, steady_link()), property);
    // The property is not vacuous: fault-free runs acknowledge every write.
    let (acked, verdict) = run(&Setup {
        seed: 1,
        writes: 10,
        ack_before_replicate: false,
        link: link(),
        duration: DURATION,
        faults: vec![],
    })
    .unwrap();
    assert_eq!((acked, verdict), (10, Ok(())));
}

#[test]
fn primary_backup_planted_bug_needs_no_fault_on_a_reordering_network() {
    let seed = seed_from_env(5).unwrap();
    let prop = Property::with_seed(
        "primary_backup_planted_bug_needs_no_fault_on_a_reordering_network",
        seed,
    );
    let f = prop
        .find(&setups(true, link()), property)
        .unwrap()
        .expect("the bug is found");
    eprintln!(
        "primary/backup bug, datagram links: minimal case {} engine faults, {} writes ({})",
        f.minimal.faults.len(),
        f.minimal.writes,
        f.repro()
    );
    // The acknowledgement overtakes the replication: no fault needed, a few writes.
    assert!(f.minimal.faults.is_empty() && f.minimal.writes <= 5, "{:?}", f.minimal);
}

#[test]
fn primary_backup_planted_bug_is_found_and_shrunk() {
    let seed = seed_from_env(4).unwrap();
    let prop = Property::with_seed("primary_backup_planted_bug_is_found_and_shrunk", seed).cases(64);
    // Structural faults only (no loss bursts, which need many messages to bite; no
    // clock faults, which this protocol's logic never reads).
    let kinds = || {
        PlanKind::ALL
            .iter()
            .copied()
            // (nor the gray kinds: a slow window needs a processing model)
            .filter(|k| {
                !matches!(
                    k,
                    PlanKind::LossBurst | PlanKind::Slow | PlanKind::Thin | PlanKind::ClockStep | PlanKind::ClockDrift
                )
            })
            .collect::<Vec<_>>()
    };
    let f = prop
        .find(&setups_of(true, steady_link(), kinds()), property)
        .unwrap()
        .unwrap_or_else(|| {
            panic!(
                "the bug was not found; {}",
                detsim::explore::testing::repro_line(&prop.name, seed)
            )
        });
    let m = &f.minimal;
    eprintln!(
        "primary/backup bug: minimal case {} faults (as engine faults: fault + undo), {} writes: {:?}  ({})",
        m.faults.len(),
        m.writes,
        m.faults,
        f.repro()
    );
    assert!(f.reason.contains("stale read"), "{}", f.reason);
    // On steady links a fault is needed, and one windowed fault (fault + undo) is enough.
    assert_eq!(m.faults.len(), 2, "one windowed fault: {:?}", m.faults);
    assert!(m.writes <= 3, "a couple of writes are enough: {}", m.writes);
    // Same seed, same minimal case.
    let again = prop
        .find(&setups_of(true, steady_link(), kinds()), property)
        .unwrap()
        .unwrap();
    assert_eq!(again.minimal, f.minimal);
    // And without the bug, that exact case passes.
    let fixed = Setup {
        ack_before_replicate: false,
        ..f.minimal.clone()
    };
    assert_eq!(run(&fixed).unwrap().1, Ok(()));
}
