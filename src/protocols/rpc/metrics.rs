//! Streaming RPC metrics: counts and the call latency distribution, fed one observation
//! at a time ([`RpcMetrics::observe`]); memory is constant (one duration summary, a few counters).

use serde::Serialize;

use crate::engine::history::Record;
use crate::metrics::{DurationStats, DurationSummary};
use crate::protocols::rpc::RpcObs;
use crate::protocols::{AsObs, Obs};

/// RPC metrics of a run so far.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RpcSummary {
    /// Calls invoked by clients (`RpcObs::Invoke` records).
    pub invoked: u64,
    /// Calls that returned a reply, a value or an application error (`RpcObs::Ok`).
    pub ok: u64,
    /// Of `ok`, the replies that were application errors (overflow, divide by zero).
    pub app_errors: u64,
    /// Calls the client gave up on after its retry budget (`RpcObs::Fail`).
    pub failed: u64,
    /// Retries: over all finished calls (ok or failed), attempts started beyond the first
    /// (`attempts - 1` of each `Ok` / `Fail`).
    pub retries: u64,
    /// Requests executed by servers (`RpcObs::Executed`; dedupe replays are not executions).
    pub executed: u64,
    /// Latency of ok calls: reply received minus invoked (`Ok.at - Ok.invoked_at`),
    /// retries and backoff included.
    pub latency: DurationStats,
}

/// Streaming RPC metrics.
#[derive(Clone, Debug, Default)]
pub struct RpcMetrics {
    invoked: u64,
    ok: u64,
    app_errors: u64,
    failed: u64,
    retries: u64,
    executed: u64,
    latency: DurationSummary,
}

impl RpcMetrics {
    /// Nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Take one observation into account (non-RPC observations are ignored).
    pub fn observe<O: AsObs>(&mut self, rec: &Record<O>) {
        let Some(Obs::Rpc(o)) = rec.obs.as_obs() else {
            return;
        };
        match o {
            RpcObs::Invoke { .. } => self.invoked += 1,
            RpcObs::Attempt { .. } => {}
            RpcObs::Ok {
                reply,
                attempts,
                invoked_at,
                ..
            } => {
                self.ok += 1;
                self.app_errors += reply.is_err() as u64;
                self.retries += attempts.saturating_sub(1) as u64;
                self.latency.record((rec.at - *invoked_at).0);
            }
            RpcObs::Fail { attempts, .. } => {
                self.failed += 1;
                self.retries += attempts.saturating_sub(1) as u64;
            }
            RpcObs::Executed { .. } => self.executed += 1,
        }
    }

    /// The metrics so far.
    pub fn summary(&self) -> RpcSummary {
        RpcSummary {
            invoked: self.invoked,
            ok: self.ok,
            app_errors: self.app_errors,
            failed: self.failed,
            retries: self.retries,
            executed: self.executed,
            latency: self.latency.stats(),
        }
    }
}
