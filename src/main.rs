//! The `detsim` command: the library's command line over the built-in protocols.

fn main() -> std::process::ExitCode {
    detsim::cli::main_with(detsim::Protocols::builtin())
}
