//! Integration tests.

mod discovery;
mod rpc;
