//! Checks and metrics as values: a [`Check`] has a typed id, sees every observation of
//! the run as it is made, and gives its verdict at the end; the runner files the verdict
//! and every violation under that id, so a violation can never be listed under another
//! check's name. [`always`] and [`eventually`] make a check from a predicate over one
//! observation type; [`batch`] adapts checkers that judge the whole history at the end
//! (keeping it: O(events) memory; the built-in checks are online and keep only live state).
//! [`Metrics`] are a protocol's streaming figures, reported as JSON.

use std::cell::RefCell;
use std::rc::Rc;

use super::payload::Observation;
use crate::check::{CheckContext, CheckId, Verdict, Violation};
use crate::engine::history::Record;
use crate::engine::time::SimTime;

/// A check: fed each observation of the run in order, then asked for its verdict.
pub trait Check {
    /// Its id: its verdict and all its violations are filed under it.
    fn id(&self) -> CheckId;
    /// One observation (any protocol's: read yours with [`Observation::get`]).
    fn observe(&mut self, rec: &Record<Observation>);
    /// The verdict at the end of the run; `None` when the check does not apply to this
    /// run (it is then not listed).
    fn verdict(&mut self, cx: &CheckContext) -> Option<Verdict>;
    /// How many entries of state it holds now (records, open items, runs of settled
    /// ids, violations found): what its memory grows with. An online check keeps only
    /// live state, so this stays bounded by the work in progress; a [`batch`] check
    /// keeps every observation it reads. The default says nothing (`0`).
    fn retained(&self) -> usize {
        0
    }
    /// A linearizability counterexample, in words and times, once [`Check::verdict`]
    /// found one: the run's HTML report draws it as a per-key timeline linked into the
    /// space-time diagram, whatever the check. The default has none.
    fn evidence(&self) -> Option<crate::linearizability::Evidence> {
        None
    }
}

/// A protocol's streaming metrics: fed each observation, summarised as JSON at the end.
pub trait Metrics {
    /// One observation.
    fn observe(&mut self, rec: &Record<Observation>);
    /// The figures over `[0, end]`.
    fn finish(&self, end: SimTime) -> serde_json::Value;
}

/// A safety check: every observation of type `O` satisfies `holds`, which returns
/// `Err(message)` for one that does not (a violation at that record's time and node).
/// A run in which no observation of type `O` was made is `not_judged`, never a pass:
/// nothing was checked (the work never ran, or the check reads a type nobody observes).
pub fn always<O: Clone + 'static>(
    id: CheckId,
    holds: impl FnMut(&Record<O>) -> Result<(), String> + 'static,
) -> Box<dyn Check> {
    Box::new(Always {
        id,
        holds: Box::new(holds),
        failed: Vec::new(),
        seen: 0,
    })
}

type Predicate<O> = Box<dyn FnMut(&Record<O>) -> Result<(), String>>;

struct Always<O> {
    id: CheckId,
    holds: Predicate<O>,
    failed: Vec<(Record<O>, String)>,
    /// How many observations of type `O` it judged.
    seen: u64,
}

impl<O: Clone + 'static> Check for Always<O> {
    fn id(&self) -> CheckId {
        self.id
    }
    fn observe(&mut self, rec: &Record<Observation>) {
        let Some(obs) = rec.obs.get::<O>() else { return };
        self.seen += 1;
        let r = Record {
            at: rec.at,
            node: rec.node,
            obs: obs.clone(),
        };
        if let Err(message) = (self.holds)(&r) {
            self.failed.push((r, message));
        }
    }
    fn verdict(&mut self, cx: &CheckContext) -> Option<Verdict> {
        if self.seen == 0 {
            // Nothing of its type was observed: it judged nothing, so it cannot pass (a
            // run that did no work, or a check reading the wrong type).
            return Some(Verdict {
                check: self.id,
                violations: Vec::new(),
                not_judged: Some(format!(
                    "no observation of type {} was made, so nothing was judged",
                    std::any::type_name::<O>()
                )),
            });
        }
        let violations = self
            .failed
            .drain(..)
            .map(|(r, message)| {
                let ev = cx.evidence_of(&r, message.clone());
                Violation::new(self.id, message, r.at, cx, vec![ev])
            })
            .collect();
        Some(Verdict::judged(self.id, violations))
    }
    fn retained(&self) -> usize {
        self.failed.len()
    }
}

/// A liveness check: some observation of type `O` satisfies `happened` by the end of
/// the run. When none did, it is a violation if the run healed (no fault still in
/// force), and not judged otherwise; `what` says what should have happened.
pub fn eventually<O: Clone + 'static>(
    id: CheckId,
    what: &str,
    happened: impl FnMut(&Record<O>) -> bool + 'static,
) -> Box<dyn Check> {
    Box::new(Eventually {
        id,
        what: what.to_string(),
        happened: Box::new(happened),
        seen: false,
    })
}

type Happened<O> = Box<dyn FnMut(&Record<O>) -> bool>;

struct Eventually<O> {
    id: CheckId,
    what: String,
    happened: Happened<O>,
    seen: bool,
}

impl<O: Clone + 'static> Check for Eventually<O> {
    fn id(&self) -> CheckId {
        self.id
    }
    fn observe(&mut self, rec: &Record<Observation>) {
        if self.seen {
            return;
        }
        if let Some(obs) = rec.obs.get::<O>() {
            let r = Record {
                at: rec.at,
                node: rec.node,
                obs: obs.clone(),
            };
            self.seen = (self.happened)(&r);
        }
    }
    fn verdict(&mut self, cx: &CheckContext) -> Option<Verdict> {
        if self.seen {
            return Some(Verdict::judged(self.id, Vec::new()));
        }
        if cx.healed_at().is_some() {
            let message = format!("never happened by the end of the run: {}", self.what);
            return Some(Verdict::judged(
                self.id,
                vec![Violation::new(self.id, message, cx.end, cx, Vec::new())],
            ));
        }
        Some(Verdict {
            check: self.id,
            violations: Vec::new(),
            not_judged: Some(format!(
                "a fault was still in force at the end, and this has not happened yet: {}",
                self.what
            )),
        })
    }
}

/// A judgement over the whole history of observations of type `O` (as a checker that
/// reads a run after the fact has it); `None` when it does not apply to the run.
pub type Judgement<O> = Box<dyn Fn(&[Record<O>], &CheckContext) -> Option<Verdict>>;

/// Checks that judge the whole history of observations of type `O` at the end, one per
/// `(id, judgement)`, sharing one copy of the records.
///
/// They keep every observation of type `O` until the end of the run: memory grows with
/// the run (O(events)), which is fine for short runs and checkers written after the
/// fact. A check meant for long runs implements [`Check`] itself and keeps only live
/// state, as the built-in protocols' checks do.
pub fn batch<O: Clone + 'static>(judgements: Vec<(CheckId, Judgement<O>)>) -> Vec<Box<dyn Check>> {
    batch_where(judgements, |_| true)
}

/// [`batch`], keeping only the observations of type `O` that `keep` selects (e.g. one
/// protocol's variants of an observation type several protocols share).
pub fn batch_where<O: Clone + 'static>(
    judgements: Vec<(CheckId, Judgement<O>)>,
    keep: fn(&O) -> bool,
) -> Vec<Box<dyn Check>> {
    let records: Rc<RefCell<Vec<Record<O>>>> = Rc::default();
    judgements
        .into_iter()
        .enumerate()
        .map(|(i, (id, judge))| {
            Box::new(Batch {
                id,
                feeds: i == 0,
                keep,
                records: records.clone(),
                judge,
            }) as Box<dyn Check>
        })
        .collect()
}

struct Batch<O> {
    id: CheckId,
    /// Only the first check of a group keeps the records (they share them).
    feeds: bool,
    /// Which observations of type `O` it keeps.
    keep: fn(&O) -> bool,
    records: Rc<RefCell<Vec<Record<O>>>>,
    judge: Judgement<O>,
}

impl<O: Clone + 'static> Check for Batch<O> {
    fn id(&self) -> CheckId {
        self.id
    }
    fn observe(&mut self, rec: &Record<Observation>) {
        if self.feeds
            && let Some(obs) = rec.obs.get::<O>()
            && (self.keep)(obs)
        {
            self.records.borrow_mut().push(Record {
                at: rec.at,
                node: rec.node,
                obs: obs.clone(),
            });
        }
    }
    fn verdict(&mut self, cx: &CheckContext) -> Option<Verdict> {
        (self.judge)(&self.records.borrow(), cx)
    }
    fn retained(&self) -> usize {
        if self.feeds { self.records.borrow().len() } else { 0 }
    }
}

/// Run `checks` over `records` and collect their verdicts, each verdict and each of its
/// violations filed under the id of the check that gave it.
pub fn judge(checks: &mut [Box<dyn Check>], cx: &CheckContext) -> Vec<Verdict> {
    checks
        .iter_mut()
        .filter_map(|c| {
            let id = c.id();
            c.verdict(cx).map(|mut v| {
                v.check = id;
                v.violations.iter_mut().for_each(|x| x.check = id);
                v
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;
    use crate::engine::node::NodeId;

    const EVEN: CheckId = CheckId::new("test.even");

    fn even() -> Box<dyn Check> {
        always(EVEN, |r: &Record<u64>| {
            if r.obs.is_multiple_of(2) {
                Ok(())
            } else {
                Err(format!("{} is odd", r.obs))
            }
        })
    }

    fn rec(obs: Observation) -> Record<Observation> {
        Record {
            at: SimTime::from_millis(1),
            node: NodeId(0),
            obs,
        }
    }

    #[test]
    fn always_judges_what_it_saw_and_never_passes_having_seen_nothing() {
        let cx = CheckContext::new(1, SimTime::from_secs(1));
        // Nothing of its type: not judged, with the type named.
        let mut c = even();
        c.observe(&rec(Observation::new("a string, not a u64")));
        let v = c.verdict(&cx).unwrap();
        assert_eq!(v.status(), Status::NotJudged);
        assert!(v.not_judged.as_deref().unwrap().contains("u64"), "{v:?}");
        // Only even numbers: pass.
        let mut c = even();
        c.observe(&rec(Observation::new(4u64)));
        assert_eq!(c.verdict(&cx).unwrap().status(), Status::Pass);
        // An odd one: a violation under its own id.
        let mut c = even();
        c.observe(&rec(Observation::new(4u64)));
        c.observe(&rec(Observation::new(7u64)));
        let v = c.verdict(&cx).unwrap();
        assert_eq!(v.status(), Status::Fail);
        assert_eq!(v.violations[0].check, EVEN);
    }
}
