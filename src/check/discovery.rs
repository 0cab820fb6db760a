//! Service-discovery checkers over a history of [`Obs`].
//!
//! | check | property |
//! |---|---|
//! | `disc.no_phantom` | every member of every lookup answer (served by a registry, or received by a client) is a node that had sent a heartbeat for that service before; and every member a registry serves was registered at that registry before |
//! | `disc.no_stale` | a registry never serves a member whose last registration or renewal there was more than two TTLs before the lookup (the entry had been expired for more than one TTL) |
//! | `disc.visible_after_heal` | every server still heartbeating at or after `heal_at` is in every answer its registry serves for its service from `heal_at + ttl` on |

use std::collections::{BTreeMap, BTreeSet};

use crate::check::{CheckContext, Evidence, Violation};
use crate::history::Record;
use crate::node::NodeId;
use crate::protocols::Obs;
use crate::protocols::discovery::DiscObs;
use crate::time::SimTime;

/// Every discovery check.
pub fn check_all(records: &[Record<Obs>], ctx: &CheckContext) -> Vec<Violation> {
    let mut v = check_no_phantom(records, ctx);
    v.extend(check_no_stale(records, ctx));
    v.extend(check_visible_after_heal(records, ctx));
    v
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
                        "disc.no_phantom",
                        format!("a lookup of {service:?} returned {m}, which {why}"),
                        rec.at,
                        ctx,
                        vec![Evidence::of(rec, format!("lookup of {service:?} answered {members:?}"))],
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
                        out.push(Violation::new(
                            "disc.no_stale",
                            format!(
                                "{} answered a lookup of {service:?} by {client} with {m}, whose entry expired at {} ns, more than one TTL ({} ns) before",
                                rec.node, expired_at.0, ttl.0
                            ),
                            rec.at,
                            ctx,
                            vec![
                                Evidence::of(renewed, format!("last registration of {m} for {service:?}, ttl {} ns", ttl.0)),
                                Evidence::of(rec, format!("lookup of {service:?} by {client} answered {members:?}")),
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

/// Live servers of one (registry, service): server -> (ttl, index of its first heartbeat).
type LiveServers = BTreeMap<NodeId, (SimTime, usize)>;

/// `disc.visible_after_heal`: from `heal_at + ttl` on, every live server is in its
/// registry's answers.
pub fn check_visible_after_heal(records: &[Record<Obs>], ctx: &CheckContext) -> Vec<Violation> {
    // (registry, service) -> live servers (first heartbeat at or after heal_at) with their ttl.
    let mut live: BTreeMap<(NodeId, &str), LiveServers> = BTreeMap::new();
    for (i, rec) in records.iter().enumerate() {
        if rec.at < ctx.heal_at {
            continue;
        }
        if let Some(DiscObs::Heartbeat { service, registry, ttl }) = disc(rec) {
            live.entry((*registry, service.as_str()))
                .or_default()
                .entry(rec.node)
                .or_insert((*ttl, i));
        }
    }
    let mut out = Vec::new();
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
        let Some(servers) = live.get(&(rec.node, service.as_str())) else {
            continue;
        };
        for (server, (ttl, beat)) in servers {
            if rec.at < ctx.heal_at + *ttl || members.contains(server) {
                continue;
            }
            // One violation per (registry, service, server) is enough.
            if !reported.insert((rec.node, service.as_str(), *server)) {
                continue;
            }
            out.push(Violation::new(
                "disc.visible_after_heal",
                format!(
                    "{} answered a lookup of {service:?} by {client} without {server}, which has been heartbeating since the last fault healed at {} ns (ttl {} ns)",
                    rec.node, ctx.heal_at.0, ttl.0
                ),
                rec.at,
                ctx,
                vec![
                    Evidence::of(&records[*beat], format!("{server} heartbeats for {service:?}")),
                    Evidence::of(rec, format!("lookup of {service:?} by {client} answered {members:?}")),
                ],
            ));
        }
    }
    out
}
