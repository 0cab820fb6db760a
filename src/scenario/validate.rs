//! Semantic checks of a parsed scenario, and the limits that keep an untrusted file from
//! exhausting the machine. Every problem is reported with its field path.

use std::collections::BTreeSet;

use crate::engine::net::{Latency, check_probability};
use crate::engine::time::SimTime;

use super::{FaultSpec, LinkSpec, NemesisSpec, Scenario};
use crate::engine::fault::DurationRange;
use crate::plugin::{Protocols, ValidateCx};

/// Most nodes a scenario may have.
pub const MAX_NODES: usize = 10_000;
/// Longest virtual duration.
pub const MAX_DURATION: SimTime = SimTime::from_secs(30 * 24 * 3600);
/// Largest event budget.
pub const MAX_EVENTS: u64 = 2_000_000_000;
/// Most scheduled faults.
pub const MAX_FAULTS: usize = 100_000;
/// Longest node id, in characters: names are copied into observations, verdicts and
/// reports, so a 100,000-character id cost gigabytes (found by the fuzz test).
pub const MAX_ID_CHARS: usize = 200;
// The nemesis plans no more windows than a scenario may schedule (a FAILURE file holds them).
const _: () = assert!(crate::engine::fault::MAX_PLANNED == MAX_FAULTS);
pub use crate::plugin::Problem;

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

/// Every problem found in `s` (empty: the scenario is valid); its nodes and settings
/// are judged by their `protocols`.
pub fn validate(protocols: &Protocols, s: &Scenario) -> Vec<Problem> {
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
        } else if id.chars().count() > MAX_ID_CHARS {
            out.push((
                format!("nodes[{i}].id"),
                format!("{} characters is over the limit of {MAX_ID_CHARS}", id.chars().count()),
            ));
        } else if !seen.insert(id) {
            out.push((format!("nodes[{i}].id"), format!("duplicate node id {id:?}")));
        }
    }
    let ids = Ids(seen);
    let refs = s.node_refs();
    for (i, n) in s.nodes.iter().enumerate() {
        let cx = ValidateCx {
            path: format!("nodes[{i}]"),
            id: &n.id,
            nodes: &refs,
        };
        n.config.validate(&cx, &mut out);
        if let Some(c) = &n.clock {
            c.problems(&format!("nodes[{i}].clock"), s.duration, &mut out);
        }
    }
    s.with_view(protocols, |view| {
        protocols.iter().for_each(|p| p.validate(view, &mut out))
    });
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
    if let Some(b) = &s.buggify {
        b.problems(&mut out);
    }
    if let Some(n) = &s.nemesis {
        nemesis(n, s.duration, &ids, &mut out);
    }
    super::gray::validate(s, &mut out);
    if let Some(st) = &s.storage
        && st.torn_writes
        && st.unsynced_writes == super::UnsyncedWrites::Kept
    {
        out.push((
            "storage.torn_writes".into(),
            "a write is torn only when a crash loses it: give \"unsynced_writes\": \"may_be_lost\"".into(),
        ));
    }
    out
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
    crate::plugin::dist_problems(l, path, out)
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
        ("disk_full_rate", n.disk_full_rate),
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
        ("disk_full_time", &n.disk_full_time),
    ] {
        range(r, &format!("nemesis.{field}"), out);
    }
    probability("nemesis.burst_drop", n.burst_drop, out);
    probability("nemesis.burst_duplicate", n.burst_duplicate, out);
    super::clock::nemesis_problems(n, out);
}
