//! [`check`] and [`check_detailed`]: validate the times, partition the history, search
//! each partition in key order within the budget, and turn what the searches found into
//! an [`Outcome`] with described counterexamples.

use super::budget::{Budget, Exhausted, Meter};
use super::counterexample::{Counterexample, PartitionCounterexample, Placed};
use super::history::{Operation, invalid_times};
use super::model::Model;
use super::outcome::{Checked, Outcome, PartitionResult, PartitionVerdict};
use super::partition::partitions;
use super::search::{SearchEnd, search};

/// Whether `ops` is linearizable under `model`, within `budget`.
pub fn check<M: Model>(model: &M, ops: &[Operation<M::Input, M::Output>], budget: &Budget) -> Outcome {
    check_detailed(model, ops, budget).outcome
}

/// [`check`] with each partition's verdict, steps, cache size and linearization.
/// Every partition is checked (so that a counterexample covers every failing key) until
/// the steps run out; the rest are `NotChecked`.
pub fn check_detailed<M: Model>(model: &M, ops: &[Operation<M::Input, M::Output>], budget: &Budget) -> Checked {
    if let Some(reason) = invalid_times(ops) {
        return Checked {
            outcome: Outcome::Unknown { reason },
            partitions: Vec::new(),
            steps: 0,
        };
    }
    let mut meter = Meter::new(budget);
    let mut results = Vec::new();
    let mut failures = Vec::new();
    let mut unknown: Option<String> = None;
    // Steps used up or cancelled: the partitions left are not checked.
    let mut stopped = false;
    for (key, idx) in partitions(model, ops) {
        let mut result = PartitionResult {
            key: key.clone(),
            ops: idx.len(),
            verdict: PartitionVerdict::NotChecked,
            steps: 0,
            cache_bytes: 0,
            linearization: None,
        };
        if stopped {
            results.push(result);
            continue;
        }
        meter.new_partition();
        let before = meter.steps;
        let end = search(model, ops, &idx, &mut meter);
        result.steps = meter.steps - before;
        result.cache_bytes = meter.bytes;
        match end {
            SearchEnd::Linearizable(order) => {
                result.verdict = PartitionVerdict::Linearizable;
                result.linearization = Some(order.into_iter().map(|p| idx[p]).collect());
            }
            SearchEnd::NotLinearizable(f) => {
                result.verdict = PartitionVerdict::NotLinearizable;
                let op = |p: usize| &ops[idx[p]];
                failures.push(PartitionCounterexample {
                    key: key.clone(),
                    ops: idx.clone(),
                    prefix: f
                        .prefix
                        .iter()
                        .map(|(p, s)| Placed {
                            op: idx[*p],
                            description: model.describe_op(&op(*p).input, op(*p).output.as_ref()),
                            state_after: model.describe_state(s),
                        })
                        .collect(),
                    blocked: idx[f.blocked],
                    blocked_description: model.describe_op(&op(f.blocked).input, op(f.blocked).output.as_ref()),
                    states: f.states.iter().map(|s| model.describe_state(s)).collect(),
                    more_states: f.more_states,
                });
            }
            SearchEnd::OutOfBudget(e) => {
                result.verdict = PartitionVerdict::Unknown;
                stopped = !matches!(e, Exhausted::Memory(_));
                let at = key.as_ref().map_or_else(String::new, |k| format!(" on key {k:?}"));
                unknown.get_or_insert_with(|| format!("{e}{at} ({} operations)", idx.len()));
            }
        }
        results.push(result);
    }
    let outcome = if !failures.is_empty() {
        Outcome::NotLinearizable(Counterexample { partitions: failures })
    } else if let Some(reason) = unknown {
        Outcome::Unknown { reason }
    } else {
        Outcome::Linearizable
    };
    Checked {
        outcome,
        partitions: results,
        steps: meter.steps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linearizability::{Kv, KvInput, KvOutput, Register, RegisterInput as RI, RegisterOutput as RO};

    fn op<I, O>(client: u64, input: I, call: u64, ret: u64, output: O) -> Operation<I, O> {
        Operation {
            client,
            input,
            call,
            ret: Some(ret),
            output: Some(output),
        }
    }

    #[test]
    fn the_unknown_outcomes_shortcut_never_passes_what_the_model_rejects() {
        // Never returned, yet with an output the register rejects (it never held 9): the
        // shortcut for "only unknown outcomes left" must not accept it unchecked.
        let h = [
            op(0, RI::Write(1), 0, 10, RO::Ok),
            Operation {
                client: 1,
                input: RI::Read,
                call: 20,
                ret: None,
                output: Some(RO::Value(Some(9))),
            },
        ];
        assert!(matches!(
            check(&Register, &h, &Budget::default()),
            Outcome::NotLinearizable(_)
        ));
        // The same read of a value that was written is fine.
        let h = [
            op(0, RI::Write(9), 0, 10, RO::Ok),
            Operation {
                client: 1,
                input: RI::Read,
                call: 20,
                ret: None,
                output: Some(RO::Value(Some(9))),
            },
        ];
        assert!(matches!(
            check(&Register, &h, &Budget::default()),
            Outcome::Linearizable
        ));
    }

    #[test]
    fn a_stale_read_is_named_with_its_prefix_and_states() {
        let h = [
            op(0, RI::Write(1), 0, 10, RO::Ok),
            op(1, RI::Write(2), 20, 30, RO::Ok),
            op(2, RI::Read, 40, 50, RO::Value(Some(1))),
        ];
        let Outcome::NotLinearizable(c) = check(&Register, &h, &Budget::default()) else {
            panic!("stale read accepted")
        };
        let p = &c.partitions[0];
        assert_eq!(p.key, None);
        assert_eq!(p.blocked, 2);
        assert_eq!(p.blocked_description, "read() -> 1");
        let order: Vec<(usize, &str)> = p.prefix.iter().map(|s| (s.op, s.state_after.as_str())).collect();
        assert_eq!(order, vec![(0, "1"), (1, "2")]);
        assert_eq!(p.states, vec!["2".to_string()]);
        assert!(!p.more_states);
        assert!(c.to_string().contains("cannot be placed next: op 2 read() -> 1"), "{c}");
    }

    #[test]
    fn concurrent_writes_leave_several_possible_states() {
        // Two concurrent writes, then a read of a value nobody wrote.
        let h = [
            op(0, RI::Write(1), 0, 10, RO::Ok),
            op(1, RI::Write(2), 0, 10, RO::Ok),
            op(2, RI::Read, 20, 30, RO::Value(Some(3))),
        ];
        let Outcome::NotLinearizable(c) = check(&Register, &h, &Budget::default()) else {
            panic!("read of 3 accepted")
        };
        let p = &c.partitions[0];
        assert_eq!((p.blocked, p.prefix.len()), (2, 2));
        let mut states = p.states.clone();
        states.sort();
        assert_eq!(states, vec!["1".to_string(), "2".to_string()]);
    }

    #[test]
    fn unknown_operations_may_take_effect_late_or_never() {
        // A write that timed out is seen by a read long after, and another read misses it.
        let mut w = op(0, RI::Write(5), 0, 10, RO::Ok);
        w.output = None;
        let h = [
            w,
            op(1, RI::Read, 20, 30, RO::Value(None)),
            op(1, RI::Read, 40, 50, RO::Value(Some(5))),
        ];
        assert_eq!(check(&Register, &h, &Budget::default()), Outcome::Linearizable);
        // Once seen, it cannot be unseen.
        let mut h2 = h.to_vec();
        h2.push(op(2, RI::Read, 60, 70, RO::Value(None)));
        assert_eq!(check(&Register, &h2, &Budget::default()).name(), "not_linearizable");
    }

    #[test]
    fn every_failing_key_gets_a_counterexample_and_budgets_give_unknown() {
        let get = |c, k: &str, t, v: &str| op(c, KvInput::Get { key: k.into() }, t, t + 5, KvOutput::Value(v.into()));
        let put = |c, k: &str, t, v: &str| {
            op(
                c,
                KvInput::Put {
                    key: k.into(),
                    value: v.into(),
                },
                t,
                t + 5,
                KvOutput::Ok,
            )
        };
        let h = [
            put(0, "a", 0, "x"),
            get(1, "a", 10, ""),
            put(0, "b", 0, "y"),
            get(1, "b", 10, "z"),
            get(2, "c", 0, ""),
        ];
        let d = check_detailed(&Kv, &h, &Budget::default());
        let Outcome::NotLinearizable(c) = &d.outcome else {
            panic!("{d:?}")
        };
        let keys: Vec<_> = c.partitions.iter().map(|p| p.key.clone().unwrap()).collect();
        assert_eq!(keys, vec!["a", "b"]);
        assert_eq!(c.partitions[0].blocked, 1);
        assert_eq!(c.partitions[1].blocked, 3);
        assert_eq!(d.partitions[2].verdict, PartitionVerdict::Linearizable);
        assert_eq!(d.partitions[2].linearization, Some(vec![4]));
        // One step is not enough for anything: unknown, never a verdict.
        let tiny = check_detailed(&Kv, &h, &Budget::steps(1));
        assert!(
            matches!(&tiny.outcome, Outcome::Unknown { reason } if reason.contains("step budget")),
            "{tiny:?}"
        );
        assert_eq!(tiny.partitions[1].verdict, PartitionVerdict::NotChecked);
        let no_memory = Budget {
            max_memory_bytes: 1,
            ..Budget::default()
        };
        assert!(matches!(check(&Kv, &h, &no_memory), Outcome::Unknown { reason } if reason.contains("memory")));
    }

    #[test]
    fn times_that_make_no_sense_are_unknown_with_a_reason() {
        let h = [op(0, RI::Read, 10, 5, RO::Value(None))];
        assert!(
            matches!(check(&Register, &h, &Budget::default()), Outcome::Unknown { reason } if reason.contains("before its call"))
        );
        assert_eq!(check(&Register, &[], &Budget::default()), Outcome::Linearizable);
    }
}
