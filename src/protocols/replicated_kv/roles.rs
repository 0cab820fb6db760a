//! The store in scenario files: the `rkv_replica` and `rkv_client` roles.

use serde::{Deserialize, Serialize};

use super::client::{Client, ClientConfig};
use super::replica::{Replica, ReplicaConfig};
use crate::check::Source;
use crate::engine::error::Error;
use crate::engine::node::NodeFactory;
use crate::engine::time::SimTime;
use crate::plugin::{BuildCx, Observation, Payload, Problem, Role, ValidateCx, WorkCx};

const fn ms(n: u64) -> SimTime {
    SimTime::from_millis(n)
}
fn d_heartbeat() -> SimTime {
    ms(10)
}
fn d_lease() -> SimTime {
    ms(50)
}
fn d_election_min() -> SimTime {
    ms(80)
}
fn d_election_max() -> SimTime {
    ms(160)
}
fn d_keys() -> u64 {
    3
}
fn d_timeout() -> SimTime {
    ms(40)
}
fn d_attempts() -> u32 {
    20
}
fn d_backoff() -> SimTime {
    ms(10)
}
fn d_think() -> SimTime {
    ms(10)
}
fn d_start_after() -> SimTime {
    ms(300)
}

/// The `rkv_replica` role: `{"role": "rkv_replica", "peers": ["r2", "r3"]}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RkvReplicaRole {
    /// The other replicas of the group.
    pub peers: Vec<String>,
    /// How often the leader sends heartbeats.
    #[serde(default = "d_heartbeat")]
    pub heartbeat: SimTime,
    /// The read lease a majority's acknowledgement of a heartbeat gives the leader (from
    /// when it sent it); followers refuse votes as long after hearing from a leader.
    #[serde(default = "d_lease")]
    pub lease: SimTime,
    /// Election timeouts are drawn in `[election_min, election_max]`; `election_min`
    /// must exceed `lease`.
    #[serde(default = "d_election_min")]
    pub election_min: SimTime,
    /// See `election_min`.
    #[serde(default = "d_election_max")]
    pub election_max: SimTime,
    /// CANARY: the leader serves reads without checking its lease (a deposed leader,
    /// partitioned or paused, serves stale reads); `rkv.linearizable` must catch it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub canary_stale_read: bool,
    /// CANARY: the leader acknowledges a write once it is in its own log, before a
    /// majority has it (it reads only when its whole log is committed), so a leader change can
    /// lose an acknowledged write; `rkv.linearizable` must catch it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub canary_lost_write: bool,
}

impl Role for RkvReplicaRole {
    fn validate(&self, cx: &ValidateCx<'_>, out: &mut Vec<Problem>) {
        for (i, p) in self.peers.iter().enumerate() {
            let field = format!("peers[{i}]");
            cx.expect_role(&field, p, "rkv_replica", out);
            if p == cx.id {
                out.push((cx.field(&field), "a replica is not its own peer".into()));
            }
            if self.peers[..i].contains(p) {
                out.push((cx.field(&field), format!("{p:?} is listed twice")));
            }
        }
        cx.positive("heartbeat", self.heartbeat, out);
        cx.positive("lease", self.lease, out);
        if self.heartbeat >= self.lease {
            out.push((cx.field("heartbeat"), "must be shorter than lease".into()));
        }
        if self.election_min <= self.lease {
            out.push((cx.field("election_min"), "must be longer than lease".into()));
        }
        if self.election_min > self.election_max {
            out.push((cx.field("election_min"), "must not be greater than election_max".into()));
        }
    }
    fn references(&self) -> Vec<&str> {
        self.peers.iter().map(String::as_str).collect()
    }
    fn build(&self, cx: &BuildCx<'_>) -> Result<NodeFactory<Payload, Observation>, Error> {
        let cfg = ReplicaConfig {
            peers: self.peers.iter().map(|p| cx.node(p)).collect::<Result<_, _>>()?,
            heartbeat: self.heartbeat,
            lease: self.lease,
            election_min: self.election_min,
            election_max: self.election_max,
            stale_read: self.canary_stale_read,
            lost_write: self.canary_lost_write,
        };
        Ok(Box::new(move || Box::new(Replica::new(cfg.clone()))))
    }
    fn without_canaries(&self) -> Self {
        RkvReplicaRole {
            canary_stale_read: false,
            canary_lost_write: false,
            ..self.clone()
        }
    }
}

/// The `rkv_client` role: `{"role": "rkv_client", "replicas": ["r1", "r2", "r3"], "ops": 20}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RkvClientRole {
    /// The replicas.
    pub replicas: Vec<String>,
    /// How many operations.
    pub ops: u64,
    /// Keys `k0..k{keys-1}`.
    #[serde(default = "d_keys")]
    pub keys: u64,
    /// Per-attempt timeout.
    #[serde(default = "d_timeout")]
    pub timeout: SimTime,
    /// Attempts before the client gives up on an operation (its outcome is then unknown).
    #[serde(default = "d_attempts")]
    pub max_attempts: u32,
    /// Wait after a refusal or redirect, times the attempts so far (at most 8 times).
    #[serde(default = "d_backoff")]
    pub backoff: SimTime,
    /// Pause between an operation's end and the next.
    #[serde(default = "d_think")]
    pub think: SimTime,
    /// Delay before the first operation.
    #[serde(default = "d_start_after")]
    pub start_after: SimTime,
}

impl RkvClientRole {
    /// The longest an operation can take before the client gives up on it.
    pub fn op_budget(&self) -> SimTime {
        let n = u64::from(self.max_attempts);
        SimTime(n * (self.timeout.as_nanos() + 8 * self.backoff.as_nanos()))
    }
}

impl Role for RkvClientRole {
    fn validate(&self, cx: &ValidateCx<'_>, out: &mut Vec<Problem>) {
        if self.replicas.is_empty() {
            out.push((cx.field("replicas"), "needs at least one replica".into()));
        }
        for (i, r) in self.replicas.iter().enumerate() {
            cx.expect_role(&format!("replicas[{i}]"), r, "rkv_replica", out);
        }
        if self.ops == 0 {
            out.push((
                cx.field("ops"),
                "must be at least 1 (a run with no operation has nothing to check)".into(),
            ));
        }
        if self.keys == 0 || self.keys > 1_000 {
            out.push((
                cx.field("keys"),
                format!("must be between 1 and 1000, got {}", self.keys),
            ));
        }
        cx.positive("timeout", self.timeout, out);
        if self.max_attempts == 0 {
            out.push((cx.field("max_attempts"), "must be at least 1".into()));
        }
    }
    fn references(&self) -> Vec<&str> {
        self.replicas.iter().map(String::as_str).collect()
    }
    fn build(&self, cx: &BuildCx<'_>) -> Result<NodeFactory<Payload, Observation>, Error> {
        let cfg = ClientConfig {
            replicas: self.replicas.iter().map(|r| cx.node(r)).collect::<Result<_, _>>()?,
            ops: self.ops,
            keys: self.keys,
            timeout: self.timeout,
            max_attempts: self.max_attempts,
            backoff: self.backoff,
            think: self.think,
            start_after: self.start_after,
        };
        Ok(Box::new(move || Box::new(Client::new(cfg.clone()))))
    }
    fn work(&self) -> Option<u64> {
        Some(self.ops)
    }
    fn set_work(&mut self, n: u64) {
        self.ops = n;
    }
    fn expected_work(&self, cx: &WorkCx<'_>) -> Vec<Source> {
        vec![Source {
            check: super::check::PROGRESS,
            node: cx.node,
            items: ("operation", "operations"),
            configured: Some(self.ops),
            first_due: Some((SimTime::ZERO, self.start_after + self.op_budget())),
        }]
    }
}
