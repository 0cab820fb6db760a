//! detsim's own history format: JSON lines, one event per line.
//!
//! ```text
//! {"process":0,"type":"invoke","f":"write","value":3,"time":1000}
//! {"process":0,"type":"ok","f":"write","value":3,"time":2500}
//! {"process":1,"type":"invoke","f":"cas","value":[3,4]}
//! {"process":2,"type":"invoke","f":"get","key":"x"}
//! {"process":2,"type":"ok","f":"get","key":"x","value":"ab"}
//! ```
//!
//! `process` (a non-negative integer), `type` (`invoke`, `ok`, `fail`, `info`) and `f`
//! (`read`, `write`, `cas`, `get`, `put`, `append`) are required; `key` (a string or an
//! integer), `value` (null, an integer, a string, or `[from, to]` for a cas) and `time`
//! (ns, a non-negative integer; on every line or on none: without it the order of the
//! lines is the order of the events) are optional. Other fields are errors.

use serde_json::Value as Json;

use super::event::{Cols, Event, FUNCS, Func, Kind, LineError, Value};

/// The fields a line may have.
const FIELDS: [&str; 6] = ["process", "type", "f", "key", "value", "time"];

/// Parse the JSON lines of `text` (blank lines are skipped).
pub(crate) fn parse(text: &str) -> Result<Vec<Event>, LineError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        out.push(parse_line(line, i + 1)?);
    }
    Ok(out)
}

/// The column of `"name"` on the line (1 if not found).
fn col_of(line: &str, name: &str) -> usize {
    line.find(&format!("\"{name}\""))
        .map_or(1, |b| line[..b].chars().count() + 1)
}

/// The column of a field's value (just after `"name":`).
fn value_col(line: &str, name: &str) -> usize {
    let key = format!("\"{name}\"");
    match line.find(&key) {
        None => 0,
        Some(b) => {
            let after = &line[b + key.len()..];
            let colon = after.find(':').map_or(0, |c| c + 1);
            let spaces = after[colon..].len() - after[colon..].trim_start().len();
            line[..b + key.len() + colon + spaces].chars().count() + 1
        }
    }
}

fn value(v: &Json) -> Option<Value> {
    Some(match v {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => Value::Int(n.as_i64()?),
        Json::String(s) => Value::Str(s.clone()),
        Json::Array(a) => Value::List(a.iter().map(value).collect::<Option<_>>()?),
        Json::Object(_) => return None,
    })
}

fn parse_line(line: &str, n: usize) -> Result<Event, LineError> {
    let json: Json = serde_json::from_str(line).map_err(|e| (n, e.column().max(1), format!("not JSON: {e}")))?;
    let Json::Object(map) = json else {
        return Err((
            n,
            1,
            "expected a JSON object {\"process\":..,\"type\":..,\"f\":..}".into(),
        ));
    };
    if let Some(k) = map.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err((
            n,
            col_of(line, k),
            format!("unknown field {k:?}; expected one of {}", FIELDS.join(", ")),
        ));
    }
    let need = |k: &str| map.get(k).ok_or((n, 1, format!("expected the field {k:?}")));
    let process = need("process")?.as_u64().ok_or((
        n,
        value_col(line, "process"),
        "\"process\" must be a non-negative integer".into(),
    ))?;
    let kind = need("type")?.as_str().and_then(Kind::parse).ok_or((
        n,
        value_col(line, "type"),
        "\"type\" must be \"invoke\", \"ok\", \"fail\" or \"info\"".into(),
    ))?;
    let func = need("f")?.as_str().and_then(Func::parse).ok_or((
        n,
        value_col(line, "f"),
        format!("\"f\" must be one of {FUNCS}"),
    ))?;
    let time = match map.get("time") {
        None | Some(Json::Null) => None,
        Some(t) => Some(t.as_u64().ok_or((
            n,
            value_col(line, "time"),
            "\"time\" must be a non-negative integer (ns)".into(),
        ))?),
    };
    let bad_value = |k: &str| {
        (
            n,
            value_col(line, k),
            format!("\"{k}\" must be null, an integer (64-bit), a string or a list of them"),
        )
    };
    let key = match map.get("key") {
        None => None,
        Some(k) => Some(value(k).ok_or_else(|| bad_value("key"))?),
    };
    let v = match map.get("value") {
        // A read that completed must say what it read (null for nothing): a missing value
        // is a cut or malformed line, not a read of nil.
        None if kind == Kind::Ok && matches!(func, Func::Read | Func::Get) => {
            return Err((
                n,
                line.trim_end().len().max(1),
                format!(
                    "expected the field \"value\" (the value read, null for none) on an ok {}",
                    func.name()
                ),
            ));
        }
        None => Value::Nil,
        Some(v) => value(v).ok_or_else(|| bad_value("value"))?,
    };
    Ok(Event {
        line: n,
        process,
        kind,
        func,
        key,
        value: v,
        time,
        cols: Cols {
            func: value_col(line, "f"),
            key: value_col(line, "key"),
            value: value_col(line, "value"),
            time: value_col(line, "time"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lines_and_names_the_column_of_a_problem() {
        let e = parse("{\"process\":0,\"type\":\"invoke\",\"f\":\"cas\",\"value\":[3,4],\"time\":7}\n\n").unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!((e[0].func, e[0].time), (Func::Cas, Some(7)));
        assert_eq!(e[0].value, Value::List(vec![Value::Int(3), Value::Int(4)]));
        assert_eq!(e[0].cols.value, 48);
        let err = parse("{\"process\":0,\"type\":\"invoke\",\"f\":\"frob\"}").unwrap_err();
        assert_eq!((err.0, err.1), (1, 34));
        let err = parse("{\"process\":0,\"type\":\"inv").unwrap_err();
        assert!(err.2.starts_with("not JSON"), "{err:?}");
        let err = parse("{\"process\":0,\"type\":\"ok\",\"f\":\"get\",\"vale\":1}").unwrap_err();
        assert!(err.2.contains("unknown field \"vale\""), "{err:?}");
        assert_eq!(err.1, 36);
        let err = parse("{\"process\":-1,\"type\":\"ok\",\"f\":\"get\"}").unwrap_err();
        assert_eq!(err.1, 12);
    }
}
