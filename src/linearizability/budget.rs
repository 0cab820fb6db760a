//! How much work a check may do: [`Budget`] (search steps, memo-cache memory, and an
//! optional cancel closure) and the meter that counts against it. Steps and memory are
//! counted, never the wall clock, so a check inside a simulation is deterministic; only a
//! caller outside one (the command line) may pass a `cancel` closure that reads a clock.

/// The limits of one [`super::check`]. Out of budget, the verdict is `Unknown`, never a
/// wrong one.
pub struct Budget {
    /// Search steps over all partitions (one step = one move of the search: try an
    /// operation, or backtrack).
    pub max_steps: u64,
    /// Estimated bytes of one partition's memo cache (its entries' bitsets and states);
    /// partitions are checked one after another and each cache is freed after its
    /// partition.
    pub max_memory_bytes: u64,
    /// Asked every few thousand steps; `true` stops the check with `Unknown`. For callers
    /// outside a simulation (a time limit); `None` inside one.
    pub cancel: Option<Box<dyn Fn() -> bool>>,
}

impl Budget {
    /// The default steps: enough for each history of Porcupine's etcd and kv test sets
    /// many times over.
    pub const DEFAULT_MAX_STEPS: u64 = 100_000_000;
    /// The default memory of a partition's cache: 512 MiB.
    pub const DEFAULT_MAX_MEMORY_BYTES: u64 = 512 << 20;

    /// A budget of `max_steps` steps and the default memory, without cancel.
    pub fn steps(max_steps: u64) -> Budget {
        Budget {
            max_steps,
            ..Budget::default()
        }
    }
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            max_steps: Budget::DEFAULT_MAX_STEPS,
            max_memory_bytes: Budget::DEFAULT_MAX_MEMORY_BYTES,
            cancel: None,
        }
    }
}

impl std::fmt::Debug for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budget")
            .field("max_steps", &self.max_steps)
            .field("max_memory_bytes", &self.max_memory_bytes)
            .field("cancel", &self.cancel.is_some())
            .finish()
    }
}

/// Why a check stopped early.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Exhausted {
    /// All steps used.
    Steps(u64),
    /// The cache would exceed this many bytes.
    Memory(u64),
    /// The cancel closure said stop.
    Cancelled,
}

impl std::fmt::Display for Exhausted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exhausted::Steps(n) => write!(f, "step budget of {n} steps used up"),
            Exhausted::Memory(n) => write!(f, "memory budget of {n} bytes for the search cache used up"),
            Exhausted::Cancelled => write!(f, "cancelled (time limit)"),
        }
    }
}

/// Counts steps over the whole check and bytes of the current partition's cache.
pub(crate) struct Meter<'a> {
    budget: &'a Budget,
    /// Steps taken so far (all partitions).
    pub steps: u64,
    /// Bytes of the current partition's cache.
    pub bytes: u64,
}

/// Steps between two calls of the cancel closure.
const CANCEL_EVERY: u64 = 4096;

impl<'a> Meter<'a> {
    pub(crate) fn new(budget: &'a Budget) -> Meter<'a> {
        Meter {
            budget,
            steps: 0,
            bytes: 0,
        }
    }

    /// Take one step.
    pub(crate) fn step(&mut self) -> Result<(), Exhausted> {
        if self.steps >= self.budget.max_steps {
            return Err(Exhausted::Steps(self.budget.max_steps));
        }
        self.steps += 1;
        if self.steps.is_multiple_of(CANCEL_EVERY)
            && let Some(c) = &self.budget.cancel
            && c()
        {
            return Err(Exhausted::Cancelled);
        }
        Ok(())
    }

    /// Whether `more` bytes fit; if they do, count them.
    pub(crate) fn alloc(&mut self, more: u64) -> Result<(), Exhausted> {
        if self.bytes.saturating_add(more) > self.budget.max_memory_bytes {
            return Err(Exhausted::Memory(self.budget.max_memory_bytes));
        }
        self.bytes += more;
        Ok(())
    }

    /// A new partition: its cache starts empty.
    pub(crate) fn new_partition(&mut self) {
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_memory_and_cancel_are_enforced() {
        let b = Budget {
            max_steps: 3,
            max_memory_bytes: 10,
            cancel: None,
        };
        let mut m = Meter::new(&b);
        assert!(m.step().is_ok() && m.step().is_ok() && m.step().is_ok());
        assert_eq!(m.step(), Err(Exhausted::Steps(3)));
        assert!(m.alloc(6).is_ok());
        assert_eq!(m.alloc(5), Err(Exhausted::Memory(10)));
        m.new_partition();
        assert!(m.alloc(10).is_ok());
        let c = Budget {
            cancel: Some(Box::new(|| true)),
            ..Budget::default()
        };
        let mut m = Meter::new(&c);
        let stopped = (0..CANCEL_EVERY).map(|_| m.step()).find(|r| r.is_err());
        assert_eq!(stopped, Some(Err(Exhausted::Cancelled)));
        assert!(format!("{:?}", Budget::default()).contains("cancel: false"));
    }
}
