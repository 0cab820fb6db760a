//! The store's state machine: the keys' values, and per client the last write applied
//! (its sequence number), so that a write retried under the same (client, sequence
//! number) is applied once, however many times it reaches the log.

use std::collections::BTreeMap;

use super::{Command, KvOp};
use crate::engine::node::NodeId;

/// The keys' values and the writes applied, per client.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateMachine {
    values: BTreeMap<u64, String>,
    /// Per client, the sequence number of the last write applied.
    last: BTreeMap<NodeId, u64>,
}

impl StateMachine {
    /// Nothing written.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of `key` (empty when never written).
    pub fn get(&self, key: u64) -> &str {
        self.values.get(&key).map_or("", String::as_str)
    }

    /// Has `client`'s write `seq` (or a later one) been applied?
    pub fn applied(&self, client: NodeId, seq: u64) -> bool {
        self.last.get(&client).is_some_and(|&s| s >= seq)
    }

    /// Apply a committed write, unless that (client, sequence number) or a later one of
    /// the client was applied already. True when it was applied now.
    pub fn apply(&mut self, cmd: &Command) -> bool {
        if self.applied(cmd.client, cmd.seq) {
            return false;
        }
        self.last.insert(cmd.client, cmd.seq);
        match &cmd.op {
            KvOp::Get { .. } => {}
            KvOp::Put { key, value } => {
                self.values.insert(*key, value.clone());
            }
            KvOp::Append { key, value } => self.values.entry(*key).or_default().push_str(value),
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn append(client: u32, seq: u64, value: &str) -> Command {
        Command {
            client: NodeId(client),
            seq,
            op: KvOp::Append {
                key: 0,
                value: value.into(),
            },
        }
    }

    #[test]
    fn a_retried_append_is_applied_once() {
        let mut sm = StateMachine::new();
        assert!(sm.apply(&append(1, 1, "a")));
        // The same (client, seq) again, as a retry that reached the log twice: skipped.
        assert!(!sm.apply(&append(1, 1, "a")));
        assert_eq!(sm.get(0), "a");
        // Another client's write with the same seq is its own.
        assert!(sm.apply(&append(2, 1, "b")));
        assert!(sm.apply(&append(1, 2, "c")));
        // A late copy of an older write of client 1 is not applied either.
        assert!(!sm.apply(&append(1, 1, "a")));
        assert_eq!(sm.get(0), "abc");
        assert!(sm.applied(NodeId(1), 2) && !sm.applied(NodeId(1), 3));
        assert_eq!(sm.get(7), "");
    }
}
