//! Service discovery: a registry node, servers that register under a service name with a
//! TTL and renew it by heartbeat, entries that expire without one, and clients that look
//! a service up (and look it up again when a call to it fails).
//!
//! This file holds the wire messages ([`DiscMsg`]) and observations ([`DiscObs`]); the
//! parts live in their own files:
//!
//! - `registry.rs`: the registry node ([`RegistryConfig`], [`registry()`] factory);
//! - `registrant.rs`: [`Registrant`], the heartbeat component a server embeds;
//! - `resolver.rs`: [`Resolver`], the lookup component a client embeds;
//! - `endpoint.rs`: [`Target`] (a fixed node or a service) and [`Endpoint`], one current
//!   server of a target, built on [`Resolver`] (the pool's workers and clients use it).
//!
//! Any node of the built-in protocols can embed a [`Registrant`] (to be found) or a
//! [`Resolver`] (to find others): both are driven from the node's own handlers and own
//! one timer tag each, chosen by the embedding node.

pub(crate) mod check;
pub(crate) mod endpoint;
pub(crate) mod metrics;
mod protocol;
pub(crate) mod registrant;
pub(crate) mod registry;
pub(crate) mod resolver;
pub(crate) mod roles;

pub use check::{
    NO_PHANTOM, NO_STALE, NoPhantom, NoStale, VISIBLE_AFTER_HEAL, VisibleAfterHeal, check_all, check_no_phantom,
    check_no_stale, check_visible_after_heal,
};
pub use metrics::{DiscMetrics, DiscSummary};
pub use roles::{RegisterSpec, RegistryRole, ServiceSpec};

pub use endpoint::{Endpoint, Target};
pub use protocol::Discovery;
pub use registrant::{Registrant, RegistrantConfig};
pub use registry::{RegistryConfig, registry};
pub use resolver::{Resolver, ResolverConfig};

use crate::engine::hash::{StableHash, StableHasher};
use crate::engine::node::NodeId;
use crate::engine::time::SimTime;

/// Service registry traffic.
#[derive(Clone, Debug, PartialEq)]
pub enum DiscMsg {
    /// Server -> registry: register `service` (or renew it) for `ttl` from arrival.
    Register {
        /// The service name.
        service: String,
        /// How long the entry lives without another `Register`.
        ttl: SimTime,
        /// The sender's wall clock when it sent this ([`crate::Ctx::local_now`]). A correct
        /// registry ignores it (it times entries on its own clock); the canary
        /// `canary_trust_registrant_clock` computes the expiry from it. Not in the trace
        /// hash: it is a function of the send's time (hashed) and the sender's clock (its
        /// settings and every change are trace events), and hashing it would change every
        /// recorded hash for nothing.
        stamp: SimTime,
    },
    /// Client -> registry: who offers `service`? `req` matches the reply.
    Lookup {
        /// The service name.
        service: String,
        /// The client's request number.
        req: u64,
    },
    /// Registry -> client: the live members of `service`, in ascending id order.
    LookupReply {
        /// The service name.
        service: String,
        /// The request this answers.
        req: u64,
        /// The members whose entries had not expired when the registry answered.
        members: Vec<NodeId>,
    },
}

impl StableHash for DiscMsg {
    fn stable_hash(&self, h: &mut StableHasher) {
        match self {
            DiscMsg::Register { service, ttl, stamp: _ } => {
                h.word(1);
                h.str(service);
                h.word(ttl.0);
            }
            DiscMsg::Lookup { service, req } => {
                h.word(2);
                h.str(service);
                h.word(*req);
            }
            DiscMsg::LookupReply { service, req, members } => {
                h.word(3);
                h.str(service);
                h.word(*req);
                h.word(members.len() as u64);
                members.iter().for_each(|m| h.word(m.0 as u64));
            }
        }
    }
}

/// Registry observations (the record's `node` says who observed it).
#[derive(Clone, Debug, PartialEq)]
pub enum DiscObs {
    /// A server sent a registration or renewal for `service` to `registry`.
    Heartbeat {
        /// The service name.
        service: String,
        /// Where it was sent.
        registry: NodeId,
        /// The TTL asked for.
        ttl: SimTime,
    },
    /// The registry created an entry for `node` (none existed, or it had expired).
    Registered {
        /// The service name.
        service: String,
        /// The registered server.
        node: NodeId,
        /// The entry's TTL.
        ttl: SimTime,
        /// When the entry expires without a renewal.
        expires_at: SimTime,
    },
    /// The registry renewed the live entry of `node`.
    Renewed {
        /// The service name.
        service: String,
        /// The renewing server.
        node: NodeId,
        /// The entry's TTL.
        ttl: SimTime,
        /// The new expiry time.
        expires_at: SimTime,
    },
    /// The registry removed the entry of `node`, which had expired at `expired_at`.
    Expired {
        /// The service name.
        service: String,
        /// The server whose entry expired.
        node: NodeId,
        /// When it expired (its last `expires_at`).
        expired_at: SimTime,
    },
    /// The registry answered a lookup from `client` with `members`.
    LookupServed {
        /// The service name.
        service: String,
        /// Who asked.
        client: NodeId,
        /// What it answered.
        members: Vec<NodeId>,
    },
    /// A client's resolver received the answer to a lookup it sent at `sent_at`.
    LookupResult {
        /// The service name.
        service: String,
        /// The registry that answered.
        registry: NodeId,
        /// The membership it received.
        members: Vec<NodeId>,
        /// When the lookup was sent.
        sent_at: SimTime,
    },
}
