//! Turning a validated scenario into a ready-to-run [`Simulation`] of its protocols'
//! nodes (each built by its role's config): node ids in file order, network settings, the fault schedule (windows
//! expanded into their undo faults) and the nemesis.

use std::collections::BTreeMap;

use crate::engine::error::Error;
use crate::engine::fault::{MAX_PLANNED, NemesisConfig, TimedFault};
use crate::engine::node::NodeId;
use crate::engine::sim::{SimConfig, Simulation};
use crate::plugin::{BuildCx, Observation, Payload};

use super::{FaultSpec, LinkSpec, NemesisSpec, Scenario};

/// Node ids by name.
pub type IdMap = BTreeMap<String, NodeId>;

/// A scenario made into a simulation.
pub struct Built {
    /// The simulation, not yet run.
    pub sim: Simulation<Payload, Observation>,
}

fn id(ids: &IdMap, name: &str) -> Result<NodeId, Error> {
    ids.get(name)
        .copied()
        .ok_or_else(|| Error::InvalidParameter(format!("unknown node id {name:?}")))
}

/// Build the simulation for `s` with `seed`.
pub fn build(s: &Scenario, seed: u64) -> Result<Built, Error> {
    let cfg = SimConfig::new(seed)
        .max_time(s.duration)
        .max_events(s.max_events)
        .random_tiebreak(s.random_tiebreak)
        .budgets(s.limits.budgets());
    let mut sim = Simulation::new(cfg);
    let ids: IdMap = s
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id().to_string(), NodeId(i as u32)))
        .collect();
    // Nodes first: link overrides name them.
    for n in &s.nodes {
        let factory = n.config.build(&BuildCx { id: &n.id, ids: &ids })?;
        let node = sim.add_node(&n.id, factory)?;
        if let Some(c) = &n.clock {
            sim.set_clock(node, c.to_config())?;
        }
    }
    let net = sim.network_mut()?;
    net.set_default(s.network.default.to_config())?;
    for l in &s.network.links {
        let (from, to) = (id(&ids, &l.from)?, id(&ids, &l.to)?);
        let cfg = l.over(&s.network.default).to_config();
        if l.both {
            net.set_link_both(from, to, cfg)?;
        } else {
            net.set_link(from, to, cfg)?;
        }
    }
    super::gray::apply(s, &ids, &mut sim)?;
    for f in &s.faults {
        sim.schedule_timed(expand(f, &ids)?)?;
    }
    if let Some(n) = &s.nemesis {
        sim.set_nemesis(nemesis(n, &ids, s.faults.len())?)?;
    }
    if let Some(st) = &s.storage {
        sim.set_storage_faults(st.to_faults())?;
    }
    if let Some(b) = &s.buggify {
        sim.set_buggify(b.to_config())?;
    }
    Ok(Built { sim })
}

/// The link settings in force at the start for `from -> to` (or the default).
pub fn initial_link(s: &Scenario, link: Option<(&str, &str)>) -> LinkSpec {
    let Some((from, to)) = link else {
        return s.network.default.clone();
    };
    s.network
        .links
        .iter()
        .rev()
        .find(|l| (l.from == from && l.to == to) || (l.both && l.from == to && l.to == from))
        .map(|l| l.over(&s.network.default))
        .unwrap_or_else(|| s.network.default.clone())
}

/// One fault spec as a timed engine fault (with its window, when it has one).
pub fn expand(f: &FaultSpec, ids: &IdMap) -> Result<TimedFault, Error> {
    f.try_map_nodes(|n| id(ids, n))
}

/// The engine's nemesis for `n`, leaving room for the `scheduled` faults: the realized
/// schedule (scheduled faults, then the nemesis's windows) stays within the validator's
/// limit on faults, so that a FAILURE file holding it is a valid scenario.
fn nemesis(n: &NemesisSpec, ids: &IdMap, scheduled: usize) -> Result<NemesisConfig, Error> {
    let targets = if n.targets.is_empty() {
        let mut all: Vec<NodeId> = ids.values().copied().collect();
        all.sort();
        all
    } else {
        n.targets.iter().map(|t| id(ids, t)).collect::<Result<_, _>>()?
    };
    Ok(NemesisConfig {
        start: n.start,
        stop: n.stop,
        targets,
        crash_rate: n.crash_rate,
        downtime: n.downtime,
        pause_rate: n.pause_rate,
        pause_time: n.pause_time,
        partition_rate: n.partition_rate,
        partition_time: n.partition_time,
        clog_rate: n.clog_rate,
        clog_time: n.clog_time,
        loss_rate: n.loss_rate,
        loss_time: n.loss_time,
        burst_drop: n.burst_drop,
        burst_duplicate: n.burst_duplicate,
        max_down: n.max_down,
        max_windows: MAX_PLANNED.saturating_sub(scheduled),
        slow_rate: n.slow_rate,
        slow_time: n.slow_time,
        slow_factor: n.slow_factor,
        thin_link_rate: n.thin_link_rate,
        thin_link_time: n.thin_link_time,
        thin_bandwidth: n.thin_bandwidth,
        disk_full_rate: n.disk_full_rate,
        disk_full_time: n.disk_full_time,
        clock: crate::engine::clock::ClockNemesis {
            rate: n.clock_rate,
            step: n.clock_step,
            drift: n.clock_drift_ppm,
            drift_time: n.clock_drift_time,
        },
    })
}

/// Engine faults back into scenario faults (for FAILURE files and shrinking), each with
/// its own window, in the same order (so the schedule replays to the same run).
pub fn to_specs(faults: &[TimedFault], names: &[String]) -> Vec<FaultSpec> {
    let name = |n: &NodeId| names.get(n.0 as usize).cloned().unwrap_or_default();
    faults.iter().map(|tf| tf.map_nodes(name)).collect()
}
