//! The store's checks, fed each observation as it is made.
//!
//! | check | property |
//! |---|---|
//! | `rkv.linearizable` | the clients' operations (invocation to return, the value each get read; an operation a client gave up on, or still open at the end, has an unknown outcome) are linearizable under [`crate::linearizability::Kv`], a model of a key-value map written independently of the store's own state machine; judged at the end by [`crate::linearizability::check`] within a deterministic step budget (out of budget: `not_judged`, with the reason). A run in which no operation returned is `not_judged`, never a vacuous pass. A violation names the operation that cannot be placed, its key, the length of the longest linearizable prefix and the states the key could be in, at that operation's time and client |
//! | `rkv.progress` | every client finishes its operations within `checks.rkv_progress_bound` of the heal (the rule of [`crate::check::Judge`]), and no operation is given up on unless a fault was in force during it or in the `rkv_settle` before its invocation |

use std::collections::{BTreeMap, BTreeSet};

use super::{KvOp, RkvObs};
use crate::check::{CheckContext, CheckId, Evidence, Judge, Verdict, Violation};
use crate::engine::history::Record;
use crate::engine::node::NodeId;
use crate::engine::time::SimTime;
use crate::linearizability::{Budget, Evidence as LinEvidence, Kv, KvInput, KvOutput, Operation, Outcome, check};
use crate::plugin::{Check, Observation};

/// The id of `rkv.linearizable`.
pub const LINEARIZABLE: CheckId = CheckId::new("rkv.linearizable");
/// The id of `rkv.progress`.
pub const PROGRESS: CheckId = CheckId::new("rkv.progress");

/// The search steps `rkv.linearizable` may take (deterministic: steps, not time).
pub const MAX_STEPS: u64 = 5_000_000;
/// The memory its search cache may take.
pub const MAX_MEMORY_BYTES: u64 = 256 << 20;

/// One client operation as the clients observed it.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientOp {
    /// The client.
    pub node: NodeId,
    /// Its sequence number.
    pub seq: u64,
    /// What it asked.
    pub op: KvOp,
    /// When it was invoked.
    pub call: SimTime,
    /// When it returned and what it read (`None`: it never returned).
    pub ret: Option<(SimTime, Option<String>)>,
    /// When the client gave up on it.
    pub gave_up: Option<SimTime>,
}

impl ClientOp {
    /// The operation for the checker: a get's output is the value read, a write's `Ok`;
    /// unknown (no output) when it never returned.
    pub fn to_operation(&self) -> Operation<KvInput, KvOutput> {
        let key = format!("k{}", self.op.key());
        let input = match &self.op {
            KvOp::Get { .. } => KvInput::Get { key },
            KvOp::Put { value, .. } => KvInput::Put {
                key,
                value: value.clone(),
            },
            KvOp::Append { value, .. } => KvInput::Append {
                key,
                value: value.clone(),
            },
        };
        let output = self.ret.as_ref().map(|(_, v)| match v {
            Some(v) => KvOutput::Value(v.clone()),
            None => KvOutput::Ok,
        });
        Operation {
            client: u64::from(self.node.0),
            input,
            call: self.call.as_nanos(),
            ret: self
                .ret
                .as_ref()
                .map(|(t, _)| t.as_nanos())
                .or(self.gave_up.map(|t| t.as_nanos())),
            output,
        }
    }

    /// When it ended (returned or given up), if it did.
    pub fn end(&self) -> Option<SimTime> {
        self.ret.as_ref().map(|(t, _)| *t).or(self.gave_up)
    }
}

/// The client operations of a run, built from the observations as they are made.
#[derive(Clone, Debug, Default)]
pub struct Ops {
    /// Every operation, in invocation order.
    pub ops: Vec<ClientOp>,
    /// (client, seq) -> index, while it is open.
    open: BTreeMap<(NodeId, u64), usize>,
}

impl Ops {
    /// Take one observation into account.
    pub fn observe(&mut self, at: SimTime, node: NodeId, obs: &RkvObs) {
        match obs {
            RkvObs::Invoke { seq, op } => {
                self.open.insert((node, *seq), self.ops.len());
                self.ops.push(ClientOp {
                    node,
                    seq: *seq,
                    op: op.clone(),
                    call: at,
                    ret: None,
                    gave_up: None,
                });
            }
            RkvObs::Return { seq, value, .. } => {
                if let Some(i) = self.open.remove(&(node, *seq)) {
                    self.ops[i].ret = Some((at, value.clone()));
                }
            }
            RkvObs::GaveUp { seq, .. } => {
                if let Some(i) = self.open.remove(&(node, *seq)) {
                    self.ops[i].gave_up = Some(at);
                }
            }
            RkvObs::Done { .. } | RkvObs::Leader { .. } => {}
        }
    }
}

/// `rkv.linearizable`.
pub struct Linearizable {
    ops: Ops,
    max_steps: u64,
    /// The counterexample of the last verdict, for the report.
    evidence: Option<LinEvidence>,
}

impl Linearizable {
    /// The check, with a search budget of `max_steps` steps.
    pub fn new(max_steps: u64) -> Self {
        Linearizable {
            ops: Ops::default(),
            max_steps,
            evidence: None,
        }
    }
}

fn describe(o: &ClientOp) -> String {
    match &o.ret {
        Some((_, Some(v))) => format!("{} -> {v:?}", o.op),
        Some((_, None)) => format!("{} -> ok", o.op),
        None => format!("{} -> ? (unknown)", o.op),
    }
}

/// The verdict on `ops` (see the module's table).
pub fn judge_linearizable(ops: &[ClientOp], max_steps: u64, cx: &CheckContext) -> Verdict {
    judge_with_evidence(ops, max_steps, cx).0
}

/// [`judge_linearizable`], with the counterexample's [`LinEvidence`] when there is one.
fn judge_with_evidence(ops: &[ClientOp], max_steps: u64, cx: &CheckContext) -> (Verdict, Option<LinEvidence>) {
    // Only a read that returned a value can contradict a history (writes and unknown
    // outcomes fit any order), so a run without one judged nothing: never a pass.
    if !ops.iter().any(|o| matches!(o.ret, Some((_, Some(_))))) {
        let v = Verdict {
            check: LINEARIZABLE,
            violations: Vec::new(),
            not_judged: Some(if ops.is_empty() {
                "no client operation was invoked, so nothing was judged".to_string()
            } else if !ops.iter().any(|o| o.ret.is_some()) {
                format!(
                    "none of the {} client operations returned, so nothing was judged",
                    ops.len()
                )
            } else {
                format!(
                    "no read returned a value among the {} client operations (writes alone fit any order), so nothing was judged",
                    ops.len()
                )
            }),
        };
        return (v, None);
    }
    let history: Vec<_> = ops.iter().map(ClientOp::to_operation).collect();
    let budget = Budget {
        max_steps,
        max_memory_bytes: MAX_MEMORY_BYTES,
        cancel: None,
    };
    match check(&Kv, &history, &budget) {
        Outcome::Linearizable => (Verdict::judged(LINEARIZABLE, Vec::new()), None),
        Outcome::Unknown { reason } => (
            Verdict {
                check: LINEARIZABLE,
                violations: Vec::new(),
                not_judged: Some(format!("the linearizability search stopped before a verdict: {reason}")),
            },
            None,
        ),
        Outcome::NotLinearizable(ce) => {
            let violations = ce
                .partitions
                .iter()
                .map(|p| {
                    let bad = &ops[p.blocked];
                    let at = bad.end().unwrap_or(cx.end);
                    let key = p.key.clone().unwrap_or_else(|| format!("k{}", bad.op.key()));
                    let states: Vec<String> = p.states.clone();
                    let message = format!(
                        "{} by {} (operation {}, invoked at {}) cannot be placed: on key {key} the longest linearizable prefix has {} of its {} operations, after which {key} could only be {}{}",
                        describe(bad),
                        cx.name(bad.node),
                        bad.seq,
                        bad.call,
                        p.prefix.len(),
                        p.ops.len(),
                        states.join(" or "),
                        if p.more_states { " (or more)" } else { "" }
                    );
                    let mut events: Vec<Evidence> = vec![cx.evidence(
                        bad.call,
                        bad.node,
                        format!("invoke {} (operation {})", bad.op, bad.seq),
                    )];
                    if let Some(end) = bad.end() {
                        events.push(cx.evidence(end, bad.node, format!("return {}: cannot be placed", describe(bad))));
                    }
                    // The last operations of the prefix, for context.
                    for placed in p.prefix.iter().rev().take(3).rev() {
                        let o = &ops[placed.op];
                        events.push(cx.evidence(
                            o.end().unwrap_or(o.call),
                            o.node,
                            format!(
                                "linearized {} (operation {}): {key} = {}",
                                describe(o),
                                o.seq,
                                placed.state_after
                            ),
                        ));
                    }
                    Violation::new(LINEARIZABLE, message, at, cx, events)
                })
                .collect();
            let evidence = LinEvidence::new(&Kv, &history, &ce, |client| NodeId(client as u32));
            (Verdict::judged(LINEARIZABLE, violations), Some(evidence))
        }
    }
}

impl Check for Linearizable {
    fn id(&self) -> CheckId {
        LINEARIZABLE
    }
    fn observe(&mut self, rec: &Record<Observation>) {
        if let Some(o) = rec.obs.get::<RkvObs>() {
            self.ops.observe(rec.at, rec.node, o);
        }
    }
    fn verdict(&mut self, cx: &CheckContext) -> Option<Verdict> {
        let (verdict, evidence) = judge_with_evidence(&self.ops.ops, self.max_steps, cx);
        self.evidence = evidence;
        Some(verdict)
    }
    fn evidence(&self) -> Option<LinEvidence> {
        self.evidence.clone()
    }
}

/// `rkv.progress`.
pub struct Progress {
    ops: Ops,
    done: BTreeSet<NodeId>,
    bound: SimTime,
    settle: SimTime,
}

impl Progress {
    /// The check: clients done within `bound` of the heal; no operation given up on
    /// without a fault in force during it or `settle` before it.
    pub fn new(bound: SimTime, settle: SimTime) -> Self {
        Progress {
            ops: Ops::default(),
            done: BTreeSet::new(),
            bound,
            settle,
        }
    }
}

impl Check for Progress {
    fn id(&self) -> CheckId {
        PROGRESS
    }
    fn observe(&mut self, rec: &Record<Observation>) {
        match rec.obs.get::<RkvObs>() {
            Some(RkvObs::Done { .. }) => {
                self.done.insert(rec.node);
            }
            Some(o) => self.ops.observe(rec.at, rec.node, o),
            None => {}
        }
    }
    fn verdict(&mut self, cx: &CheckContext) -> Option<Verdict> {
        let mut judge = Judge::new(cx, PROGRESS, ("operation", "operations"));
        let healed = cx.healed_at();
        let mut invoked: BTreeMap<NodeId, u64> = BTreeMap::new();
        for o in &self.ops.ops {
            *invoked.entry(o.node).or_default() += 1;
            let Some(at) = o.gave_up else { continue };
            if cx.disturbed_during(o.call.saturating_sub(self.settle), at) {
                if healed.is_none() {
                    judge.pending();
                }
                continue;
            }
            judge.push(Violation::new(
                PROGRESS,
                format!(
                    "{} gave up on operation {} ({}) invoked at {}, at {}, with no fault in force during it or {} before it",
                    cx.name(o.node),
                    o.seq,
                    o.op,
                    o.call,
                    at,
                    self.settle
                ),
                at,
                cx,
                vec![
                    cx.evidence(o.call, o.node, format!("invoke {} (operation {})", o.op, o.seq)),
                    cx.evidence(at, o.node, format!("gave up on operation {}", o.seq)),
                ],
            ));
        }
        let clients: Vec<NodeId> = cx
            .sources
            .iter()
            .filter(|s| s.check == PROGRESS)
            .map(|s| s.node)
            .collect();
        for node in clients {
            if self.done.contains(&node) || invoked.get(&node).copied().unwrap_or(0) == 0 {
                continue;
            }
            if let Some(o) = judge.undone(SimTime::ZERO, self.bound) {
                let message = format!("{} had not finished its operations: {}", cx.name(node), o.why);
                judge.push(Violation::new(PROGRESS, message, o.at, cx, Vec::new()));
            }
        }
        judge.sources(|node| invoked.get(&node).copied().unwrap_or(0));
        Some(judge.finish())
    }
}
