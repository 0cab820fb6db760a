//! The library's typed errors. The library never panics on bad input and never exits;
//! the binary maps these to exit codes.

use crate::engine::node::NodeId;

/// Everything that can go wrong when building or running a simulation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A node id that the simulation does not have.
    #[error("unknown node id {0}")]
    UnknownNode(NodeId),
    /// Two nodes with the same name.
    #[error("duplicate node name {0:?}")]
    DuplicateNode(String),
    /// A probability that is NaN or outside [0, 1].
    #[error("{what}: probability must be a number in [0, 1], got {value}")]
    InvalidProbability {
        /// Which setting.
        what: String,
        /// The value given.
        value: f64,
    },
    /// Any other parameter out of its domain.
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    /// Writing the trace failed.
    #[error("trace output: {0}")]
    Io(String),
}
