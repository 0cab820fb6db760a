//! RPC in scenario files: the `rpc_server` and `rpc_client` roles.

use serde::{Deserialize, Serialize};

use super::{CallMix, Calls, Pacing, RetryPolicy, RpcClientConfig, RpcServerConfig, Workload, client, server};
use crate::check::Source;
use crate::engine::error::Error;
use crate::engine::node::NodeFactory;
use crate::engine::time::SimTime;
use crate::plugin::{BuildCx, Observation, Payload, Problem, Role, ValidateCx, WorkCx};
use crate::protocols::discovery::check::VISIBLE_AFTER_HEAL;
use crate::protocols::discovery::roles::{RegisterSpec, ServiceSpec, target, target_refs, validate_target};

const fn ms(n: u64) -> SimTime {
    SimTime::from_millis(n)
}
fn d_true() -> bool {
    true
}
fn d_accounts() -> u32 {
    4
}
fn d_start_after() -> SimTime {
    ms(10)
}
fn d_timeout() -> SimTime {
    ms(50)
}
fn d_attempts() -> u32 {
    6
}
fn d_backoff_base() -> SimTime {
    ms(20)
}
fn d_backoff_max() -> SimTime {
    ms(400)
}

/// The work a registering node is configured to make: its registration, judged by
/// `disc.visible_after_heal` (the first due within its TTL).
pub(crate) fn registration(r: &Option<RegisterSpec>, cx: &WorkCx<'_>) -> Vec<Source> {
    r.iter()
        .map(|r| Source {
            check: VISIBLE_AFTER_HEAL,
            node: cx.node,
            items: ("registration", "registrations"),
            configured: None,
            first_due: Some((SimTime::ZERO, r.ttl)),
        })
        .collect()
}

/// The `rpc_server` role: Arithmetic.Multiply, Arithmetic.Divide, Account.Deposit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RpcServerRole {
    /// Deduplicate by (client, call id) in durable storage (false = the dedupe canary).
    #[serde(default = "d_true")]
    pub dedupe: bool,
    /// CANARY: a `Multiply` whose product overflows returns the wrapped product
    /// instead of the overflow error (`rpc.correct_result` must catch it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub canary_wrapping_multiply: bool,
    /// Register in a registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub register: Option<RegisterSpec>,
    /// CANARY: write the dedupe table but never sync it (`rpc.at_most_once` must catch
    /// it when a crash loses unsynced writes).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub canary_unsynced_dedupe: bool,
}

impl Role for RpcServerRole {
    fn validate(&self, cx: &ValidateCx<'_>, out: &mut Vec<Problem>) {
        if let Some(r) = &self.register {
            r.validate(cx, out);
        }
    }
    fn references(&self) -> Vec<&str> {
        self.register.iter().map(|r| r.registry.as_str()).collect()
    }
    fn build(&self, cx: &BuildCx<'_>) -> Result<NodeFactory<Payload, Observation>, Error> {
        let mut cfg = RpcServerConfig::new();
        cfg.dedupe = self.dedupe;
        cfg.wrapping_multiply = self.canary_wrapping_multiply;
        cfg.unsynced_dedupe = self.canary_unsynced_dedupe;
        if let Some(r) = &self.register {
            cfg = cfg.registering(r.registrant(cx)?);
        }
        Ok(Box::new(server(cfg)))
    }
    fn without_canaries(&self) -> Self {
        RpcServerRole {
            dedupe: true,
            canary_wrapping_multiply: false,
            canary_unsynced_dedupe: false,
            ..self.clone()
        }
    }
    fn expected_work(&self, cx: &WorkCx<'_>) -> Vec<Source> {
        registration(&self.register, cx)
    }
}

/// Relative weights of generated RPC calls.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixSpec {
    /// Weight of `Arithmetic.Multiply`.
    #[serde(default)]
    pub multiply: u32,
    /// Weight of `Arithmetic.Divide`.
    #[serde(default)]
    pub divide: u32,
    /// Weight of `Account.Deposit`.
    #[serde(default)]
    pub deposit: u32,
}

impl Default for MixSpec {
    fn default() -> Self {
        MixSpec {
            multiply: 1,
            divide: 1,
            deposit: 1,
        }
    }
}

/// The `rpc_client` role: a client making `calls` calls.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RpcClientRole {
    /// A fixed server's id (or give `service`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Find servers through a registry (or give `server`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceSpec>,
    /// How many calls.
    pub calls: u64,
    /// Method weights.
    #[serde(default)]
    pub mix: MixSpec,
    /// Deposits spread over accounts `0..accounts`.
    #[serde(default = "d_accounts")]
    pub accounts: u32,
    /// Open loop: one call every `interval`. Without it, closed loop with `think`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<SimTime>,
    /// Closed loop: pause between a call's end and the next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think: Option<SimTime>,
    /// Delay before the first call.
    #[serde(default = "d_start_after")]
    pub start_after: SimTime,
    /// Per-attempt timeout.
    #[serde(default = "d_timeout")]
    pub timeout: SimTime,
    /// Attempts before a call fails.
    #[serde(default = "d_attempts")]
    pub max_attempts: u32,
    /// Backoff before the second attempt (doubles after).
    #[serde(default = "d_backoff_base")]
    pub backoff_base: SimTime,
    /// Backoff cap.
    #[serde(default = "d_backoff_max")]
    pub backoff_max: SimTime,
    /// CANARY: retry every `timeout` with no backoff, no jitter and no attempt limit (a
    /// retry storm behind a slow server; `rpc.liveness` must flag it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub canary_retry_storm: bool,
}

impl RpcClientRole {
    /// A client of the fixed server `server` making `calls` calls, every other setting
    /// at its default.
    pub fn new(server: &str, calls: u64) -> Self {
        RpcClientRole {
            server: Some(server.to_string()),
            service: None,
            calls,
            mix: MixSpec::default(),
            accounts: d_accounts(),
            interval: None,
            think: None,
            start_after: d_start_after(),
            timeout: d_timeout(),
            max_attempts: d_attempts(),
            backoff_base: d_backoff_base(),
            backoff_max: d_backoff_max(),
            canary_retry_storm: false,
        }
    }
}

impl Role for RpcClientRole {
    fn validate(&self, cx: &ValidateCx<'_>, out: &mut Vec<Problem>) {
        validate_target(cx, "server", &self.server, &self.service, "rpc_server", out);
        let mix = &self.mix;
        if mix.multiply as u64 + mix.divide as u64 + mix.deposit as u64 == 0 {
            out.push((cx.field("mix"), "needs at least one positive weight".into()));
        }
        if self.accounts == 0 {
            out.push((cx.field("accounts"), "must be at least 1".into()));
        }
        if self.interval.is_some() && self.think.is_some() {
            out.push((
                cx.path.clone(),
                "give `interval` (open loop) or `think` (closed loop), not both".into(),
            ));
        }
        if let Some(i) = self.interval {
            cx.positive("interval", i, out);
        }
        cx.positive("timeout", self.timeout, out);
        if self.max_attempts == 0 {
            out.push((cx.field("max_attempts"), "must be at least 1".into()));
        }
        if self.backoff_base > self.backoff_max {
            out.push((cx.field("backoff_base"), "must not be greater than backoff_max".into()));
        }
        if self.calls == 0 {
            out.push((
                cx.field("calls"),
                "must be at least 1 (a run with no calls has nothing to check)".into(),
            ));
        }
    }
    fn references(&self) -> Vec<&str> {
        target_refs(&self.server, &self.service)
    }
    fn build(&self, cx: &BuildCx<'_>) -> Result<NodeFactory<Payload, Observation>, Error> {
        let target = target(&self.server, &self.service, cx, "server")?;
        let pacing = match (self.interval, self.think) {
            (Some(i), _) => Pacing::Interval(i),
            (None, t) => Pacing::ClosedLoop {
                think: t.unwrap_or(SimTime::ZERO),
            },
        };
        let cfg = RpcClientConfig {
            target,
            retry: RetryPolicy {
                timeout: self.timeout,
                max_attempts: self.max_attempts,
                backoff_base: self.backoff_base,
                backoff_max: self.backoff_max,
            },
            workload: Workload {
                calls: Calls::Generated {
                    count: self.calls,
                    mix: CallMix {
                        multiply: self.mix.multiply,
                        divide: self.mix.divide,
                        deposit: self.mix.deposit,
                    },
                    accounts: self.accounts,
                },
                pacing,
                start_after: self.start_after,
            },
            retry_storm: self.canary_retry_storm,
        };
        Ok(Box::new(client(cfg)?))
    }
    fn work(&self) -> Option<u64> {
        Some(self.calls)
    }
    fn set_work(&mut self, n: u64) {
        self.calls = n;
    }
    fn without_canaries(&self) -> Self {
        RpcClientRole {
            canary_retry_storm: false,
            ..self.clone()
        }
    }
    fn expected_work(&self, cx: &WorkCx<'_>) -> Vec<Source> {
        vec![Source {
            check: super::check::LIVENESS,
            node: cx.node,
            items: ("call", "calls"),
            configured: Some(self.calls),
            first_due: Some((SimTime::ZERO, self.start_after)),
        }]
    }
}
