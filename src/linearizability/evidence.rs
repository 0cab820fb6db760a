//! [`Evidence`]: a counterexample from a simulated run, in words and times, so that a
//! report can draw it (per-key timeline, partial linearization, the operation that cannot
//! be placed, linked to the space-time diagram) without knowing the model. Any check may
//! give one (the `evidence` method of the plugin layer's `Check`); `rkv.linearizable` does.
//!
//! It keeps the operations of the failing keys only, each described once: memory grows
//! with those operations, as the history the check kept did; the report caps what it draws.

use super::counterexample::Counterexample;
use super::history::Operation;
use super::model::Model;
use crate::engine::node::NodeId;
use crate::engine::time::SimTime;

/// One operation of a run's history, described.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceOp {
    /// The client node that called it.
    pub node: NodeId,
    /// When it was called.
    pub call: SimTime,
    /// When it returned, or the client gave up on it (None: never).
    pub ret: Option<SimTime>,
    /// Whether its outcome is unknown (it may take effect at any time after its call, or never).
    pub unknown: bool,
    /// The operation with its output, described by the model, e.g. `get("k1") -> "ab"`.
    pub description: String,
}

/// Why a run's history is not linearizable, for a report: the operations of the failing
/// keys and the counterexample, whose indices point into `ops`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    /// The operations (those of the failing keys, in the order of the checked history).
    pub ops: Vec<EvidenceOp>,
    /// The counterexample, its operation indices into `ops`.
    pub counterexample: Counterexample,
}

impl Evidence {
    /// The evidence of `cex`, found by checking `history` under `model`, whose times are
    /// ns of simulated time; `node` gives the node of an operation's `client`.
    pub fn new<M: Model>(
        model: &M,
        history: &[Operation<M::Input, M::Output>],
        cex: &Counterexample,
        node: impl Fn(u64) -> NodeId,
    ) -> Evidence {
        // The failing keys' operations, renumbered in history order.
        let mut kept: Vec<usize> = cex.partitions.iter().flat_map(|p| p.ops.iter().copied()).collect();
        kept.sort_unstable();
        kept.dedup();
        let new_index = |i: usize| kept.binary_search(&i).unwrap_or(0);
        let ops = kept
            .iter()
            .map(|&i| {
                let op = &history[i];
                EvidenceOp {
                    node: node(op.client),
                    call: SimTime(op.call),
                    ret: op.ret.map(SimTime),
                    unknown: op.unknown(),
                    description: model.describe_op(&op.input, op.output.as_ref()),
                }
            })
            .collect();
        let mut counterexample = cex.clone();
        for p in &mut counterexample.partitions {
            p.ops.iter_mut().for_each(|i| *i = new_index(*i));
            p.prefix.iter_mut().for_each(|pl| pl.op = new_index(pl.op));
            p.blocked = new_index(p.blocked);
        }
        Evidence { ops, counterexample }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linearizability::{Budget, Kv, KvInput, KvOutput, Outcome, check};

    #[test]
    fn keeps_the_failing_keys_operations_renumbered() {
        let op = |client, input, call, ret, output| Operation {
            client,
            input,
            call,
            ret: Some(ret),
            output: Some(output),
        };
        let put = |k: &str, v: &str| KvInput::Put {
            key: k.into(),
            value: v.into(),
        };
        let get = |k: &str| KvInput::Get { key: k.into() };
        let h = [
            op(0, put("a", "x"), 0, 5, KvOutput::Ok),
            op(1, put("b", "y"), 0, 5, KvOutput::Ok),
            op(2, get("b"), 10, 15, KvOutput::Value("z".into())),
        ];
        let Outcome::NotLinearizable(cex) = check(&Kv, &h, &Budget::default()) else {
            panic!("read of z accepted")
        };
        let e = Evidence::new(&Kv, &h, &cex, |c| NodeId(c as u32 + 7));
        assert_eq!(e.ops.len(), 2, "key a passed: its operation is left out");
        let p = &e.counterexample.partitions[0];
        assert_eq!((p.blocked, p.ops.clone()), (1, vec![0, 1]));
        assert_eq!(e.ops[1].node, NodeId(9));
        assert_eq!(e.ops[1].call, SimTime(10));
        assert_eq!(e.ops[1].description, p.blocked_description);
        assert!(!e.ops[1].unknown);
    }
}
