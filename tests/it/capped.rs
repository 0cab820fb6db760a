//! Running the `detsim` binary in a child process under a memory cap (`ulimit -v`, the
//! address space, through `sh`) and a wall-clock limit, with its output in files (no
//! pipe can fill and stall it): what the budget and fuzz tests need to show that a run
//! ends with an exit code, never a signal, and never over the cap.

// The wall clock times the child processes, outside any simulation.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How a capped run ended.
#[derive(Debug)]
pub struct Ended {
    /// Its exit code, when it exited.
    pub code: Option<i32>,
    /// The signal that ended it, when one did.
    pub signal: Option<i32>,
    /// It was killed for running past its wall-clock limit.
    pub timed_out: bool,
    pub stdout: String,
    pub stderr: String,
}

/// The binary under test: `DETSIM_BIN` when set (e.g. a release build for the long
/// fuzz run), else the one cargo built for these tests.
pub fn binary() -> PathBuf {
    std::env::var_os("DETSIM_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_detsim")))
}

/// A fresh scratch directory for this test process.
pub fn scratch(what: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let d = std::env::temp_dir().join(format!(
        "detsim-{what}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Run `detsim args` with its address space capped at `cap_mib` MiB, killed after
/// `limit`; its output goes to files in `dir`.
pub fn run_capped(args: &[&str], cap_mib: u64, limit: Duration, dir: &Path) -> Ended {
    let out = dir.join("stdout");
    let err = dir.join("stderr");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {} && exec \"$0\" \"$@\"", cap_mib * 1024))
        .arg(binary())
        .args(args)
        .env_remove("DETSIM_SEED")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("spawn sh");
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > limit {
            timed_out = true;
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    Ended {
        code: status.code(),
        signal: status.signal(),
        timed_out,
        stdout: read(&out),
        stderr: read(&err),
    }
}
