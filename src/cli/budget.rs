//! The budget flags shared by the subcommands that run scenarios (`--max-memory` on run,
//! explore, replay and shrink; `--max-trace-bytes` on run), the sizes they take
//! (`512MiB`, `4G`, `1000000`), and the exit code of a run a budget stopped.

use clap::Args;

use crate::run::report::{RunReport, Status};
use crate::scenario::{RunLimits, Scenario};

/// The exit code of a run a budget stopped before its end, when no check failed before
/// the stop: distinct from 3 (not judged), because running longer would not help; the
/// budget must be raised or the scenario made smaller.
pub const BUDGET_EXHAUSTED: u8 = 4;

/// `--max-memory`.
#[derive(Args, Debug, Clone)]
pub struct MemoryArg {
    /// The memory budget, e.g. 512MiB or 4G (default: half of the machine's memory, its
    /// cgroup's limit or `ulimit -v`, whichever is least). A run's pending events and
    /// held messages are counted against it (deterministically, at 128 bytes each), and
    /// the process's resident memory is read every 65,536 events as a safety net; a run
    /// that runs out stops with `budget exhausted` (exit 4).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_memory: Option<u64>,
}

impl MemoryArg {
    /// The limits for `runs_at_once` runs sharing the process (with no trace budget).
    pub fn limits(&self, runs_at_once: usize) -> RunLimits {
        RunLimits {
            max_memory: self.max_memory.or_else(crate::run::default_max_memory),
            runs_at_once: runs_at_once.max(1) as u64,
            max_trace_bytes: None,
        }
    }

    /// `s` with these limits.
    pub fn apply(&self, s: &mut Scenario, runs_at_once: usize) {
        s.limits = self.limits(runs_at_once);
    }
}

/// A size in bytes: a number, optionally followed by `K`, `M`, `G`, `T` (powers of 1024,
/// also written `KiB`, `MB`, ...) or `B`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{text:?} is not a size (e.g. 1000000, 512MiB, 4G)"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        u => return Err(format!("unknown unit {u:?} in {text:?}: use B, KiB, MiB, GiB or TiB")),
    };
    let bytes = n
        .checked_mul(1u64 << shift)
        .ok_or_else(|| format!("{text:?} is too large"))?;
    if bytes == 0 {
        return Err("must be at least 1 byte".into());
    }
    Ok(bytes)
}

/// The exit code of a run: 1 a check failed, 4 a budget stopped it (and no check failed
/// before), 3 not judged, 0 every check passed.
pub fn run_exit_code(r: &RunReport) -> std::process::ExitCode {
    match r.verdict() {
        Status::Fail => std::process::ExitCode::from(1),
        _ if r.budget_exhausted.is_some() => std::process::ExitCode::from(BUDGET_EXHAUSTED),
        v => super::exit_code(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("4G"), Ok(4 << 30));
        assert_eq!(parse_size("3 kb"), Ok(3 << 10));
        assert!(parse_size("0").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("99999999999T").is_err());
    }
}
