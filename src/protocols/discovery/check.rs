//! Service-discovery checkers, online: each is a [`Check`] fed every observation as it
//! is made, keeping only live state (who announced and registered what, each
//! registration's last renewal, its heartbeat times as arithmetic runs, the lookups
//! that left a registered server out); the `check_*` functions run them over a history.
//!
//! | check | property |
//! |---|---|
//! | `disc.no_phantom` | every member of every lookup answer (served by a registry, or received by a client) is a node that had sent a heartbeat for that service before; and every member a registry serves was registered at that registry before |
//! | `disc.no_stale` | a registry never serves a member whose last registration or renewal there was more than two TTLs before the lookup (the entry had been expired for more than one TTL) |
//! | `disc.visible_after_heal` | every server still heartbeating at or after `heal_at` is in every answer its registry serves for its service from `max(its first heartbeat after the heal, heal_at) + ttl` on; and every registration (a server heartbeating for a service to a registry, and not itself down or paused at the end) reaches its registry after the last fault (a `Registered` or `Renewed` there at or after `heal_at`), by the rule of [`crate::check`]: a violation once `max(first heartbeat after the heal, heal) + ttl` is past, or when the run healed and ended quiescent; `not_judged` when the run never healed (e.g. the registry crashed for good) or ended before that; every node configured to register must have sent a heartbeat |

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use crate::check::liveness::Judge;
use crate::check::{CheckContext, CheckId, Verdict, Violation};
use crate::engine::history::Record;
use crate::engine::node::NodeId;
use crate::engine::time::SimTime;
use crate::plugin::{Check, Observation};
use crate::protocols::Obs;
use crate::protocols::discovery::DiscObs;

/// The id of `disc.no_phantom`.
pub const NO_PHANTOM: CheckId = CheckId::new("disc.no_phantom");
/// The id of `disc.no_stale`.
pub const NO_STALE: CheckId = CheckId::new("disc.no_stale");
/// The id of `disc.visible_after_heal`.
pub const VISIBLE_AFTER_HEAL: CheckId = CheckId::new("disc.visible_after_heal");

/// Every discovery check, in order: `disc.no_phantom`, `disc.no_stale`,
/// `disc.visible_after_heal`.
pub fn check_all(records: &[Record<Obs>], ctx: &CheckContext) -> Vec<Verdict> {
    vec![
        Verdict::judged(NO_PHANTOM, check_no_phantom(records, ctx)),
        Verdict::judged(NO_STALE, check_no_stale(records, ctx)),
        check_visible_after_heal(records, ctx),
    ]
}

/// The discovery observation in `rec`, if it is one.
fn disc_of(rec: &Record<Observation>) -> Option<&DiscObs> {
    match rec.obs.get::<Obs>() {
        Some(Obs::Disc(o)) => Some(o),
        _ => None,
    }
}

/// Feed `records` to `f` (a check's own feed), skipping other protocols' observations.
fn replay(records: &[Record<Obs>], mut f: impl FnMut(SimTime, NodeId, &DiscObs)) {
    for r in records {
        if let Obs::Disc(o) = &r.obs {
            f(r.at, r.node, o);
        }
    }
}

/// A lookup answer, kept when a violation quotes it.
struct Lookup {
    at: SimTime,
    /// Who answered (a registry) or received it (a client).
    node: NodeId,
    service: String,
    members: Vec<NodeId>,
    /// The client who asked, for an answer a registry served.
    client: Option<NodeId>,
}

impl Lookup {
    fn new(at: SimTime, node: NodeId, o: &DiscObs) -> Option<Lookup> {
        match o {
            DiscObs::LookupServed {
                service,
                client,
                members,
            } => Some(Lookup {
                at,
                node,
                service: service.clone(),
                members: members.clone(),
                client: Some(*client),
            }),
            DiscObs::LookupResult { service, members, .. } => Some(Lookup {
                at,
                node,
                service: service.clone(),
                members: members.clone(),
                client: None,
            }),
            _ => None,
        }
    }
}

/// `disc.no_phantom`, online: lookups only return nodes that announced (and, at the
/// registry, registered) the service. Keeps who announced and registered what, and the
/// violations.
#[derive(Default)]
pub struct NoPhantom {
    announced: BTreeSet<(String, NodeId)>,
    /// (registry, service, node)
    registered: BTreeSet<(NodeId, String, NodeId)>,
    /// (the lookup, the member, why it is a phantom)
    bad: Vec<(Rc<Lookup>, NodeId, &'static str)>,
}

impl NoPhantom {
    /// The check, before the run.
    pub fn new() -> Self {
        Self::default()
    }

    fn feed(&mut self, at: SimTime, node: NodeId, o: &DiscObs) {
        match o {
            DiscObs::Heartbeat { service, .. } => {
                self.announced.insert((service.clone(), node));
            }
            DiscObs::Registered { service, node: n, .. } | DiscObs::Renewed { service, node: n, .. } => {
                self.registered.insert((node, service.clone(), *n));
            }
            DiscObs::LookupServed { service, members, .. } | DiscObs::LookupResult { service, members, .. } => {
                let served = matches!(o, DiscObs::LookupServed { .. });
                let mut lookup: Option<Rc<Lookup>> = None;
                for m in members {
                    let why = if !self.announced.contains(&(service.clone(), *m)) {
                        "never sent a heartbeat for it"
                    } else if served && !self.registered.contains(&(node, service.clone(), *m)) {
                        "never registered at this registry"
                    } else {
                        continue;
                    };
                    let l = lookup
                        .get_or_insert_with(|| Rc::new(Lookup::new(at, node, o).expect("a lookup")))
                        .clone();
                    self.bad.push((l, *m, why));
                }
            }
            _ => {}
        }
    }

    fn violations(&self, ctx: &CheckContext) -> Vec<Violation> {
        self.bad
            .iter()
            .map(|(l, m, why)| {
                let service = &l.service;
                Violation::new(
                    NO_PHANTOM,
                    format!("a lookup of {service:?} returned {}, which {why}", ctx.name(*m)),
                    l.at,
                    ctx,
                    vec![ctx.evidence(
                        l.at,
                        l.node,
                        format!("lookup of {service:?} answered {}", ctx.names_of(&l.members)),
                    )],
                )
            })
            .collect()
    }
}

impl Check for NoPhantom {
    fn id(&self) -> CheckId {
        NO_PHANTOM
    }
    fn observe(&mut self, rec: &Record<Observation>) {
        if let Some(o) = disc_of(rec) {
            self.feed(rec.at, rec.node, o);
        }
    }
    fn verdict(&mut self, cx: &CheckContext) -> Option<Verdict> {
        Some(Verdict::judged(NO_PHANTOM, self.violations(cx)))
    }
    fn retained(&self) -> usize {
        self.announced.len() + self.registered.len() + self.bad.len()
    }
}

/// `disc.no_phantom`: lookups only return nodes that announced (and, at the registry,
/// registered) the service.
pub fn check_no_phantom(records: &[Record<Obs>], ctx: &CheckContext) -> Vec<Violation> {
    let mut c = NoPhantom::new();
    replay(records, |at, node, o| c.feed(at, node, o));
    c.violations(ctx)
}

/// `disc.no_stale`, online: a registry never serves an entry expired for more than one
/// TTL. Keeps each registration's last renewal (time and TTL) and the violations.
#[derive(Default)]
pub struct NoStale {
    /// (registry, service, node) -> (when it was last registered or renewed, its ttl).
    last: BTreeMap<(NodeId, String, NodeId), (SimTime, SimTime)>,
    /// (the lookup, the member, its last renewal, its ttl)
    bad: Vec<(Rc<Lookup>, NodeId, SimTime, SimTime)>,
}

impl NoStale {
    /// The check, before the run.
    pub fn new() -> Self {
        Self::default()
    }

    fn feed(&mut self, at: SimTime, node: NodeId, o: &DiscObs) {
        match o {
            DiscObs::Registered {
                service, node: n, ttl, ..
            }
            | DiscObs::Renewed {
                service, node: n, ttl, ..
            } => {
                self.last.insert((node, service.clone(), *n), (at, *ttl));
            }
            DiscObs::LookupServed { service, members, .. } => {
                let mut lookup: Option<Rc<Lookup>> = None;
                for m in members {
                    let Some(&(renewed, ttl)) = self.last.get(&(node, service.clone(), *m)) else {
                        continue; // no_phantom's business
                    };
                    let expired_at = renewed + ttl;
                    if at > expired_at + ttl {
                        let l = lookup
                            .get_or_insert_with(|| Rc::new(Lookup::new(at, node, o).expect("a lookup")))
                            .clone();
                        self.bad.push((l, *m, renewed, ttl));
                    }
                }
            }
            _ => {}
        }
    }

    fn violations(&self, ctx: &CheckContext) -> Vec<Violation> {
        self.bad
            .iter()
            .map(|(l, m, renewed, ttl)| {
                let (service, ttl) = (&l.service, *ttl);
                let expired_at = *renewed + ttl;
                let (m, client) = (ctx.name(*m), ctx.name(l.client.unwrap_or(l.node)));
                Violation::new(
                    NO_STALE,
                    format!(
                        "{} answered a lookup of {service:?} by {client} with {m}, whose entry expired at {expired_at}, more than one TTL ({ttl}) before",
                        ctx.name(l.node)
                    ),
                    l.at,
                    ctx,
                    vec![
                        ctx.evidence(*renewed, l.node, format!("last registration of {m} for {service:?}, ttl {ttl}")),
                        ctx.evidence(
                            l.at,
                            l.node,
                            format!("lookup of {service:?} by {client} answered {}", ctx.names_of(&l.members)),
                        ),
                    ],
                )
            })
            .collect()
    }
}

impl Check for NoStale {
    fn id(&self) -> CheckId {
        NO_STALE
    }
    fn observe(&mut self, rec: &Record<Observation>) {
        if let Some(o) = disc_of(rec) {
            self.feed(rec.at, rec.node, o);
        }
    }
    fn verdict(&mut self, cx: &CheckContext) -> Option<Verdict> {
        Some(Verdict::judged(NO_STALE, self.violations(cx)))
    }
    fn retained(&self) -> usize {
        self.last.len() + self.bad.len()
    }
}

/// `disc.no_stale`: a registry never serves an entry expired for more than one TTL.
pub fn check_no_stale(records: &[Record<Obs>], ctx: &CheckContext) -> Vec<Violation> {
    let mut c = NoStale::new();
    replay(records, |at, node, o| c.feed(at, node, o));
    c.violations(ctx)
}

/// Heartbeat times as arithmetic runs: a registrant beats every `interval` from its
/// start, so an incarnation's beats are one run (a pause or a restart starts another).
#[derive(Default)]
struct Beats(Vec<(SimTime, u64, u64)>);

impl Beats {
    fn push(&mut self, t: SimTime) {
        if let Some((start, step, count)) = self.0.last_mut() {
            if *count == 1 && t > *start {
                *step = t.0 - start.0;
                *count = 2;
                return;
            }
            if *count >= 2 && Some(t.0) == step.checked_mul(*count).and_then(|d| start.0.checked_add(d)) {
                *count += 1;
                return;
            }
        }
        self.0.push((t, 0, 1));
    }

    /// The first beat at or after `h`.
    fn first_from(&self, h: SimTime) -> Option<SimTime> {
        self.0.iter().find_map(|&(start, step, count)| {
            let last = start.0 + step * (count - 1);
            if last < h.0 {
                None
            } else if start >= h {
                Some(start)
            } else {
                Some(SimTime(start.0 + (h.0 - start.0).div_ceil(step) * step))
            }
        })
    }

    /// The last beat at or before `x`.
    fn last_until(&self, x: SimTime) -> Option<SimTime> {
        self.0.iter().rev().find_map(|&(start, step, count)| {
            if start > x {
                return None;
            }
            Some(match (x.0 - start.0).checked_div(step) {
                None => start,
                Some(k) => SimTime(start.0 + k.min(count - 1) * step),
            })
        })
    }
}

/// One registration: a server heartbeating for a service to a registry.
struct Registration {
    /// The TTL it asks for (its latest heartbeat's).
    ttl: SimTime,
    beats: Beats,
    /// The last time its registry registered or renewed it.
    reached_at: Option<SimTime>,
    /// Lookups its registry served without it, while it had beaten at least one TTL
    /// earlier: (order of the lookup, the last beat at least one TTL before it, the
    /// lookup). Only the first lookup per such last beat is kept: the later ones can be
    /// the first violation only when it is.
    left_out: Vec<(u64, SimTime, Rc<Lookup>)>,
}

/// `disc.visible_after_heal`, online: from `max(first heartbeat after the heal,
/// heal_at) + ttl` on, every live server is in its registry's answers; every
/// registration reaches its registry after the last fault. The heal is known only at
/// the end, so it keeps, per registration, its heartbeat times (as arithmetic runs),
/// when it was last registered, and the lookups that left it out (one per heartbeat
/// before them: a server cut off from its registry for long adds one per beat).
#[derive(Default)]
pub struct VisibleAfterHeal {
    /// (registry, service, server) -> its registration.
    regs: BTreeMap<(NodeId, String, NodeId), Registration>,
    beats: BTreeMap<NodeId, u64>,
    lookups: u64,
}

impl VisibleAfterHeal {
    /// The check, before the run.
    pub fn new() -> Self {
        Self::default()
    }

    fn feed(&mut self, at: SimTime, node: NodeId, o: &DiscObs) {
        match o {
            DiscObs::Heartbeat { service, registry, ttl } => {
                *self.beats.entry(node).or_default() += 1;
                let r = self
                    .regs
                    .entry((*registry, service.clone(), node))
                    .or_insert(Registration {
                        ttl: *ttl,
                        beats: Beats::default(),
                        reached_at: None,
                        left_out: Vec::new(),
                    });
                r.ttl = *ttl;
                r.beats.push(at);
            }
            DiscObs::Registered { service, node: n, .. } | DiscObs::Renewed { service, node: n, .. } => {
                if let Some(r) = self.regs.get_mut(&(node, service.clone(), *n)) {
                    r.reached_at = Some(at);
                }
            }
            DiscObs::LookupServed { service, members, .. } => {
                self.lookups += 1;
                let seq = self.lookups;
                let mut lookup: Option<Rc<Lookup>> = None;
                let range = (node, service.clone(), NodeId(0))..=(node, service.clone(), NodeId(u32::MAX));
                for (&(_, _, server), r) in self.regs.range_mut(range) {
                    if members.contains(&server) || at < r.ttl {
                        continue;
                    }
                    let Some(beat) = r.beats.last_until(SimTime(at.0 - r.ttl.0)) else {
                        continue;
                    };
                    if r.left_out.last().is_some_and(|l| l.1 == beat) {
                        continue;
                    }
                    let l = lookup
                        .get_or_insert_with(|| Rc::new(Lookup::new(at, node, o).expect("a lookup")))
                        .clone();
                    r.left_out.push((seq, beat, l));
                }
            }
            _ => {}
        }
    }

    fn conclude(&self, ctx: &CheckContext) -> Verdict {
        let mut judge = Judge::new(ctx, VISIBLE_AFTER_HEAL, ("registration", "registrations"));
        let heal = ctx.heal_at;
        // Answers without a live server, once its registration is due (only in a healed
        // run): the first per registration, in the order the lookups were served.
        let mut found: Vec<(u64, NodeId, Violation)> = Vec::new();
        for (&(_, ref service, server), r) in &self.regs {
            let Some(beat) = r.beats.first_from(heal) else {
                continue;
            };
            // The scenario's one liveness bound, when given (at least the TTL: a lookup
            // is judged from one TTL after a heartbeat).
            let within = ctx.liveness_bound(r.ttl).max(r.ttl);
            let Some(due) = judge.deadline(beat, within) else {
                continue;
            };
            // Left out at or after `due`: some beat at or after the heal came at least
            // one TTL before the lookup.
            let Some((seq, _, l)) = r.left_out.iter().find(|(_, last, l)| *last >= beat && l.at >= due) else {
                continue;
            };
            let (server_s, client) = (ctx.name(server), ctx.name(l.client.unwrap_or(l.node)));
            found.push((
                *seq,
                server,
                Violation::new(
                    VISIBLE_AFTER_HEAL,
                    format!(
                        "{} answered a lookup of {service:?} by {client} without {server_s}, which has been heartbeating since the last fault healed at {heal} (ttl {}; due from {due})",
                        ctx.name(l.node),
                        r.ttl
                    ),
                    l.at,
                    ctx,
                    vec![
                        ctx.evidence(beat, server, format!("{server_s} heartbeats for {service:?}")),
                        ctx.evidence(
                            l.at,
                            l.node,
                            format!("lookup of {service:?} by {client} answered {}", ctx.names_of(&l.members)),
                        ),
                    ],
                ),
            ));
        }
        found.sort_by_key(|f| (f.0, f.1));
        for (_, _, v) in found {
            judge.push(v);
        }
        // Registrations that never reached their registry after the last fault.
        for (&(registry, ref service, server), r) in &self.regs {
            let reached = r.reached_at.is_some_and(|t| t >= heal);
            if reached || ctx.unhealed.iter().any(|u| u.node == Some(server)) {
                continue; // done, or the server itself is down or paused: it owes nothing
            }
            let after = r.beats.first_from(heal);
            let start = after.unwrap_or(heal);
            if let Some(o) = judge.undone(start, ctx.liveness_bound(r.ttl)) {
                let beat = after.or_else(|| r.beats.0.first().map(|b| b.0)).unwrap_or(heal);
                judge.push(Violation::new(
                    VISIBLE_AFTER_HEAL,
                    format!(
                        "{} heartbeats for {service:?} to {}, but no registration of it reached {} after the last fault (at {heal}): {}",
                        ctx.name(server),
                        ctx.name(registry),
                        ctx.name(registry),
                        o.why
                    ),
                    o.at,
                    ctx,
                    vec![ctx.evidence(beat, server, format!("{} heartbeats for {service:?}", ctx.name(server)))],
                ));
            }
        }
        judge.sources(|node| self.beats.get(&node).copied().unwrap_or(0));
        judge.finish()
    }
}

impl Check for VisibleAfterHeal {
    fn id(&self) -> CheckId {
        VISIBLE_AFTER_HEAL
    }
    fn observe(&mut self, rec: &Record<Observation>) {
        if let Some(o) = disc_of(rec) {
            self.feed(rec.at, rec.node, o);
        }
    }
    fn verdict(&mut self, cx: &CheckContext) -> Option<Verdict> {
        Some(self.conclude(cx))
    }
    fn retained(&self) -> usize {
        self.beats.len()
            + self
                .regs
                .values()
                .map(|r| 1 + r.beats.0.len() + r.left_out.len())
                .sum::<usize>()
    }
}

/// `disc.visible_after_heal`: from `max(first heartbeat after the heal, heal_at) + ttl`
/// on, every live server is in its registry's answers; every registration reaches its
/// registry after the last fault.
pub fn check_visible_after_heal(records: &[Record<Obs>], ctx: &CheckContext) -> Verdict {
    let mut c = VisibleAfterHeal::new();
    replay(records, |at, node, o| c.feed(at, node, o));
    c.conclude(ctx)
}
