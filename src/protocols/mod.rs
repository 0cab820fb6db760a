//! The built-in protocols: the systems of the Go original (an RPC service, a worker pool,
//! a service registry) made distributed. They share one message type, [`Msg`], and one
//! observation type, [`Obs`], so that they can run together in one simulation.

pub mod discovery;
pub mod rpc;
pub mod worker_pool;

use crate::engine::hash::{StableHash, StableHasher};

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

/// The node type of the built-in protocols.
pub type ProtoNode = dyn crate::engine::node::Node<Msg, Obs>;
/// The context handed to the built-in protocols' handlers.
pub type ProtoCtx<'a> = crate::engine::node::Ctx<'a, Msg, Obs>;
