//! Placeholder: to be replaced by the rpc protocol.

use crate::hash::{StableHash, StableHasher};

/// Rpc messages.
#[derive(Clone, Debug, PartialEq)]
pub enum RpcMsg {}

impl StableHash for RpcMsg {
    fn stable_hash(&self, _h: &mut StableHasher) {
        match *self {}
    }
}

/// Rpc observations.
#[derive(Clone, Debug, PartialEq)]
pub enum RpcObs {}
