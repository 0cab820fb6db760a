//! Integration tests.

mod pool;
