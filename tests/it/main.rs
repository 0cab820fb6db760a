//! Integration tests.

mod pool;
mod pool_queueing;
