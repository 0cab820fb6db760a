//! The rule every liveness check applies to work left undone (`Judge`).
//!
//! Each piece of work (a job that entered the queue, an RPC call issued, a registration
//! that should become visible) is due at `max(its start, heal) + bound`, where the heal
//! is when the last fault ended ([`CheckContext::heal_at`]); a run that ended with a
//! fault still in force ([`CheckContext::unhealed`]) never healed, and nothing is ever
//! due. At the end of the run, work still undone is:
//!
//! - a violation (`fail`) if it was due at or before the end, or if the run healed and
//!   ended quiescent (nothing was left to happen, so it will never be done);
//! - otherwise pending: the check is `not_judged`, with a reason naming what was still
//!   in force and how much work was undone, or when it falls due ("run longer"), unless
//!   the check also has a violation.
//!
//! Finished work is finished: a check whose work was all done passes, even if a fault
//! never healed. And a check on which nothing ran cannot pass: every [`Source`](super::Source) the
//! scenario configured must have made at least one item, by the same rule (its first
//! item is due at `max(start, heal) + within`).

use super::{CheckContext, CheckId, Verdict, Violation};
use crate::engine::node::NodeId;
use crate::engine::time::SimTime;

/// `n` things, with the right plural: `1 job`, `3 jobs`.
pub(crate) fn count(n: u64, (one, many): (&str, &str)) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Undone work that is a violation: when it became one, and why, in words.
#[derive(Clone, Debug, PartialEq)]
pub struct Overdue {
    /// When: its deadline, or the end of a quiescent run that ended before it.
    pub at: SimTime,
    /// Why, e.g. `its deadline 10.5s passed before the run ended at 12s`.
    pub why: String,
}

/// Collects one liveness check's violations and pending work, and gives its verdict.
pub struct Judge<'a> {
    ctx: &'a CheckContext,
    check: CheckId,
    /// What the work is called: (singular, plural).
    items: (&'static str, &'static str),
    violations: Vec<Violation>,
    /// Work undone and not yet due.
    pending: u64,
    /// The earliest deadline among pending work (when the run healed).
    due_first: Option<SimTime>,
    /// Sources that made nothing and are not yet due, in words.
    idle: Vec<String>,
}

impl<'a> Judge<'a> {
    /// A judge for `check`, whose work is called `items` (singular, plural).
    pub fn new(ctx: &'a CheckContext, check: CheckId, items: (&'static str, &'static str)) -> Self {
        Judge {
            ctx,
            check,
            items,
            violations: Vec::new(),
            pending: 0,
            due_first: None,
            idle: Vec::new(),
        }
    }

    /// When work started at `start` is due: `max(start, heal) + bound`, or `None` when
    /// the run never healed.
    pub fn deadline(&self, start: SimTime, bound: SimTime) -> Option<SimTime> {
        self.ctx.healed_at().map(|h| start.max(h) + bound)
    }

    /// Is work started at `start` with `bound`, still undone at the end, a violation?
    /// `Ok` when it is; `Err` with its deadline (`None`: the run never healed) when it
    /// is pending. `start: None` is work with no deadline (random arrivals): a violation
    /// only when the run healed and ended quiescent.
    fn classify(&self, due: Option<(SimTime, SimTime)>) -> Result<Overdue, Option<SimTime>> {
        let end = self.ctx.end;
        let deadline = due.and_then(|(start, bound)| self.deadline(start, bound));
        match (due, deadline) {
            (Some((start, bound)), Some(d)) if d <= end => Ok(Overdue {
                at: d,
                why: format!(
                    "its deadline {d} ({bound} after {}) passed before the run ended at {end}",
                    if start >= self.ctx.heal_at {
                        "it started"
                    } else {
                        "the last fault healed"
                    }
                ),
            }),
            _ if self.ctx.quiescent && self.ctx.healed_at().is_some() => Ok(Overdue {
                at: end,
                why: format!(
                    "the run ended at {end} with nothing left to happen (quiescent) and no fault in force, so it never will be{}",
                    deadline.map(|d| format!(" (deadline {d})")).unwrap_or_default()
                ),
            }),
            _ => Err(deadline),
        }
    }

    /// Work started at `start` with `bound` was still undone at the end: `Some` when
    /// that is a violation (the caller words it and [`Judge::push`]es it), `None` when
    /// it is pending (counted towards `not_judged`).
    pub fn undone(&mut self, start: SimTime, bound: SimTime) -> Option<Overdue> {
        match self.classify(Some((start, bound))) {
            Ok(o) => Some(o),
            Err(due) => {
                self.pending += 1;
                if let Some(d) = due {
                    self.due_first = Some(self.due_first.map_or(d, |f| f.min(d)));
                }
                None
            }
        }
    }

    /// Count work that is undone and whose fate the run cannot judge (no deadline).
    pub fn pending(&mut self) {
        self.pending += 1;
    }

    /// Record a violation.
    pub fn push(&mut self, v: Violation) {
        self.violations.push(v);
    }

    /// The nothing-ran rule: every source of this check that made no item (by
    /// `issued`) is undone work, due at `max(start, heal) + within`.
    pub fn sources(&mut self, issued: impl Fn(NodeId) -> u64) {
        let ctx = self.ctx;
        for s in ctx
            .sources
            .iter()
            .filter(|s| s.check == self.check && s.configured != Some(0))
        {
            if issued(s.node) > 0 {
                continue;
            }
            let made_none = match s.configured {
                Some(n) => format!(
                    "{} was configured to make {} and made none",
                    ctx.name(s.node),
                    count(n, s.items)
                ),
                None => format!(
                    "{} was configured to make {} and made none",
                    ctx.name(s.node),
                    s.items.1
                ),
            };
            match self.classify(s.first_due) {
                Ok(o) => {
                    let v = Violation::new(self.check, format!("{made_none}: {}", o.why), o.at, ctx, Vec::new());
                    self.violations.push(v);
                }
                Err(due) => {
                    let when = match (s.first_due, due) {
                        (_, Some(d)) => format!(" (due only at {d})"),
                        (None, _) => " (its arrivals are random)".to_string(),
                        _ => String::new(),
                    };
                    self.idle.push(format!("{made_none} by the end of the run{when}"));
                }
            }
        }
    }

    /// The verdict: fail with a violation; else not judged when work is pending; else pass.
    pub fn finish(mut self) -> Verdict {
        self.violations.sort_by_key(|v| v.at);
        let not_judged = (self.pending > 0 || !self.idle.is_empty()).then(|| {
            let end = self.ctx.end;
            let mut parts: Vec<String> = self.ctx.unhealed.iter().map(|u| u.to_string()).collect();
            if self.pending > 0 {
                parts.push(match (self.ctx.healed_at(), self.due_first) {
                    (Some(_), Some(d)) => format!(
                        "{} still undone when the run ended at {end}, due only at {d}: run longer",
                        count(self.pending, self.items)
                    ),
                    _ => format!("{} undone", count(self.pending, self.items)),
                });
            }
            let run_longer = self.ctx.healed_at().is_some() && self.pending == 0 && !self.idle.is_empty();
            parts.extend(self.idle);
            let mut reason = parts.join("; ");
            if run_longer {
                reason.push_str(": run longer");
            }
            reason
        });
        Verdict {
            check: self.check,
            violations: self.violations,
            not_judged,
        }
    }
}
