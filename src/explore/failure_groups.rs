//! An explore sweep's failing seeds grouped by check: how many seeds failed each check,
//! the first few of them, and which seeds get a FAILURE file (at most N per check, so a
//! systematic bug found on thousands of seeds writes a handful of files, not thousands).

use std::collections::BTreeMap;

use crate::plural::count;

/// FAILURE files written per check by default (`explore --max-failures`).
pub const DEFAULT_MAX_FAILURES: u64 = 5;

/// How many failing seeds of a check its summary line lists.
pub const SEEDS_LISTED: usize = 10;

/// One check's failing seeds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckGroup {
    /// Seeds on which the check failed.
    pub seeds: u64,
    /// The first of them, in the order recorded (at most [`SEEDS_LISTED`]).
    pub first: Vec<u64>,
    /// FAILURE files written for it (seeds whose first violation is of this check).
    pub files: u64,
}

/// Failing seeds by check, and the FAILURE-file budget per check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailureGroups {
    max_files: u64,
    groups: BTreeMap<String, CheckGroup>,
    failing: u64,
    unwritten: u64,
}

impl FailureGroups {
    /// No failures yet; at most `max_files_per_check` FAILURE files per check (0: none).
    pub fn new(max_files_per_check: u64) -> Self {
        FailureGroups {
            max_files: max_files_per_check,
            groups: BTreeMap::new(),
            failing: 0,
            unwritten: 0,
        }
    }

    /// Count failing `seed` under each check in `failed`. `file_check` is the check its
    /// FAILURE file would be about (the first violation's): returns whether to write that
    /// file, i.e. whether that check has had fewer than the maximum written so far.
    /// Recording seeds in increasing order makes the written ones the smallest seeds.
    pub fn record(&mut self, seed: u64, failed: &[String], file_check: &str) -> bool {
        self.failing += 1;
        let mut checks: Vec<&str> = failed.iter().map(String::as_str).collect();
        checks.push(file_check); // usually in `failed` already
        checks.sort_unstable();
        checks.dedup();
        for check in checks {
            let g = self.groups.entry(check.to_string()).or_default();
            g.seeds += 1;
            if g.first.len() < SEEDS_LISTED {
                g.first.push(seed);
            }
        }
        let g = self.groups.entry(file_check.to_string()).or_default();
        if g.files < self.max_files {
            g.files += 1;
            true
        } else {
            self.unwritten += 1;
            false
        }
    }

    /// Failing seeds recorded.
    pub fn failing_seeds(&self) -> u64 {
        self.failing
    }

    /// Failing seeds that got no FAILURE file (their check's budget was spent).
    pub fn without_file(&self) -> u64 {
        self.unwritten
    }

    /// Each failed check (by name) with its seeds.
    pub fn groups(&self) -> impl Iterator<Item = (&str, &CheckGroup)> {
        self.groups.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The human summary, one line per check: `rpc.at_most_once: 1987 seeds (first 0, 1,
    /// 2, … )`.
    pub fn summary_lines(&self) -> Vec<String> {
        self.groups
            .iter()
            .map(|(check, g)| {
                let seeds: Vec<String> = g.first.iter().map(u64::to_string).collect();
                let list = if g.seeds > g.first.len() as u64 {
                    format!("first {} …", seeds.join(", "))
                } else {
                    seeds.join(", ")
                };
                format!("{check}: {} ({list})", count(g.seeds, "seed"))
            })
            .collect()
    }

    /// How many failing seeds got no FAILURE file, when some did not.
    pub fn without_file_note(&self) -> Option<String> {
        (self.unwritten > 0).then(|| {
            format!(
                "{} without a FAILURE file: at most {} per check (--max-failures N)",
                count(self.unwritten, "failing seed"),
                self.max_files
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_systematic_bug_writes_a_few_files_and_counts_every_seed() {
        let mut g = FailureGroups::new(5);
        let written: Vec<u64> = (0..2000)
            .filter(|&seed| g.record(seed, &names(&["rpc.at_most_once"]), "rpc.at_most_once"))
            .collect();
        assert_eq!(written, [0, 1, 2, 3, 4], "the first five seeds get files");
        assert_eq!(g.failing_seeds(), 2000);
        assert_eq!(g.without_file(), 1995);
        assert_eq!(
            g.summary_lines(),
            ["rpc.at_most_once: 2000 seeds (first 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 …)"]
        );
        assert_eq!(
            g.without_file_note().unwrap(),
            "1995 failing seeds without a FAILURE file: at most 5 per check (--max-failures N)"
        );
    }

    #[test]
    fn each_check_has_its_own_budget_and_count() {
        let mut g = FailureGroups::new(1);
        assert!(g.record(3, &names(&["a", "b"]), "a"));
        assert!(!g.record(4, &names(&["a"]), "a"), "a's one file is spent");
        assert!(g.record(7, &names(&["b"]), "b"), "b has its own budget");
        let groups: Vec<(&str, &CheckGroup)> = g.groups().collect();
        assert_eq!(groups.len(), 2);
        assert_eq!(
            groups[0],
            (
                "a",
                &CheckGroup {
                    seeds: 2,
                    first: vec![3, 4],
                    files: 1
                }
            )
        );
        assert_eq!(
            groups[1],
            (
                "b",
                &CheckGroup {
                    seeds: 2,
                    first: vec![3, 7],
                    files: 1
                }
            )
        );
        assert_eq!(g.summary_lines()[0], "a: 2 seeds (3, 4)");
        assert_eq!(
            g.without_file_note().unwrap(),
            "1 failing seed without a FAILURE file: at most 1 per check (--max-failures N)"
        );
        let mut none = FailureGroups::new(0);
        assert!(!none.record(1, &names(&["a"]), "a"), "--max-failures 0 writes nothing");
        assert_eq!(none.summary_lines(), ["a: 1 seed (1)"]);
        assert_eq!(FailureGroups::new(5).without_file_note(), None);
    }
}
