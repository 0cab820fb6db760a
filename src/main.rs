//! The `detsim` command: a thin shell over the library. It parses arguments, calls the
//! library, prints, and maps the outcome to an exit code: 0 all checks passed, 1 a check
//! failed (a finding), 2 bad input or usage, 3 no check failed but one was not judged.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
