//! [`Resolver`]: the client side of service discovery, a component that any node of the
//! built-in protocols embeds to find the members of a service through the registry.
//!
//! The embedding node drives it from its own handlers:
//!
//! ```text
//! on_start:    resolver.start(ctx)                      // first lookup
//! on_message:  if let Msg::Disc(m) = &msg { if resolver.on_message(ctx, from, m) { /* members changed */ } }
//! on_timer:    if resolver.on_timer(ctx, timer, tag) { return }   // it owned that timer
//! on failure:  resolver.forget(server); resolver.refresh(ctx)    // look it up again
//! pick:        resolver.pick(ctx)                       // a member drawn from the node rng
//! ```
//!
//! Behaviour: a lookup that gets no answer within `timeout` is sent again; while the
//! last answer was empty it looks up again every `retry_interval`; with
//! `refresh_every`, it also looks up periodically while it knows members. At most one
//! lookup is in flight at a time. Each answer is recorded as [`DiscObs::LookupResult`].
//!
//! ```
//! use detsim::protocols::discovery::{
//!     registry, DiscMsg, RegistrantConfig, Registrant, RegistryConfig, Resolver, ResolverConfig,
//! };
//! use detsim::protocols::{Msg, Obs, ProtoCtx};
//! use detsim::{Observation, Payload};
//! use detsim::{Node, NodeId, SimConfig, SimTime, Simulation, TimerId};
//!
//! /// A node that finds the members of "svc" and keeps the last answer.
//! struct Finder(Resolver, Vec<NodeId>);
//! impl Node<Payload, Observation> for Finder {
//!     fn on_start(&mut self, ctx: &mut ProtoCtx<'_>) { self.0.start(ctx) }
//!     fn on_message(&mut self, ctx: &mut ProtoCtx<'_>, from: NodeId, msg: Payload) {
//!         if let Some(Msg::Disc(m)) = msg.downcast_ref::<Msg>() && self.0.on_message(ctx, from, m) {
//!             self.1 = self.0.members().to_vec();
//!         }
//!     }
//!     fn on_timer(&mut self, ctx: &mut ProtoCtx<'_>, t: TimerId, tag: u64) { self.0.on_timer(ctx, t, tag); }
//! }
//! /// A node that registers under "svc".
//! struct Member(Registrant);
//! impl Node<Payload, Observation> for Member {
//!     fn on_start(&mut self, ctx: &mut ProtoCtx<'_>) { self.0.start(ctx) }
//!     fn on_message(&mut self, _: &mut ProtoCtx<'_>, _: NodeId, _: Payload) {}
//!     fn on_timer(&mut self, ctx: &mut ProtoCtx<'_>, t: TimerId, tag: u64) { self.0.on_timer(ctx, t, tag); }
//! }
//!
//! let mut sim = Simulation::<Payload, Observation>::new(SimConfig::new(1).max_time(SimTime::from_secs(1)));
//! let reg = sim.add_node("registry", registry(RegistryConfig::default())).unwrap();
//! sim.add_node("member", move || {
//!     Box::new(Member(Registrant::new(RegistrantConfig::new(reg, "svc", SimTime::from_millis(300)))))
//! }).unwrap();
//! sim.add_node("finder", move || {
//!     Box::new(Finder(Resolver::new(ResolverConfig::new(reg, "svc")), vec![]))
//! }).unwrap();
//! sim.run().unwrap();
//! // Every answer (the first lookup, then one each 50 ms retry while empty) ends with
//! // the member found.
//! let answers: Vec<_> = sim.history().records().iter().filter_map(|r| match r.obs.get::<Obs>() {
//!     Some(Obs::Disc(detsim::protocols::discovery::DiscObs::LookupResult { members, .. })) => Some(members.clone()),
//!     _ => None,
//! }).collect();
//! assert_eq!(answers.last(), Some(&vec![NodeId(1)]));
//! ```

use crate::engine::node::{NodeId, TimerId};
use crate::engine::time::SimTime;
use crate::protocols::discovery::{DiscMsg, DiscObs};
use crate::protocols::{Msg, Obs, ProtoCtx};

/// How a [`Resolver`] looks a service up.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolverConfig {
    /// The registry node.
    pub registry: NodeId,
    /// The service name.
    pub service: String,
    /// How long to wait for a lookup's answer before sending it again.
    pub timeout: SimTime,
    /// How long to wait before looking up again after an empty answer.
    pub retry_interval: SimTime,
    /// Look up again this often even while members are known (`None`: only on demand).
    pub refresh_every: Option<SimTime>,
    /// The timer tag the resolver uses; must differ from the embedding node's own tags.
    pub timer_tag: u64,
}

impl ResolverConfig {
    /// Defaults for `service` at `registry`: 50 ms timeout, 50 ms retry interval, no
    /// periodic refresh, timer tag [`ResolverConfig::DEFAULT_TIMER_TAG`].
    pub fn new(registry: NodeId, service: impl Into<String>) -> Self {
        ResolverConfig {
            registry,
            service: service.into(),
            timeout: SimTime::from_millis(50),
            retry_interval: SimTime::from_millis(50),
            refresh_every: None,
            timer_tag: Self::DEFAULT_TIMER_TAG,
        }
    }

    /// The default timer tag (`0xD15C << 48`); no built-in protocol node uses it for its
    /// own timers (their configs refuse a resolver tag that would collide).
    pub const DEFAULT_TIMER_TAG: u64 = 0xD15C << 48;
}

/// The client side of service discovery: keeps the last membership the registry gave
/// for one service and refreshes it on demand, on empty answers and periodically.
#[derive(Debug)]
pub struct Resolver {
    cfg: ResolverConfig,
    members: Vec<NodeId>,
    /// The lookup in flight: (request number, sent at).
    inflight: Option<(u64, SimTime)>,
    next_req: u64,
    /// The one timer the resolver owns (lookup timeout, retry wait or refresh).
    timer: Option<TimerId>,
    /// Lookups answered so far.
    answers: u64,
}

impl Resolver {
    /// A resolver that knows no member yet; call [`Resolver::start`] from `on_start`.
    pub fn new(cfg: ResolverConfig) -> Self {
        Resolver {
            cfg,
            members: Vec::new(),
            inflight: None,
            next_req: 0,
            timer: None,
            answers: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ResolverConfig {
        &self.cfg
    }

    /// Send the first lookup.
    pub fn start(&mut self, ctx: &mut ProtoCtx<'_>) {
        self.refresh(ctx);
    }

    /// The members known from the last answer (minus those forgotten since), ascending.
    pub fn members(&self) -> &[NodeId] {
        &self.members
    }

    /// How many lookups have been answered.
    pub fn answers(&self) -> u64 {
        self.answers
    }

    /// Is a lookup in flight?
    pub fn is_looking_up(&self) -> bool {
        self.inflight.is_some()
    }

    /// A known member drawn uniformly from the node's rng, or `None` when none is known.
    pub fn pick(&self, ctx: &mut ProtoCtx<'_>) -> Option<NodeId> {
        if self.members.is_empty() {
            return None;
        }
        let i = ctx.rng().range(0, self.members.len() as u64) as usize;
        self.members.get(i).copied()
    }

    /// Stop using `node` (e.g. a call to it timed out) until a lookup returns it again.
    pub fn forget(&mut self, node: NodeId) {
        self.members.retain(|m| *m != node);
    }

    /// Look the service up now, unless a lookup is already in flight.
    pub fn refresh(&mut self, ctx: &mut ProtoCtx<'_>) {
        if self.inflight.is_some() {
            return;
        }
        self.send_lookup(ctx);
    }

    fn send_lookup(&mut self, ctx: &mut ProtoCtx<'_>) {
        if let Some(t) = self.timer.take() {
            ctx.cancel_timer(t);
        }
        let req = self.next_req;
        self.next_req += 1;
        self.inflight = Some((req, ctx.now()));
        ctx.send(
            self.cfg.registry,
            Msg::Disc(DiscMsg::Lookup {
                service: self.cfg.service.clone(),
                req,
            }),
        );
        self.timer = Some(ctx.set_timer(self.cfg.timeout, self.cfg.timer_tag));
    }

    /// Handle a discovery message. Returns `true` when it was the answer to the lookup in
    /// flight (the membership was replaced: the embedding node may now use [`Resolver::pick`]).
    pub fn on_message(&mut self, ctx: &mut ProtoCtx<'_>, from: NodeId, msg: &DiscMsg) -> bool {
        let DiscMsg::LookupReply { service, req, members } = msg else {
            return false;
        };
        let Some((want, sent_at)) = self.inflight else {
            return false;
        };
        if *req != want || *service != self.cfg.service || from != self.cfg.registry {
            return false;
        }
        self.inflight = None;
        self.answers += 1;
        self.members = members.clone();
        ctx.observe(Obs::Disc(DiscObs::LookupResult {
            service: service.clone(),
            registry: from,
            members: members.clone(),
            sent_at,
        }));
        if let Some(t) = self.timer.take() {
            ctx.cancel_timer(t);
        }
        let next = if self.members.is_empty() {
            Some(self.cfg.retry_interval)
        } else {
            self.cfg.refresh_every
        };
        if let Some(after) = next {
            self.timer = Some(ctx.set_timer(after, self.cfg.timer_tag));
        }
        true
    }

    /// Handle a timer. Returns `true` when the timer was the resolver's (the embedding
    /// node must then ignore it).
    pub fn on_timer(&mut self, ctx: &mut ProtoCtx<'_>, timer: TimerId, tag: u64) -> bool {
        if tag != self.cfg.timer_tag {
            return false;
        }
        if self.timer != Some(timer) {
            return true; // a stale timer of ours
        }
        self.timer = None;
        // Either the lookup in flight timed out, or it is time to look up again.
        self.inflight = None;
        self.send_lookup(ctx);
        true
    }
}
