//! `detsim bench`: times the ping-pong workload on the engine and on the reference loop
//! in the same process, and prints messages per wall second, their ratio, the per-message
//! cost against the smallest client count, and peak memory. Wall-clock reads live here,
//! outside any simulation.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use crate::plugin::Protocols;
use std::process::ExitCode;
use std::time::Instant;

use crate::bench::{PingPongResult, ping_pong, reference_loop};
use clap::Args;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Client counts to measure (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "10,100,1000")]
    clients: Vec<u32>,
    /// Messages delivered per run.
    #[arg(long, default_value_t = 2_000_000)]
    messages: u64,
    /// Runs per figure; the median is reported.
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    /// Seed of the simulation.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Uniform 0.5-1.5 ms latency on datagram links instead of a constant 1 ms.
    #[arg(long)]
    jitter: bool,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Run only one side (for profilers and instruction counters); the other side's
    /// figures and the ratio are then left out (NaN, or null in JSON).
    #[arg(long, value_enum)]
    only: Option<Side>,
}

/// One side of the comparison.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    /// The detsim engine.
    Detsim,
    /// The hand-written reference loop.
    Reference,
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn timed<F: FnMut() -> anyhow::Result<PingPongResult>>(
    repeat: usize,
    mut f: F,
) -> anyhow::Result<(f64, PingPongResult)> {
    let mut rates = Vec::with_capacity(repeat);
    let mut last = None;
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        let r = f()?;
        let secs = t.elapsed().as_secs_f64();
        rates.push(r.delivered as f64 / secs);
        if let Some(prev) = last
            && prev != r
        {
            anyhow::bail!("two runs of the same seed differ: {prev:?} vs {r:?}");
        }
        last = Some(r);
    }
    Ok((
        median(rates),
        last.unwrap_or(PingPongResult {
            delivered: 0,
            wrong: 0,
            trace_hash: 0,
            sim_time_ns: 0,
        }),
    ))
}

/// Peak resident memory of this process in bytes (Linux), if known.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

pub fn run(_p: &Protocols, a: BenchArgs) -> anyhow::Result<ExitCode> {
    if a.clients.is_empty() || a.clients.contains(&0) || a.messages == 0 {
        anyhow::bail!("--clients needs positive counts and --messages a positive number");
    }
    let mut rows = Vec::new();
    for &c in &a.clients {
        let (ours, r) = if a.only == Some(Side::Reference) {
            let r = reference_loop(c, 0, a.seed);
            (f64::NAN, r)
        } else {
            timed(a.repeat, || Ok(ping_pong(c, a.messages, a.seed, a.jitter)?))?
        };
        let (reference, _) = if a.only == Some(Side::Detsim) {
            (f64::NAN, r)
        } else {
            timed(a.repeat, || Ok(reference_loop(c, a.messages, a.seed)))?
        };
        if r.wrong != 0 {
            anyhow::bail!("{} wrong products with {c} clients", r.wrong);
        }
        rows.push((c, ours, reference, r));
    }
    let base_ns = 1e9 / rows[0].1;
    let peak = peak_rss();
    if a.json {
        let rows: Vec<_> = rows
            .iter()
            .map(|(c, ours, reference, r)| {
                serde_json::json!({
                    "clients": c,
                    "msgs_per_sec": ours.round(),
                    "reference_msgs_per_sec": reference.round(),
                    "ratio": ours / reference,
                    "ns_per_msg": 1e9 / ours,
                    "cost_vs_first": (1e9 / ours) / base_ns,
                    "trace_hash": format!("{:016x}", r.trace_hash),
                    "events": r.delivered,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({"messages": a.messages, "repeat": a.repeat, "runs": rows, "peak_rss_bytes": peak})
        );
    } else {
        println!(
            "ping-pong, {} per run, median of {}, seed {}{}",
            crate::plural::count(a.messages, "message"),
            crate::plural::count(a.repeat as u64, "run"),
            a.seed,
            if a.jitter {
                ", jittered latency"
            } else {
                ", 1 ms latency"
            }
        );
        println!(
            "{:>8} {:>14} {:>14} {:>7} {:>9} {:>9}  trace hash",
            "clients", "detsim msg/s", "ref msg/s", "ratio", "ns/msg", "cost/C0"
        );
        for (c, ours, reference, r) in &rows {
            println!(
                "{c:>8} {ours:>14.0} {reference:>14.0} {:>7.2} {:>9.1} {:>9.2}  {:016x}",
                ours / reference,
                1e9 / ours,
                (1e9 / ours) / base_ns,
                r.trace_hash
            );
        }
        if let Some(p) = peak {
            println!("peak memory: {:.1} MiB", p as f64 / (1024.0 * 1024.0));
        }
    }
    Ok(ExitCode::SUCCESS)
}
