//! Queueing theory for the M/M/c queue (Poisson arrivals at rate `lambda`, `c` servers
//! with exponential service at rate `mu`): the Erlang C formula, against which simulated
//! pools are checked and with which a pool can be sized.

use crate::engine::error::Error;

/// Erlang C: the probability that an arriving job has to wait, for `c` servers offered
/// `a = lambda / mu` erlangs of traffic (needs `a < c`).
pub fn erlang_c(c: u32, a: f64) -> Result<f64, Error> {
    if c == 0 || !a.is_finite() || a <= 0.0 || a >= c as f64 {
        return Err(Error::InvalidParameter(format!(
            "erlang_c needs c >= 1 and 0 < a < c, got c = {c}, a = {a}"
        )));
    }
    // Erlang B by the stable recurrence B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1)),
    // then C = B / (1 - rho (1 - B)).
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (k as f64 + a * b);
    }
    let rho = a / c as f64;
    Ok(b / (1.0 - rho * (1.0 - b)))
}

/// What theory predicts for an M/M/c queue.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MmcPrediction {
    /// Server utilisation `rho = lambda / (c mu)`.
    pub rho: f64,
    /// Probability of waiting (Erlang C).
    pub p_wait: f64,
    /// Mean waiting time in the queue, seconds: `C / (c mu - lambda)`.
    pub wq_secs: f64,
    /// Mean sojourn time, seconds: `Wq + 1 / mu`.
    pub w_secs: f64,
    /// Mean queue length (Little): `lambda Wq`.
    pub lq: f64,
}

/// The M/M/c prediction for arrival rate `lambda` and service rate `mu` (per second) on
/// `c` servers; the queue must be stable (`lambda < c mu`).
pub fn mmc(lambda: f64, mu: f64, c: u32) -> Result<MmcPrediction, Error> {
    if !(lambda.is_finite() && mu.is_finite() && lambda > 0.0 && mu > 0.0) {
        return Err(Error::InvalidParameter(format!(
            "mmc needs finite rates > 0, got lambda = {lambda}, mu = {mu}"
        )));
    }
    let p_wait = erlang_c(c, lambda / mu)?;
    let wq_secs = p_wait / (c as f64 * mu - lambda);
    Ok(MmcPrediction {
        rho: lambda / (c as f64 * mu),
        p_wait,
        wq_secs,
        w_secs: wq_secs + 1.0 / mu,
        lq: lambda * wq_secs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // M/M/1: C = rho, Wq = rho / (mu - lambda).
        let p = mmc(0.5, 1.0, 1).unwrap_or_else(|e| panic!("{e}"));
        assert!((p.p_wait - 0.5).abs() < 1e-12);
        assert!((p.wq_secs - 1.0).abs() < 1e-12);
        // c = 2, a = 1: C = 1/3 (textbook value).
        let c2 = erlang_c(2, 1.0).unwrap_or_else(|e| panic!("{e}"));
        assert!((c2 - 1.0 / 3.0).abs() < 1e-12, "{c2}");
        // Unstable or nonsense input is an error, not a panic.
        assert!(erlang_c(2, 2.0).is_err());
        assert!(erlang_c(0, 0.5).is_err());
        assert!(mmc(f64::NAN, 1.0, 1).is_err());
    }
}
