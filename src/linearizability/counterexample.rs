//! Why a history is not linearizable, for people: per failing key, the longest
//! linearizable prefix the search found (in order, with the state after each operation),
//! the operation that cannot be placed after it, and the states the model could be in
//! just before it (a bounded list).

/// One operation placed in a partial linearization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placed {
    /// The operation's index in the checked slice.
    pub op: usize,
    /// The operation, described by the model.
    pub description: String,
    /// The model's state after it, described by the model.
    pub state_after: String,
}

/// Why one partition (key) is not linearizable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionCounterexample {
    /// The partition's key (None: the model does not partition).
    pub key: Option<String>,
    /// The partition's operations: indices in the checked slice, by call time.
    pub ops: Vec<usize>,
    /// The longest linearizable prefix found (the first found of that length): the
    /// operations in linearization order.
    pub prefix: Vec<Placed>,
    /// The operation that cannot be placed after the prefix (index in the checked slice):
    /// its return came and no order of the operations still open let it take effect.
    pub blocked: usize,
    /// The blocked operation, described by the model.
    pub blocked_description: String,
    /// The distinct states the model could be in just before the blocked operation: those
    /// of the partial linearizations the search saw reach its return without placing it
    /// (the prefix's own first), at most [`MAX_STATES`].
    pub states: Vec<String>,
    /// Whether more states than listed were seen.
    pub more_states: bool,
}

/// How many states a counterexample lists at most.
pub const MAX_STATES: usize = 8;

/// Why a history is not linearizable: one entry per failing partition, by key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counterexample {
    /// The failing partitions (at least one).
    pub partitions: Vec<PartitionCounterexample>,
}

impl std::fmt::Display for PartitionCounterexample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.key {
            Some(k) => writeln!(f, "key {k:?}: {} operations", self.ops.len())?,
            None => writeln!(f, "{} operations", self.ops.len())?,
        }
        writeln!(f, "  longest linearizable prefix ({} operations):", self.prefix.len())?;
        let skip = self.prefix.len().saturating_sub(20);
        if skip > 0 {
            writeln!(f, "    ... {skip} earlier operations")?;
        }
        for (n, p) in self.prefix.iter().enumerate().skip(skip) {
            writeln!(
                f,
                "    {:>4}. op {:<5} {}  => {}",
                n + 1,
                p.op,
                p.description,
                p.state_after
            )?;
        }
        writeln!(
            f,
            "  cannot be placed next: op {} {}",
            self.blocked, self.blocked_description
        )?;
        write!(
            f,
            "  states the model could be in just before it: {}",
            self.states.join(", ")
        )?;
        if self.more_states {
            write!(f, ", ...")?;
        }
        Ok(())
    }
}

impl std::fmt::Display for Counterexample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, p) in self.partitions.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}
