//! Service-discovery checkers over a history of [`Obs`].
//!
//! | check | property |
//! |---|---|
//! | `disc.no_phantom` | every member of every lookup answer (served by a registry, or received by a client) is a node that had sent a heartbeat for that service before; and every member a registry serves was registered at that registry before |
//! | `disc.no_stale` | a registry never serves a member whose last registration or renewal there was more than two TTLs before the lookup (the entry had been expired for more than one TTL) |
//! | `disc.visible_after_heal` | every server still heartbeating at or after `heal_at` is in every answer its registry serves for its service from `max(its first heartbeat after the heal, heal_at) + ttl` on; and every registration (a server heartbeating for a service to a registry, and not itself down or paused at the end) reaches its registry after the last fault (a `Registered` or `Renewed` there at or after `heal_at`), by the rule of [`crate::check`]: a violation once `max(first heartbeat after the heal, heal) + ttl` is past, or when the run healed and ended quiescent; `not_judged` when the run never healed (e.g. the registry crashed for good) or ended before that; every node configured to register must have sent a heartbeat |

use std::collections::{BTreeMap, BTreeSet};

use crate::check::liveness::Judge;
use crate::check::{CheckContext, CheckId, Verdict, Violation};
use crate::engine::history::Record;
use crate::engine::node::NodeId;
use crate::engine::time::SimTime;
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

fn disc(rec: &Record<Obs>) -> Option<&DiscObs> {
    match &rec.obs {
        Obs::Disc(o) => Some(o),
        _ => None,
    }
}

/// `disc.no_phantom`: lookups only return nodes that announced (and, at the registry,
/// registered) the service.
pub fn check_no_phantom(records: &[Record<Obs>], ctx: &CheckContext) -> Vec<Violation> {
    let mut announced: BTreeSet<(&str, NodeId)> = BTreeSet::new();
    // (registry, service, node)
    let mut registered: BTreeSet<(NodeId, &str, NodeId)> = BTreeSet::new();
    let mut out = Vec::new();
    for rec in records {
        match disc(rec) {
            Some(DiscObs::Heartbeat { service, .. }) => {
                announced.insert((service.as_str(), rec.node));
            }
            Some(DiscObs::Registered { service, node, .. } | DiscObs::Renewed { service, node, .. }) => {
                registered.insert((rec.node, service.as_str(), *node));
            }
            Some(
                o @ (DiscObs::LookupServed { service, members, .. } | DiscObs::LookupResult { service, members, .. }),
            ) => {
                let served = matches!(o, DiscObs::LookupServed { .. });
                for m in members {
                    let why = if !announced.contains(&(service.as_str(), *m)) {
                        "never sent a heartbeat for it"
                    } else if served && !registered.contains(&(rec.node, service.as_str(), *m)) {
                        "never registered at this registry"
                    } else {
                        continue;
                    };
                    out.push(Violation::new(
                        NO_PHANTOM,
                        format!("a lookup of {service:?} returned {}, which {why}", ctx.name(*m)),
                        rec.at,
                        ctx,
                        vec![ctx.evidence_of(rec, format!("lookup of {service:?} answered {}", ctx.names_of(members)))],
                    ));
                }
            }
            _ => {}
        }
    }
    out
}

/// `disc.no_stale`: a registry never serves an entry expired for more than one TTL.
pub fn check_no_stale(records: &[Record<Obs>], ctx: &CheckContext) -> Vec<Violation> {
    // (registry, service, node) -> index of the last Registered/Renewed record.
    let mut last: BTreeMap<(NodeId, &str, NodeId), usize> = BTreeMap::new();
    let mut out = Vec::new();
    for (i, rec) in records.iter().enumerate() {
        match disc(rec) {
            Some(DiscObs::Registered { service, node, .. } | DiscObs::Renewed { service, node, .. }) => {
                last.insert((rec.node, service.as_str(), *node), i);
            }
            Some(DiscObs::LookupServed {
                service,
                client,
                members,
            }) => {
                for m in members {
                    let Some(&j) = last.get(&(rec.node, service.as_str(), *m)) else {
                        continue; // no_phantom's business
                    };
                    let renewed = &records[j];
                    let ttl = match disc(renewed) {
                        Some(DiscObs::Registered { ttl, .. } | DiscObs::Renewed { ttl, .. }) => *ttl,
                        _ => continue,
                    };
                    let expired_at = renewed.at + ttl;
                    if rec.at > expired_at + ttl {
                        let (m, client) = (ctx.name(*m), ctx.name(*client));
                        out.push(Violation::new(
                            NO_STALE,
                            format!(
                                "{} answered a lookup of {service:?} by {client} with {m}, whose entry expired at {expired_at}, more than one TTL ({ttl}) before",
                                ctx.name(rec.node)
                            ),
                            rec.at,
                            ctx,
                            vec![
                                ctx.evidence_of(renewed, format!("last registration of {m} for {service:?}, ttl {ttl}")),
                                ctx.evidence_of(
                                    rec,
                                    format!("lookup of {service:?} by {client} answered {}", ctx.names_of(members)),
                                ),
                            ],
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// One registration: a server heartbeating for a service to a registry.
struct Registration {
    /// The TTL it asks for (its latest heartbeat's).
    ttl: SimTime,
    /// Its first heartbeat at or after `heal_at` (record index).
    beat_after_heal: Option<usize>,
    /// Its first heartbeat (record index).
    first_beat: usize,
    /// The registry registered or renewed it at or after `heal_at`.
    reached: bool,
}

/// `disc.visible_after_heal`: from `max(first heartbeat after the heal, heal_at) + ttl`
/// on, every live server is in its registry's answers; every registration reaches its
/// registry after the last fault.
pub fn check_visible_after_heal(records: &[Record<Obs>], ctx: &CheckContext) -> Verdict {
    let mut judge = Judge::new(ctx, VISIBLE_AFTER_HEAL, ("registration", "registrations"));
    let heal = ctx.heal_at;
    // (registry, service, server) -> its registration.
    let mut regs: BTreeMap<(NodeId, &str, NodeId), Registration> = BTreeMap::new();
    let mut beats: BTreeMap<NodeId, u64> = BTreeMap::new();
    for (i, rec) in records.iter().enumerate() {
        match disc(rec) {
            Some(DiscObs::Heartbeat { service, registry, ttl }) => {
                *beats.entry(rec.node).or_default() += 1;
                let r = regs
                    .entry((*registry, service.as_str(), rec.node))
                    .or_insert(Registration {
                        ttl: *ttl,
                        beat_after_heal: None,
                        first_beat: i,
                        reached: false,
                    });
                r.ttl = *ttl;
                if rec.at >= heal && r.beat_after_heal.is_none() {
                    r.beat_after_heal = Some(i);
                }
            }
            Some(DiscObs::Registered { service, node, .. } | DiscObs::Renewed { service, node, .. })
                if rec.at >= heal =>
            {
                if let Some(r) = regs.get_mut(&(rec.node, service.as_str(), *node)) {
                    r.reached = true;
                }
            }
            _ => {}
        }
    }
    // Answers without a live server, once its registration is due (only in a healed run).
    let mut reported: BTreeSet<(NodeId, &str, NodeId)> = BTreeSet::new();
    for rec in records {
        let Some(DiscObs::LookupServed {
            service,
            client,
            members,
        }) = disc(rec)
        else {
            continue;
        };
        let live = regs
            .range((rec.node, service.as_str(), NodeId(0))..=(rec.node, service.as_str(), NodeId(u32::MAX)))
            .filter_map(|(&(_, _, server), r)| Some((server, r, r.beat_after_heal?)));
        for (server, r, beat) in live {
            let Some(due) = judge.deadline(records[beat].at, r.ttl) else {
                continue;
            };
            if rec.at < due || members.contains(&server) {
                continue;
            }
            // One violation per (registry, service, server) is enough.
            if !reported.insert((rec.node, service.as_str(), server)) {
                continue;
            }
            let (server, client) = (ctx.name(server), ctx.name(*client));
            judge.push(Violation::new(
                VISIBLE_AFTER_HEAL,
                format!(
                    "{} answered a lookup of {service:?} by {client} without {server}, which has been heartbeating since the last fault healed at {heal} (ttl {}; due from {due})",
                    ctx.name(rec.node),
                    r.ttl
                ),
                rec.at,
                ctx,
                vec![
                    ctx.evidence_of(&records[beat], format!("{server} heartbeats for {service:?}")),
                    ctx.evidence_of(
                        rec,
                        format!("lookup of {service:?} by {client} answered {}", ctx.names_of(members)),
                    ),
                ],
            ));
        }
    }
    // Registrations that never reached their registry after the last fault.
    for (&(registry, service, server), r) in &regs {
        if r.reached || ctx.unhealed.iter().any(|u| u.node == Some(server)) {
            continue; // done, or the server itself is down or paused: it owes nothing
        }
        let start = r.beat_after_heal.map_or(heal, |b| records[b].at);
        if let Some(o) = judge.undone(start, r.ttl) {
            let beat = r.beat_after_heal.unwrap_or(r.first_beat);
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
                vec![ctx.evidence_of(
                    &records[beat],
                    format!("{} heartbeats for {service:?}", ctx.name(server)),
                )],
            ));
        }
    }
    judge.sources(|node| beats.get(&node).copied().unwrap_or(0));
    judge.finish()
}
