//! Command-line definitions (clap derive) and dispatch to each subcommand.

mod bench;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// detsim: a deterministic simulator for distributed systems.
#[derive(Parser, Debug)]
#[command(name = "detsim", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Measure the engine on the RPC ping-pong workload against a hand-written reference loop.
    #[command(
        after_help = "Examples:\n  detsim bench\n  detsim bench --clients 100 --messages 5000000 --repeat 5 --json"
    )]
    Bench(bench::BenchArgs),
}

/// Run the parsed command; `Err` is bad input or usage (exit 2).
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Bench(a) => bench::run(a),
    }
}
