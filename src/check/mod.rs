//! Checkers: invariants judged over a run's observations. The built-in ones are online
//! (fed each observation as it is made, keeping only live state; see `crate::plugin::Check`),
//! and each gives its [`Verdict`] at the end: the violations it found (a violation names
//! the check, the events involved with their times and nodes, and is reproducible by the
//! run's seed), or, for a liveness check that could not judge the run, why not.
//!
//! Three statuses ([`Status`]): `pass` (judged, no violation), `fail` (a violation), and
//! `not_judged`: no violation, but work was still undone when the run ended and it was
//! not yet due (a fault never healed, or the run ended before the work's deadline). Work
//! left undone is never a pass; the rule is in `liveness.rs`, what was still in force at
//! the end in `heal.rs` ([`unhealed`]).

use serde::{Deserialize, Serialize};

use crate::engine::history::Record;
use crate::engine::node::NodeId;
use crate::engine::time::SimTime;

pub(crate) mod heal;
pub(crate) mod liveness;
pub(crate) mod runs;

pub use heal::{Unhealed, UnhealedKind, crashes, unhealed};
pub use liveness::{Judge, Overdue};

pub use runs::{IdSet, RunMap};

/// A check's typed id, e.g. `rpc.at_most_once`: a check declares it once as a constant
/// (`pub const AT_MOST_ONCE: CheckId = CheckId::new("rpc.at_most_once")`), and its
/// verdict and violations carry it. In JSON it is the same string.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CheckId(&'static str);

impl CheckId {
    /// The id named `name` (`protocol.property`).
    pub const fn new(name: &'static str) -> CheckId {
        CheckId(name)
    }

    /// The name.
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

impl std::fmt::Debug for CheckId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.0, f)
    }
}

impl std::fmt::Display for CheckId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl PartialEq<str> for CheckId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for CheckId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for CheckId {
    fn eq(&self, other: &String) -> bool {
        self.0 == other
    }
}

impl Serialize for CheckId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

/// A check's status (ordered: pass < not judged < fail, so a run's is the max).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Judged: no violation, and no work left undone.
    Pass,
    /// No violation, but work was undone at the end and not yet due (a fault still in
    /// force, or a run too short): the run cannot say pass or fail.
    NotJudged,
    /// At least one violation.
    Fail,
}

/// A node the scenario configured to make work that a liveness check judges (an RPC
/// client's calls, a dispatcher's batch, a pool client's jobs, a registrant's
/// registration), so that a run in which it made none cannot pass.
#[derive(Clone, Debug, PartialEq)]
pub struct Source {
    /// The check that judges its work, e.g. `pool.liveness`.
    pub check: CheckId,
    /// The node.
    pub node: NodeId,
    /// What it makes, for messages: (singular, plural), e.g. `("call", "calls")`.
    pub items: (&'static str, &'static str),
    /// How many it was configured to make (`None`: no limit).
    pub configured: Option<u64>,
    /// When its first item is due: `(start, within)` means by `max(start, heal) + within`.
    /// `None` when that is up to chance (Poisson arrivals): then making none is never
    /// a violation, only not judged.
    pub first_due: Option<(SimTime, SimTime)>,
}

/// What a checker needs to know about the run besides the history.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckContext {
    /// The run's seed.
    pub seed: u64,
    /// When the run ended.
    pub end: SimTime,
    /// When the last fault period ended, i.e. when the run healed (`ZERO` with no
    /// faults): when the faults actually ended, not when they were planned to. Liveness is judged from here
    /// when the run healed, i.e. when [`CheckContext::unhealed`] is empty; otherwise the
    /// heal never happened (see [`CheckContext::healed_at`]).
    pub heal_at: SimTime,
    /// When the first fault window began (`None` with no faults): before it, as after
    /// the heal, the system ran without faults.
    pub first_fault_at: Option<SimTime>,
    /// The periods during which some fault window was in force, `(from, until)` in time
    /// order (the last one ends at `end` when it never healed): from the engine's
    /// [`crate::Simulation::fault_periods`], so an undo that undid nothing, a window an
    /// explicit `heal` ended early or one that held nothing counts for what it did.
    pub fault_periods: Vec<(SimTime, SimTime)>,
    /// Each fault window's time really in force, `(from, until, what it touched)` (a
    /// window still in force ends at `end`).
    pub fault_spans: Vec<(SimTime, SimTime, heal::Touch)>,
    /// What was still in force when the run ended (computed by [`heal::unhealed`]).
    pub unhealed: Vec<Unhealed>,
    /// Every crash of the run up to its end: `(time, node)`, in time order.
    pub crashes: Vec<(SimTime, NodeId)>,
    /// The run ended with nothing left to happen (no event queued).
    pub quiescent: bool,
    /// Node names, by id (the scenario's node ids); messages name nodes by these.
    pub names: Vec<String>,
    /// The work the scenario configured (see [`Source`]).
    pub sources: Vec<Source>,
    /// The scenario's one liveness bound (`"checks": {"liveness": "10s"}`), if given:
    /// every liveness check judges its work due at `max(start, heal) + liveness`
    /// instead of its protocol's own bound (see [`LIVENESS_KEY`]).
    pub liveness: Option<SimTime>,
    /// Messages still waiting in node inboxes when the run ended (nodes with a
    /// processing model; see `engine/processing.rs`): `(node, count)`, in node order,
    /// only nodes with some.
    pub backlog: Vec<(NodeId, u64)>,
}

/// The key of the scenario's one liveness bound in the `checks` section
/// (`"checks": {"liveness": "10s"}`): a protocol reads it from its settings
/// ([`crate::plugin::ScenarioView::liveness`]) or from [`CheckContext::liveness`].
pub const LIVENESS_KEY: &str = "liveness";

impl CheckContext {
    /// A context with no fault, not quiescent, no names and no configured work: the
    /// base for hand-built contexts (`CheckContext { heal_at, ..CheckContext::new(seed, end) }`).
    pub fn new(seed: u64, end: SimTime) -> Self {
        CheckContext {
            seed,
            end,
            heal_at: SimTime::ZERO,
            first_fault_at: None,
            fault_periods: Vec::new(),
            fault_spans: Vec::new(),
            unhealed: Vec::new(),
            crashes: Vec::new(),
            quiescent: false,
            names: Vec::new(),
            sources: Vec::new(),
            liveness: None,
            backlog: Vec::new(),
        }
    }

    /// The context of a finished run: its seed and end, when its faults (nemesis
    /// included) began and ended, what was still in force, whether anything was left to
    /// happen, and its node names. `sources` is left empty (the scenario layer fills it).
    pub fn after<M: crate::engine::node::Message, O: 'static>(sim: &crate::engine::sim::Simulation<M, O>) -> Self {
        let faults = sim.realized_faults();
        CheckContext {
            seed: sim.seed(),
            end: sim.now(),
            // When the faults actually ended; while one is still in force, when the last
            // one began (nothing after it is "after the heal").
            heal_at: match sim.fault_periods().last() {
                Some(&(_, Some(healed))) => healed,
                Some(&(_, None)) => faults
                    .iter()
                    .map(|f| f.at)
                    .filter(|&t| t <= sim.now())
                    .max()
                    .unwrap_or(SimTime::ZERO),
                None => SimTime::ZERO,
            },
            first_fault_at: sim.fault_periods().first().map(|p| p.0),
            fault_spans: sim
                .fault_spans()
                .iter()
                .map(|&(i, from, until)| {
                    let touch = faults.get(i as usize).map_or(heal::Touch::All, |f| f.fault.touches());
                    (from, until.unwrap_or(sim.now()), touch)
                })
                .collect(),
            fault_periods: sim
                .fault_periods()
                .iter()
                .map(|&(from, until)| (from, until.unwrap_or(sim.now())))
                .collect(),
            unhealed: heal::unhealed(sim),
            crashes: heal::crashes(faults, sim.now()),
            quiescent: sim.pending_events() == 0,
            names: sim.node_names().to_vec(),
            sources: Vec::new(),
            liveness: None,
            backlog: (0..sim.node_names().len() as u32)
                .map(NodeId)
                .map(|n| (n, sim.queued(n) as u64))
                .filter(|(_, q)| *q > 0)
                .collect(),
        }
    }

    /// The bound a liveness check judges its work by: the scenario's one bound
    /// ([`CheckContext::liveness`]) when given, else `own` (the protocol's).
    pub fn liveness_bound(&self, own: SimTime) -> SimTime {
        self.liveness.unwrap_or(own)
    }

    /// The largest backlog left at the end among `nodes` (all nodes: `None`), as
    /// `(node, messages)`: a retry storm that never drained leaves one.
    pub fn largest_backlog(&self, nodes: Option<&[NodeId]>) -> Option<(NodeId, u64)> {
        self.backlog
            .iter()
            .filter(|(n, _)| nodes.is_none_or(|ns| ns.contains(n)))
            .max_by_key(|(n, q)| (*q, std::cmp::Reverse(*n)))
            .copied()
    }

    /// Was some fault in force at any time in `[from, to]`?
    pub fn disturbed_during(&self, from: SimTime, to: SimTime) -> bool {
        self.fault_periods.iter().any(|&(a, b)| a <= to && from <= b)
    }

    /// Was a fault that touched the exchange between `client` and one of `servers`
    /// (`None`: any fault at all) in force at any time in `[from, to]`?
    pub fn disturbed_for(&self, from: SimTime, to: SimTime, client: NodeId, servers: Option<&[NodeId]>) -> bool {
        self.fault_spans.iter().any(|(a, b, touch)| {
            *a <= to
                && from <= *b
                && servers
                    .is_none_or(|ss| ss.iter().any(|s| touch.between(&client, s)) || touch.between(&client, &client))
        })
    }

    /// When the run healed: `heal_at`, or `None` when something was still in force at
    /// the end (then no liveness deadline ever falls due).
    pub fn healed_at(&self) -> Option<SimTime> {
        self.unhealed.is_empty().then_some(self.heal_at)
    }

    /// A node's name (its id in the scenario), or `n<index>` for a node without one.
    pub fn name(&self, id: NodeId) -> String {
        self.names.get(id.0 as usize).cloned().unwrap_or_else(|| id.to_string())
    }

    /// Nodes' names, as a list: `[s1, s2]`.
    pub fn names_of(&self, ids: &[NodeId]) -> String {
        let names: Vec<String> = ids.iter().map(|&n| self.name(n)).collect();
        format!("[{}]", names.join(", "))
    }

    /// Evidence of what happened at `node` at `at`.
    pub fn evidence(&self, at: SimTime, node: NodeId, what: String) -> Evidence {
        Evidence {
            at,
            node,
            name: self.name(node),
            what,
        }
    }

    /// The evidence of one history record: its time and node, and `what` happened.
    pub fn evidence_of<O>(&self, rec: &Record<O>, what: String) -> Evidence {
        self.evidence(rec.at, rec.node, what)
    }
}

/// One event a violation points at.
#[derive(Clone, Debug, PartialEq)]
pub struct Evidence {
    /// When.
    pub at: SimTime,
    /// Which node.
    pub node: NodeId,
    /// That node's name (its id in the scenario).
    pub name: String,
    /// What happened, in words.
    pub what: String,
}

/// A broken invariant.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    /// The check, e.g. `rpc.at_most_once`.
    pub check: CheckId,
    /// What went wrong, in one sentence.
    pub message: String,
    /// When it became visible.
    pub at: SimTime,
    /// The seed of the run.
    pub seed: u64,
    /// The events involved, with their times.
    pub events: Vec<Evidence>,
}

impl Violation {
    /// A violation of `check` that became visible at `at`, in the run of `ctx`.
    pub fn new(check: CheckId, message: String, at: SimTime, ctx: &CheckContext, events: Vec<Evidence>) -> Violation {
        Violation {
            check,
            message,
            at,
            seed: ctx.seed,
            events,
        }
    }
}

/// What one check found.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// The check, e.g. `pool.liveness`.
    pub check: CheckId,
    /// Its violations, in time order.
    pub violations: Vec<Violation>,
    /// Why it could not be judged (work undone and not yet due); `None` when it could.
    /// Ignored when there are violations: a violation is a failure whatever else.
    pub not_judged: Option<String>,
}

impl Verdict {
    /// The verdict of a check that is always judged (safety): pass or fail.
    pub fn judged(check: CheckId, mut violations: Vec<Violation>) -> Verdict {
        violations.sort_by_key(|v| v.at);
        Verdict {
            check,
            violations,
            not_judged: None,
        }
    }

    /// Fail with a violation, else not judged with a reason, else pass.
    pub fn status(&self) -> Status {
        if !self.violations.is_empty() {
            Status::Fail
        } else if self.not_judged.is_some() {
            Status::NotJudged
        } else {
            Status::Pass
        }
    }

    /// Judged, and nothing wrong.
    pub fn passed(&self) -> bool {
        self.status() == Status::Pass
    }

    /// Why it was not judged (only when its status is `not_judged`).
    pub fn reason(&self) -> Option<&str> {
        match self.status() {
            Status::NotJudged => self.not_judged.as_deref(),
            _ => None,
        }
    }
}

/// Every violation of `verdicts`, in time order.
pub fn violations(verdicts: &[Verdict]) -> Vec<Violation> {
    let mut out: Vec<Violation> = verdicts.iter().flat_map(|v| v.violations.iter().cloned()).collect();
    out.sort_by_key(|v| v.at);
    out
}

/// True when every verdict is a pass (judged, and no violation).
pub fn all_passed(verdicts: &[Verdict]) -> bool {
    verdicts.iter().all(Verdict::passed)
}

// JSON carries each time twice: `at` for people ("16.506ms") and `at_ns` for scripts;
// each node as its name (`node`) and its index (`node_index`).
impl Serialize for Evidence {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Evidence", 5)?;
        st.serialize_field("at", &self.at)?;
        st.serialize_field("at_ns", &self.at.as_nanos())?;
        st.serialize_field("node", &self.name)?;
        st.serialize_field("node_index", &self.node)?;
        st.serialize_field("what", &self.what)?;
        st.end()
    }
}

impl Serialize for Violation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Violation", 6)?;
        st.serialize_field("check", &self.check)?;
        st.serialize_field("message", &self.message)?;
        st.serialize_field("at", &self.at)?;
        st.serialize_field("at_ns", &self.at.as_nanos())?;
        st.serialize_field("seed", &self.seed)?;
        st.serialize_field("events", &self.events)?;
        st.end()
    }
}
