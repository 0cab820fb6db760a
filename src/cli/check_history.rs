//! `detsim check-history FILE --model register|cas-register|kv`: read a history written
//! by another tool (Jepsen log lines, EDN maps, detsim JSON lines), check that it is
//! linearizable, and print the verdict with a counterexample people can read (optionally
//! JSON and an HTML page). The time limit (`--timeout`) is the one wall-clock read, here
//! outside any simulation, through the budget's cancel closure.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, ValueEnum};

use crate::engine::time::SimTime;
use crate::history_file::{self, Format, History, cas_op, kv_op, parse_events, read_text, register_op, to_history};
use crate::linearizability::{
    Budget, CasRegister, Checked, Kv, Model, Outcome, PartitionVerdict, Register, check_detailed,
};
use crate::plural::count;

/// The models `--model` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModelName {
    /// Read/write register of integers (read, write).
    Register,
    /// Compare-and-set register of integers (read, write, cas [FROM TO]).
    CasRegister,
    /// Key-value map of strings (get, put, append), checked key by key.
    Kv,
}

/// The formats `--format` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatName {
    /// Tell from the file.
    Auto,
    /// Jepsen log lines (`INFO  jepsen.util - 3 :invoke :read nil`).
    Jepsen,
    /// EDN maps, one per line (`{:process 0, :type :invoke, :f :get, :key "x", :value nil}`).
    Edn,
    /// detsim JSON lines (`{"process":0,"type":"invoke","f":"write","value":3,"time":1000}`).
    Jsonl,
}

#[derive(Args, Debug)]
pub struct CheckHistoryArgs {
    /// The history file.
    file: PathBuf,
    /// The model the history should behave like.
    #[arg(long, value_enum)]
    model: ModelName,
    /// The file's format.
    #[arg(long, value_enum, default_value = "auto")]
    format: FormatName,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    json: bool,
    /// Write a self-contained HTML page (per failing key: a timeline of the operations,
    /// the partial linearization, the operation that cannot be placed) to this file.
    #[arg(long, value_name = "OUT.html")]
    report: Option<PathBuf>,
    /// Search steps at most (then the verdict is unknown, exit 3).
    #[arg(long, value_name = "N", default_value_t = Budget::DEFAULT_MAX_STEPS)]
    max_steps: u64,
    /// Memory of a key's search cache at most, in MiB (then unknown, exit 3).
    #[arg(long, value_name = "MIB", default_value_t = Budget::DEFAULT_MAX_MEMORY_BYTES >> 20)]
    max_memory_mib: u64,
    /// Wall-clock time at most, e.g. 30s (then unknown, exit 3).
    #[arg(long, value_name = "DURATION")]
    timeout: Option<SimTime>,
}

/// Parse, check and report; exit 0 linearizable, 1 not, 3 unknown, 2 bad input.
pub fn run(a: CheckHistoryArgs) -> anyhow::Result<ExitCode> {
    let parsed = read_text(&a.file).and_then(|(file, text)| {
        let format = match a.format {
            FormatName::Auto => Format::Auto,
            FormatName::Jepsen => Format::Jepsen,
            FormatName::Edn => Format::Edn,
            FormatName::Jsonl => Format::Jsonl,
        };
        parse_events(&file, &text, format).map(|(f, e)| (file, f, e))
    });
    let (file, format, events) = match parsed {
        Ok(p) => p,
        Err(e) => return Ok(bad(&e)),
    };
    let result = match a.model {
        ModelName::Register => {
            to_history(&file, &events, register_op).map(|h| judge(&Register, "register", &file, format, &h, &a))
        }
        ModelName::CasRegister => {
            to_history(&file, &events, cas_op).map(|h| judge(&CasRegister, "cas-register", &file, format, &h, &a))
        }
        ModelName::Kv => to_history(&file, &events, kv_op).map(|h| judge(&Kv, "kv", &file, format, &h, &a)),
    };
    match result {
        Ok(code) => code,
        Err(e) => Ok(bad(&e)),
    }
}

fn bad(e: &history_file::HistoryError) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(2)
}

/// Check one model's history and report.
fn judge<M: Model>(
    model: &M,
    model_name: &str,
    file: &str,
    format: Format,
    h: &History<M::Input, M::Output>,
    a: &CheckHistoryArgs,
) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let deadline = a.timeout.map(|t| std::time::Duration::from_nanos(t.0));
    let budget = Budget {
        max_steps: a.max_steps,
        max_memory_bytes: a.max_memory_mib.saturating_mul(1 << 20),
        cancel: deadline.map(|d| Box::new(move || started.elapsed() >= d) as Box<dyn Fn() -> bool>),
    };
    let checked = check_detailed(model, &h.ops, &budget);
    let elapsed = started.elapsed();
    if let Some(path) = &a.report {
        let facts = vec![
            ("file".to_string(), file.to_string()),
            ("model".to_string(), model_name.to_string()),
            ("format".to_string(), format.name().to_string()),
            ("operations".to_string(), h.ops.len().to_string()),
            ("clients".to_string(), h.clients().to_string()),
            (
                "checked in".to_string(),
                format!("{:.1} ms", elapsed.as_secs_f64() * 1e3),
            ),
        ];
        let html = crate::report::linearizability_page(model, &h.ops, &checked, file, &facts, h.timed);
        super::files::write_whole(path, html.as_bytes())?;
        eprintln!("report: {} ({} KB)", path.display(), html.len() / 1024);
    }
    if a.json {
        println!("{}", json(model_name, file, format, h, &checked, elapsed.as_secs_f64()));
    } else {
        summary(model_name, file, format, h, &checked, elapsed.as_secs_f64());
    }
    Ok(match checked.outcome {
        Outcome::Linearizable => ExitCode::SUCCESS,
        Outcome::NotLinearizable(_) => ExitCode::from(1),
        Outcome::Unknown { .. } => ExitCode::from(super::NOT_JUDGED),
    })
}

/// A description cut to fit a line (the JSON has it whole).
fn fit(s: &str) -> String {
    const MAX: usize = 100;
    if s.chars().count() <= MAX {
        return s.to_string();
    }
    let head: String = s.chars().take(MAX - 3).collect();
    format!("{head}...")
}

/// Where an operation is, for people: its line and client.
fn whereabouts<I, O>(h: &History<I, O>, op: usize) -> String {
    format!("line {:<5} client {:<3}", h.lines[op], h.ops[op].client)
}

fn summary<I, O>(model: &str, file: &str, format: Format, h: &History<I, O>, c: &Checked, secs: f64) {
    println!(
        "history {file} ({}, {}): {}, {}, {}; model {model}",
        format.name(),
        count(h.events as u64, "event"),
        count(h.ops.len() as u64, "operation"),
        count(h.clients() as u64, "client"),
        count(c.partitions.len() as u64, "partition"),
    );
    if h.failed > 0 {
        println!(
            "  ({} failed and did not take effect: left out)",
            count(h.failed as u64, "operation")
        );
    }
    let unknown = h.ops.iter().filter(|o| o.unknown()).count();
    if unknown > 0 {
        println!(
            "  ({} with an unknown outcome: may take effect at any time after their call, or never)",
            count(unknown as u64, "operation")
        );
    }
    let took = format!("checked in {:.1} ms, {} search steps", secs * 1e3, c.steps);
    match &c.outcome {
        Outcome::Linearizable => println!("verdict: LINEARIZABLE ({took})"),
        Outcome::Unknown { reason } => println!("verdict: UNKNOWN: {reason} ({took})"),
        Outcome::NotLinearizable(cex) => {
            let bad = c
                .partitions
                .iter()
                .filter(|p| p.verdict == PartitionVerdict::NotLinearizable)
                .count();
            println!(
                "verdict: NOT LINEARIZABLE ({} failing; {took})",
                count(bad as u64, "partition")
            );
            for p in &cex.partitions {
                match &p.key {
                    Some(k) => println!("key {k:?} ({}):", count(p.ops.len() as u64, "operation")),
                    None => println!("all {}:", count(p.ops.len() as u64, "operation")),
                }
                let skip = p.prefix.len().saturating_sub(20);
                println!(
                    "  longest linearizable prefix: {}{}",
                    count(p.prefix.len() as u64, "operation"),
                    if skip > 0 { " (the last 20 shown)" } else { "" }
                );
                for (n, s) in p.prefix.iter().enumerate().skip(skip) {
                    println!(
                        "    {:>4}. {}  {}  => {}",
                        n + 1,
                        whereabouts(h, s.op),
                        fit(&s.description),
                        fit(&s.state_after)
                    );
                }
                println!(
                    "  cannot be placed next: {}  {}",
                    whereabouts(h, p.blocked),
                    fit(&p.blocked_description)
                );
                println!(
                    "  states the model could be in just before it: {}{}",
                    p.states.iter().map(|s| fit(s)).collect::<Vec<_>>().join(", "),
                    if p.more_states { ", ..." } else { "" }
                );
            }
        }
    }
    let unchecked = c
        .partitions
        .iter()
        .filter(|p| p.verdict == PartitionVerdict::NotChecked)
        .count();
    if unchecked > 0 {
        println!(
            "  {} not checked (budget used up)",
            count(unchecked as u64, "partition")
        );
    }
}

fn json<I, O>(model: &str, file: &str, format: Format, h: &History<I, O>, c: &Checked, secs: f64) -> serde_json::Value {
    let verdict = |v: PartitionVerdict| match v {
        PartitionVerdict::Linearizable => "linearizable",
        PartitionVerdict::NotLinearizable => "not_linearizable",
        PartitionVerdict::Unknown => "unknown",
        PartitionVerdict::NotChecked => "not_checked",
    };
    let op = |i: usize| serde_json::json!({"op": i, "line": h.lines[i], "client": h.ops[i].client});
    let cex: Vec<serde_json::Value> = match &c.outcome {
        Outcome::NotLinearizable(cex) => cex
            .partitions
            .iter()
            .map(|p| {
                let mut blocked = op(p.blocked);
                blocked["description"] = p.blocked_description.clone().into();
                serde_json::json!({
                    "key": p.key,
                    "operations": p.ops.len(),
                    "prefix": p.prefix.iter().map(|s| {
                        let mut o = op(s.op);
                        o["description"] = s.description.clone().into();
                        o["state_after"] = s.state_after.clone().into();
                        o
                    }).collect::<Vec<_>>(),
                    "blocked": blocked,
                    "states": p.states,
                    "more_states": p.more_states,
                })
            })
            .collect(),
        _ => Vec::new(),
    };
    serde_json::json!({
        "file": file,
        "format": format.name(),
        "model": model,
        "events": h.events,
        "operations": h.ops.len(),
        "failed_operations": h.failed,
        "unknown_operations": h.ops.iter().filter(|o| o.unknown()).count(),
        "clients": h.clients(),
        "verdict": c.outcome.name(),
        "reason": match &c.outcome { Outcome::Unknown { reason } => Some(reason.clone()), _ => None },
        "steps": c.steps,
        "elapsed_ms": secs * 1e3,
        "partitions": c.partitions.iter().map(|p| serde_json::json!({
            "key": p.key, "operations": p.ops, "verdict": verdict(p.verdict), "steps": p.steps, "cache_bytes": p.cache_bytes,
        })).collect::<Vec<_>>(),
        "counterexample": cex,
    })
}
