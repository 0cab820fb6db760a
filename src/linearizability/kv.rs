//! The built-in key-value map: get, put and append on string keys. Every key starts as
//! the empty string; append concatenates. Partitioned by key, so its state is the value
//! of one key.

use super::model::Model;

/// A map from string keys to string values, each key initially `""`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Kv;

/// An operation on a [`Kv`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KvInput {
    /// Read a key.
    Get {
        /// The key.
        key: String,
    },
    /// Set a key.
    Put {
        /// The key.
        key: String,
        /// The new value.
        value: String,
    },
    /// Append to a key's value.
    Append {
        /// The key.
        key: String,
        /// What to append.
        value: String,
    },
}

impl KvInput {
    /// The key it touches.
    pub fn key(&self) -> &str {
        match self {
            KvInput::Get { key } | KvInput::Put { key, .. } | KvInput::Append { key, .. } => key,
        }
    }
}

/// What a [`Kv`] operation returned.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KvOutput {
    /// A get's value.
    Value(String),
    /// A put's or append's acknowledgement.
    Ok,
}

impl Model for Kv {
    /// The value of the partition's one key.
    type State = String;
    type Input = KvInput;
    type Output = KvOutput;

    fn init(&self) -> String {
        String::new()
    }

    fn step(&self, state: &String, input: &KvInput, output: Option<&KvOutput>) -> Option<String> {
        match (input, output) {
            (KvInput::Get { .. }, None) => Some(state.clone()),
            (KvInput::Get { .. }, Some(KvOutput::Value(v))) => (v == state).then(|| state.clone()),
            (KvInput::Put { value, .. }, None | Some(KvOutput::Ok)) => Some(value.clone()),
            (KvInput::Append { value, .. }, None | Some(KvOutput::Ok)) => Some(format!("{state}{value}")),
            _ => None,
        }
    }

    fn partition(&self, input: &KvInput) -> Option<String> {
        Some(input.key().to_string())
    }

    fn describe_op(&self, input: &KvInput, output: Option<&KvOutput>) -> String {
        let unknown = if output.is_none() { " -> ?" } else { "" };
        match (input, output) {
            (KvInput::Get { key }, Some(KvOutput::Value(v))) => format!("get({key:?}) -> {v:?}"),
            (KvInput::Get { key }, _) => format!("get({key:?}) -> ?"),
            (KvInput::Put { key, value }, _) => format!("put({key:?}, {value:?}){unknown}"),
            (KvInput::Append { key, value }, _) => format!("append({key:?}, {value:?}){unknown}"),
        }
    }

    fn describe_state(&self, state: &String) -> String {
        format!("{state:?}")
    }

    fn state_heap_bytes(&self, state: &String) -> usize {
        state.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_start_empty_append_concatenates_and_put_replaces() {
        let m = Kv;
        let k = || "k".to_string();
        let s = m.init();
        let s = m
            .step(
                &s,
                &KvInput::Append {
                    key: k(),
                    value: "ab".into(),
                },
                Some(&KvOutput::Ok),
            )
            .unwrap();
        let s = m
            .step(
                &s,
                &KvInput::Append {
                    key: k(),
                    value: "c".into(),
                },
                None,
            )
            .unwrap();
        assert_eq!(s, "abc");
        assert!(
            m.step(&s, &KvInput::Get { key: k() }, Some(&KvOutput::Value("ab".into())))
                .is_none()
        );
        assert!(
            m.step(&s, &KvInput::Get { key: k() }, Some(&KvOutput::Value("abc".into())))
                .is_some()
        );
        let s = m
            .step(
                &s,
                &KvInput::Put {
                    key: k(),
                    value: "z".into(),
                },
                Some(&KvOutput::Ok),
            )
            .unwrap();
        assert_eq!(s, "z");
        assert_eq!(m.partition(&KvInput::Get { key: k() }), Some("k".into()));
        assert_eq!(
            m.describe_op(&KvInput::Get { key: k() }, Some(&KvOutput::Value("z".into()))),
            "get(\"k\") -> \"z\""
        );
    }
}
