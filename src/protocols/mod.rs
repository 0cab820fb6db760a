//! The built-in protocols: the systems of the Go original (an RPC service, a worker pool,
//! a service registry) made distributed, each a plugin ([`Rpc`], [`WorkerPool`],
//! [`Discovery`]) registered exactly like a user's protocol (see [`crate::plugin`]). They
//! share one message type, [`Msg`], and one observation type, [`Obs`] (the pool and the
//! RPC service embed discovery's registrant and resolver), sent boxed in a [`Payload`] and
//! recorded boxed in an [`Observation`]. The replicated key-value store ([`ReplicatedKv`])
//! has its own message and observation types, as a user's protocol does.

pub mod discovery;
pub mod replicated_kv;
pub mod rpc;
pub mod worker_pool;

use crate::engine::hash::{StableHash, StableHasher};
use crate::engine::history::Record;
use crate::plugin::{Observation, Payload};

pub use discovery::Discovery;
pub use replicated_kv::ReplicatedKv;
pub use rpc::Rpc;
pub use worker_pool::WorkerPool;

impl crate::plugin::Protocols {
    /// The built-in protocols: `protocols![Discovery, Rpc, WorkerPool, ReplicatedKv]`.
    pub fn builtin() -> crate::plugin::Protocols {
        crate::protocols![Discovery, Rpc, WorkerPool, ReplicatedKv]
    }
}

/// Every message of the built-in protocols.
#[derive(Clone, Debug, PartialEq)]
pub enum Msg {
    /// RPC requests and replies.
    Rpc(rpc::RpcMsg),
    /// Worker-pool traffic.
    Pool(worker_pool::PoolMsg),
    /// Service registry traffic.
    Disc(discovery::DiscMsg),
}

impl StableHash for Msg {
    fn stable_hash(&self, h: &mut StableHasher) {
        match self {
            Msg::Rpc(m) => {
                h.word(1);
                m.stable_hash(h)
            }
            Msg::Pool(m) => {
                h.word(2);
                m.stable_hash(h)
            }
            Msg::Disc(m) => {
                h.word(3);
                m.stable_hash(h)
            }
        }
    }
}

/// Every observation the built-in protocols record for checkers and metrics.
#[derive(Clone, Debug, PartialEq)]
pub enum Obs {
    /// RPC calls and executions.
    Rpc(rpc::RpcObs),
    /// Jobs.
    Pool(worker_pool::PoolObs),
    /// Registrations and lookups.
    Disc(discovery::DiscObs),
}

impl From<Msg> for Payload {
    fn from(m: Msg) -> Payload {
        Payload::new(m)
    }
}

impl From<Obs> for Observation {
    fn from(o: Obs) -> Observation {
        Observation::new(o)
    }
}

/// An observation that may be one of the built-in protocols' (an [`Obs`], or an
/// [`Observation`] holding one): what their metrics read.
pub trait AsObs {
    /// The built-in observation, if it is one.
    fn as_obs(&self) -> Option<&Obs>;
}

impl AsObs for Obs {
    #[inline]
    fn as_obs(&self) -> Option<&Obs> {
        Some(self)
    }
}

impl AsObs for Observation {
    #[inline]
    fn as_obs(&self) -> Option<&Obs> {
        self.get::<Obs>()
    }
}

/// The records of the built-in protocols in `records` (of a scenario run), unboxed.
pub fn records(records: &[Record<Observation>]) -> Vec<Record<Obs>> {
    records
        .iter()
        .filter_map(|r| {
            r.obs.get::<Obs>().map(|o| Record {
                at: r.at,
                node: r.node,
                obs: o.clone(),
            })
        })
        .collect()
}

/// The node type of the built-in protocols.
pub type ProtoNode = dyn crate::engine::node::Node<Payload, Observation>;
/// The context handed to the built-in protocols' handlers.
pub type ProtoCtx<'a> = crate::engine::node::Ctx<'a, Payload, Observation>;
