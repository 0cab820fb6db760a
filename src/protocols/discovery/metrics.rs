//! Streaming discovery metrics, fed one observation at a time
//! ([`DiscMetrics::observe`]); memory grows with the number of registry entries
//! (service, server), never with the number of heartbeats or lookups.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::engine::history::Record;
use crate::engine::node::NodeId;
use crate::engine::time::SimTime;
use crate::protocols::discovery::DiscObs;
use crate::protocols::{AsObs, Obs};

/// Discovery metrics of a run so far.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DiscSummary {
    /// Heartbeats sent by servers (`DiscObs::Heartbeat`).
    pub heartbeats: u64,
    /// Entries created by a registry (`DiscObs::Registered`: first registration, or
    /// registration after the entry expired or the registry restarted).
    pub registrations: u64,
    /// Live entries renewed (`DiscObs::Renewed`).
    pub renewals: u64,
    /// Entries removed because they expired (`DiscObs::Expired`).
    pub expiries: u64,
    /// Lookups answered by a registry (`DiscObs::LookupServed`).
    pub lookups: u64,
    /// Of `lookups`, those answered with no member.
    pub empty_lookups: u64,
    /// Of `lookups`, those whose answer held at least one member whose entry at that
    /// registry had expired (last registration or renewal + its TTL <= lookup time) or
    /// that was never registered there.
    pub stale_lookups: u64,
    /// Lookup answers received by clients' resolvers (`DiscObs::LookupResult`).
    pub lookup_results: u64,
}

/// Streaming discovery metrics.
#[derive(Clone, Debug, Default)]
pub struct DiscMetrics {
    s: DiscSummary,
    /// (registry, service, server) -> when its entry expires, as last registered.
    expiry: BTreeMap<(NodeId, String, NodeId), SimTime>,
}

impl DiscMetrics {
    /// Nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Take one observation into account (non-discovery observations are ignored).
    pub fn observe<O: AsObs>(&mut self, rec: &Record<O>) {
        let Some(Obs::Disc(o)) = rec.obs.as_obs() else {
            return;
        };
        match o {
            DiscObs::Heartbeat { .. } => self.s.heartbeats += 1,
            DiscObs::Registered {
                service,
                node,
                expires_at,
                ..
            }
            | DiscObs::Renewed {
                service,
                node,
                expires_at,
                ..
            } => {
                if matches!(o, DiscObs::Registered { .. }) {
                    self.s.registrations += 1;
                } else {
                    self.s.renewals += 1;
                }
                self.expiry.insert((rec.node, service.clone(), *node), *expires_at);
            }
            DiscObs::Expired { .. } => self.s.expiries += 1,
            DiscObs::LookupServed { service, members, .. } => {
                self.s.lookups += 1;
                self.s.empty_lookups += members.is_empty() as u64;
                let stale = members.iter().any(|m| {
                    self.expiry
                        .get(&(rec.node, service.clone(), *m))
                        .is_none_or(|exp| *exp <= rec.at)
                });
                self.s.stale_lookups += stale as u64;
            }
            DiscObs::LookupResult { .. } => self.s.lookup_results += 1,
        }
    }

    /// The metrics so far.
    pub fn summary(&self) -> DiscSummary {
        self.s.clone()
    }
}
