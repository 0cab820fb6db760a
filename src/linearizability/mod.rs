//! Linearizability checking of histories, with counterexamples people can read.
//!
//! A history is a list of [`Operation`]s (who called what, when, and what it returned);
//! a [`Model`] is the sequential object they should behave like. [`check`] searches for a
//! linearization: a total order of the operations that respects real time (an operation
//! that returned before another was called comes first) and that the model accepts. It is
//! Wing & Gong's algorithm with Lowe's just-in-time linearization and a memo cache of
//! (linearized set, state), as Porcupine implements it, partitioned by key
//! ([`Model::partition`]).
//!
//! An operation whose outcome is unknown (it never returned, or returned without an
//! output: a timeout, Jepsen's `:info`) may take effect or not, at any time after its call.
//!
//! The work is bounded by a [`Budget`] of steps and memory, counted, never timed, so a
//! check inside a simulation is deterministic; out of budget the verdict is
//! [`Outcome::Unknown`], never a wrong one. A history that is not linearizable comes with
//! a [`Counterexample`] per failing key: the longest linearizable prefix, the operation
//! that cannot be placed after it, and the states the model could be in just before it.
//!
//! ```
//! use detsim::linearizability::{check, Budget, Operation, Outcome, Register, RegisterInput as I, RegisterOutput as O};
//!
//! let op = |client, input, call, ret, output| Operation { client, input, call, ret: Some(ret), output: Some(output) };
//! let history = [
//!     op(0, I::Write(1), 0, 10, O::Ok),
//!     op(1, I::Write(2), 20, 30, O::Ok),
//!     op(2, I::Read, 40, 50, O::Value(Some(1))), // stale: 2 was written before the read began
//! ];
//! match check(&Register, &history, &Budget::default()) {
//!     Outcome::NotLinearizable(c) => assert_eq!(c.partitions[0].blocked, 2),
//!     other => panic!("{other:?}"),
//! }
//! ```
//!
//! Layering: this module sits with the checks; it imports nothing above them and does no
//! I/O or serialisation (file formats are in the `history_file` module).

mod budget;
mod cas_register;
mod check;
mod counterexample;
mod evidence;
mod history;
mod kv;
mod model;
mod outcome;
mod partition;
mod register;
mod search;

pub use budget::Budget;
pub use cas_register::{CasInput, CasOutput, CasRegister};
pub use check::{check, check_detailed};
pub use counterexample::{Counterexample, MAX_STATES, PartitionCounterexample, Placed};
pub use evidence::{Evidence, EvidenceOp};
pub use history::Operation;
pub use kv::{Kv, KvInput, KvOutput};
pub use model::Model;
pub use outcome::{Checked, Outcome, PartitionResult, PartitionVerdict};
pub use register::{Register, RegisterInput, RegisterOutput};
