//! What a check found: the [`Outcome`] (linearizable, not, or unknown) and the richer
//! [`Checked`] with one [`PartitionResult`] per key (its size, verdict, steps and cache).

use super::counterexample::Counterexample;

/// The verdict on a history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Some order of the operations respects real time and the model.
    Linearizable,
    /// None does; why, per failing key.
    NotLinearizable(Counterexample),
    /// The budget ran out (or the history's times make no sense) before a verdict.
    Unknown {
        /// Why.
        reason: String,
    },
}

impl Outcome {
    /// `linearizable`, `not_linearizable` or `unknown`.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Linearizable => "linearizable",
            Outcome::NotLinearizable(_) => "not_linearizable",
            Outcome::Unknown { .. } => "unknown",
        }
    }
}

/// The verdict on one partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionVerdict {
    /// Linearizable.
    Linearizable,
    /// Not linearizable (its counterexample is in the [`Outcome`]).
    NotLinearizable,
    /// The budget ran out while checking it.
    Unknown,
    /// Not checked: the budget was used up by earlier partitions.
    NotChecked,
}

/// One partition's check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionResult {
    /// Its key (None: the model does not partition).
    pub key: Option<String>,
    /// Its operations.
    pub ops: usize,
    /// Its verdict.
    pub verdict: PartitionVerdict,
    /// Search steps it took.
    pub steps: u64,
    /// Estimated bytes of its memo cache at the end.
    pub cache_bytes: u64,
    /// A linearization (indices in the checked slice) if it is linearizable.
    pub linearization: Option<Vec<usize>>,
}

/// The full result of [`super::check_detailed`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    /// The verdict on the whole history: not linearizable if any partition is not,
    /// else unknown if any is unknown or not checked, else linearizable.
    pub outcome: Outcome,
    /// Each partition, by key.
    pub partitions: Vec<PartitionResult>,
    /// Steps over all partitions.
    pub steps: u64,
}
