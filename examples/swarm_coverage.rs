//! How much more `explore --swarm` reaches than a plain sweep: over the same seeds of a
//! nemesis scenario with canaries planted, the distinct (fault kinds realized, failing
//! check) combinations each sweep reaches, counted the same way for both (the kinds are
//! those of each seed's realized schedule, not the ones the swarm switched on).
//!
//! ```text
//! cargo run --release --example swarm_coverage                          # 10,000 seeds of scenarios/swarm_canaries.json
//! cargo run --release --example swarm_coverage -- 300 scenarios/all_systems_nemesis.json
//! ```

use std::collections::BTreeSet;

use detsim::Protocols;
use detsim::explore::swarm::coverage;

type Combos = BTreeSet<(Vec<&'static str>, String)>;

fn sweep(file: &str, seeds: u64, swarmed: bool) -> Result<Combos, String> {
    let p = Protocols::builtin();
    let s = detsim::scenario::load_scenario(&p, std::path::Path::new(file)).map_err(|e| e.to_string())?;
    coverage(&p, &s, 0..seeds, swarmed).map_err(|e| e.to_string())
}

fn main() -> Result<(), String> {
    let seeds: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let file = std::env::args()
        .nth(2)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/swarm_canaries.json").to_string());
    // The two sweeps side by side, one thread each.
    let (plain, swarm) = std::thread::scope(|t| {
        let plain = t.spawn(|| sweep(&file, seeds, false));
        let swarm = t.spawn(|| sweep(&file, seeds, true));
        (plain.join(), swarm.join())
    });
    let plain = plain.map_err(|_| "the plain sweep panicked".to_string())??;
    let swarm = swarm.map_err(|_| "the swarm sweep panicked".to_string())??;
    for (name, combos) in [("plain", &plain), ("swarm", &swarm)] {
        let checks: BTreeSet<&String> = combos.iter().map(|(_, c)| c).collect();
        let kinds: BTreeSet<&Vec<&str>> = combos.iter().map(|(k, _)| k).collect();
        println!(
            "{name}: {} distinct (fault kinds x failing check) combinations over {seeds} seeds ({} kind sets, {} checks)",
            combos.len(),
            kinds.len(),
            checks.len()
        );
    }
    println!(
        "swarm only: {}, plain only: {}",
        swarm.difference(&plain).count(),
        plain.difference(&swarm).count()
    );
    Ok(())
}
