//! The engine: virtual time, seeded randomness, the event queue, nodes and their context,
//! the network, faults, the trace and its hash, the history of observations.
//!
//! The engine imports nothing from the layers above it (protocols, checks, scenarios,
//! runs, exploration, reports, the command line).

pub mod bandwidth;
pub mod budget;
pub mod buggify;
pub mod clock;
pub mod dist;
pub mod error;
pub mod fault;
pub mod gray_nemesis;
pub mod hash;
pub mod history;
pub mod net;
pub mod node;
pub mod processing;
pub mod queue;
pub mod rng;
pub mod sim;
pub mod storage;
pub mod time;
pub mod trace;
