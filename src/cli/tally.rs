//! A sweep's running tally and its summary, shared by `explore` and `merge` so that a
//! merge of N tasks prints what one `explore` of the same seeds prints: seeds run,
//! failing seeds by check, the FAILURE files written, the not-judged seeds, the seeds a
//! budget stopped, and the exit code (1 some seed failed, else 4 a budget stopped one,
//! else 3 one was not judged, else 0).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::explore::FailureGroups;
use crate::explore::task::TaskLine;
use crate::plural::count;
use crate::run::report::Status;

/// Not-judged seeds listed by name in the human summary (the rest are counted).
const MAX_NOT_JUDGED_SHOWN: usize = 10;

/// A FAILURE file written: its seed, the checks that failed, its path, and with
/// `--swarm` the fault kinds that were on.
pub(crate) type Written = (u64, Vec<String>, PathBuf, Option<Vec<String>>);

/// What a sweep found so far, seed by seed in increasing order.
pub(crate) struct Tally {
    /// Seeds counted.
    pub ran: u64,
    /// Failing seeds by check, and the FAILURE-file budget.
    pub groups: FailureGroups,
    /// The seeds that got a FAILURE file: (seed, failed checks, path, and with `--swarm`
    /// the fault kinds that were on).
    pub written: Vec<Written>,
    /// Seeds no check failed on but some check could not judge.
    pub not_judged: u64,
    /// Seeds a budget stopped (counted among the not judged too).
    pub exhausted: u64,
    not_judged_shown: Vec<(u64, Vec<String>)>,
    /// Seeds whose nemesis plan was cut by its cap: how many, and the first one's warning.
    cut: u64,
    first_cut: Option<(u64, String)>,
    /// FAILURE files that hold the scenario's nemesis instead of the realized schedule.
    pub planned: u64,
}

impl Tally {
    /// Nothing counted; at most `max_failures` FAILURE files per check.
    pub fn new(max_failures: u64) -> Tally {
        Tally {
            ran: 0,
            groups: FailureGroups::new(max_failures),
            written: Vec::new(),
            not_judged: 0,
            exhausted: 0,
            not_judged_shown: Vec::new(),
            cut: 0,
            first_cut: None,
            planned: 0,
        }
    }

    /// Count one seed; for a failing one, whether it gets a FAILURE file (its check's
    /// budget is not spent).
    pub fn count(&mut self, t: &TaskLine) -> bool {
        let line = &t.line;
        self.ran += 1;
        if t.exhausted {
            self.exhausted += 1;
        }
        if line.status == Status::NotJudged {
            self.not_judged += 1;
            if self.not_judged_shown.len() < MAX_NOT_JUDGED_SHOWN {
                self.not_judged_shown.push((line.seed, line.not_judged.clone()));
            }
        }
        if let Some(w) = &t.cut {
            self.cut += 1;
            self.first_cut.get_or_insert_with(|| (line.seed, w.clone()));
        }
        match &t.first_check {
            Some(check) => self.groups.record(line.seed, &line.violations, check),
            None => false,
        }
    }

    /// A FAILURE file was written for `t` at `path`.
    pub fn wrote(&mut self, t: &TaskLine, path: PathBuf) {
        self.planned += u64::from(t.planned);
        self.written
            .push((t.line.seed, t.line.violations.clone(), path, t.line.swarm.clone()));
    }

    /// The first summary line's counts: `3 failing, 0 not judged (1 stopped by a budget)`.
    pub fn counts(&self) -> String {
        format!(
            "{} failing, {} not judged{}",
            self.groups.failing_seeds(),
            self.not_judged,
            if self.exhausted > 0 {
                format!(" ({} stopped by a budget)", self.exhausted)
            } else {
                String::new()
            }
        )
    }

    /// The summary's lines after the first.
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .groups
            .summary_lines()
            .into_iter()
            .map(|l| format!("  {l}"))
            .collect();
        for (seed, checks, path, on) in &self.written {
            lines.push(format!(
                "  seed {seed} fails {}{}: {}  ({} replay {})",
                checks.join(", "),
                on.as_ref().map_or(String::new(), |on| format!(
                    " [swarm: {}]",
                    if on.is_empty() {
                        "no fault kind".to_string()
                    } else {
                        on.join(", ")
                    }
                )),
                path.display(),
                super::program(),
                path.display()
            ));
        }
        lines.extend(self.groups.without_file_note().map(|l| format!("  {l}")));
        for (seed, why) in &self.not_judged_shown {
            lines.push(format!("  seed {seed}: not judged ({})", why.join("; ")));
        }
        if self.not_judged > self.not_judged_shown.len() as u64 {
            lines.push(format!(
                "  ... and {} not judged (see --json)",
                count(self.not_judged - self.not_judged_shown.len() as u64, "more seed")
            ));
        }
        if self.planned > 0 {
            lines.push(format!(
                "  {} hold the scenario's nemesis, not the realized schedule: it was over the FAILURE-file limit (the same trace hash, from the seed)",
                count(self.planned, "FAILURE file")
            ));
        }
        lines
    }

    /// The warning that some seeds' nemesis plans were cut (printed on stderr).
    pub fn cut_warning(&self) -> Option<String> {
        self.first_cut
            .as_ref()
            .map(|(seed, w)| format!("warning: on {} (first seed {seed}): {w}", count(self.cut, "seed")))
    }

    /// The sweep's exit code.
    pub fn exit_code(&self) -> ExitCode {
        if self.groups.failing_seeds() > 0 {
            ExitCode::from(1)
        } else if self.exhausted > 0 {
            ExitCode::from(super::budget::BUDGET_EXHAUSTED)
        } else if self.not_judged > 0 {
            ExitCode::from(super::NOT_JUDGED)
        } else {
            ExitCode::SUCCESS
        }
    }
}
