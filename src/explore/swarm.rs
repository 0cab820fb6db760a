//! Swarm exploration (`explore --swarm`; TigerBeetle's swarm testing, moonpool's swarm
//! mode): each seed runs the scenario's nemesis with a random subset of its fault kinds
//! switched on, each at a rate scaled by a random factor, all drawn from the seed on the
//! swarm's own stream ([`Stream::Custom`]`(`[`SWARM_STREAM`]`)`, so no other stream's
//! draws move). A bug that one kind of fault hides (a crash that restarts the node a
//! partition would have exposed) or that needs one kind dense and the others silent is
//! found by the seeds that draw that mix; a plain sweep runs every kind in every seed.
//!
//! **Decisions.** Each kind the scenario's nemesis has on (rate above 0) is on with
//! probability 1/2, its rate then multiplied by a factor drawn log-uniformly in
//! `[1/10, 10]` (capped at the engine's `MAX_RATE`, 10,000 per second): omission is what swarm testing
//! is for, and the factor varies the intensity of the kinds left on (a kind alone at 10x
//! its rate meets different bugs than at its file rate among four others). A kind whose
//! rate is 0 in the file stays off: the author switched it off (a scenario judging
//! liveness under crashes alone does not want loss bursts), and a default rate would be
//! a guess; the swarm explores within the faults the scenario names. Every row of
//! [`SWARM_KINDS`] draws two numbers whatever it decides, so one kind's choice never
//! shifts another's. All kinds may be off together (one seed in 2^k): a fault-free run
//! of a nemesis scenario is a member of the swarm too.
//!
//! The swarm's nemesis is a scenario like any other: the run, its FAILURE file (the
//! realized schedule, or this nemesis when that is too large) and `replay` and `shrink`
//! of it need nothing more; the file's `swarm` field records the kinds and the nemesis.

use serde::{Deserialize, Serialize};

use crate::engine::fault::MAX_RATE;
use crate::engine::rng::{SimRng, Stream};
use crate::scenario::{NemesisSpec, Scenario};

/// A nemesis rate field, for [`SWARM_KINDS`].
pub type RateField = fn(&mut NemesisSpec) -> &mut f64;

/// The nemesis's fault kinds the swarm switches, each with its rate field, in drawing
/// order. **A new nemesis kind is one line here**: its name (as `explore --swarm`
/// prints it) and its rate field, e.g. `("clock", |n| &mut n.clock_rate),`. Append new
/// rows at the end, so the draws of the kinds before it stay the same.
pub const SWARM_KINDS: &[(&str, RateField)] = &[
    ("crash", |n| &mut n.crash_rate),
    ("pause", |n| &mut n.pause_rate),
    ("partition", |n| &mut n.partition_rate),
    ("clog", |n| &mut n.clog_rate),
    ("loss", |n| &mut n.loss_rate),
    ("slow", |n| &mut n.slow_rate),
    ("thin_link", |n| &mut n.thin_link_rate),
    ("disk_full", |n| &mut n.disk_full_rate),
    ("clock", |n| &mut n.clock_rate),
];

/// The swarm's random stream, `Stream::Custom(SWARM_STREAM)`.
pub const SWARM_STREAM: u64 = 0x5741_524d; // "SWARM"

/// How far a kind's rate is scaled, either way: the factor is in `[1/F, F]`.
pub const SWARM_FACTOR: f64 = 10.0;

/// What the swarm chose for one seed: the kinds switched on and the nemesis it ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Swarm {
    /// The kinds switched on, in [`SWARM_KINDS`] order.
    pub on: Vec<String>,
    /// The nemesis the seed ran with (the scenario's, with the chosen rates).
    pub nemesis: NemesisSpec,
}

/// Why a scenario cannot be swarmed.
pub fn swarm_problem(s: &Scenario) -> Option<String> {
    let Some(n) = &s.nemesis else {
        return Some(format!(
            "--swarm switches the fault kinds of the scenario's nemesis, and {:?} has no `nemesis`: add one \
             with the kinds to explore (e.g. \"crash_rate\", \"partition_rate\"), or drop --swarm",
            s.name
        ));
    };
    let mut n = n.clone();
    if SWARM_KINDS.iter().all(|(_, rate)| *rate(&mut n) <= 0.0) {
        return Some(format!(
            "--swarm switches the fault kinds of the scenario's nemesis, and the nemesis of {:?} has none on \
             (every rate is 0): set some of {}",
            s.name,
            SWARM_KINDS
                .iter()
                .map(|(k, _)| format!("{k}_rate"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    None
}

/// A rate as a multiple of 10^-6: short in JSON, read back as exactly the same number
/// (so a FAILURE file holding this nemesis replays the same plan).
fn quantized(rate: f64) -> f64 {
    ((rate * 1e6).round().max(1.0) / 1e6).min(MAX_RATE)
}

/// Scenario `s` as the swarm runs it with `seed`: its nemesis with some kinds off and
/// the others' rates scaled (see the module's decisions), and what was chosen. `None`
/// when `s` has no nemesis.
pub fn swarm(s: &Scenario, seed: u64) -> Option<(Scenario, Swarm)> {
    let mut nemesis = s.nemesis.clone()?;
    let mut rng = SimRng::new(seed, Stream::Custom(SWARM_STREAM));
    let mut on = Vec::new();
    for (kind, rate) in SWARM_KINDS {
        let keep = rng.unit() < 0.5;
        let factor = SWARM_FACTOR.powf(2.0 * rng.unit() - 1.0);
        let r = rate(&mut nemesis);
        if *r > 0.0 && keep {
            *r = quantized(*r * factor);
            on.push(kind.to_string());
        } else {
            *r = 0.0;
        }
    }
    let mut run = s.clone();
    run.nemesis = Some(nemesis.clone());
    Some((run, Swarm { on, nemesis }))
}

/// The fault kinds of a realized schedule, as [`crate::engine::fault::Fault::kind`]
/// names them, sorted and each once: what a seed's faults were, swarmed or not.
pub fn realized_kinds(faults: &[crate::scenario::FaultSpec]) -> Vec<&'static str> {
    let mut kinds: Vec<&'static str> = faults.iter().map(|f| f.fault.kind()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    kinds
}

/// The distinct (fault kinds realized, failing check) pairs a sweep of `seeds` over `s`
/// reaches, plain or swarmed: for each seed, the kinds of its realized schedule
/// ([`realized_kinds`]) with each check that failed. How `--swarm`'s gain in coverage
/// is measured (`examples/swarm_coverage.rs`).
pub fn coverage(
    protocols: &crate::plugin::Protocols,
    s: &Scenario,
    seeds: std::ops::Range<u64>,
    swarmed: bool,
) -> Result<std::collections::BTreeSet<(Vec<&'static str>, String)>, crate::engine::error::Error> {
    let mut reached = std::collections::BTreeSet::new();
    for seed in seeds {
        let chosen = if swarmed { swarm(s, seed) } else { None };
        let r = crate::run::run_scenario(protocols, chosen.as_ref().map_or(s, |(c, _)| c), seed, None)?;
        let kinds = realized_kinds(&r.faults);
        for check in r.checks_with(crate::check::Status::Fail) {
            reached.insert((kinds.clone(), check));
        }
    }
    Ok(reached)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::Protocols;

    fn nemesis_scenario(rates: [f64; 5]) -> Scenario {
        let text = format!(
            r#"{{"name": "n", "duration": "2s",
              "nodes": [{{"id": "s", "role": "rpc_server"}},
                        {{"id": "c", "role": "rpc_client", "server": "s", "calls": 5}}],
              "nemesis": {{"stop": "1s", "crash_rate": {}, "pause_rate": {}, "partition_rate": {},
                           "clog_rate": {}, "loss_rate": {}}}}}"#,
            rates[0], rates[1], rates[2], rates[3], rates[4]
        );
        crate::scenario::parse_scenario(&Protocols::builtin(), "n.json", &text).unwrap()
    }

    #[test]
    fn kinds_off_in_the_file_stay_off_and_the_choice_is_the_seeds() {
        let s = nemesis_scenario([1.0, 0.0, 2.0, 0.0, 0.5]);
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..200 {
            let (run, sw) = swarm(&s, seed).unwrap();
            assert_eq!(swarm(&s, seed).unwrap().1, sw, "the same for a seed");
            let n = run.nemesis.as_ref().unwrap();
            assert_eq!(n, &sw.nemesis);
            assert_eq!((n.pause_rate, n.clog_rate), (0.0, 0.0), "off in the file: off");
            for (kind, file_rate, rate) in [
                ("crash", 1.0, n.crash_rate),
                ("partition", 2.0, n.partition_rate),
                ("loss", 0.5, n.loss_rate),
            ] {
                let on = sw.on.iter().any(|k| k == kind);
                assert_eq!(on, rate > 0.0, "seed {seed} {kind}");
                if on {
                    assert!(
                        rate >= file_rate / 10.0 - 1e-6 && rate <= file_rate * 10.0 + 1e-6,
                        "{rate}"
                    );
                    let back: f64 = serde_json::from_str(&serde_json::to_string(&rate).unwrap()).unwrap();
                    assert_eq!(back.to_bits(), rate.to_bits(), "reads back exactly");
                }
            }
            seen.insert(sw.on.clone());
        }
        assert_eq!(seen.len(), 8, "every subset of three kinds: {seen:?}");
        assert!(swarm_problem(&s).is_none());
        assert!(swarm_problem(&nemesis_scenario([0.0; 5])).unwrap().contains("none on"));
        let mut none = s.clone();
        none.nemesis = None;
        assert!(swarm(&none, 1).is_none());
        assert!(swarm_problem(&none).unwrap().contains("no `nemesis`"));
    }
}
