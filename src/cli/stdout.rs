//! Standard output that a closed pipe does not crash: `detsim explore … --json | head -1`
//! (and `2>&1 | head -1`) exits quietly. Every `println!` of the command line goes
//! through [`line`], every `eprintln!` through [`error_line`] (the macros below shadow
//! std's in `cli`); a write error is remembered instead of panicking, and nothing more
//! is written. (A failed write to stderr is not reported: there is nowhere to.) A closed pipe (`EPIPE`) only stops the output: the command
//! still exits with the verdict of the work it did (explore stops its sweep, see
//! [`closed`]). Any other error (a full disk behind `> file`) is reported by
//! [`super::main_from`] and exits 2.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// `println!` for the command line: one line to stdout through [`line`], never a panic.
/// Defined before the subcommands' modules in `cli/mod.rs`, so it shadows std's there.
macro_rules! println {
    () => {
        $crate::cli::stdout::line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::cli::stdout::line(format_args!($($arg)*))
    };
}

/// `eprintln!` for the command line: one line to stderr through [`error_line`], never a
/// panic.
macro_rules! eprintln {
    () => {
        $crate::cli::stdout::error_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::cli::stdout::error_line(format_args!($($arg)*))
    };
}

/// Stdout can no longer be written (its reader went away, or a write failed).
static CLOSED: AtomicBool = AtomicBool::new(false);

/// The first write error that was not a closed pipe.
static FAILED: Mutex<Option<String>> = Mutex::new(None);

/// Write `args` and a newline to stdout, whole (one write of the line); after an error,
/// nothing.
pub(crate) fn line(args: std::fmt::Arguments<'_>) {
    if closed() {
        return;
    }
    let text = format!("{args}\n");
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        CLOSED.store(true, Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe
            && let Ok(mut f) = FAILED.lock()
        {
            f.get_or_insert_with(|| e.to_string());
        }
    }
}

/// Write `args` and a newline to stderr, whole; an error (stderr closed) is ignored.
pub(crate) fn error_line(args: std::fmt::Arguments<'_>) {
    let text = format!("{args}\n");
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Stdout is closed or broken: there is no point producing more output.
pub(crate) fn closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}

/// The first write error other than a closed pipe, if any.
pub(crate) fn failed() -> Option<String> {
    FAILED.lock().ok().and_then(|f| f.clone())
}
