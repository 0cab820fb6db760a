//! Jepsen log lines, as in Jepsen's `jepsen.log` and Porcupine's etcd test data:
//! `INFO  jepsen.util - 3 :invoke :cas [3 0]` (fields separated by tabs or spaces). Only
//! lines of the `jepsen.util` logger are operations (other loggers, stack traces and
//! blank lines are skipped); each is `PROCESS :TYPE :F VALUE`, VALUE an EDN value (`nil`,
//! `4`, `[3 0]`, `:timed-out`).
//! `:nemesis` lines are skipped. There are no times: the order of the lines is the order
//! of the events.

use super::edn::Cursor;
use super::event::{Cols, Event, FUNCS, Func, Kind, LineError};

/// What marks an operation line.
pub(crate) const MARK: &str = "jepsen.util - ";

/// Parse the operation lines of `text`.
pub(crate) fn parse(text: &str) -> Result<Vec<Event>, LineError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some(at) = line.find(MARK) else { continue };
        let start = line[..at + MARK.len()].chars().count() + 1;
        if let Some(e) = parse_line(&line[at + MARK.len()..], i + 1, start)? {
            out.push(e);
        }
    }
    Ok(out)
}

/// The next whitespace-separated field and its column.
fn field<'a>(rest: &mut &'a str, col: &mut usize) -> Option<(&'a str, usize)> {
    let skipped = rest.len() - rest.trim_start().len();
    *col += rest[..skipped].chars().count();
    *rest = &rest[skipped..];
    if rest.is_empty() {
        return None;
    }
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let (f, r) = rest.split_at(end);
    let at = *col;
    *col += f.chars().count();
    *rest = r;
    Some((f, at))
}

/// One operation line (the part after the mark, starting at column `col`).
fn parse_line(text: &str, n: usize, mut col: usize) -> Result<Option<Event>, LineError> {
    let mut rest = text;
    let what = "expected `PROCESS :TYPE :F VALUE` after `jepsen.util - `";
    let end = |col| (n, col, format!("{what}; the line ends early (truncated?)"));
    let (p, pcol) = field(&mut rest, &mut col).ok_or_else(|| end(col))?;
    if p == ":nemesis" {
        return Ok(None);
    }
    let process = p
        .parse::<u64>()
        .map_err(|_| (n, pcol, format!("expected a process number or :nemesis, found {p:?}")))?;
    let (t, tcol) = field(&mut rest, &mut col).ok_or_else(|| end(col))?;
    let kind = t.strip_prefix(':').and_then(Kind::parse).ok_or((
        n,
        tcol,
        format!("expected :invoke, :ok, :fail or :info, found {t:?}"),
    ))?;
    let (f, fcol) = field(&mut rest, &mut col).ok_or_else(|| end(col))?;
    let func = f.strip_prefix(':').and_then(Func::parse).ok_or((
        n,
        fcol,
        format!("expected one of {FUNCS} (as keywords), found {f:?}"),
    ))?;
    let skipped = rest.len() - rest.trim_start().len();
    let vcol = col + rest[..skipped].chars().count();
    let mut c = Cursor::new(&rest[skipped..], n, vcol);
    let value = c.value()?;
    if !c.at_end() {
        return Err((n, c.col(), "expected the end of the line after the value".into()));
    }
    Ok(Some(Event {
        line: n,
        process,
        kind,
        func,
        key: None,
        value,
        time: None,
        cols: Cols {
            func: fcol,
            key: 0,
            value: vcol,
            time: 0,
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history_file::event::Value;

    #[test]
    fn reads_operation_lines_and_skips_the_rest() {
        let text = "INFO  jepsen.core - Running test\n\
                    INFO  jepsen.util - 2\t:invoke\t:cas\t[3 0]\n\
                    INFO  jepsen.util - :nemesis\t:info\t:start\tnil\n\
                    INFO  jepsen.util - 2\t:info\t:cas\t:timed-out\n";
        let e = parse(text).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(
            (e[0].line, e[0].process, e[0].kind, e[0].func),
            (2, 2, Kind::Invoke, Func::Cas)
        );
        assert_eq!(e[0].value, Value::List(vec![Value::Int(3), Value::Int(0)]));
        assert_eq!(e[1].value, Value::Keyword("timed-out".into()));
    }

    #[test]
    fn names_the_column_of_a_problem() {
        let err = parse("INFO  jepsen.util - 2\t:invoke\t:frob\t1").unwrap_err();
        assert_eq!((err.0, err.1), (1, 31));
        let err = parse("INFO  jepsen.util - 2\t:invoke").unwrap_err();
        assert!(err.2.contains("truncated"), "{err:?}");
        let err = parse("INFO  jepsen.util - 2\t:invoke\t:write\t[1").unwrap_err();
        assert!(err.2.contains("']'"), "{err:?}");
        let err = parse("INFO  jepsen.util - x\t:invoke\t:write\t1").unwrap_err();
        assert_eq!(err.1, 21);
    }
}
