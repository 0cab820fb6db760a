//! The registry node: a table of (service, server) entries, each with an expiry time.
//! `Register` creates or renews an entry for its TTL; entries past their expiry are
//! removed (and recorded as [`DiscObs::Expired`]) on every message and every `sweep_every`;
//! a lookup answers the members whose entries are live at that moment.
//!
//! The table is volatile: a restarted registry starts empty and is refilled by the next
//! heartbeats. The planted bug [`RegistryConfig::never_expire`] keeps entries forever.

use std::collections::BTreeMap;

use crate::engine::node::{Node, NodeId, TimerId};
use crate::engine::time::SimTime;
use crate::plugin::{Observation, Payload};
use crate::protocols::discovery::{DiscMsg, DiscObs};
use crate::protocols::{Msg, Obs, ProtoCtx, ProtoNode};

/// How the registry behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct RegistryConfig {
    /// How often expired entries are swept (they are also swept on every message).
    pub sweep_every: SimTime,
    /// CANARY (planted bug): never expire entries. Off in a correct registry.
    pub never_expire: bool,
}

impl Default for RegistryConfig {
    /// Sweep every 50 ms; entries expire.
    fn default() -> Self {
        RegistryConfig {
            sweep_every: SimTime::from_millis(50),
            never_expire: false,
        }
    }
}

/// A factory for the registry node, for `Simulation::add_node` (called again on restart).
pub fn registry(cfg: RegistryConfig) -> impl FnMut() -> Box<ProtoNode> + 'static {
    move || Box::new(Registry::new(cfg.clone()))
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    expires_at: SimTime,
}

/// The registry node.
#[derive(Debug)]
pub struct Registry {
    cfg: RegistryConfig,
    /// service -> server -> entry.
    table: BTreeMap<String, BTreeMap<NodeId, Entry>>,
}

const SWEEP: u64 = 1;

impl Registry {
    /// An empty registry.
    pub fn new(cfg: RegistryConfig) -> Self {
        Registry {
            cfg,
            table: BTreeMap::new(),
        }
    }

    /// Remove every entry whose expiry time has passed.
    fn sweep(&mut self, ctx: &mut ProtoCtx<'_>) {
        if self.cfg.never_expire {
            return;
        }
        let now = ctx.now();
        for (service, entries) in &mut self.table {
            entries.retain(|node, e| {
                let live = e.expires_at > now;
                if !live {
                    ctx.observe(Obs::Disc(DiscObs::Expired {
                        service: service.clone(),
                        node: *node,
                        expired_at: e.expires_at,
                    }));
                }
                live
            });
        }
        self.table.retain(|_, entries| !entries.is_empty());
    }
}

impl Node<Payload, Observation> for Registry {
    fn on_start(&mut self, ctx: &mut ProtoCtx<'_>) {
        ctx.set_timer(self.cfg.sweep_every.max(SimTime(1)), SWEEP);
    }

    fn on_message(&mut self, ctx: &mut ProtoCtx<'_>, from: NodeId, msg: Payload) {
        let Ok(msg) = msg.downcast::<Msg>() else { return };
        let Msg::Disc(msg) = msg else { return };
        self.sweep(ctx);
        let now = ctx.now();
        match msg {
            DiscMsg::Register { service, ttl } => {
                let expires_at = now + ttl;
                let entries = self.table.entry(service.clone()).or_default();
                let renewed = entries.insert(from, Entry { expires_at }).is_some();
                let obs = if renewed {
                    DiscObs::Renewed {
                        service,
                        node: from,
                        ttl,
                        expires_at,
                    }
                } else {
                    DiscObs::Registered {
                        service,
                        node: from,
                        ttl,
                        expires_at,
                    }
                };
                ctx.observe(Obs::Disc(obs));
            }
            DiscMsg::Lookup { service, req } => {
                let members: Vec<NodeId> = self
                    .table
                    .get(&service)
                    .map(|e| e.keys().copied().collect())
                    .unwrap_or_default();
                ctx.observe(Obs::Disc(DiscObs::LookupServed {
                    service: service.clone(),
                    client: from,
                    members: members.clone(),
                }));
                ctx.send(from, Msg::Disc(DiscMsg::LookupReply { service, req, members }));
            }
            DiscMsg::LookupReply { .. } => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut ProtoCtx<'_>, _timer: TimerId, tag: u64) {
        if tag == SWEEP {
            self.sweep(ctx);
            ctx.set_timer(self.cfg.sweep_every.max(SimTime(1)), SWEEP);
        }
    }
}
