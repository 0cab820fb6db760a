//! The built-in read/write register: an integer that starts absent (`nil`); a read
//! returns the current value, a write sets it.

use super::model::Model;

/// A read/write register of integers, initially absent (`None`, Jepsen's `nil`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Register;

/// An operation on a [`Register`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RegisterInput {
    /// Read the value.
    Read,
    /// Write a value.
    Write(i64),
}

/// What a [`Register`] operation returned.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RegisterOutput {
    /// A read's value (None: absent).
    Value(Option<i64>),
    /// A write's acknowledgement.
    Ok,
}

/// A value or `nil`.
pub(crate) fn show(v: Option<i64>) -> String {
    v.map_or_else(|| "nil".into(), |v| v.to_string())
}

impl Model for Register {
    type State = Option<i64>;
    type Input = RegisterInput;
    type Output = RegisterOutput;

    fn init(&self) -> Option<i64> {
        None
    }

    fn step(&self, state: &Option<i64>, input: &RegisterInput, output: Option<&RegisterOutput>) -> Option<Option<i64>> {
        match (input, output) {
            (RegisterInput::Read, None) => Some(*state),
            (RegisterInput::Read, Some(RegisterOutput::Value(v))) => (v == state).then_some(*state),
            (RegisterInput::Write(v), None | Some(RegisterOutput::Ok)) => Some(Some(*v)),
            _ => None,
        }
    }

    fn describe_op(&self, input: &RegisterInput, output: Option<&RegisterOutput>) -> String {
        match (input, output) {
            (RegisterInput::Read, Some(RegisterOutput::Value(v))) => format!("read() -> {}", show(*v)),
            (RegisterInput::Read, _) => "read() -> ?".into(),
            (RegisterInput::Write(v), None) => format!("write({v}) -> ?"),
            (RegisterInput::Write(v), _) => format!("write({v})"),
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
    fn reads_see_the_last_write_and_unknown_operations_always_fit() {
        let r = Register;
        assert_eq!(
            r.step(&None, &RegisterInput::Read, Some(&RegisterOutput::Value(None))),
            Some(None)
        );
        assert_eq!(
            r.step(&Some(1), &RegisterInput::Read, Some(&RegisterOutput::Value(None))),
            None
        );
        assert_eq!(
            r.step(&None, &RegisterInput::Write(3), Some(&RegisterOutput::Ok)),
            Some(Some(3))
        );
        assert_eq!(r.step(&Some(7), &RegisterInput::Read, None), Some(Some(7)));
        assert_eq!(r.step(&Some(7), &RegisterInput::Write(3), None), Some(Some(3)));
        // A write answered with a value is impossible.
        assert_eq!(
            r.step(&None, &RegisterInput::Write(3), Some(&RegisterOutput::Value(None))),
            None
        );
        assert_eq!(
            r.describe_op(&RegisterInput::Read, Some(&RegisterOutput::Value(Some(2)))),
            "read() -> 2"
        );
        assert_eq!(r.describe_state(&None), "nil");
    }
}
