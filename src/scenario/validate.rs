//! Semantic checks of a parsed scenario, and the limits that keep an untrusted file from
//! exhausting the machine. Every problem is reported with its field path.

use std::collections::BTreeSet;

use crate::engine::net::{Latency, check_probability};
use crate::engine::time::SimTime;

use super::{FaultSpec, LinkSpec, NemesisSpec, Scenario};
use crate::engine::fault::DurationRange;

/// Most nodes a scenario may have.
pub const MAX_NODES: usize = 10_000;
/// Longest virtual duration.
pub const MAX_DURATION: SimTime = SimTime::from_secs(30 * 24 * 3600);
/// Largest event budget.
pub const MAX_EVENTS: u64 = 2_000_000_000;
/// Most scheduled faults.
pub const MAX_FAULTS: usize = 100_000;
// The nemesis plans no more windows than a scenario may schedule (a FAILURE file holds them).
const _: () = assert!(crate::engine::fault::MAX_PLANNED == MAX_FAULTS);
/// Largest batch of jobs (the dispatcher queues a batch at once).
pub const MAX_BATCH_JOBS: u64 = 10_000_000;

/// A problem: (field path, message).
pub type Problem = (String, String);

/// The node ids a scenario declares, for reference checks.
pub struct Ids<'a>(BTreeSet<&'a str>);

impl Ids<'_> {
    /// Complain unless `id` names a node.
    pub fn check(&self, path: &str, id: &str, out: &mut Vec<Problem>) {
        if !self.0.contains(id) {
            out.push((
                path.to_string(),
                format!("unknown node id {id:?}; expected one of the ids in `nodes`"),
            ));
        }
    }
}

/// Every problem found in `s` (empty: the scenario is valid).
pub fn validate(s: &Scenario) -> Vec<Problem> {
    let mut out = Vec::new();
    if s.name.trim().is_empty() {
        out.push(("name".into(), "must not be empty".into()));
    }
    if s.duration == SimTime::ZERO {
        out.push(("duration".into(), "must be greater than zero".into()));
    }
    if s.duration > MAX_DURATION {
        out.push((
            "duration".into(),
            format!("{} is over the limit of {MAX_DURATION}", s.duration),
        ));
    }
    if s.max_events == 0 || s.max_events > MAX_EVENTS {
        out.push((
            "max_events".into(),
            format!("must be between 1 and {MAX_EVENTS}, got {}", s.max_events),
        ));
    }
    if s.nodes.is_empty() {
        out.push(("nodes".into(), "a scenario needs at least one node".into()));
    }
    if s.nodes.len() > MAX_NODES {
        out.push((
            "nodes".into(),
            format!("{} nodes is over the limit of {MAX_NODES}", s.nodes.len()),
        ));
        return out;
    }
    let mut seen = BTreeSet::new();
    for (i, n) in s.nodes.iter().enumerate() {
        let id = n.id();
        if id.trim().is_empty() {
            out.push((format!("nodes[{i}].id"), "must not be empty".into()));
        } else if !seen.insert(id) {
            out.push((format!("nodes[{i}].id"), format!("duplicate node id {id:?}")));
        }
    }
    let ids = Ids(seen);
    for (i, n) in s.nodes.iter().enumerate() {
        n.validate(&format!("nodes[{i}]"), &ids, s, &mut out);
    }
    work(s, &mut out);
    s.checks.validate("checks", &mut out);
    link(&s.network.default, "network.default", &mut out);
    for (i, l) in s.network.links.iter().enumerate() {
        let p = format!("network.links[{i}]");
        ids.check(&format!("{p}.from"), &l.from, &mut out);
        ids.check(&format!("{p}.to"), &l.to, &mut out);
        link(&l.over(&s.network.default), &p, &mut out);
    }
    if s.faults.len() > MAX_FAULTS {
        out.push((
            "faults".into(),
            format!("{} faults is over the limit of {MAX_FAULTS}", s.faults.len()),
        ));
    }
    for (i, f) in s.faults.iter().enumerate() {
        fault(f, &format!("faults[{i}]"), s.duration, &ids, &mut out);
    }
    if let Some(n) = &s.nemesis {
        nemesis(n, s.duration, &ids, &mut out);
    }
    out
}

/// Work that cannot be done vacuously: every configured count of calls or jobs is at
/// least 1 (and a batch within its limit), a dispatcher's queue holds at least one job,
/// every dispatcher is served by at least one worker, and one that takes its jobs from
/// pool clients has at least one. A run that made no work, or whose work nobody could
/// do, has nothing for its checks to judge.
fn work(s: &Scenario, out: &mut Vec<Problem>) {
    use super::NodeSpec;
    use super::nodes::ArrivalsSpec;
    let at_least_one = |path: String, what: &str, n: u64, out: &mut Vec<Problem>| {
        if n == 0 {
            out.push((
                path,
                format!("must be at least 1 (a run with no {what} has nothing to check)"),
            ));
        }
    };
    for (i, n) in s.nodes.iter().enumerate() {
        let p = format!("nodes[{i}]");
        match n {
            NodeSpec::RpcClient { calls, .. } => at_least_one(format!("{p}.calls"), "calls", *calls, out),
            NodeSpec::PoolClient { jobs: Some(jobs), .. } => at_least_one(format!("{p}.jobs"), "jobs", *jobs, out),
            NodeSpec::Dispatcher {
                id,
                arrivals,
                queue_capacity,
                register,
                ..
            } => {
                match arrivals {
                    ArrivalsSpec::Batch { jobs } => {
                        at_least_one(format!("{p}.arrivals.jobs"), "jobs", *jobs, out);
                        if *jobs > MAX_BATCH_JOBS {
                            out.push((
                                format!("{p}.arrivals.jobs"),
                                format!("a batch of {jobs} jobs is over the limit of {MAX_BATCH_JOBS}"),
                            ));
                        }
                    }
                    ArrivalsSpec::Poisson { jobs: Some(jobs), .. } => {
                        at_least_one(format!("{p}.arrivals.jobs"), "jobs", *jobs, out)
                    }
                    ArrivalsSpec::Poisson { jobs: None, .. } | ArrivalsSpec::Clients => {}
                }
                if *queue_capacity == Some(0) {
                    out.push((
                        format!("{p}.queue_capacity"),
                        "must be at least 1 (a queue that holds no job rejects every job)".into(),
                    ));
                }
                if matches!(arrivals, ArrivalsSpec::Clients)
                    && !s.nodes.iter().any(|c| serves(c, "pool_client", id, register.as_ref()))
                {
                    out.push((
                        format!("{p}.arrivals"),
                        format!(
                            "dispatcher {id:?} takes its jobs from pool clients (\"kind\": \"clients\") and none \
                             names it: the run would make no job; add a pool_client with \"dispatcher\": {id:?}{}",
                            by_service(register.as_ref(), "pool_client")
                        ),
                    ));
                }
                if !s.nodes.iter().any(|w| serves(w, "worker", id, register.as_ref())) {
                    out.push((
                        p,
                        format!(
                            "dispatcher {id:?} has no worker: its jobs could never be done; add a worker with \
                             \"dispatcher\": {id:?}{}",
                            by_service(register.as_ref(), "worker")
                        ),
                    ));
                }
            }
            _ => {}
        }
    }
}

/// Is `n` a node of `role` (a worker or a pool client) that reaches dispatcher `id`: by
/// naming it in `dispatcher`, or by a `service` naming the registry and service the
/// dispatcher registers under?
fn serves(n: &super::NodeSpec, role: &str, id: &str, register: Option<&super::nodes::RegisterSpec>) -> bool {
    match n {
        super::NodeSpec::Worker {
            dispatcher, service, ..
        }
        | super::NodeSpec::PoolClient {
            dispatcher, service, ..
        } if n.role() == role => {
            dispatcher.as_deref() == Some(id)
                || service
                    .as_ref()
                    .zip(register)
                    .is_some_and(|(svc, r)| svc.registry == r.registry && svc.service == r.service)
        }
        _ => false,
    }
}

/// The hint for a dispatcher that registers: a `role` node may find it by its service.
fn by_service(register: Option<&super::nodes::RegisterSpec>, role: &str) -> String {
    register
        .map(|r| {
            format!(
                ", or a {role} whose `service` is {{\"registry\": {:?}, \"service\": {:?}}}",
                r.registry, r.service
            )
        })
        .unwrap_or_default()
}

/// A positive duration.
pub fn positive(path: &str, t: SimTime, out: &mut Vec<Problem>) {
    if t == SimTime::ZERO {
        out.push((path.to_string(), "must be greater than zero".into()));
    }
}

/// A probability in [0, 1].
pub fn probability(path: &str, p: f64, out: &mut Vec<Problem>) {
    if check_probability(path, p).is_err() {
        out.push((path.to_string(), format!("must be a probability in [0, 1], got {p}")));
    }
}

fn link(l: &LinkSpec, path: &str, out: &mut Vec<Problem>) {
    probability(&format!("{path}.drop"), l.drop, out);
    probability(&format!("{path}.duplicate"), l.duplicate, out);
    dist(&l.latency, &format!("{path}.latency"), out);
}

/// Problems of a duration distribution (a latency, a service or think time) at `path`.
pub fn dist(l: &Latency, path: &str, out: &mut Vec<Problem>) {
    let mut bad = |field: &str, msg: &str| out.push((format!("{path}.{field}"), msg.to_string()));
    match *l {
        Latency::Constant { .. } | Latency::Normal { .. } => {}
        Latency::Uniform { min, max } => {
            if min > max {
                bad("min", "must not be greater than max");
            }
        }
        Latency::Exponential { mean } => {
            if mean == SimTime::ZERO {
                bad("mean", "must be greater than zero");
            }
        }
        Latency::LogNormal { median, sigma } => {
            if median == SimTime::ZERO {
                bad("median", "must be greater than zero");
            }
            if !sigma.is_finite() || sigma < 0.0 {
                bad("sigma", "must be a finite number >= 0");
            }
        }
        Latency::Pareto { scale, alpha } => {
            if scale == SimTime::ZERO {
                bad("scale", "must be greater than zero");
            }
            if !alpha.is_finite() || alpha <= 0.0 {
                bad("alpha", "must be a finite number > 0");
            }
        }
    }
}

fn fault(f: &FaultSpec, path: &str, end: SimTime, ids: &Ids, out: &mut Vec<Problem>) {
    let at = f.at;
    if at > end {
        out.push((
            format!("{path}.at"),
            format!("{at} is after the end of the run ({end})"),
        ));
    }
    if let Some(u) = f.until {
        if !f.fault.lasts() {
            out.push((
                format!("{path}.until"),
                format!("a {} fault acts at an instant: it has no window", f.fault.kind()),
            ));
        } else if u <= at {
            out.push((format!("{path}.until"), format!("{u} must be after `at` ({at})")));
        } else if u > end {
            out.push((
                format!("{path}.until"),
                format!("{u} is after the end of the run ({end})"),
            ));
        }
    }
    for (field, node) in f.fault.node_refs() {
        ids.check(&format!("{path}.{field}"), node, out);
    }
    for (field, msg) in f.fault.problems() {
        out.push((format!("{path}.{field}"), msg));
    }
    if let Some(config) = f.fault.config() {
        link(&LinkSpec::from(config), &format!("{path}.config"), out);
    }
}

fn range(r: &DurationRange, path: &str, out: &mut Vec<Problem>) {
    if r.min > r.max {
        out.push((format!("{path}.min"), "must not be greater than max".into()));
    }
    positive(&format!("{path}.max"), r.max, out);
}

fn nemesis(n: &NemesisSpec, end: SimTime, ids: &Ids, out: &mut Vec<Problem>) {
    if n.stop <= n.start {
        out.push(("nemesis.stop".into(), "must be after nemesis.start".into()));
    }
    if n.stop > end {
        out.push((
            "nemesis.stop".into(),
            format!("{} is after the end of the run ({end})", n.stop),
        ));
    }
    let mut named = BTreeSet::new();
    for (i, t) in n.targets.iter().enumerate() {
        ids.check(&format!("nemesis.targets[{i}]"), t, out);
        if !named.insert(t.as_str()) {
            out.push((
                format!("nemesis.targets[{i}]"),
                format!("node {t:?} is named twice in nemesis.targets"),
            ));
        }
    }
    for (field, r) in [
        ("crash_rate", n.crash_rate),
        ("pause_rate", n.pause_rate),
        ("partition_rate", n.partition_rate),
        ("clog_rate", n.clog_rate),
        ("loss_rate", n.loss_rate),
    ] {
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
    for (field, r) in [
        ("downtime", &n.downtime),
        ("pause_time", &n.pause_time),
        ("partition_time", &n.partition_time),
        ("clog_time", &n.clog_time),
        ("loss_time", &n.loss_time),
    ] {
        range(r, &format!("nemesis.{field}"), out);
    }
    probability("nemesis.burst_drop", n.burst_drop, out);
    probability("nemesis.burst_duplicate", n.burst_duplicate, out);
}
