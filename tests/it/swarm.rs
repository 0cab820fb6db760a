//! `explore --swarm`: each seed switches the nemesis's fault kinds on and off and scales
//! their rates; it reaches more (fault kinds x failing check) combinations than a plain
//! sweep of the same seeds, its FAILURE files record the choice and replay to their
//! hash (and shrink), and a scenario without a nemesis to swarm is bad usage.

use std::path::PathBuf;

use detsim::Protocols;
use detsim::explore::swarm::coverage;
use detsim::scenario::load_scenario;

use crate::scenarios::{detsim, scenario};
use crate::support::tempdir;
use crate::sweep_support::read_failure;

#[test]
fn swarm_reaches_more_combinations_than_a_plain_sweep() {
    // The same count as examples/swarm_coverage.rs (10,000 seeds there), on 300 seeds.
    let p = Protocols::builtin();
    let s = load_scenario(&p, &PathBuf::from(scenario("swarm_canaries"))).unwrap();
    let plain = coverage(&p, &s, 0..300, false).unwrap();
    let swarm = coverage(&p, &s, 0..300, true).unwrap();
    assert!(
        swarm.len() > plain.len() + plain.len() / 2,
        "swarm {} vs plain {}",
        swarm.len(),
        plain.len()
    );
    // Counted on the realized schedules: the swarm's seeds leave kinds out.
    let kind_sets = |c: &std::collections::BTreeSet<(Vec<&str>, String)>| {
        c.iter()
            .map(|(k, _)| k.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    };
    assert!(kind_sets(&swarm) > kind_sets(&plain));
}

#[test]
fn a_swarm_failure_records_its_kinds_replays_to_its_hash_and_shrinks() {
    let dir = tempdir("swarm-failure");
    let out_dir = dir.join("failures");
    let file = scenario("swarm_canaries");
    let out = detsim(&[
        "explore",
        &file,
        "--seeds",
        "0..40",
        "--swarm",
        "--keep-going",
        "--json",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 40);
    let kind_sets: std::collections::BTreeSet<String> = lines.iter().map(|l| l["swarm"].to_string()).collect();
    assert!(kind_sets.len() > 5, "the seeds switch different kinds: {kind_sets:?}");
    let line = lines.iter().find(|l| !l["failure_file"].is_null()).unwrap();
    let path = PathBuf::from(line["failure_file"].as_str().unwrap());
    let f = read_failure(&path);
    let sw = f.swarm.clone().expect("the swarm's choice is recorded");
    assert_eq!(serde_json::to_value(&sw.on).unwrap(), line["swarm"]);
    // The kinds on are the nemesis's kinds with a rate above 0, and only those.
    let n = &sw.nemesis;
    let rates = [
        ("crash", n.crash_rate),
        ("pause", n.pause_rate),
        ("partition", n.partition_rate),
        ("clog", n.clog_rate),
        ("loss", n.loss_rate),
        ("slow", n.slow_rate),
        ("thin_link", n.thin_link_rate),
        ("disk_full", n.disk_full_rate),
        ("clock", n.clock_rate),
    ];
    let on: Vec<&str> = rates.iter().filter(|(_, r)| *r > 0.0).map(|(k, _)| *k).collect();
    assert_eq!(on, sw.on);
    assert_eq!(f.trace_hash, line["trace_hash"].as_str().unwrap());
    // replay: the same violation and the same hash.
    let r = detsim(&["replay", path.to_str().unwrap(), "--json"]);
    assert_eq!(r.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(
        (v["same_violation"].clone(), v["same_hash"].clone()),
        (true.into(), true.into())
    );
    // Running the seed with the swarm's nemesis (instead of the realized schedule) gives
    // the same hash too: the record is the run.
    let mut with_nemesis = f.scenario.clone();
    with_nemesis.faults.clear();
    with_nemesis.nemesis = Some(sw.nemesis.clone());
    let again = detsim::run::run_scenario(&Protocols::builtin(), &with_nemesis, f.seed, None).unwrap();
    assert_eq!(again.trace_hash, f.trace_hash);
    // shrink works on it, and the shrunk file replays.
    let small = dir.join("small.json");
    let out = detsim(&["shrink", path.to_str().unwrap(), "-o", small.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let shrunk = read_failure(&small);
    assert!(shrunk.scenario.faults.len() <= f.scenario.faults.len());
    let r = detsim(&["replay", small.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(
        (v["same_violation"].clone(), v["same_hash"].clone()),
        (true.into(), true.into())
    );
    // Without --swarm, seed lines have no `swarm` field.
    let plain = detsim(&[
        "explore",
        &file,
        "--seeds",
        "0..2",
        "--keep-going",
        "--json",
        "--max-failures",
        "0",
    ]);
    let first = String::from_utf8_lossy(&plain.stdout)
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert!(!first.contains("swarm"), "{first}");
}

#[test]
fn swarm_without_a_nemesis_is_bad_usage() {
    let out = detsim(&["explore", &scenario("rpc_multiply"), "--seeds", "0..5", "--swarm"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rpc_multiply.json") && err.contains("no `nemesis`"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "no seed ran");
    // A nemesis with every kind off has nothing to switch either.
    let dir = tempdir("swarm-usage");
    let text = std::fs::read_to_string(scenario("swarm_canaries")).unwrap();
    let off = text.replace("_rate\": 2.0", "_rate\": 0.0");
    let file = dir.join("off.json");
    std::fs::write(&file, off).unwrap();
    let out = detsim(&["explore", file.to_str().unwrap(), "--seeds", "0..5", "--swarm"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("none on"));
}
