//! Placeholder: to be replaced by the discovery protocol.

use crate::hash::{StableHash, StableHasher};

/// Disc messages.
#[derive(Clone, Debug, PartialEq)]
pub enum DiscMsg {}

impl StableHash for DiscMsg {
    fn stable_hash(&self, _h: &mut StableHasher) {
        match *self {}
    }
}

/// Disc observations.
#[derive(Clone, Debug, PartialEq)]
pub enum DiscObs {}
