//! The built-in compare-and-set register (Jepsen's etcd test): read, write, and
//! `cas(from, to)` that sets `to` only if the value is `from`. A cas that returned
//! `false` (Jepsen's `:fail`) found another value; as in Porcupine, that constrains the
//! state.

use super::model::Model;
use super::register::show;

/// A compare-and-set register of integers, initially absent (`None`).
#[derive(Clone, Copy, Debug, Default)]
pub struct CasRegister;

/// An operation on a [`CasRegister`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CasInput {
    /// Read the value.
    Read,
    /// Write a value.
    Write(i64),
    /// Set `to` if the value is `from`.
    Cas {
        /// The expected value.
        from: i64,
        /// The new value.
        to: i64,
    },
}

/// What a [`CasRegister`] operation returned.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CasOutput {
    /// A read's value (None: absent).
    Value(Option<i64>),
    /// A write's acknowledgement.
    Ok,
    /// Whether a cas swapped (true) or found another value (false).
    Swapped(bool),
}

impl Model for CasRegister {
    type State = Option<i64>;
    type Input = CasInput;
    type Output = CasOutput;

    fn init(&self) -> Option<i64> {
        None
    }

    fn step(&self, state: &Option<i64>, input: &CasInput, output: Option<&CasOutput>) -> Option<Option<i64>> {
        match (input, output) {
            (CasInput::Read, None) => Some(*state),
            (CasInput::Read, Some(CasOutput::Value(v))) => (v == state).then_some(*state),
            (CasInput::Write(v), None | Some(CasOutput::Ok)) => Some(Some(*v)),
            (CasInput::Cas { from, to }, None) => Some(if *state == Some(*from) { Some(*to) } else { *state }),
            (CasInput::Cas { from, to }, Some(CasOutput::Swapped(ok))) => {
                let matches = *state == Some(*from);
                (matches == *ok).then_some(if matches { Some(*to) } else { *state })
            }
            _ => None,
        }
    }

    fn describe_op(&self, input: &CasInput, output: Option<&CasOutput>) -> String {
        match (input, output) {
            (CasInput::Read, Some(CasOutput::Value(v))) => format!("read() -> {}", show(*v)),
            (CasInput::Read, _) => "read() -> ?".into(),
            (CasInput::Write(v), None) => format!("write({v}) -> ?"),
            (CasInput::Write(v), _) => format!("write({v})"),
            (CasInput::Cas { from, to }, Some(CasOutput::Swapped(true))) => format!("cas({from}, {to}) -> ok"),
            (CasInput::Cas { from, to }, Some(CasOutput::Swapped(false))) => format!("cas({from}, {to}) -> fail"),
            (CasInput::Cas { from, to }, _) => format!("cas({from}, {to}) -> ?"),
        }
    }

    fn describe_state(&self, state: &Option<i64>) -> String {
        show(*state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cas_swaps_only_on_a_match_and_a_failed_cas_constrains_the_state() {
        let m = CasRegister;
        let cas = CasInput::Cas { from: 1, to: 2 };
        assert_eq!(m.step(&Some(1), &cas, Some(&CasOutput::Swapped(true))), Some(Some(2)));
        assert_eq!(m.step(&Some(3), &cas, Some(&CasOutput::Swapped(true))), None);
        assert_eq!(m.step(&Some(3), &cas, Some(&CasOutput::Swapped(false))), Some(Some(3)));
        assert_eq!(m.step(&Some(1), &cas, Some(&CasOutput::Swapped(false))), None);
        assert_eq!(m.step(&None, &cas, Some(&CasOutput::Swapped(false))), Some(None));
        assert_eq!(m.step(&Some(1), &cas, None), Some(Some(2)));
        assert_eq!(m.step(&Some(5), &cas, None), Some(Some(5)));
        assert_eq!(
            m.step(&Some(5), &CasInput::Read, Some(&CasOutput::Value(Some(5)))),
            Some(Some(5))
        );
        assert_eq!(
            m.describe_op(&cas, Some(&CasOutput::Swapped(false))),
            "cas(1, 2) -> fail"
        );
    }
}
