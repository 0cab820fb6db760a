//! Placeholder: to be replaced by the worker_pool protocol.

use crate::hash::{StableHash, StableHasher};

/// Pool messages.
#[derive(Clone, Debug, PartialEq)]
pub enum PoolMsg {}

impl StableHash for PoolMsg {
    fn stable_hash(&self, _h: &mut StableHasher) {
        match *self {}
    }
}

/// Pool observations.
#[derive(Clone, Debug, PartialEq)]
pub enum PoolObs {}
