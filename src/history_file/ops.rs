//! From events to operations: pair each process's invocation with its completion, give
//! each end a time, and turn the pair into a model's input and output.
//!
//! Semantics (those of Jepsen and of Porcupine's etcd test): `:ok` took effect with the
//! output given; `:info`, or an invocation never completed, has an unknown outcome (it
//! may take effect or not, at any time after its call); `:fail` did not take effect and
//! is left out, except a cas's `:fail`, which says the compare failed (Porcupine's
//! reading, which constrains the value).

use super::event::{Event, Func, HistoryError, Kind, LineError, Value};
use crate::linearizability::{CasInput, CasOutput, KvInput, KvOutput, Operation, RegisterInput, RegisterOutput};

/// A history read from a file, for one model.
#[derive(Clone, Debug, PartialEq)]
pub struct History<I, O> {
    /// The operations, by invocation.
    pub ops: Vec<Operation<I, O>>,
    /// The line of each operation's invocation.
    pub lines: Vec<usize>,
    /// Whether times come from the file (ns); else they are the events' positions.
    pub timed: bool,
    /// Events read.
    pub events: usize,
    /// Operations left out because they failed (did not take effect).
    pub failed: usize,
}

impl<I, O> History<I, O> {
    /// Distinct clients (processes).
    pub fn clients(&self) -> usize {
        let mut c: Vec<u64> = self.ops.iter().map(|o| o.client).collect();
        c.sort_unstable();
        c.dedup();
        c.len()
    }
}

/// A model's reading of an invocation and its completion (None: never completed): its
/// input and output (None: unknown), or None if it did not take effect.
pub type Convert<I, O> = fn(&Event, Option<&Event>) -> Result<Option<(I, Option<O>)>, LineError>;

/// Pair the events into operations with `convert`.
pub fn to_history<I, O>(file: &str, events: &[Event], convert: Convert<I, O>) -> Result<History<I, O>, HistoryError> {
    let located = |(line, column, message): LineError| HistoryError {
        file: file.to_string(),
        line,
        column,
        message,
    };
    if events.is_empty() {
        return Err(located((
            0,
            0,
            "no operations found (expected at least one invocation)".into(),
        )));
    }
    let timed = events[0].time.is_some();
    if let Some(e) = events.iter().find(|e| e.time.is_some() != timed) {
        let msg = if timed {
            "this event has no time, but the first one has: give a time on every line or on none"
        } else {
            "this event has a time, but the first one has none: give a time on every line or on none"
        };
        return Err(located((e.line, e.cols.time.max(1), msg.into())));
    }
    if let Some(e) = events.iter().find(|e| e.time == Some(u64::MAX)) {
        return Err(located((
            e.line,
            e.cols.time.max(1),
            "time too large (u64::MAX stands for never)".into(),
        )));
    }
    let time = |i: usize, e: &Event| e.time.unwrap_or(i as u64);
    // Each process's open invocation: (event index).
    let mut open: std::collections::BTreeMap<u64, usize> = std::collections::BTreeMap::new();
    // (invocation index, completion index) in invocation order.
    let mut pairs: Vec<(usize, Option<usize>)> = Vec::new();
    let mut slot: std::collections::BTreeMap<usize, usize> = std::collections::BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        match e.kind {
            Kind::Invoke => {
                if let Some(&prev) = open.get(&e.process) {
                    return Err(located((
                        e.line,
                        1,
                        format!(
                            "process {} invokes again before its operation of line {} completed (a process does one operation at a time)",
                            e.process, events[prev].line
                        ),
                    )));
                }
                open.insert(e.process, i);
                slot.insert(i, pairs.len());
                pairs.push((i, None));
            }
            _ => {
                let Some(inv) = open.remove(&e.process) else {
                    return Err(located((
                        e.line,
                        1,
                        format!("process {} completes an operation it never invoked", e.process),
                    )));
                };
                let start = &events[inv];
                if start.func != e.func {
                    return Err(located((
                        e.line,
                        e.cols.func,
                        format!(
                            "process {} completes :{} but invoked :{} (line {})",
                            e.process,
                            e.func.name(),
                            start.func.name(),
                            start.line
                        ),
                    )));
                }
                if time(i, e) < time(inv, start) {
                    return Err(located((
                        e.line,
                        e.cols.time.max(1),
                        "completes before its invocation".into(),
                    )));
                }
                pairs[slot[&inv]].1 = Some(i);
            }
        }
    }
    let mut h = History {
        ops: Vec::with_capacity(pairs.len()),
        lines: Vec::with_capacity(pairs.len()),
        timed,
        events: events.len(),
        failed: 0,
    };
    for (inv, done) in pairs {
        let start = &events[inv];
        let end = done.map(|d| &events[d]);
        match convert(start, end).map_err(located)? {
            None => h.failed += 1,
            Some((input, output)) => {
                h.ops.push(Operation {
                    client: start.process,
                    input,
                    call: time(inv, start),
                    ret: done.map(|d| time(d, &events[d])),
                    output,
                });
                h.lines.push(start.line);
            }
        }
    }
    Ok(h)
}

fn int(e: &Event, what: &str) -> Result<i64, LineError> {
    match &e.value {
        Value::Int(i) => Ok(*i),
        v => Err((e.line, e.cols.value, format!("expected {what} (an integer), found {v}"))),
    }
}

fn read_value(e: &Event) -> Result<Option<i64>, LineError> {
    match &e.value {
        Value::Nil => Ok(None),
        Value::Int(i) => Ok(Some(*i)),
        v => Err((
            e.line,
            e.cols.value,
            format!("expected the value read (nil or an integer), found {v}"),
        )),
    }
}

fn cas_args(e: &Event) -> Result<(i64, i64), LineError> {
    match &e.value {
        Value::List(l) => match l.as_slice() {
            [Value::Int(a), Value::Int(b)] => Ok((*a, *b)),
            _ => Err((
                e.line,
                e.cols.value,
                format!("expected [FROM TO] (two integers), found {}", e.value),
            )),
        },
        v => Err((
            e.line,
            e.cols.value,
            format!("expected [FROM TO] (two integers), found {v}"),
        )),
    }
}

fn not_for(e: &Event, model: &str, ops: &str, hint: &str) -> LineError {
    (
        e.line,
        e.cols.func,
        format!(
            "{} is not an operation of the {model} model ({ops}){hint}",
            e.func.name()
        ),
    )
}

/// How the completion ended: Ok with it, unknown, or did not happen.
enum End<'a> {
    Ok(&'a Event),
    Unknown,
    Failed,
}

fn end(done: Option<&Event>) -> End<'_> {
    match done {
        Some(d) if d.kind == Kind::Ok => End::Ok(d),
        Some(d) if d.kind == Kind::Fail => End::Failed,
        _ => End::Unknown,
    }
}

/// The register model's reading: read and write.
pub fn register_op(
    inv: &Event,
    done: Option<&Event>,
) -> Result<Option<(RegisterInput, Option<RegisterOutput>)>, LineError> {
    let input = match inv.func {
        Func::Read => RegisterInput::Read,
        Func::Write => RegisterInput::Write(int(inv, "the value to write")?),
        Func::Cas => return Err(not_for(inv, "register", "read, write", "; use --model cas-register")),
        _ => return Err(not_for(inv, "register", "read, write", "; use --model kv")),
    };
    Ok(match (end(done), &input) {
        (End::Failed, _) => None,
        (End::Unknown, _) => Some((input, None)),
        (End::Ok(d), RegisterInput::Read) => Some((input, Some(RegisterOutput::Value(read_value(d)?)))),
        (End::Ok(_), RegisterInput::Write(_)) => Some((input, Some(RegisterOutput::Ok))),
    })
}

/// The cas-register model's reading: read, write and cas (`[FROM TO]`).
pub fn cas_op(inv: &Event, done: Option<&Event>) -> Result<Option<(CasInput, Option<CasOutput>)>, LineError> {
    let input = match inv.func {
        Func::Read => CasInput::Read,
        Func::Write => CasInput::Write(int(inv, "the value to write")?),
        Func::Cas => {
            let (from, to) = cas_args(inv)?;
            CasInput::Cas { from, to }
        }
        _ => return Err(not_for(inv, "cas-register", "read, write, cas", "; use --model kv")),
    };
    Ok(match (end(done), &input) {
        (End::Failed, CasInput::Cas { .. }) => Some((input, Some(CasOutput::Swapped(false)))),
        (End::Failed, _) => None,
        (End::Unknown, _) => Some((input, None)),
        (End::Ok(d), CasInput::Read) => Some((input, Some(CasOutput::Value(read_value(d)?)))),
        (End::Ok(_), CasInput::Write(_)) => Some((input, Some(CasOutput::Ok))),
        (End::Ok(_), CasInput::Cas { .. }) => Some((input, Some(CasOutput::Swapped(true)))),
    })
}

fn text(e: &Event, v: Option<&Value>, col: usize, what: &str) -> Result<String, LineError> {
    match v {
        Some(Value::Str(s)) => Ok(s.clone()),
        Some(Value::Int(i)) => Ok(i.to_string()),
        Some(v) => Err((
            e.line,
            col,
            format!("expected {what} (a string or an integer), found {v}"),
        )),
        None => Err((e.line, 1, format!("expected {what} (a string or an integer)"))),
    }
}

/// The kv model's reading: get, put and append on a key; a get that read nil read "".
pub fn kv_op(inv: &Event, done: Option<&Event>) -> Result<Option<(KvInput, Option<KvOutput>)>, LineError> {
    let key = || text(inv, inv.key.as_ref(), inv.cols.key, "a key");
    let value = || text(inv, Some(&inv.value), inv.cols.value, "a value");
    let input = match inv.func {
        Func::Get => KvInput::Get { key: key()? },
        Func::Put => KvInput::Put {
            key: key()?,
            value: value()?,
        },
        Func::Append => KvInput::Append {
            key: key()?,
            value: value()?,
        },
        Func::Cas => return Err(not_for(inv, "kv", "get, put, append", "; use --model cas-register")),
        _ => return Err(not_for(inv, "kv", "get, put, append", "; use --model register")),
    };
    if let Some(d) = done
        && let (Some(dk), Some(ik)) = (&d.key, &inv.key)
        && dk != ik
    {
        return Err((
            d.line,
            d.cols.key,
            format!(
                "completes an operation on key {dk}, but its invocation (line {}) was on key {ik}",
                inv.line
            ),
        ));
    }
    Ok(match (end(done), &input) {
        (End::Failed, _) => None,
        (End::Unknown, _) => Some((input, None)),
        (End::Ok(d), KvInput::Get { .. }) => {
            let v = match &d.value {
                Value::Nil => String::new(),
                _ => text(d, Some(&d.value), d.cols.value, "the value read")?,
            };
            Some((input, Some(KvOutput::Value(v))))
        }
        (End::Ok(_), _) => Some((input, Some(KvOutput::Ok))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history_file::event::Cols;

    fn ev(line: usize, process: u64, kind: Kind, func: Func, value: Value) -> Event {
        Event {
            line,
            process,
            kind,
            func,
            key: None,
            value,
            time: None,
            cols: Cols::default(),
        }
    }

    #[test]
    fn pairs_invocations_with_completions_and_reads_jepsen_semantics() {
        let e = [
            ev(1, 0, Kind::Invoke, Func::Write, Value::Int(1)),
            ev(
                2,
                1,
                Kind::Invoke,
                Func::Cas,
                Value::List(vec![Value::Int(1), Value::Int(2)]),
            ),
            ev(3, 0, Kind::Ok, Func::Write, Value::Int(1)),
            ev(
                4,
                1,
                Kind::Fail,
                Func::Cas,
                Value::List(vec![Value::Int(1), Value::Int(2)]),
            ),
            ev(5, 0, Kind::Invoke, Func::Write, Value::Int(5)),
            ev(6, 0, Kind::Fail, Func::Write, Value::Int(5)),
            ev(7, 2, Kind::Invoke, Func::Read, Value::Nil),
            ev(8, 3, Kind::Invoke, Func::Write, Value::Int(9)),
            ev(9, 3, Kind::Info, Func::Write, Value::Keyword("timed-out".into())),
        ];
        let h = to_history("f", &e, cas_op).unwrap();
        assert_eq!(h.failed, 1);
        assert_eq!(h.lines, vec![1, 2, 7, 8]);
        assert_eq!((h.ops[0].call, h.ops[0].ret), (0, Some(2)));
        assert_eq!(h.ops[1].output, Some(CasOutput::Swapped(false)));
        assert_eq!((h.ops[2].ret, h.ops[2].output.clone()), (None, None));
        assert_eq!((h.ops[3].ret, h.ops[3].output.clone()), (Some(8), None));
        assert_eq!(h.clients(), 4);
        // The register model has no cas.
        let err = to_history("f", &e, register_op).unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("--model cas-register"), "{err}");
    }

    #[test]
    fn broken_pairings_are_errors() {
        let twice = [
            ev(1, 0, Kind::Invoke, Func::Read, Value::Nil),
            ev(2, 0, Kind::Invoke, Func::Read, Value::Nil),
        ];
        assert!(
            to_history("f", &twice, register_op)
                .unwrap_err()
                .message
                .contains("invokes again")
        );
        let orphan = [ev(4, 0, Kind::Ok, Func::Read, Value::Nil)];
        let err = to_history("f", &orphan, register_op).unwrap_err();
        assert_eq!(
            err.to_string(),
            "f:4:1: process 0 completes an operation it never invoked"
        );
        let mismatch = [
            ev(1, 0, Kind::Invoke, Func::Read, Value::Nil),
            ev(2, 0, Kind::Ok, Func::Write, Value::Int(1)),
        ];
        assert!(
            to_history("f", &mismatch, register_op)
                .unwrap_err()
                .message
                .contains("invoked :read")
        );
        assert!(
            to_history("f", &[], register_op)
                .unwrap_err()
                .message
                .contains("no operations")
        );
        let bad = [ev(1, 0, Kind::Invoke, Func::Write, Value::Str("x".into()))];
        assert!(
            to_history("f", &bad, register_op)
                .unwrap_err()
                .message
                .contains("an integer")
        );
    }
}
