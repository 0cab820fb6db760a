//! Code-level fault points (FoundationDB's `BUGGIFY`): a protocol marks a rare path with
//! [`Ctx::buggify`](crate::engine::node::Ctx::buggify)`("name")` and takes it when that
//! returns `true`. In a run that enables them ([`BuggifyConfig`], off by default), each
//! named point is decided **active or not once per run**, the first time it is reached
//! (with probability [`BuggifyConfig::activation`]); an active point then fires each time
//! it is reached with probability [`BuggifyConfig::probability`]. So a run takes some
//! rare paths often and leaves the others alone, instead of every path a little.
//!
//! Every draw comes from the buggify stream ([`Stream::Buggify`]), so enabling points
//! shifts no other stream's draws; when disabled, nothing is drawn and no trace event is
//! recorded: the trace hash is the same as without any point in the code.

use crate::FastMap;
use crate::engine::error::Error;
use crate::engine::rng::{SimRng, Stream};

/// Which fault points may fire in a run, and how often.
#[derive(Clone, Debug, PartialEq)]
pub struct BuggifyConfig {
    /// How often an active point fires when it is reached, in `[0, 1]`.
    pub probability: f64,
    /// How likely a point is active in a run (decided once, when it is first reached), in
    /// `[0, 1]`.
    pub activation: f64,
    /// Points with a probability of their own: always active, firing with it (0: never).
    pub points: Vec<(String, f64)>,
}

impl Default for BuggifyConfig {
    /// FoundationDB's figures: a point is active in a quarter of the runs, and fires a
    /// quarter of the times it is reached.
    fn default() -> Self {
        BuggifyConfig {
            probability: 0.25,
            activation: 0.25,
            points: Vec::new(),
        }
    }
}

impl BuggifyConfig {
    /// Every probability in `[0, 1]`.
    pub fn validate(&self) -> Result<(), Error> {
        let bad =
            |what: &str, p: f64| Error::InvalidParameter(format!("buggify {what} {p} is not a probability in [0, 1]"));
        for (what, p) in [("probability", self.probability), ("activation", self.activation)]
            .into_iter()
            .chain(self.points.iter().map(|(n, p)| (n.as_str(), *p)))
        {
            if !(0.0..=1.0).contains(&p) {
                return Err(bad(what, p));
            }
        }
        Ok(())
    }
}

/// What one fault point did in a run.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct BuggifyPoint {
    /// Its name.
    pub name: String,
    /// Whether it was active in this run (it can fire only then).
    pub active: bool,
    /// How many times it was reached.
    pub reached: u64,
    /// How many times it fired.
    pub fired: u64,
}

/// The run's fault points: the configuration, the stream, and each point reached so far.
pub(crate) struct Buggify {
    config: BuggifyConfig,
    rng: SimRng,
    /// Position in `points` by name (look-ups only).
    index: FastMap<String, usize>,
    /// Each point reached, in first-reach order, with its firing probability (0 when
    /// inactive).
    points: Vec<(BuggifyPoint, f64)>,
}

impl Buggify {
    /// The fault points of a run with `seed`.
    pub(crate) fn new(seed: u64, config: BuggifyConfig) -> Self {
        Buggify {
            config,
            rng: SimRng::new(seed, Stream::Buggify),
            index: FastMap::default(),
            points: Vec::new(),
        }
    }

    /// Point `name` is reached: does it fire?
    pub(crate) fn reach(&mut self, name: &str) -> bool {
        let i = match self.index.get(name) {
            Some(&i) => i,
            None => {
                let own = self.config.points.iter().find(|(n, _)| n == name).map(|(_, p)| *p);
                let (active, p) = match own {
                    Some(p) => (p > 0.0, p),
                    None => {
                        let active = self.rng.chance(self.config.activation);
                        (active, if active { self.config.probability } else { 0.0 })
                    }
                };
                let point = BuggifyPoint {
                    name: name.to_string(),
                    active,
                    reached: 0,
                    fired: 0,
                };
                self.points.push((point, p));
                self.index.insert(name.to_string(), self.points.len() - 1);
                self.points.len() - 1
            }
        };
        let (point, p) = &mut self.points[i];
        point.reached += 1;
        // No draw for an inactive point: it cannot fire.
        let fired = *p > 0.0 && self.rng.chance(*p);
        point.fired += u64::from(fired);
        fired
    }

    /// Every point reached, by name.
    pub(crate) fn points(&self) -> Vec<BuggifyPoint> {
        let mut all: Vec<BuggifyPoint> = self.points.iter().map(|(p, _)| p.clone()).collect();
        all.sort();
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overridden_point_is_always_active_and_zero_never_fires() {
        let cfg = BuggifyConfig {
            probability: 1.0,
            activation: 0.0,
            points: vec![("on".into(), 1.0), ("off".into(), 0.0)],
        };
        let mut b = Buggify::new(1, cfg);
        assert!(b.reach("on") && b.reach("on"));
        assert!(!b.reach("off"));
        assert!(!b.reach("other"), "activation 0: never active");
        let pts = b.points();
        assert_eq!(
            pts.iter()
                .map(|p| (p.name.as_str(), p.active, p.reached, p.fired))
                .collect::<Vec<_>>(),
            [("off", false, 1, 0), ("on", true, 2, 2), ("other", false, 1, 0)]
        );
    }

    #[test]
    fn probabilities_are_checked() {
        let mut cfg = BuggifyConfig::default();
        assert!(cfg.validate().is_ok());
        cfg.points.push(("x".into(), 1.5));
        assert!(cfg.validate().unwrap_err().to_string().contains("buggify x 1.5"));
        cfg.points.clear();
        cfg.activation = -0.1;
        assert!(cfg.validate().is_err());
    }
}
