//! # detsim: a deterministic simulator for distributed systems
//!
//! One thread, one virtual clock, one seed: virtual nodes exchange messages over a
//! simulated network that delays, drops, duplicates and reorders them, is partitioned and
//! clogged, and loses nodes to crashes and pauses. Every run is a pure function of
//! (configuration, seed, binary) and is fingerprinted by a stable 64-bit trace hash.
//!
//! ## Your own protocol in a few lines
//!
//! Implement [`Node`] for your message type, add nodes to a [`Simulation`], schedule
//! faults, run, and check your own property over the [`History`]:
//!
//! ```
//! use detsim::{Ctx, Fault, LinkConfig, Latency, Node, NodeId, SimConfig, SimTime, Simulation, TimedFault};
//!
//! /// Replies to every number with its double.
//! struct Doubler;
//! impl Node<u64, u64> for Doubler {
//!     fn on_message(&mut self, ctx: &mut Ctx<'_, u64, u64>, from: NodeId, n: u64) {
//!         ctx.send(from, n * 2);
//!     }
//! }
//! /// Sends 1..=5 and records each answer.
//! struct Client;
//! impl Node<u64, u64> for Client {
//!     fn on_start(&mut self, ctx: &mut Ctx<'_, u64, u64>) {
//!         (1..=5u64).for_each(|n| ctx.send(NodeId(0), n));
//!     }
//!     fn on_message(&mut self, ctx: &mut Ctx<'_, u64, u64>, _from: NodeId, n: u64) {
//!         ctx.observe(n);
//!     }
//! }
//!
//! /// One run: the answers the client saw and the trace hash.
//! fn run(seed: u64, faults: &[TimedFault]) -> (Vec<u64>, u64) {
//!     let mut sim = Simulation::<u64, u64>::new(SimConfig::new(seed).max_time(SimTime::from_secs(5)));
//!     sim.add_node("server", || Box::new(Doubler)).unwrap();
//!     sim.add_node("client", || Box::new(Client)).unwrap();
//!     sim.network_mut().unwrap().set_default(LinkConfig {
//!         latency: Latency::Exponential { mean: SimTime::from_millis(5) },
//!         fifo: false,
//!         ..LinkConfig::default()
//!     }).unwrap();
//!     for f in faults {
//!         sim.schedule_timed(f.clone()).unwrap();
//!     }
//!     sim.run().unwrap();
//!     (sim.history().records().iter().map(|r| r.obs).collect(), sim.trace_hash())
//! }
//!
//! // The server is down from 1 ms to 2 s: whatever arrives meanwhile is lost.
//! let server = NodeId(0);
//! let crash = [TimedFault::window(SimTime::from_millis(1), SimTime::from_secs(2), Fault::Crash { node: server })];
//! assert_eq!(run(42, &crash), run(42, &crash)); // same seed, same trace
//! let (answers, _) = run(42, &crash);
//! assert!(answers.len() < 5);                    // the crash cost some answers
//! assert!(answers.iter().all(|n| n % 2 == 0));   // the property: every answer is a double
//!
//! // The same property under generated fault schedules, as a property test: the seed
//! // comes from DETSIM_SEED (else 1), a failure panics with the line that reproduces it,
//! // and proptest shrinks the schedule to a minimal one.
//! use detsim::explore::strategies::{PlanKind, timed_faults};
//! use detsim::explore::testing::Property;
//! use proptest::prelude::*;
//!
//! let schedules = timed_faults(vec![NodeId(0), NodeId(1)], SimTime::from_secs(1),
//!                              PlanKind::ALL.to_vec(), 3, LinkConfig::default());
//! Property::new("doubler_answers_are_even", 1).unwrap().cases(16).check(&schedules, |faults| {
//!     let (answers, _) = run(7, &faults);
//!     prop_assert!(answers.iter().all(|n| n % 2 == 0), "odd answer in {answers:?}");
//!     Ok(())
//! });
//! ```
//!
//! More: `explore::strategies` (proptest strategies for scenarios, topologies, fault schedules,
//! nemesis settings), `explore::testing` (seeded property runs and repro lines), both behind
//! the `proptest` feature, [`explore::shrink`] (delta debugging of failing scenarios), and
//! `examples/primary_backup/` (a user-defined primary/backup register with a planted bug,
//! found and shrunk in `tests/it/user_protocol.rs`).
//!
//! ## Features
//!
//! - `cli` (default): the `detsim` command line as [`cli::main_with`] (clap, indicatif, rayon,
//!   anyhow). Without it the library needs none of them.
//! - `derive` (default): `#[derive(StableHash)]`.
//! - `proptest`: `explore::strategies` and `explore::testing`, for your tests, e.g.
//!   `detsim = { version = "0.1", features = ["proptest"] }` under `[dev-dependencies]`.
//!
//! `default-features = false` is the engine with its scenario files, runs, sweeps, shrinker
//! and HTML report, and no command-line or test dependency.

// The public API: the engine's types at the crate root, and these modules. Everything
// else (the engine's modules, the event queue, the benchmark, wording helpers) is internal.
#[cfg(feature = "cli")]
pub(crate) mod bench;
pub mod check;
#[cfg(feature = "cli")]
pub mod cli;
pub(crate) mod engine;
pub mod explore;
pub mod history_file;
pub mod linearizability;
pub mod metrics;
pub mod plugin;
pub(crate) mod plural;
pub mod protocols;
pub mod report;
pub mod run;
pub mod scenario;

/// `#[derive(StableHash)]` (feature `derive`, on by default); its encoding is specified on
/// the trait [`trait@StableHash`].
#[cfg(feature = "derive")]
pub use detsim_derive::StableHash;
pub use engine::bandwidth::Bandwidth;
pub use engine::budget::{Budgets, CHECK_EVERY, Exhausted, Watchdog};
pub use engine::buggify::{BuggifyConfig, BuggifyPoint};
pub use engine::clock::{
    Clock, ClockConfig, ClockNemesis, ClockStep, MAX_CLOCK_SHIFT_NS, MAX_CLOCK_STEPS, MAX_DRIFT_PPM, PPM, PpmRange,
};
pub use engine::dist::{Dist, Sampler};
pub use engine::error::Error;
pub use engine::fault::{DurationRange, Effect, Fault, Field, NemesisConfig, NemesisPlan, TimedFault, Touch};
pub use engine::gray_nemesis::NumberRange;
pub use engine::hash::{StableHash, StableHasher};
pub use engine::history::{History, ObserverFn, Record};
pub use engine::net::{ClogTarget, DropReason, Latency, LinkConfig, Network, WindowId};
pub use engine::node::{Ctx, Disk, Message, Node, NodeFactory, NodeId, Storage, TimerId};
pub use engine::processing::Processing;
pub use engine::rng::{SimRng, Stream};
pub use engine::sim::{NodeState, Outcome, SimConfig, Simulation, Stats};
pub use engine::storage::{DiskFull, Loss, MAX_UNSYNCED, StorageFaults};
pub use engine::time::{ParseDurationError, SimTime};
pub use engine::trace::{HoldReason, TraceEvent, TraceSink};
pub use plugin::{Observation, Payload, Protocol, Protocols};

/// A hash map with a fixed hasher: deterministic, for keyed look-ups inside a simulation.
pub type FastMap<K, V> = hashbrown::HashMap<K, V, rustc_hash::FxBuildHasher>;
/// A hash set with a fixed hasher: deterministic, for keyed look-ups inside a simulation.
pub type FastSet<K> = hashbrown::HashSet<K, rustc_hash::FxBuildHasher>;
