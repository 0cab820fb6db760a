//! The one integration-test binary (one link step instead of one per file).

mod determinism;
mod lifecycle;
mod network;
mod support;
