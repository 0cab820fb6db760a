//! A user protocol on detsim: a key-value store replicated on a majority quorum (ABD-style
//! reads and writes, one writer per key), written only against detsim's public plugin API
//! and run with the whole detsim command line by `kvsim` (`src/main.rs`).
//!
//! - `kv_replica` nodes keep, per key, the highest version they were sent (in durable
//!   storage, so a crash loses nothing they acknowledged).
//! - `kv_client` nodes write their own keys (`put`: a new version to every replica, done
//!   when a majority acknowledged it) and read each one back (`get`: ask every replica,
//!   done when a majority answered, the highest version wins), retrying on a timeout.
//!
//! Checks: `kv.no_stale_read` (a get never returns an older version than the last put of
//! that key acknowledged before the get was sent) and `kv.progress` (every client finishes
//! its operations within `checks.kv_progress_bound` of the last fault's heal).
//!
//! The planted bug, `canary_read_one`: a get returns with the first answer instead of a
//! majority's. A replica that missed a write (a partition, a crash, a lost message) then
//! serves a stale read, which `kv.no_stale_read` catches.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use detsim::check::{CheckContext, CheckId, Judge, Verdict, Violation};
use detsim::plugin::{
    BuildCx, Check, Metrics, Observation, Payload, Problem, Protocol, Role, RoleDef, ScenarioView, Setting, ValidateCx,
    always,
};
use detsim::{Ctx, Error, Node, NodeFactory, NodeId, Record, SimTime, StableHash, TimerId};
use serde::{Deserialize, Serialize};

/// The store's messages.
#[derive(Clone, Copy, Debug, PartialEq, StableHash)]
pub enum KvMsg {
    /// Client -> replica: store version `ver` of `key` (if newer than what it has).
    Put { op: u64, key: u64, ver: u64, val: u64 },
    /// Replica -> client: stored (or already had something newer).
    PutAck { op: u64 },
    /// Client -> replica: what do you have for `key`?
    Get { op: u64, key: u64 },
    /// Replica -> client: version `ver` (0: nothing) holding `val`.
    GetReply { op: u64, ver: u64, val: u64 },
}

/// How the HTML diagram labels the store's arrows (through [`Protocol::label`]).
impl fmt::Display for KvMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KvMsg::Put { key, ver, val, .. } => write!(f, "put k{key} v{ver}={val}"),
            KvMsg::PutAck { .. } => write!(f, "put ok"),
            KvMsg::Get { key, .. } => write!(f, "get k{key}"),
            KvMsg::GetReply { ver, val, .. } => write!(f, "v{ver}={val}"),
        }
    }
}

impl From<KvMsg> for Payload {
    fn from(m: KvMsg) -> Payload {
        Payload::new(m)
    }
}

/// What clients observe.
#[derive(Clone, Debug, PartialEq)]
pub enum KvObs {
    /// A put of version `ver` of `key` was acknowledged by a majority.
    Put { key: u64, ver: u64 },
    /// A get of `key` returned version `ver`; `acked` is the last version of `key`
    /// acknowledged before the get was sent.
    Get { key: u64, ver: u64, acked: u64 },
    /// The client finished all its operations.
    Done { ops: u64 },
}

impl From<KvObs> for Observation {
    fn from(o: KvObs) -> Observation {
        Observation::new(o)
    }
}

/// A replica's durable store: key -> (version, value).
#[derive(Clone, Default)]
struct Store(BTreeMap<u64, (u64, u64)>);

struct Replica;

impl Node<Payload, Observation> for Replica {
    fn on_message(&mut self, ctx: &mut Ctx<'_, Payload, Observation>, from: NodeId, msg: Payload) {
        let Some(msg) = msg.downcast_ref::<KvMsg>() else { return };
        match *msg {
            KvMsg::Put { op, key, ver, val } => {
                let slot = ctx.durable::<Store>().0.entry(key).or_insert((0, 0));
                if ver > slot.0 {
                    *slot = (ver, val);
                }
                ctx.send(from, KvMsg::PutAck { op });
            }
            KvMsg::Get { op, key } => {
                let (ver, val) = ctx.durable::<Store>().0.get(&key).copied().unwrap_or((0, 0));
                ctx.send(from, KvMsg::GetReply { op, ver, val });
            }
            KvMsg::PutAck { .. } | KvMsg::GetReply { .. } => {}
        }
    }
}

/// A client's progress, durable so that a restarted client resumes where it was.
#[derive(Clone, Default)]
struct Progress {
    /// Operations (put + get pairs) finished.
    done: u64,
    /// The last acknowledged version of each of its keys.
    acked: BTreeMap<u64, u64>,
}

/// The operation in flight.
#[derive(Clone, Copy, Debug)]
enum Phase {
    Put { key: u64, ver: u64, val: u64 },
    Get { key: u64, acked: u64 },
    Done,
}

struct Client {
    replicas: Vec<NodeId>,
    ops: u64,
    keys: u64,
    timeout: SimTime,
    read_one: bool,
    phase: Phase,
    /// The current attempt's id; answers to older attempts are ignored.
    op: u64,
    attempts: u64,
    /// Answers to the current attempt, and the newest (version, value) among them.
    answers: usize,
    best: (u64, u64),
}

impl Client {
    fn quorum(&self) -> usize {
        self.replicas.len() / 2 + 1
    }

    /// Start the next operation: a put of a new version of the next key.
    fn next(&mut self, ctx: &mut Ctx<'_, Payload, Observation>) {
        let me = u64::from(ctx.me().0);
        let progress = ctx.durable::<Progress>();
        if progress.done >= self.ops {
            let ops = progress.done;
            self.phase = Phase::Done;
            ctx.observe(KvObs::Done { ops });
            return;
        }
        let key = me * 1_000 + progress.done % self.keys;
        let ver = progress.acked.get(&key).copied().unwrap_or(0) + 1;
        self.phase = Phase::Put {
            key,
            ver,
            val: progress.done,
        };
        self.send(ctx);
    }

    /// Send the current phase's request to every replica, as a new attempt.
    fn send(&mut self, ctx: &mut Ctx<'_, Payload, Observation>) {
        self.attempts += 1;
        self.op = (u64::from(ctx.incarnation()) << 32) | self.attempts;
        self.answers = 0;
        self.best = (0, 0);
        let msg = match self.phase {
            Phase::Put { key, ver, val } => KvMsg::Put {
                op: self.op,
                key,
                ver,
                val,
            },
            Phase::Get { key, .. } => KvMsg::Get { op: self.op, key },
            Phase::Done => return,
        };
        for &r in &self.replicas {
            ctx.send(r, msg);
        }
        ctx.set_timer(self.timeout, self.op);
    }
}

impl Node<Payload, Observation> for Client {
    fn on_start(&mut self, ctx: &mut Ctx<'_, Payload, Observation>) {
        self.next(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Payload, Observation>, _from: NodeId, msg: Payload) {
        let Some(msg) = msg.downcast_ref::<KvMsg>() else { return };
        match (*msg, self.phase) {
            (KvMsg::PutAck { op }, Phase::Put { key, ver, .. }) if op == self.op => {
                self.answers += 1;
                if self.answers == self.quorum() {
                    ctx.durable::<Progress>().acked.insert(key, ver);
                    ctx.observe(KvObs::Put { key, ver });
                    self.phase = Phase::Get { key, acked: ver };
                    self.send(ctx);
                }
            }
            (KvMsg::GetReply { op, ver, val }, Phase::Get { key, acked }) if op == self.op => {
                self.answers += 1;
                self.best = self.best.max((ver, val));
                let needed = if self.read_one { 1 } else { self.quorum() };
                if self.answers == needed {
                    ctx.observe(KvObs::Get {
                        key,
                        ver: self.best.0,
                        acked,
                    });
                    ctx.durable::<Progress>().done += 1;
                    self.next(ctx);
                }
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Payload, Observation>, _timer: TimerId, tag: u64) {
        if tag == self.op {
            self.send(ctx); // no quorum in time: try again
        }
    }
}

fn d_keys() -> u64 {
    2
}
fn d_timeout() -> SimTime {
    SimTime::from_millis(50)
}

/// `{"role": "kv_replica"}`: a replica (no settings).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicaRole {}

impl Role for ReplicaRole {
    fn build(&self, _cx: &BuildCx<'_>) -> Result<NodeFactory<Payload, Observation>, Error> {
        Ok(Box::new(|| Box::new(Replica)))
    }
}

/// `{"role": "kv_client", "replicas": ["r1", "r2", "r3"], "ops": 20}`: a client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientRole {
    /// The replicas' ids.
    pub replicas: Vec<String>,
    /// How many put + get pairs.
    pub ops: u64,
    /// How many keys of its own it cycles through.
    #[serde(default = "d_keys")]
    pub keys: u64,
    /// Per-attempt timeout.
    #[serde(default = "d_timeout")]
    pub timeout: SimTime,
    /// CANARY: a get returns with the first answer instead of a majority's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub canary_read_one: bool,
}

impl Role for ClientRole {
    fn validate(&self, cx: &ValidateCx<'_>, out: &mut Vec<Problem>) {
        if self.replicas.is_empty() {
            out.push((cx.field("replicas"), "needs at least one replica".into()));
        }
        for (i, r) in self.replicas.iter().enumerate() {
            cx.expect_role(&format!("replicas[{i}]"), r, "kv_replica", out);
        }
        if self.ops == 0 {
            out.push((cx.field("ops"), "must be at least 1".into()));
        }
        if self.keys == 0 || self.keys > 1_000 {
            out.push((
                cx.field("keys"),
                format!("must be between 1 and 1000, got {}", self.keys),
            ));
        }
        cx.positive("timeout", self.timeout, out);
    }

    fn references(&self) -> Vec<&str> {
        self.replicas.iter().map(String::as_str).collect()
    }

    fn build(&self, cx: &BuildCx<'_>) -> Result<NodeFactory<Payload, Observation>, Error> {
        let replicas = self
            .replicas
            .iter()
            .map(|r| cx.node(r))
            .collect::<Result<Vec<_>, _>>()?;
        let (ops, keys, timeout, read_one) = (self.ops, self.keys, self.timeout, self.canary_read_one);
        Ok(Box::new(move || {
            Box::new(Client {
                replicas: replicas.clone(),
                ops,
                keys,
                timeout,
                read_one,
                phase: Phase::Done,
                op: 0,
                attempts: 0,
                answers: 0,
                best: (0, 0),
            })
        }))
    }

    fn without_canaries(&self) -> Self {
        ClientRole {
            canary_read_one: false,
            ..self.clone()
        }
    }

    fn work(&self) -> Option<u64> {
        Some(self.ops)
    }

    fn set_work(&mut self, n: u64) {
        self.ops = n;
    }
}

/// A get never returns a version older than the last put of its key acknowledged
/// before the get was sent.
pub const NO_STALE_READ: CheckId = CheckId::new("kv.no_stale_read");
/// Every client finishes its operations within `checks.kv_progress_bound` of the heal.
pub const PROGRESS: CheckId = CheckId::new("kv.progress");

/// The `kv.progress` check: which clients finished, judged against the heal.
struct Progressed {
    /// The clients' names.
    clients: Vec<String>,
    /// The nodes that observed `Done`.
    done: BTreeSet<NodeId>,
    bound: SimTime,
}

impl Check for Progressed {
    fn id(&self) -> CheckId {
        PROGRESS
    }

    fn observe(&mut self, rec: &Record<Observation>) {
        if let Some(KvObs::Done { .. }) = rec.obs.get::<KvObs>() {
            self.done.insert(rec.node);
        }
    }

    fn verdict(&mut self, cx: &CheckContext) -> Option<Verdict> {
        // detsim's liveness rule: work undone at the end is due `bound` after the heal;
        // past due it is a violation, before it (or with a fault never healed) the check
        // is not judged, never passed.
        let mut judge = Judge::new(cx, PROGRESS, ("client", "clients"));
        for (i, name) in cx.names.iter().enumerate() {
            if !self.clients.contains(name) || self.done.contains(&NodeId(i as u32)) {
                continue;
            }
            if let Some(o) = judge.undone(SimTime::ZERO, self.bound) {
                let message = format!("{name} had not finished its operations: {}", o.why);
                judge.push(Violation::new(PROGRESS, message, o.at, cx, Vec::new()));
            }
        }
        Some(judge.finish())
    }
}

/// Counts of the store's operations, reported under `metrics.kv`.
#[derive(Default)]
struct Counts {
    puts: u64,
    gets: u64,
    stale: u64,
}

impl Metrics for Counts {
    fn observe(&mut self, rec: &Record<Observation>) {
        match rec.obs.get::<KvObs>() {
            Some(KvObs::Put { .. }) => self.puts += 1,
            Some(KvObs::Get { ver, acked, .. }) => {
                self.gets += 1;
                self.stale += u64::from(ver < acked);
            }
            _ => {}
        }
    }

    fn finish(&self, _end: SimTime) -> serde_json::Value {
        serde_json::json!({ "puts": self.puts, "gets": self.gets, "stale_reads": self.stale })
    }
}

/// The key-value store as a detsim protocol.
pub struct Kv;

impl Protocol for Kv {
    fn name(&self) -> &'static str {
        "kv"
    }

    fn roles(&self) -> Vec<RoleDef> {
        vec![
            RoleDef::of::<ReplicaRole>("kv_replica"),
            RoleDef::of::<ClientRole>("kv_client"),
        ]
    }

    fn settings(&self) -> Vec<Setting> {
        vec![Setting::new("kv_progress_bound", SimTime::from_secs(5))]
    }

    fn checks(&self, s: &ScenarioView<'_>) -> Vec<Box<dyn Check>> {
        let clients = s
            .nodes
            .iter()
            .filter(|n| n.role == "kv_client")
            .map(|n| n.id.to_string())
            .collect();
        let bound = s.settings.get("kv_progress_bound").unwrap_or(SimTime::from_secs(5));
        vec![
            always(NO_STALE_READ, |r: &Record<KvObs>| match r.obs {
                KvObs::Get { key, ver, acked } if ver < acked => Err(format!(
                    "get of k{key} returned version {ver}, but version {acked} was acknowledged before the get was sent"
                )),
                _ => Ok(()),
            }),
            Box::new(Progressed {
                clients,
                done: BTreeSet::new(),
                bound,
            }),
        ]
    }

    fn metrics(&self, _s: &ScenarioView<'_>) -> Option<Box<dyn Metrics>> {
        Some(Box::new(Counts::default()))
    }

    fn summary(&self, m: &serde_json::Value) -> Option<String> {
        Some(format!(
            "{} puts, {} gets, {} stale reads",
            m["puts"], m["gets"], m["stale_reads"]
        ))
    }

    fn label(&self, msg: &Payload) -> Option<String> {
        msg.downcast_ref::<KvMsg>().map(KvMsg::to_string)
    }
}
