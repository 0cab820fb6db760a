//! The registry node: a table of (service, server) entries, each with an expiry time.
//! `Register` creates or renews an entry for its TTL; entries past their expiry are
//! removed (and recorded as [`DiscObs::Expired`]) on every message and every `sweep_every`;
//! a lookup answers the members whose entries are live at that moment.
//!
//! The table is volatile: a restarted registry starts empty and is refilled by the next
//! heartbeats. The planted bug [`RegistryConfig::never_expire`] keeps entries forever.
//!
//! **Clocks.** Entries are timed on the registry's own monotonic clock
//! ([`crate::Ctx::monotonic_now`]): an entry expires `ttl` of the registry's time after
//! the registration *arrived*, whatever the other nodes' clocks say, and a step of the
//! registry's wall clock changes nothing. The planted bug
//! [`RegistryConfig::trust_registrant_clock`] instead computes the expiry from the
//! registrant's wall-clock timestamp (`stamp + ttl`) and compares it with its own wall
//! clock: right only while the two clocks agree. A registrant whose clock is behind by
//! more than a TTL is never visible (its entries arrive expired); one whose clock is
//! ahead keeps its entry long after it died. The observations' `expires_at` and
//! `expired_at` are in true time (the registry's remaining time added to the time of the
//! observation), so the checks and metrics compare them with true times.

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
    /// CANARY (planted bug): compute an entry's expiry from the registrant's own
    /// wall-clock timestamp (`stamp + ttl`) and compare it with the registry's wall clock,
    /// instead of timing it on the registry's clock from its arrival. Off in a correct
    /// registry.
    pub trust_registrant_clock: bool,
}

impl Default for RegistryConfig {
    /// Sweep every 50 ms; entries expire.
    fn default() -> Self {
        RegistryConfig {
            sweep_every: SimTime::from_millis(50),
            never_expire: false,
            trust_registrant_clock: false,
        }
    }
}

/// A factory for the registry node, for `Simulation::add_node` (called again on restart).
pub fn registry(cfg: RegistryConfig) -> impl FnMut() -> Box<ProtoNode> + 'static {
    move || Box::new(Registry::new(cfg.clone()))
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    /// On the registry's clock (monotonic; the wall clock for the canary).
    expires_at: SimTime,
    /// In true time, as observed.
    observed_expiry: SimTime,
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

    /// The registry's clock for its entries: monotonic, or (the canary) its wall clock.
    fn clock(&self, ctx: &ProtoCtx<'_>) -> SimTime {
        if self.cfg.trust_registrant_clock {
            ctx.local_now()
        } else {
            ctx.monotonic_now()
        }
    }

    /// Remove every entry whose expiry time has passed.
    fn sweep(&mut self, ctx: &mut ProtoCtx<'_>) {
        if self.cfg.never_expire {
            return;
        }
        let now = self.clock(ctx);
        for (service, entries) in &mut self.table {
            entries.retain(|node, e| {
                let live = e.expires_at > now;
                if !live {
                    ctx.observe(Obs::Disc(DiscObs::Expired {
                        service: service.clone(),
                        node: *node,
                        expired_at: e.observed_expiry,
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
        match msg {
            DiscMsg::Register { service, ttl, stamp } => {
                let now = self.clock(ctx);
                let local_expiry = if self.cfg.trust_registrant_clock {
                    stamp + ttl
                } else {
                    now + ttl
                };
                // In true time: what is left on the registry's clock, from now.
                let expires_at = ctx.now() + local_expiry.saturating_sub(now);
                let entry = Entry {
                    expires_at: local_expiry,
                    observed_expiry: expires_at,
                };
                let entries = self.table.entry(service.clone()).or_default();
                let renewed = entries.insert(from, entry).is_some();
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
