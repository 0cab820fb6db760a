//! # detsim: a deterministic simulator for distributed systems
//!
//! One thread, one virtual clock, one seed: virtual nodes exchange messages over a
//! simulated network that delays, drops, duplicates and reorders them, is partitioned and
//! clogged, and loses nodes to crashes and pauses. Every run is a pure function of
//! (configuration, seed, binary) and is fingerprinted by a stable 64-bit trace hash.
//!
//! ```
//! use detsim::{Ctx, Fault, LinkConfig, Latency, Node, NodeId, SimConfig, SimTime, Simulation};
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
//!         (1..=5).for_each(|n| ctx.send(NodeId(0), n));
//!     }
//!     fn on_message(&mut self, ctx: &mut Ctx<'_, u64, u64>, _from: NodeId, n: u64) {
//!         ctx.observe(n);
//!     }
//! }
//!
//! let run = |seed| {
//!     let mut sim = Simulation::<u64, u64>::new(SimConfig::new(seed));
//!     let server = sim.add_node("server", || Box::new(Doubler)).unwrap();
//!     sim.add_node("client", || Box::new(Client)).unwrap();
//!     sim.network_mut().set_default(LinkConfig {
//!         latency: Latency::Exponential { mean: SimTime::from_millis(5) },
//!         fifo: false,
//!         ..LinkConfig::default()
//!     }).unwrap();
//!     // The server is down from 1 ms to 2 s: whatever arrives meanwhile is lost.
//!     sim.schedule(SimTime::from_millis(1), Fault::Crash { node: server }).unwrap();
//!     sim.schedule(SimTime::from_secs(2), Fault::Restart { node: server }).unwrap();
//!     sim.run().unwrap();
//!     (sim.trace_hash(), sim.history().records().len())
//! };
//! assert_eq!(run(42), run(42)); // same seed, same trace
//! assert!(run(42).1 < 5);        // the crash cost some answers
//! ```

pub mod bench;
pub mod check;
pub mod error;
pub mod explore;
pub mod fault;
pub mod hash;
pub mod history;
pub mod metrics;
pub mod net;
pub mod node;
pub mod protocols;
pub mod queue;
pub mod report;
pub mod rng;
pub mod runner;
pub mod scenario;
pub mod shrink;
pub mod sim;
pub mod strategies;
pub mod testing;
pub mod time;
pub mod trace;

pub use error::Error;
pub use fault::{DurationRange, Fault, NemesisConfig, TimedFault};
pub use hash::{StableHash, StableHasher};
pub use history::{History, Record};
pub use net::{ClogTarget, DropReason, Latency, LinkConfig, Network};
pub use node::{Ctx, Message, Node, NodeId, Storage, TimerId};
pub use rng::{SimRng, Stream};
pub use sim::{NodeState, Outcome, SimConfig, Simulation, Stats};
pub use time::SimTime;

/// A hash map with a fixed hasher: deterministic, for keyed look-ups inside a simulation.
pub type FastMap<K, V> = hashbrown::HashMap<K, V, rustc_hash::FxBuildHasher>;
/// A hash set with a fixed hasher: deterministic, for keyed look-ups inside a simulation.
pub type FastSet<K> = hashbrown::HashSet<K, rustc_hash::FxBuildHasher>;
