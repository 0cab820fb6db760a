//! Streaming metrics: folds over observations, one record at a time, in memory that does
//! not grow with the number of operations.

pub mod pool;
pub mod queueing;
pub mod summary;
