//! Reading a scenario file: JSON syntax and type errors with the file, line and column and
//! the field path (`network.links[2].drop`), then the semantic checks of
//! [`super::validate`]. Bad input is an error value, never a panic.

use std::path::Path;

use serde::Serialize;

use super::Scenario;

/// Largest scenario file read, in bytes.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

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

/// Parse scenario text; `file` names it in errors.
pub fn parse_scenario(file: &str, text: &str) -> Result<Scenario, ScenarioErrors> {
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
    let mut de = serde_json::Deserializer::from_str(text);
    let scenario: Scenario = match serde_path_to_error::deserialize(&mut de) {
        Ok(s) => s,
        Err(e) => {
            let path = e.path().to_string();
            return Err(json_error(file, &path, &e.into_inner()));
        }
    };
    if let Err(e) = de.end() {
        return Err(ScenarioErrors(vec![ScenarioError {
            file: file.to_string(),
            place: format!("{}:{}", e.line(), e.column()),
            message: "trailing characters after the scenario object".into(),
        }]));
    }
    let problems = super::validate::validate(&scenario);
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
/// field)? False for anything else, malformed text included.
pub fn is_failure_text(text: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(default)]
        detsim_failure: Option<serde::de::IgnoredAny>,
    }
    matches!(
        serde_json::from_str::<Probe>(text),
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

/// A JSON syntax or type error: the line and column, the field path when there is one
/// (not for syntax errors), and what was expected.
pub fn json_error(file: &str, path: &str, inner: &serde_json::Error) -> ScenarioErrors {
    use serde_json::error::Category;
    let syntax = matches!(inner.classify(), Category::Syntax | Category::Eof);
    let place = if syntax || path.is_empty() || path == "." || path == "?" {
        format!("{}:{}", inner.line(), inner.column())
    } else {
        format!("{}:{}: at {path}", inner.line(), inner.column())
    };
    ScenarioErrors(vec![ScenarioError {
        file: file.to_string(),
        place,
        message: describe_json_error(inner),
    }])
}

/// serde_json's message without its trailing " at line L column C" (we print the place).
fn describe_json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// Read and parse a scenario file.
pub fn load_scenario(path: &Path) -> Result<Scenario, ScenarioErrors> {
    let (file, text) = read_text(path)?;
    parse_scenario(&file, &text)
}

/// Read a scenario or FAILURE file as text (at most [`MAX_FILE_BYTES`], UTF-8): the name
/// to give it in errors and its text.
pub fn read_text(path: &Path) -> Result<(String, String), ScenarioErrors> {
    let file = path.display().to_string();
    let fail = |message: String| {
        ScenarioErrors(vec![ScenarioError {
            file: file.clone(),
            place: "0:0".into(),
            message,
        }])
    };
    let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(fail(format!(
            "file is {} bytes; scenario and FAILURE files are limited to {MAX_FILE_BYTES} bytes",
            meta.len()
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| fail(format!("not UTF-8 text: {e}")))?;
    Ok((file, text))
}
