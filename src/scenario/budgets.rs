//! The budgets of a run beyond its scenario's event budget: memory (`--max-memory`) and
//! the trace file's size (`--max-trace-bytes`). They are set by the command line (or a
//! library caller) on a loaded [`Scenario`](super::Scenario), never read from its file:
//! a scenario is the same scenario whatever machine runs it.
//!
//! The memory budget is enforced two ways. Deterministically: the run's pending events
//! and held messages are counted, each at an estimated [`BYTES_PER_EVENT`] /
//! [`BYTES_PER_HELD`], against half the budget each (a pure function of the
//! configuration, the seed and the budget). As a safety net: the process's resident
//! memory is read every [`RSS_EVERY`] events and compared with the whole budget (not
//! deterministic: it says so when it stops a run).

use crate::engine::budget::Budgets;

/// What a pending event is counted as retaining: the queue's entry (time, order keys,
/// the event with its boxed message) and the message's own allocation, rounded up.
pub const BYTES_PER_EVENT: u64 = 128;
/// What a message (or timer) held by a clog or a paused node is counted as retaining.
pub const BYTES_PER_HELD: u64 = 128;
/// The resident-memory safety net reads the process's memory every this many events.
pub const RSS_EVERY: u64 = 65_536;
/// What an item of work made at once at the start (a batch's job) is counted as
/// retaining while it is open: the maker's record and queue entry, and the checks'
/// records (a batch of 1 M jobs measured about 190-240 B each), rounded up.
pub const BYTES_PER_START_ITEM: u64 = 256;

/// A run's budgets beyond the scenario's own limits; `Default`: none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunLimits {
    /// The memory budget of the whole process, in bytes (`--max-memory`).
    pub max_memory: Option<u64>,
    /// How many runs share the process at once (explore's `--jobs`): each run's counted
    /// budgets get its share of `max_memory`. 0 counts as 1.
    pub runs_at_once: u64,
    /// Most bytes the JSON-lines trace may take (`--max-trace-bytes`).
    pub max_trace_bytes: Option<u64>,
}

impl RunLimits {
    /// The engine's counted budgets: pending events and held messages, each allowed half
    /// of this run's share of the memory budget.
    pub fn budgets(&self) -> Budgets {
        let Some(m) = self.max_memory else {
            return Budgets::default();
        };
        let share = m / self.runs_at_once.max(1);
        Budgets {
            max_pending: Some((share / 2 / BYTES_PER_EVENT).max(1)),
            max_held: Some((share / 2 / BYTES_PER_HELD).max(1)),
        }
    }

    /// Most items of work the nodes may make all at once when the run starts (see
    /// `Role::work_at_start`): half of this run's share of the memory budget, at
    /// `BYTES_PER_START_ITEM` (256) bytes each; `None` without a memory budget.
    pub fn max_work_at_start(&self) -> Option<u64> {
        let m = self.max_memory?;
        Some((m / self.runs_at_once.max(1) / 2 / BYTES_PER_START_ITEM).max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_budgets_share_the_memory_budget() {
        assert_eq!(RunLimits::default().budgets(), Budgets::default());
        let one = RunLimits {
            max_memory: Some(1 << 30),
            ..RunLimits::default()
        };
        let b = one.budgets();
        assert_eq!(b.max_pending, Some((1 << 29) / BYTES_PER_EVENT));
        assert_eq!(b.max_held, Some((1 << 29) / BYTES_PER_HELD));
        let four = RunLimits { runs_at_once: 4, ..one }.budgets();
        assert_eq!(four.max_pending, Some((1 << 27) / BYTES_PER_EVENT), "a quarter each");
        let tiny = RunLimits {
            max_memory: Some(1),
            ..one
        };
        assert_eq!(tiny.budgets().max_held, Some(1), "never zero");
        assert_eq!(RunLimits::default().max_work_at_start(), None);
        assert_eq!(one.max_work_at_start(), Some((1 << 29) / BYTES_PER_START_ITEM));
        assert_eq!(tiny.max_work_at_start(), Some(1));
    }
}
