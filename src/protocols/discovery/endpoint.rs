//! [`Target`] (where a node sends: a fixed node, or a member of a service found through
//! the registry) and [`Endpoint`], the component a node embeds to keep ONE current server
//! of a target.
//!
//! With a fixed target the endpoint is that node, always. With a service target it wraps
//! a [`Resolver`]: the current server is drawn (from the node's rng) among the members of
//! an answer, and kept for as long as later answers still list it. When the server stops
//! answering, the embedding node calls [`Endpoint::failed`] (forget it and look the
//! service up again) or [`Endpoint::recheck`] (look up again, keep it unless the registry
//! no longer lists it); the next answer names the server to use, so a restarted or
//! replaced server is found again.
//!
//! ```text
//! on_start:    endpoint.start(ctx)
//! on_message:  if let Msg::Disc(m) = &msg { if endpoint.on_message(ctx, from, m) { /* a (new) server is known */ } }
//! on_timer:    if endpoint.on_timer(ctx, timer, tag) { return }
//! send:        if let Some(to) = endpoint.current() { ctx.send(to, ..) }
//! ```

use crate::engine::node::{NodeId, TimerId};
use crate::protocols::ProtoCtx;
use crate::protocols::discovery::{DiscMsg, Resolver, ResolverConfig};

/// Where a node sends its requests.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// Always this node.
    Fixed(NodeId),
    /// A member of a service, found through the registry.
    Service(ResolverConfig),
}

impl Target {
    /// The resolver's settings, for a service target.
    pub fn resolver(&self) -> Option<&ResolverConfig> {
        match self {
            Target::Fixed(_) => None,
            Target::Service(r) => Some(r),
        }
    }
}

/// One current server of a [`Target`].
#[derive(Debug)]
pub struct Endpoint {
    resolver: Option<Resolver>,
    current: Option<NodeId>,
}

impl Endpoint {
    /// An endpoint of `target`: a fixed one knows its server at once, a service one after
    /// the first answer (call [`Endpoint::start`] from `on_start`).
    pub fn new(target: &Target) -> Self {
        match target {
            Target::Fixed(n) => Endpoint {
                resolver: None,
                current: Some(*n),
            },
            Target::Service(r) => Endpoint {
                resolver: Some(Resolver::new(r.clone())),
                current: None,
            },
        }
    }

    /// Send the first lookup (nothing for a fixed target).
    pub fn start(&mut self, ctx: &mut ProtoCtx<'_>) {
        if let Some(r) = &mut self.resolver {
            r.start(ctx);
        }
    }

    /// The server to use now, if one is known.
    pub fn current(&self) -> Option<NodeId> {
        self.current
    }

    /// Is the server found through the registry?
    pub fn is_discovered(&self) -> bool {
        self.resolver.is_some()
    }

    /// Handle a discovery message. Returns `true` when it was an answer after which the
    /// current server is known and differs from before (the node may now (re)send).
    pub fn on_message(&mut self, ctx: &mut ProtoCtx<'_>, from: NodeId, msg: &DiscMsg) -> bool {
        let Some(r) = &mut self.resolver else {
            return false;
        };
        if !r.on_message(ctx, from, msg) {
            return false;
        }
        let before = self.current;
        if before.is_none_or(|c| !r.members().contains(&c)) {
            self.current = r.pick(ctx);
        }
        self.current.is_some() && self.current != before
    }

    /// Handle a timer; `true` when it was the endpoint's (the node must then ignore it).
    pub fn on_timer(&mut self, ctx: &mut ProtoCtx<'_>, timer: TimerId, tag: u64) -> bool {
        match &mut self.resolver {
            Some(r) => r.on_timer(ctx, timer, tag),
            None => false,
        }
    }

    /// The current server did not answer: stop using it, switch to another known member
    /// if there is one, and look the service up again. Nothing for a fixed target.
    pub fn failed(&mut self, ctx: &mut ProtoCtx<'_>) {
        let Some(r) = &mut self.resolver else {
            return;
        };
        if let Some(c) = self.current.take() {
            r.forget(c);
        }
        self.current = r.pick(ctx);
        r.refresh(ctx);
    }

    /// Look the service up again, keeping the current server unless the answer no longer
    /// lists it. Nothing for a fixed target.
    pub fn recheck(&mut self, ctx: &mut ProtoCtx<'_>) {
        if let Some(r) = &mut self.resolver {
            r.refresh(ctx);
        }
    }
}
