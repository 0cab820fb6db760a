//! [`Registrant`]: the server side of service discovery, a component a node embeds to
//! register itself under a service name and renew the registration by heartbeat.
//!
//! Drive it from the embedding node: `registrant.start(ctx)` in `on_start` (registers at
//! once, then every `interval`), and `if registrant.on_timer(ctx, timer, tag) { return }`
//! in `on_timer`. Each heartbeat sent is recorded as [`DiscObs::Heartbeat`].

use crate::engine::node::{NodeId, TimerId};
use crate::engine::time::SimTime;
use crate::protocols::discovery::{DiscMsg, DiscObs};
use crate::protocols::{Msg, Obs, ProtoCtx};

/// How a [`Registrant`] registers.
#[derive(Clone, Debug, PartialEq)]
pub struct RegistrantConfig {
    /// The registry node.
    pub registry: NodeId,
    /// The service name to register under.
    pub service: String,
    /// The TTL of the entry (it expires unless renewed within it).
    pub ttl: SimTime,
    /// How often to renew; should be well under `ttl` (a third is the default).
    pub interval: SimTime,
    /// The timer tag the registrant uses; must differ from the embedding node's own tags.
    pub timer_tag: u64,
}

impl RegistrantConfig {
    /// Register `service` at `registry` with `ttl`, renewing every `ttl / 3`.
    pub fn new(registry: NodeId, service: impl Into<String>, ttl: SimTime) -> Self {
        RegistrantConfig {
            registry,
            service: service.into(),
            ttl,
            interval: SimTime(ttl.0 / 3).max(SimTime(1)),
            timer_tag: Self::DEFAULT_TIMER_TAG,
        }
    }

    /// The default timer tag (`0xD15D << 48`).
    pub const DEFAULT_TIMER_TAG: u64 = 0xD15D << 48;
}

/// Registers a node under a service name and renews it every `interval`.
#[derive(Debug)]
pub struct Registrant {
    cfg: RegistrantConfig,
    timer: Option<TimerId>,
    /// The last renewal was skipped by the fault point `disc.skip_heartbeat`.
    skipped: bool,
}

impl Registrant {
    /// A registrant; call [`Registrant::start`] from `on_start`.
    pub fn new(cfg: RegistrantConfig) -> Self {
        Registrant {
            cfg,
            timer: None,
            skipped: false,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RegistrantConfig {
        &self.cfg
    }

    /// Register now and schedule the renewals.
    pub fn start(&mut self, ctx: &mut ProtoCtx<'_>) {
        self.beat(ctx);
    }

    fn beat(&mut self, ctx: &mut ProtoCtx<'_>) {
        let (service, ttl) = (self.cfg.service.clone(), self.cfg.ttl);
        ctx.observe(Obs::Disc(DiscObs::Heartbeat {
            service: service.clone(),
            registry: self.cfg.registry,
            ttl,
        }));
        let stamp = ctx.local_now();
        ctx.send(self.cfg.registry, Msg::Disc(DiscMsg::Register { service, ttl, stamp }));
        self.timer = Some(ctx.set_timer(self.cfg.interval.max(SimTime(1)), self.cfg.timer_tag));
    }

    /// Handle a timer; `true` when it was the registrant's.
    pub fn on_timer(&mut self, ctx: &mut ProtoCtx<'_>, timer: TimerId, tag: u64) -> bool {
        if tag != self.cfg.timer_tag {
            return false;
        }
        if self.timer == Some(timer) {
            if !self.skipped && ctx.buggify("disc.skip_heartbeat") {
                // Fault point: one renewal that never went out (a stalled thread); the
                // next one, an interval later, always goes (never two skipped in a row:
                // with the default interval, a third of the TTL, the entry does not lapse).
                self.skipped = true;
                self.timer = Some(ctx.set_timer(self.cfg.interval.max(SimTime(1)), self.cfg.timer_tag));
            } else {
                self.skipped = false;
                self.beat(ctx);
            }
        }
        true
    }
}
