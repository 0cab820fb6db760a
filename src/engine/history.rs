//! The history: what nodes observed (`Ctx::observe`), with time and node, for checkers
//! to read after the run. Recording can be turned off, or streamed to a callback, so a
//! run of millions of operations need not keep them all.

use crate::engine::node::NodeId;
use crate::engine::time::SimTime;

/// One observation.
#[derive(Clone, Debug, PartialEq)]
pub struct Record<O> {
    /// When it was observed.
    pub at: SimTime,
    /// Which node observed it.
    pub node: NodeId,
    /// What was observed.
    pub obs: O,
}

/// A callback that sees each observation as it is made.
pub type ObserverFn<O> = Box<dyn FnMut(&Record<O>)>;

/// Observations in the order they were made.
pub struct History<O> {
    records: Vec<Record<O>>,
    keep: bool,
    observer: Option<ObserverFn<O>>,
    count: u64,
}

impl<O> Default for History<O> {
    fn default() -> Self {
        History {
            records: Vec::new(),
            keep: true,
            observer: None,
            count: 0,
        }
    }
}

impl<O> History<O> {
    /// Record one observation.
    #[inline]
    pub(crate) fn record(&mut self, at: SimTime, node: NodeId, obs: O) {
        self.count += 1;
        if self.keep || self.observer.is_some() {
            let rec = Record { at, node, obs };
            if let Some(f) = &mut self.observer {
                f(&rec);
            }
            if self.keep {
                self.records.push(rec);
            }
        }
    }

    /// Keep (default) or discard observations after the observer has seen them.
    pub fn set_keep(&mut self, keep: bool) {
        self.keep = keep;
    }

    /// Stream every observation to `f` as it is made.
    pub fn set_observer(&mut self, f: ObserverFn<O>) {
        self.observer = Some(f);
    }

    /// The kept observations, in order.
    pub fn records(&self) -> &[Record<O>] {
        &self.records
    }

    /// How many observations were made (kept or not).
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Take the kept observations out.
    pub fn take(&mut self) -> Vec<Record<O>> {
        std::mem::take(&mut self.records)
    }
}

impl<O: std::fmt::Debug> std::fmt::Debug for History<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History")
            .field("count", &self.count)
            .field("records", &self.records.len())
            .finish()
    }
}
