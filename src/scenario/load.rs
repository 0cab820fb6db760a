//! Reading a scenario file: JSON syntax and type errors with the file, line and column and
//! the field path (`network.links[2].drop`, `nodes[4].think`), then the semantic checks of
//! [`super::validate`]. Bad input is an error value, never a panic.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Scenario;
use super::locate::{Outcome, Seg, path_string};
use crate::plugin::Protocols;

/// Largest scenario file read, in bytes.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Largest FAILURE file read, in bytes: its scenario holds the realized schedule, up to
/// [`super::validate::MAX_FAULTS`] faults, which `explore` writes (and checks that it
/// reads back) within this limit.
pub const MAX_FAILURE_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// One thing wrong with a scenario file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{file}:{place}: {message}")]
pub struct ScenarioError {
    /// The file (as given).
    pub file: String,
    /// Where: `line:column`, the field path, or both (`3:17: at nodes[1].slots`).
    pub place: String,
    /// What was wrong and what was expected.
    pub message: String,
}

/// Everything wrong with one file (at least one entry).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct ScenarioErrors(pub Vec<ScenarioError>);

/// Parse scenario text, its nodes' roles resolved through `protocols`; `file` names it in
/// errors.
pub fn parse_scenario(protocols: &Protocols, file: &str, text: &str) -> Result<Scenario, ScenarioErrors> {
    expect_object(file, text)?;
    if is_failure_text(text) {
        return Err(ScenarioErrors(vec![ScenarioError {
            file: file.to_string(),
            place: "1:1".into(),
            message: "this is a FAILURE file (it has `detsim_failure`), not a scenario: `detsim run`, \
                      `detsim validate`, `detsim replay` and `detsim shrink` read it"
                .into(),
        }]));
    }
    let mut scenario: Scenario = protocols.scope(|| from_json(file, text))?;
    scenario.checks = scenario.checks.completed(protocols);
    validated(protocols, file, scenario)
}

/// `scenario` if it is valid (see [`super::validate`]), else its problems; `file` names
/// it in errors.
pub fn validated(protocols: &Protocols, file: &str, scenario: Scenario) -> Result<Scenario, ScenarioErrors> {
    let problems = super::validate::validate(protocols, &scenario);
    if problems.is_empty() {
        Ok(scenario)
    } else {
        Err(ScenarioErrors(
            problems
                .into_iter()
                .map(|(place, message)| ScenarioError {
                    file: file.to_string(),
                    place: format!("at {place}"),
                    message,
                })
                .collect(),
        ))
    }
}

/// Does `text` look like a FAILURE file (a JSON object with a top-level `detsim_failure`
/// field, whatever follows it: trailing text is the FAILURE-file reader's error to
/// report)? False for anything else, malformed text included.
pub fn is_failure_text(text: &str) -> bool {
    use serde::Deserialize;
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(default)]
        detsim_failure: Option<serde::de::IgnoredAny>,
    }
    let mut de = serde_json::Deserializer::from_str(text);
    matches!(
        Probe::deserialize(&mut de),
        Ok(Probe {
            detsim_failure: Some(_)
        })
    )
}

/// The top level must be a JSON object (serde would also accept an array for a struct).
pub fn expect_object(file: &str, text: &str) -> Result<(), ScenarioErrors> {
    let Some((i, c)) = text.char_indices().find(|(_, c)| !c.is_whitespace()) else {
        return Ok(()); // empty: serde reports the EOF with its place
    };
    if c == '{' {
        return Ok(());
    }
    let line = text[..i].matches('\n').count() + 1;
    let col = i - text[..i].rfind('\n').map_or(0, |n| n + 1) + 1;
    Err(ScenarioErrors(vec![ScenarioError {
        file: file.to_string(),
        place: format!("{line}:{col}"),
        message: format!("expected a JSON object `{{...}}`, found {c:?}"),
    }]))
}

/// Deserialize a whole JSON document (a scenario or a FAILURE file) from `text`; `file`
/// names it in errors. Nodes are read with the protocols of the enclosing
/// [`Protocols::scope`]. A syntax error gives its line and column; a type error also the
/// field path, narrowed down inside tagged objects by [`super::locate`], and a message in
/// the scenario format's words ([`super::words`]).
pub fn from_json<T: DeserializeOwned>(file: &str, text: &str) -> Result<T, ScenarioErrors> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value: T = match serde_path_to_error::deserialize(&mut de) {
        Ok(v) => v,
        Err(e) => return Err(type_error::<T>(file, text, e)),
    };
    if let Err(e) = de.end() {
        return Err(ScenarioErrors(vec![ScenarioError {
            file: file.to_string(),
            place: format!("{}:{}", e.line(), e.column()),
            message: "trailing characters after the top-level object".into(),
        }]));
    }
    Ok(value)
}

/// One deserialization of `text` as `T`: `None` if it parsed, else the error's path and
/// message (the re-check [`super::locate`] makes).
fn outcome<T: DeserializeOwned>(text: &str) -> Outcome {
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize::<_, T>(&mut de)
        .err()
        .map(|e| (path_string(&segments(e.path())), describe_json_error(e.inner())))
}

/// serde_path_to_error's path as [`Seg`]s (`None` segments: an enum or unknown step).
fn segments(path: &serde_path_to_error::Path) -> Vec<Seg> {
    use serde_path_to_error::Segment;
    path.iter()
        .map_while(|s| match s {
            Segment::Seq { index } => Some(Seg::Index(*index)),
            Segment::Map { key } => Some(Seg::Key(key.clone())),
            _ => None,
        })
        .collect()
}

/// The error for a failed deserialization of `text` as `T`.
fn type_error<T: DeserializeOwned>(
    file: &str,
    text: &str,
    e: serde_path_to_error::Error<serde_json::Error>,
) -> ScenarioErrors {
    use serde_json::error::Category;
    let complete = e.path().iter().count() == segments(e.path()).len();
    let reported = segments(e.path());
    let shown = if complete {
        path_string(&reported)
    } else {
        e.path().to_string()
    };
    let inner = e.into_inner();
    let message = describe_json_error(&inner);
    let whole = message.starts_with(super::faults::WHOLE_OBJECT);
    let message = message.trim_start_matches(super::faults::WHOLE_OBJECT).to_string();
    let syntax = matches!(inner.classify(), Category::Syntax | Category::Eof);
    let place = |line: usize, column: usize, path: &str| {
        if path.is_empty() {
            format!("{line}:{column}")
        } else {
            format!("{line}:{column}: at {path}")
        }
    };
    let (place, path) = if syntax {
        (place(inner.line(), inner.column(), ""), Vec::new())
    } else {
        // An error about a whole object (see `faults::WHOLE_OBJECT`) is where serde says.
        let located = (complete && !whole)
            .then(|| super::locate::locate(text, &reported, &message, &mut |t: &str| outcome::<T>(t)))
            .flatten();
        match located {
            Some(l) => {
                let (line, column) = line_column(text, l.offset);
                (place(line, column, &path_string(&l.path)), l.path)
            }
            None => (place(inner.line(), inner.column(), &shown), reported),
        }
    };
    ScenarioErrors(vec![ScenarioError {
        file: file.to_string(),
        place,
        message: if syntax {
            message
        } else {
            super::words::plain(&message, &path)
        },
    }])
}

/// The 1-based line and column of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    (line, offset.min(text.len()) - start + 1)
}

/// serde_json's message without its trailing " at line L column C" (we print the place).
fn describe_json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// Read and parse a scenario file, its nodes' roles resolved through `protocols`.
pub fn load_scenario(protocols: &Protocols, path: &Path) -> Result<Scenario, ScenarioErrors> {
    let (file, text) = read_text(path, MAX_FILE_BYTES)?;
    parse_scenario(protocols, &file, &text)
}

/// The error for a scenario file (not a FAILURE file) over [`MAX_FILE_BYTES`], if it is.
pub fn scenario_too_large(file: &str, text: &str) -> Result<(), ScenarioErrors> {
    if text.len() as u64 <= MAX_FILE_BYTES {
        return Ok(());
    }
    Err(ScenarioErrors(vec![ScenarioError {
        file: file.to_string(),
        place: "0:0".into(),
        message: format!(
            "file is {} bytes; scenario files are limited to {MAX_FILE_BYTES} bytes",
            text.len()
        ),
    }]))
}

/// Read a scenario or FAILURE file as text (at most `max` bytes, UTF-8): the name to give
/// it in errors and its text. Read through a bounded reader (`max + 1` bytes at most), so
/// a file that grows, a FIFO or a device never costs more than `max`; a regular file
/// whose size is over `max` is refused before reading.
pub fn read_text(path: &Path, max: u64) -> Result<(String, String), ScenarioErrors> {
    use std::io::Read;
    let file = path.display().to_string();
    let fail = |message: String| {
        ScenarioErrors(vec![ScenarioError {
            file: file.clone(),
            place: "0:0".into(),
            message,
        }])
    };
    let limits =
        format!("scenario files are limited to {MAX_FILE_BYTES} bytes, FAILURE files to {MAX_FAILURE_FILE_BYTES}");
    let f = std::fs::File::open(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    let meta = f.metadata().map_err(|e| fail(format!("cannot read: {e}")))?;
    if meta.is_dir() {
        return Err(fail("cannot read: it is a directory".into()));
    }
    if meta.is_file() && meta.len() > max {
        return Err(fail(format!("file is {} bytes; {limits}", meta.len())));
    }
    let mut bytes = Vec::new();
    f.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| fail(format!("cannot read: {e}")))?;
    if bytes.len() as u64 > max {
        return Err(fail(format!(
            "file is over {max} bytes (reading stopped there); {limits}"
        )));
    }
    let text = String::from_utf8(bytes).map_err(|e| fail(format!("not UTF-8 text: {e}")))?;
    Ok((file, text))
}
