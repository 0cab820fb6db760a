//! Memory and speed of a long run with every check on, through the same runner as
//! `detsim run` (`detsim::run::run_scenario`, no history kept): peak resident memory
//! (VmHWM, read by this binary) and events per wall second.
//!
//! - `pool N`: a Poisson stream of N jobs at 3,200 jobs/s into 40 single-slot workers
//!   with exponential service of mean 10 ms (utilisation 0.8), 1 us links.
//! - `rpc N`: 100 clients each making N/100 calls (multiply, divide, deposit) one every
//!   millisecond to one server over 100 us links.
//!
//! ```text
//! cargo build --release --example checks_memory
//! target/release/examples/checks_memory pool 10000000      # one size per process
//! target/release/examples/checks_memory rpc 10000000
//! target/release/examples/checks_memory pool 1000000 --write pool-1m.json  # the scenario file only,
//! /usr/bin/time -v detsim run pool-1m.json --json                          # e.g. for another binary
//! ```

use detsim::Protocols;
use detsim::run::run_scenario;
use detsim::scenario::parse_scenario;

/// The scenario file for `kind` with `n` jobs or calls.
fn scenario(kind: &str, n: u64) -> Option<String> {
    match kind {
        "pool" => {
            let rate = 3200.0;
            let secs = (n as f64 / rate * 1.02) as u64 + 30;
            let workers: Vec<String> = (1..=40)
                .map(|i| {
                    format!(
                        r#"{{ "id": "w{i}", "role": "worker", "dispatcher": "dispatcher", "service_time": {{ "dist": "exponential", "mean": "10ms" }} }}"#
                    )
                })
                .collect();
            Some(format!(
                r#"{{
  "name": "pool-{n}",
  "seed": 1,
  "duration": "{secs}s",
  "max_events": 2000000000,
  "network": {{ "default": {{ "latency": {{ "dist": "constant", "value": "1us" }} }} }},
  "nodes": [
    {{ "id": "dispatcher", "role": "dispatcher", "arrivals": {{ "kind": "poisson", "rate": {rate:.1}, "jobs": {n} }} }},
    {}
  ],
  "checks": {{ "pool_liveness_bound": "10s" }}
}}"#,
                workers.join(",\n    ")
            ))
        }
        "rpc" => {
            let per = n.div_ceil(100);
            let secs = per / 1000 + 30;
            let clients: Vec<String> = (1..=100)
                .map(|i| {
                    format!(
                        r#"{{ "id": "c{i}", "role": "rpc_client", "server": "server", "calls": {per}, "interval": "1ms" }}"#
                    )
                })
                .collect();
            Some(format!(
                r#"{{
  "name": "rpc-{n}",
  "seed": 1,
  "duration": "{secs}s",
  "max_events": 2000000000,
  "network": {{ "default": {{ "latency": {{ "dist": "constant", "value": "100us" }} }} }},
  "nodes": [
    {{ "id": "server", "role": "rpc_server" }},
    {}
  ]
}}"#,
                clients.join(",\n    ")
            ))
        }
        _ => None,
    }
}

/// Peak resident memory of this process in MiB (Linux), if known.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // wall clock: measuring speed
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: checks_memory pool|rpc N [--write FILE]";
    let (Some(kind), Some(n)) = (args.get(1), args.get(2).and_then(|a| a.parse::<u64>().ok())) else {
        return Err(usage.into());
    };
    let text = scenario(kind, n).ok_or(usage)?;
    if let Some(i) = args.iter().position(|a| a == "--write") {
        let path = args.get(i + 1).ok_or(usage)?;
        std::fs::write(path, text)?;
        return Ok(());
    }
    let protocols = Protocols::builtin();
    let s = parse_scenario(&protocols, "checks_memory", &text).map_err(|e| e.to_string())?;
    let t0 = std::time::Instant::now();
    let r = run_scenario(&protocols, &s, s.seed, None)?;
    let wall = t0.elapsed().as_secs_f64();
    println!(
        "scenario      {} ({} checks, verdict {:?})",
        s.name,
        r.checks.len(),
        r.verdict()
    );
    println!("events        {}", r.events);
    println!("wall          {wall:.2} s");
    println!("events/wall s {:.0}", r.events as f64 / wall);
    println!("peak RSS      {:.1} MiB", peak_rss_mib().unwrap_or(f64::NAN));
    println!("trace hash    {}", r.trace_hash);
    Ok(())
}
