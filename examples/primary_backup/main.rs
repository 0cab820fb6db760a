//! A user-defined protocol (a primary/backup register, `protocol.rs`) run on detsim: the
//! backup crashes for a while; with `--bug` the primary acknowledges writes before the
//! backup has them, and the history check catches a stale read.
//!
//! ```text
//! cargo run --example primary_backup          # correct protocol: the check passes
//! cargo run --example primary_backup -- --bug # planted bug: a stale read
//! ```
//!
//! `tests/it/user_protocol.rs` runs the same code under generated fault schedules
//! (detsim::explore::strategies::timed_faults) and shrinks the bug to a minimal schedule.

#[allow(dead_code)] // shared with tests/it/user_protocol.rs, which uses all of it
mod protocol;

use detsim::{Fault, Latency, LinkConfig, SimTime, TimedFault};
use protocol::{BACKUP, Setup, run};

fn main() -> Result<(), detsim::Error> {
    let bug = std::env::args().any(|a| a == "--bug");
    let setup = Setup {
        seed: 1,
        writes: 20,
        ack_before_replicate: bug,
        link: LinkConfig {
            latency: Latency::Exponential {
                mean: SimTime::from_millis(2),
            },
            fifo: false,
            ..LinkConfig::default()
        },
        duration: SimTime::from_secs(2),
        faults: vec![TimedFault::window(
            SimTime::from_millis(40),
            SimTime::from_millis(200),
            Fault::Crash { node: BACKUP },
        )],
    };
    let (acked, verdict) = run(&setup)?;
    println!(
        "primary/backup register, bug {}: {acked} writes acknowledged",
        if bug { "on" } else { "off" }
    );
    match verdict {
        Ok(()) => println!("check passed: no stale read"),
        Err(e) => println!("check FAILED: {e}"),
    }
    Ok(())
}
