//! The file form of gray failures: a node's `processing` (`{"service": <dist>, "speed":
//! 1.0}`), a link's `bandwidth` (`{"rate": 200, "queue": 16}`, messages per second), the
//! nemesis's `slow_factor` / `thin_bandwidth` ranges (`{"min": 5, "max": 10}`), their
//! validation (with field paths) and how a built simulation gets them.

use serde::{Deserialize, Serialize};

use super::Scenario;
use super::build::IdMap;
use crate::engine::bandwidth::{Bandwidth, DEFAULT_LINK_QUEUE, MAX_LINK_QUEUE, check_rate};
use crate::engine::dist::Dist;
use crate::engine::error::Error;
use crate::engine::fault::DurationRange;
use crate::engine::gray_nemesis::NumberRange as Range;
use crate::engine::processing::{Processing, check_factor};
use crate::engine::sim::Simulation;
use crate::engine::time::SimTime;
use crate::plugin::{Observation, Payload, Problem};

/// A node's processing model in the file: `{"service": {"dist": "constant", "value":
/// "1ms"}, "speed": 1.0}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessingSpec {
    /// The service time of one message (**a distribution**).
    pub service: Dist,
    /// The speed factor: service times are multiplied by it (10 = ten times slower).
    #[serde(default = "one")]
    pub speed: f64,
}

fn one() -> f64 {
    1.0
}

impl ProcessingSpec {
    /// The engine's model.
    pub fn to_model(&self) -> Processing {
        Processing {
            service: self.service.clone(),
            speed: self.speed,
        }
    }
}

/// A link's bandwidth in the file: `{"rate": 200, "queue": 16}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BandwidthSpec {
    /// Messages per second.
    pub rate: f64,
    /// Most messages the link holds at once (waiting or in transmission); a message that
    /// finds it full is dropped (`queue_full`).
    #[serde(default = "default_queue")]
    pub queue: u32,
}

fn default_queue() -> u32 {
    DEFAULT_LINK_QUEUE
}

impl BandwidthSpec {
    /// The engine's bandwidth.
    pub fn to_bandwidth(&self) -> Bandwidth {
        Bandwidth {
            rate: self.rate,
            queue: self.queue,
        }
    }
}

/// The nemesis's `{"min": 5, "max": 10}`: a remote derive of the engine's
/// [`crate::engine::gray_nemesis::NumberRange`].
#[derive(Serialize, Deserialize)]
#[serde(remote = "crate::engine::gray_nemesis::NumberRange", deny_unknown_fields)]
pub struct NumberRange {
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
}

pub(crate) fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

pub(crate) fn is_default_range(r: &DurationRange) -> bool {
    *r == crate::engine::fault::NemesisConfig::default().downtime
}

pub(crate) fn default_slow_factor() -> Range {
    crate::engine::fault::NemesisConfig::default().slow_factor
}

pub(crate) fn is_default_slow_factor(r: &Range) -> bool {
    *r == default_slow_factor()
}

pub(crate) fn default_thin_bandwidth() -> Range {
    crate::engine::fault::NemesisConfig::default().thin_bandwidth
}

pub(crate) fn is_default_thin_bandwidth(r: &Range) -> bool {
    *r == default_thin_bandwidth()
}

fn problem(out: &mut Vec<Problem>, path: String, r: Result<(), Error>) {
    if let Err(e) = r {
        let text = e.to_string();
        out.push((
            path,
            text.strip_prefix("invalid parameter: ").unwrap_or(&text).to_string(),
        ));
    }
}

/// How a number is checked (a factor, a rate).
type Check = fn(&str, f64) -> Result<(), Error>;

/// Problems of the gray fields of `s`: each node's `processing`, each link's
/// `bandwidth`, the nemesis's gray rates and ranges.
pub fn validate(s: &Scenario, out: &mut Vec<Problem>) {
    for (i, n) in s.nodes.iter().enumerate() {
        if let Some(p) = &n.processing {
            let path = format!("nodes[{i}].processing");
            problem(out, format!("{path}.speed"), check_factor("speed", p.speed));
            crate::plugin::dist_problems(&p.service, &format!("{path}.service"), out);
        }
    }
    for (i, l) in s.network.links.iter().enumerate() {
        if let Some(b) = &l.bandwidth {
            let path = format!("network.links[{i}].bandwidth");
            problem(out, format!("{path}.rate"), check_rate("rate", b.rate));
            if b.queue == 0 || b.queue > MAX_LINK_QUEUE {
                out.push((
                    format!("{path}.queue"),
                    format!("must be between 1 and {MAX_LINK_QUEUE}, got {}", b.queue),
                ));
            }
        }
    }
    let liveness = s.checks.entries.iter().find(|(k, _)| k == crate::check::LIVENESS_KEY);
    if let Some((_, v)) = liveness
        && serde_json::from_value::<crate::engine::time::SimTime>(v.clone()).is_ok_and(|t| t == SimTime::ZERO)
    {
        out.push((
            format!("checks.{}", crate::check::LIVENESS_KEY),
            "must be greater than zero".into(),
        ));
    }
    if let Some(n) = &s.nemesis {
        for (field, r) in [("slow_rate", n.slow_rate), ("thin_link_rate", n.thin_link_rate)] {
            if !r.is_finite() || r < 0.0 {
                out.push((
                    format!("nemesis.{field}"),
                    format!("must be a rate >= 0 (per second), got {r}"),
                ));
            } else if r > crate::engine::fault::MAX_RATE {
                out.push((
                    format!("nemesis.{field}"),
                    format!("{r} per second is over the limit of {}", crate::engine::fault::MAX_RATE),
                ));
            }
        }
        for (field, r) in [("slow_time", &n.slow_time), ("thin_link_time", &n.thin_link_time)] {
            if r.min > r.max {
                out.push((format!("nemesis.{field}.min"), "must not be greater than max".into()));
            }
            super::validate::positive(&format!("nemesis.{field}.max"), r.max, out);
        }
        let ranges: [(&str, &Range, Check); 2] = [
            ("slow_factor", &n.slow_factor, check_factor),
            ("thin_bandwidth", &n.thin_bandwidth, check_rate),
        ];
        for (field, r, check) in ranges {
            problem(out, format!("nemesis.{field}.min"), check("min", r.min));
            problem(out, format!("nemesis.{field}.max"), check("max", r.max));
            if r.min > r.max {
                out.push((format!("nemesis.{field}.min"), "must not be greater than max".into()));
            }
        }
    }
}

/// Give the built simulation the scenario's processing models and link bandwidths.
pub fn apply(s: &Scenario, ids: &IdMap, sim: &mut Simulation<Payload, Observation>) -> Result<(), Error> {
    let id = |name: &str| {
        ids.get(name)
            .copied()
            .ok_or_else(|| Error::InvalidParameter(format!("unknown node id {name:?}")))
    };
    for n in &s.nodes {
        if let Some(p) = &n.processing {
            sim.set_processing(id(&n.id)?, &p.to_model())?;
        }
    }
    for l in &s.network.links {
        if let Some(b) = &l.bandwidth {
            let (from, to) = (id(&l.from)?, id(&l.to)?);
            sim.set_bandwidth(from, to, b.to_bandwidth())?;
            if l.both {
                sim.set_bandwidth(to, from, b.to_bandwidth())?;
            }
        }
    }
    Ok(())
}
