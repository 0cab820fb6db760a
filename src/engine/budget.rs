//! Budgets on what a run retains, checked by the run loop every [`CHECK_EVERY`] events:
//! pending events, held messages (by clogs and paused nodes), the trace sinks' own
//! budgets, and a caller's watchdog (e.g. a reading of the process's memory). Running
//! out stops the run with [`crate::Outcome::BudgetExhausted`] and an [`Exhausted`] that
//! says which budget and by how much; it never changes what happened before the stop.
//!
//! The counted budgets are deterministic: the run stops at the same event for the same
//! configuration and seed, because they are checked at fixed event counts against
//! counters of the run. A watchdog may read something outside the run (the process's
//! resident memory); its [`Exhausted`] says it is not deterministic.

/// The run loop checks the budgets once every this many events (a power of two).
pub const CHECK_EVERY: u64 = 4096;

/// Limits on what a run retains at once (`None`: no limit).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Budgets {
    /// Most events waiting in the queue (messages in flight, timers, fault starts and ends).
    pub max_pending: Option<u64>,
    /// Most messages and timers held at once by clogs and paused nodes.
    pub max_held: Option<u64>,
}

/// A budget the run ran out of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exhausted {
    /// Which budget: `pending_events`, `held_messages`, `memory`, `trace_bytes`, ...
    pub budget: &'static str,
    /// What happened, in words (the figure, the limit, how to raise it).
    pub detail: String,
    /// The stop is a pure function of the configuration and seed (a counted budget);
    /// `false` when it came from a measurement outside the run (resident memory).
    pub deterministic: bool,
}

/// A check the run loop calls every [`CHECK_EVERY`] events with the number of events
/// processed so far; `Some` stops the run.
pub type Watchdog = Box<dyn FnMut(u64) -> Option<Exhausted>>;

impl Budgets {
    /// The first budget the run is over, given its pending events and held messages.
    pub fn over(&self, pending: u64, held: u64) -> Option<Exhausted> {
        if let Some(max) = self.max_pending.filter(|m| pending > *m) {
            return Some(Exhausted {
                budget: "pending_events",
                detail: format!("{pending} events were pending at once, over the budget of {max}"),
                deterministic: true,
            });
        }
        if let Some(max) = self.max_held.filter(|m| held > *m) {
            return Some(Exhausted {
                budget: "held_messages",
                detail: format!(
                    "{held} messages and timers were held at once by clogs and paused nodes, over the budget of {max}"
                ),
                deterministic: true,
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_budget_over_is_named() {
        let b = Budgets {
            max_pending: Some(10),
            max_held: Some(5),
        };
        assert_eq!(b.over(10, 5), None, "at the budget is within it");
        assert_eq!(b.over(11, 0).unwrap().budget, "pending_events");
        assert_eq!(b.over(0, 6).unwrap().budget, "held_messages");
        assert!(b.over(0, 6).unwrap().deterministic);
        assert_eq!(Budgets::default().over(u64::MAX, u64::MAX), None);
    }
}
