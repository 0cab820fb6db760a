//! [`Dist`]: the one distribution type of durations (network latency, a worker's
//! service time, a client's think time; the scenario format writes it
//! `{"dist": "exponential", "mean": "10ms"}`), and [`Sampler`], its validated,
//! ready-to-draw form. Every duration drawn anywhere goes through [`Sampler::sample`].

use rand_distr::{Exp, LogNormal, Normal, Pareto};

use crate::engine::error::Error;
use crate::engine::hash::StableHasher;
use crate::engine::rng::SimRng;
use crate::engine::time::SimTime;

/// A distribution of durations (network latency, service time, think time). All
/// parameters are durations in nanoseconds of virtual time; samples are rounded to whole
/// nanoseconds and never negative.
#[derive(Clone, Debug, PartialEq)]
pub enum Dist {
    /// Always the same.
    Constant { value: SimTime },
    /// Uniform in `[min, max]`.
    Uniform { min: SimTime, max: SimTime },
    /// Normal with this mean and standard deviation, truncated at zero.
    Normal { mean: SimTime, std_dev: SimTime },
    /// Exponential with this mean.
    Exponential { mean: SimTime },
    /// Log-normal with this median (`e^mu`) and shape `sigma`.
    LogNormal { median: SimTime, sigma: f64 },
    /// Pareto (heavy tail) with this minimum (scale) and shape `alpha`.
    Pareto { scale: SimTime, alpha: f64 },
}

impl Dist {
    /// Its parameters that are out of their domain: `(field, what is expected)`, e.g.
    /// `("mean", "must be greater than zero")`; empty when it can be sampled.
    pub fn problems(&self) -> Vec<(&'static str, &'static str)> {
        let mut out = Vec::new();
        match *self {
            Dist::Constant { .. } | Dist::Normal { .. } => {}
            Dist::Uniform { min, max } => {
                if min > max {
                    out.push(("min", "must not be greater than max"));
                }
            }
            Dist::Exponential { mean } => {
                if mean == SimTime::ZERO {
                    out.push(("mean", "must be greater than zero"));
                }
            }
            Dist::LogNormal { median, sigma } => {
                if median == SimTime::ZERO {
                    out.push(("median", "must be greater than zero"));
                }
                if !sigma.is_finite() || sigma < 0.0 {
                    out.push(("sigma", "must be a finite number >= 0"));
                }
            }
            Dist::Pareto { scale, alpha } => {
                if scale == SimTime::ZERO {
                    out.push(("scale", "must be greater than zero"));
                }
                if !alpha.is_finite() || alpha <= 0.0 {
                    out.push(("alpha", "must be a finite number > 0"));
                }
            }
        }
        out
    }
}

impl Dist {
    /// A constant duration.
    pub fn constant(t: SimTime) -> Self {
        Dist::Constant { value: t }
    }

    /// The distribution's mean in nanoseconds (infinite for Pareto with `alpha <= 1`).
    pub fn mean_ns(&self) -> f64 {
        match *self {
            Dist::Constant { value } => value.0 as f64,
            Dist::Uniform { min, max } => (min.0 as f64 + max.0 as f64) / 2.0,
            // Mean of the normal truncated at zero.
            Dist::Normal { mean, std_dev } => {
                let (m, s) = (mean.0 as f64, std_dev.0 as f64);
                if s == 0.0 {
                    return m;
                }
                let a = -m / s;
                let pdf = (-0.5 * a * a).exp() / (2.0 * std::f64::consts::PI).sqrt();
                let tail = 1.0 - std_normal_cdf(a);
                m + s * pdf / tail
            }
            Dist::Exponential { mean } => mean.0 as f64,
            Dist::LogNormal { median, sigma } => median.0 as f64 * (sigma * sigma / 2.0).exp(),
            Dist::Pareto { scale, alpha } => {
                if alpha <= 1.0 {
                    f64::INFINITY
                } else {
                    alpha * scale.0 as f64 / (alpha - 1.0)
                }
            }
        }
    }

    /// Fold the distribution and its parameters into a trace hash.
    pub(crate) fn stable_hash(&self, h: &mut StableHasher) {
        match *self {
            Dist::Constant { value } => {
                h.word(1);
                h.word(value.0)
            }
            Dist::Uniform { min, max } => {
                h.word(2);
                h.word(min.0);
                h.word(max.0)
            }
            Dist::Normal { mean, std_dev } => {
                h.word(3);
                h.word(mean.0);
                h.word(std_dev.0)
            }
            Dist::Exponential { mean } => {
                h.word(4);
                h.word(mean.0)
            }
            Dist::LogNormal { median, sigma } => {
                h.word(5);
                h.word(median.0);
                h.f64(sigma)
            }
            Dist::Pareto { scale, alpha } => {
                h.word(6);
                h.word(scale.0);
                h.f64(alpha)
            }
        }
    }
}

/// Abramowitz–Stegun 7.1.26 approximation of the standard normal CDF (for `mean_ns`).
fn std_normal_cdf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs() / std::f64::consts::SQRT_2);
    let poly =
        t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-(x * x) / 2.0).exp();
    if x >= 0.0 { 0.5 * (1.0 + erf) } else { 0.5 * (1.0 - erf) }
}

/// A validated, ready-to-draw [`Dist`] (the `rand_distr` objects built once).
#[derive(Clone, Debug)]
pub enum Sampler {
    Constant(u64),
    Uniform(u64, u64),
    Normal(Normal<f64>),
    Exp(Exp<f64>),
    LogNormal(LogNormal<f64>),
    Pareto(Pareto<f64>),
}

impl Sampler {
    /// Check `l`'s parameters and build its sampler.
    pub fn build(l: &Dist) -> Result<Sampler, Error> {
        let bad = |why: &str| Error::InvalidParameter(format!("distribution {l:?}: {why}"));
        Ok(match *l {
            Dist::Constant { value } => Sampler::Constant(value.0),
            Dist::Uniform { min, max } => {
                if min > max {
                    return Err(bad("min is greater than max"));
                }
                Sampler::Uniform(min.0, max.0)
            }
            Dist::Normal { mean, std_dev } => {
                Sampler::Normal(Normal::new(mean.0 as f64, std_dev.0 as f64).map_err(|e| bad(&e.to_string()))?)
            }
            Dist::Exponential { mean } => {
                if mean.0 == 0 {
                    return Err(bad("mean must be positive"));
                }
                Sampler::Exp(Exp::new(1.0 / mean.0 as f64).map_err(|e| bad(&e.to_string()))?)
            }
            Dist::LogNormal { median, sigma } => {
                if median.0 == 0 || !sigma.is_finite() || sigma < 0.0 {
                    return Err(bad("median must be positive and sigma finite and >= 0"));
                }
                Sampler::LogNormal(LogNormal::new((median.0 as f64).ln(), sigma).map_err(|e| bad(&e.to_string()))?)
            }
            Dist::Pareto { scale, alpha } => {
                if scale.0 == 0 || !alpha.is_finite() || alpha <= 0.0 {
                    return Err(bad("scale and alpha must be positive"));
                }
                Sampler::Pareto(Pareto::new(scale.0 as f64, alpha).map_err(|e| bad(&e.to_string()))?)
            }
        })
    }

    /// One draw from `rng` (no draw at all for a constant).
    #[inline(always)]
    pub fn sample(&self, rng: &mut SimRng) -> SimTime {
        match self {
            Sampler::Constant(v) => SimTime(*v),
            Sampler::Uniform(lo, hi) => SimTime(rng.range(*lo, hi.saturating_add(1))),
            Sampler::Normal(d) => SimTime::from_nanos_f64(rng.sample(d)),
            Sampler::Exp(d) => SimTime::from_nanos_f64(rng.sample(d)),
            Sampler::LogNormal(d) => SimTime::from_nanos_f64(rng.sample(d)),
            Sampler::Pareto(d) => SimTime::from_nanos_f64(rng.sample(d)),
        }
    }
}

impl Dist {
    /// Check the parameters (a typed error names what is wrong).
    pub fn validate(&self) -> Result<(), Error> {
        Sampler::build(self).map(|_| ())
    }

    /// The validated sampler of this distribution.
    pub fn sampler(&self) -> Result<Sampler, Error> {
        Sampler::build(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::{SimRng, Stream};

    #[test]
    fn bad_parameters_are_typed_errors() {
        let ms = SimTime::from_millis;
        for bad in [
            Dist::Uniform { min: ms(2), max: ms(1) },
            Dist::Exponential { mean: SimTime::ZERO },
            Dist::LogNormal {
                median: ms(1),
                sigma: f64::NAN,
            },
            Dist::Pareto {
                scale: ms(1),
                alpha: -1.0,
            },
        ] {
            assert!(matches!(bad.validate(), Err(Error::InvalidParameter(_))), "{bad:?}");
        }
        assert!(Dist::constant(ms(3)).validate().is_ok());
    }

    #[test]
    fn draws_are_in_range_and_a_constant_draws_nothing() {
        let ms = SimTime::from_millis;
        let mut a = SimRng::new(7, Stream::Node(0));
        let mut b = SimRng::new(7, Stream::Node(0));
        assert_eq!(Dist::constant(ms(3)).sampler().unwrap().sample(&mut a), ms(3));
        // `a` drew nothing: it still agrees with `b`.
        assert_eq!(a.next_u64(), b.next_u64());
        let u = Dist::Uniform { min: ms(1), max: ms(2) }.sampler().unwrap();
        let n = Dist::Normal {
            mean: SimTime::ZERO,
            std_dev: ms(1),
        }
        .sampler()
        .unwrap();
        let p = Dist::Pareto {
            scale: ms(5),
            alpha: 2.0,
        }
        .sampler()
        .unwrap();
        for _ in 0..1000 {
            assert!((ms(1)..=ms(2)).contains(&u.sample(&mut a)));
            // Truncated at zero: half the normal draws are negative and come out as 0.
            let _ = n.sample(&mut a);
            assert!(p.sample(&mut a) >= ms(5));
        }
    }
}
