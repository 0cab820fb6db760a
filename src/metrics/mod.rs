//! Streaming metrics: each protocol's metrics read observations one at a time (e.g. from
//! `History::set_observer`), in memory independent of the number of operations, and
//! summarise into serialisable structs. Every distribution of durations (RPC latency,
//! pool waiting and sojourn times) is summarised by [`DurationSummary`].

pub(crate) mod queueing;
pub(crate) mod summary;

pub use queueing::{MmcPrediction, erlang_c, mmc};

pub use summary::{DurationStats, DurationSummary};
