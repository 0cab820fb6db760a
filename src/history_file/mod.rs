//! History files written by other tools, for `detsim check-history`: the file-format edge
//! of the linearizability checker ([`crate::linearizability`] knows no file format).
//!
//! Three formats, one [`Event`] per line, told apart by [`detect`]:
//!
//! - **Jepsen log lines** ([`Format::Jepsen`]): `INFO  jepsen.util - 3 :invoke :cas [3 0]`
//!   (only `jepsen.util` lines are read).
//! - **EDN maps** ([`Format::Edn`]): `{:process 0, :type :invoke, :f :get, :key "x", :value nil}`
//!   (`:time` in ns if present).
//! - **detsim JSON lines** ([`Format::Jsonl`]):
//!   `{"process":0,"type":"invoke|ok|fail|info","f":"read|write|cas|get|put|append","key":..,"value":..,"time":ns}`
//!   (`key`, `value` and `time` optional; `time` on every line or on none).
//!
//! Without times, the order of the lines is the order of the events. [`ops::to_history`]
//! pairs each process's invocation with its completion and reads them for one model with
//! Jepsen's semantics: `ok` took effect, `info` (or no completion) is unknown, `fail` did
//! not happen, except a cas's `fail`, which means the compare failed (as in Porcupine).
//! Every problem is a [`HistoryError`] naming the file, line and column; nothing panics.

mod edn;
mod event;
mod jepsen_log;
mod jsonl;
mod ops;

pub use event::{Cols, Event, Func, HistoryError, Kind, Value};
pub use ops::{Convert, History, cas_op, kv_op, register_op, to_history};

/// The largest history file read (64 MiB).
pub const MAX_HISTORY_BYTES: u64 = 64 << 20;

/// A history file's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Tell from the first line.
    Auto,
    /// Jepsen log lines.
    Jepsen,
    /// EDN maps.
    Edn,
    /// detsim's JSON lines.
    Jsonl,
}

impl Format {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Auto => "auto",
            Format::Jepsen => "jepsen",
            Format::Edn => "edn",
            Format::Jsonl => "jsonl",
        }
    }
}

/// The format of `text`, from its first line that is not blank: `{:` EDN, `{"` JSON lines,
/// a `jepsen.util - ` line Jepsen; None if none fits.
pub fn detect(text: &str) -> Option<Format> {
    if text.lines().any(|l| l.contains(jepsen_log::MARK)) {
        return Some(Format::Jepsen);
    }
    let first = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let inner = first.strip_prefix('{')?.trim_start();
    if inner.starts_with(':') {
        Some(Format::Edn)
    } else if inner.starts_with('"') {
        Some(Format::Jsonl)
    } else {
        None
    }
}

/// The events of `text` (the contents of `file`) in `format` (Auto: detected), and the
/// format used.
pub fn parse_events(file: &str, text: &str, format: Format) -> Result<(Format, Vec<Event>), HistoryError> {
    let format = match format {
        Format::Auto => detect(text).ok_or_else(|| HistoryError {
            file: file.to_string(),
            line: 1,
            column: 1,
            message: if text.trim().is_empty() {
                "the file is empty: no operations found".into()
            } else {
                "cannot tell the format: expected Jepsen log lines (`INFO  jepsen.util - P :invoke :read nil`), \
                 EDN maps (`{:process 0, ...}`) or JSON lines (`{\"process\":0, ...}`); or pass --format"
                    .into()
            },
        })?,
        f => f,
    };
    let events = match format {
        Format::Jepsen => jepsen_log::parse(text),
        Format::Edn => edn::parse(text),
        Format::Jsonl | Format::Auto => jsonl::parse(text),
    }
    .map_err(|(line, column, message)| HistoryError {
        file: file.to_string(),
        line,
        column,
        message,
    })?;
    Ok((format, events))
}

/// Read a history file as text: at most [`MAX_HISTORY_BYTES`], UTF-8. Gives the name to
/// use in errors and the text.
pub fn read_text(path: &std::path::Path) -> Result<(String, String), HistoryError> {
    let file = path.display().to_string();
    let fail = |message: String| HistoryError {
        file: file.clone(),
        line: 0,
        column: 0,
        message,
    };
    let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    if meta.len() > MAX_HISTORY_BYTES {
        return Err(fail(format!(
            "file is {} bytes; history files are limited to {MAX_HISTORY_BYTES} bytes",
            meta.len()
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let upto = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = upto.iter().filter(|b| **b == b'\n').count() + 1;
        HistoryError {
            file: file.clone(),
            line,
            column: 0,
            message: format!("not UTF-8 text: {}", e.utf8_error()),
        }
    })?;
    Ok((file, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_detected_from_the_first_line() {
        assert_eq!(
            detect("INFO  jepsen.util - 0\t:invoke\t:read\tnil"),
            Some(Format::Jepsen)
        );
        assert_eq!(detect("\n{:process 0, :type :invoke}"), Some(Format::Edn));
        assert_eq!(detect("{\"process\":0}"), Some(Format::Jsonl));
        assert_eq!(detect("hello"), None);
        assert_eq!(detect(""), None);
        let err = parse_events("h.txt", "  \n", Format::Auto).unwrap_err();
        assert_eq!(err.to_string(), "h.txt:1:1: the file is empty: no operations found");
        let err = parse_events("h.txt", "what", Format::Auto).unwrap_err();
        assert!(err.message.contains("--format"));
        let (f, e) = parse_events("h", "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}", Format::Auto).unwrap();
        assert_eq!((f, e.len()), (Format::Jsonl, 1));
    }
}
