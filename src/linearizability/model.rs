//! The [`Model`] trait: the sequential specification a history is checked against.
//! Users bring their own; [`super::Register`], [`super::CasRegister`] and [`super::Kv`]
//! are built in.

/// A sequential object: its initial state and how each operation changes it.
///
/// `step` must be a pure function. For an operation whose outcome is unknown (`output`
/// is `None`), `step` must accept it in every state (return `Some`): such an operation
/// may or may not have taken effect, and the checker may place it after everything else.
pub trait Model {
    /// The object's state. Hashed and compared in the search's memo cache.
    type State: Clone + Eq + std::hash::Hash + std::fmt::Debug;
    /// What a client asked for.
    type Input: Clone + std::fmt::Debug;
    /// What the client was told.
    type Output: Clone + std::fmt::Debug + PartialEq;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// The state after `input` returning `output` (None = outcome unknown), or None if impossible.
    fn step(&self, state: &Self::State, input: &Self::Input, output: Option<&Self::Output>) -> Option<Self::State>;

    /// The key an operation touches, for partitioning (None = one partition for all).
    /// Operations on different keys must be independent: the history is linearizable if
    /// and only if each key's sub-history is (P-compositionality).
    fn partition(&self, _input: &Self::Input) -> Option<String> {
        None
    }

    /// One operation for people, e.g. `write(3)` or `get("x") -> "ab"`.
    fn describe_op(&self, input: &Self::Input, output: Option<&Self::Output>) -> String;

    /// One state for people.
    fn describe_state(&self, state: &Self::State) -> String;

    /// Bytes a state owns on the heap (beyond `size_of::<State>()`), for the memory
    /// budget's estimate of the memo cache. Default 0.
    fn state_heap_bytes(&self, _state: &Self::State) -> usize {
        0
    }
}
