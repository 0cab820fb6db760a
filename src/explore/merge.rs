//! What `detsim merge` judges before it sums up: that the tasks' lines cover every seed
//! of the sweep exactly once ([`coverage`]: the missing and duplicated seeds, named), and
//! the failing seeds grouped by violation signature ([`Signatures`]: the check their
//! FAILURE file is about and every check that failed, duplicates collapsed with counts,
//! the smallest seed of each as its representative).

use std::collections::BTreeMap;

use super::SeedRange;
use super::task::TaskLine;

/// Seeds named in a coverage error, of each kind.
const NAMED: usize = 20;

/// Sort `lines` by seed and check that they hold each seed of `range` exactly once. The
/// error names the first missing, duplicated and out-of-range seeds, with counts.
pub fn coverage(range: SeedRange, lines: &mut [TaskLine]) -> Result<(), String> {
    lines.sort_by_key(|t| t.line.seed);
    let mut missing: Vec<u64> = Vec::new();
    let mut missing_count = 0u64;
    let mut dup: Vec<u64> = Vec::new();
    let mut dup_count = 0u64; // extra lines
    let mut dup_seeds = 0u64; // seeds with extra lines
    let mut outside: Vec<u64> = Vec::new();
    let mut outside_count = 0u64;
    let mut next = range.start; // the next seed expected
    let mut last: Option<u64> = None;
    let mut last_dup: Option<u64> = None;
    let mut note_missing = |from: u64, to: u64, missing: &mut Vec<u64>| {
        missing_count += to - from;
        missing.extend((from..to).take(NAMED.saturating_sub(missing.len())));
    };
    for t in lines.iter() {
        let s = t.line.seed;
        if s < range.start || s >= range.end {
            outside_count += 1;
            if outside.len() < NAMED {
                outside.push(s);
            }
            continue;
        }
        if last == Some(s) {
            if last_dup != Some(s) {
                dup_seeds += 1;
                if dup.len() < NAMED {
                    dup.push(s);
                }
            }
            dup_count += 1;
            last_dup = Some(s);
            continue;
        }
        if s > next {
            note_missing(next, s, &mut missing);
        }
        next = s + 1;
        last = Some(s);
    }
    if next < range.end {
        note_missing(next, range.end, &mut missing);
    }
    let mut problems = Vec::new();
    let list = |v: &[u64], n: u64| {
        let mut s: Vec<String> = v.iter().map(u64::to_string).collect();
        if n > v.len() as u64 {
            s.push("…".into());
        }
        s.join(", ")
    };
    if missing_count > 0 {
        problems.push(format!(
            "{} missing: {}",
            crate::plural::count(missing_count, "seed"),
            list(&missing, missing_count)
        ));
    }
    if dup_count > 0 {
        problems.push(format!(
            "{} more than once: {} ({})",
            crate::plural::count(dup_seeds, "seed"),
            list(&dup, dup_seeds),
            crate::plural::count(dup_count, "extra line")
        ));
    }
    if outside_count > 0 {
        problems.push(format!(
            "{} outside the range: {}",
            crate::plural::count(outside_count, "seed"),
            list(&outside, outside_count)
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// A violation signature: the check a failing seed's FAILURE file is about, and every
/// check that failed on it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Signature {
    /// The first violation's check.
    pub first: String,
    /// Every failed check, sorted.
    pub failed: Vec<String>,
}

impl std::fmt::Display for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let others: Vec<&str> = self
            .failed
            .iter()
            .map(String::as_str)
            .filter(|c| *c != self.first)
            .collect();
        if others.is_empty() {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{} (also {})", self.first, others.join(", "))
        }
    }
}

/// One signature's seeds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignatureGroup {
    /// How many seeds had it.
    pub seeds: u64,
    /// The smallest of them.
    pub first_seed: u64,
    /// The smallest of them with a FAILURE file: the group's representative.
    pub representative: Option<u64>,
}

/// Failing seeds grouped by [`Signature`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Signatures {
    groups: BTreeMap<Signature, SignatureGroup>,
}

impl Signatures {
    /// Count a seed's line (passing and not-judged seeds are not counted); `has_file`:
    /// it has a FAILURE file. Seeds are recorded in increasing order.
    pub fn record(&mut self, t: &TaskLine, has_file: bool) {
        let Some(first) = &t.first_check else { return };
        let mut failed = t.line.violations.clone();
        failed.sort();
        let sig = Signature {
            first: first.clone(),
            failed,
        };
        let g = self.groups.entry(sig).or_insert_with(|| SignatureGroup {
            seeds: 0,
            first_seed: t.line.seed,
            representative: None,
        });
        g.seeds += 1;
        if has_file && g.representative.is_none() {
            g.representative = Some(t.line.seed);
        }
    }

    /// Each signature with its seeds, in signature order.
    pub fn groups(&self) -> impl Iterator<Item = (&Signature, &SignatureGroup)> {
        self.groups.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explore::SeedLine;
    use crate::run::report::Status;

    fn line(seed: u64, failed: &[&str]) -> TaskLine {
        TaskLine {
            line: SeedLine {
                seed,
                trace_hash: "0".repeat(16),
                status: if failed.is_empty() { Status::Pass } else { Status::Fail },
                violations: failed.iter().map(|s| s.to_string()).collect(),
                not_judged: vec![],
                failure_file: None,
                swarm: None,
            },
            first_check: failed.first().map(|s| s.to_string()),
            exhausted: false,
            cut: None,
            planned: false,
        }
    }

    #[test]
    fn coverage_names_missing_duplicated_and_stray_seeds() {
        let range: SeedRange = "0..10".parse().unwrap();
        let mut all: Vec<TaskLine> = (0..10).rev().map(|s| line(s, &[])).collect();
        assert_eq!(coverage(range, &mut all), Ok(()));
        assert_eq!(
            all.iter().map(|t| t.line.seed).collect::<Vec<_>>(),
            (0..10).collect::<Vec<_>>()
        );
        let mut holes: Vec<TaskLine> = [0, 1, 1, 1, 4, 9, 12].iter().map(|&s| line(s, &[])).collect();
        let e = coverage(range, &mut holes).unwrap_err();
        assert_eq!(
            e,
            "6 seeds missing: 2, 3, 5, 6, 7, 8; 1 seed more than once: 1 (2 extra lines); 1 seed outside the range: 12"
        );
        let big: SeedRange = "0..1000".parse().unwrap();
        let e = coverage(big, &mut []).unwrap_err();
        assert!(
            e.starts_with("1000 seeds missing: 0, 1, 2,") && e.ends_with("19, …"),
            "{e}"
        );
    }

    #[test]
    fn signatures_collapse_duplicates_with_counts_and_a_representative() {
        let mut s = Signatures::default();
        s.record(&line(1, &[]), false);
        s.record(&line(2, &["a"]), false);
        s.record(&line(3, &["a", "b"]), true);
        s.record(&line(4, &["a"]), true);
        s.record(&line(5, &["a"]), true);
        let g: Vec<(String, SignatureGroup)> = s.groups().map(|(k, v)| (k.to_string(), v.clone())).collect();
        assert_eq!(
            g,
            [
                (
                    "a".to_string(),
                    SignatureGroup {
                        seeds: 3,
                        first_seed: 2,
                        representative: Some(4)
                    }
                ),
                (
                    "a (also b)".to_string(),
                    SignatureGroup {
                        seeds: 1,
                        first_seed: 3,
                        representative: Some(3)
                    }
                ),
            ]
        );
    }
}
