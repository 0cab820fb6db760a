//! Partitioning by key (P-compositionality): a history of independent keys is
//! linearizable if and only if each key's sub-history is, and checking them apart is
//! exponentially cheaper than checking them together.

use std::collections::BTreeMap;

use super::history::Operation;
use super::model::Model;

/// The operations of each partition (indices into `ops`, in their order), by key:
/// the unkeyed partition (None) first, then keys in order. Deterministic.
pub(crate) fn partitions<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
) -> Vec<(Option<String>, Vec<usize>)> {
    let mut by_key: BTreeMap<Option<String>, Vec<usize>> = BTreeMap::new();
    for (i, op) in ops.iter().enumerate() {
        by_key.entry(model.partition(&op.input)).or_default().push(i);
    }
    by_key.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linearizability::{Kv, KvInput, KvOutput, Register, RegisterInput};

    #[test]
    fn kv_partitions_by_key_in_key_order_and_a_register_is_one_partition() {
        let op = |key: &str| Operation {
            client: 0,
            input: KvInput::Get { key: key.into() },
            call: 0,
            ret: Some(1),
            output: Some(KvOutput::Value(String::new())),
        };
        let ops = [op("b"), op("a"), op("b")];
        assert_eq!(
            partitions(&Kv, &ops),
            vec![(Some("a".to_string()), vec![1]), (Some("b".to_string()), vec![0, 2])]
        );
        let r = [Operation {
            client: 0,
            input: RegisterInput::Read,
            call: 0,
            ret: None,
            output: None,
        }];
        assert_eq!(partitions(&Register, &r), vec![(None, vec![0])]);
    }
}
