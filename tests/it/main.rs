//! The one integration-test binary (one link step instead of one per file).

mod budgets;
mod buggify;
mod capped;
mod cli;
#[cfg(feature = "derive")]
mod derive;
mod determinism;
mod discovery;
mod failure_files;
mod fault_verbs;
mod fault_windows;
mod fuzz;
mod hostile_io;
mod html_report;
mod layering;
mod lifecycle;
mod linearizability;
mod malformed;
mod network;
mod online_checks;
mod plugin;
mod pool;
mod pool_conservation;
mod pool_discovery;
mod pool_queueing;
mod properties;
mod rkv;
mod rpc;
mod scenarios;
mod shrink;
mod support;
mod swarm;
mod user_protocol;
mod verdicts;
