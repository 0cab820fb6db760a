//! `kvsim`: the whole detsim command line (`run`, `validate`, `explore`, `replay`,
//! `shrink`, `bench`, `--report`) for scenario files that use the key-value store's roles
//! beside detsim's built-in ones.
//!
//! ```text
//! cargo run --release -p kv-store -- run examples/kv_store/scenarios/kv_quorum.json
//! cargo run --release -p kv-store -- explore examples/kv_store/scenarios/kv_read_one_canary.json --seeds 0..200
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    detsim::cli::main_with(detsim::protocols![
        kv_store::Kv,
        detsim::protocols::Rpc,
        detsim::protocols::WorkerPool,
        detsim::protocols::Discovery
    ])
}
