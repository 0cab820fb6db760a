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
    assert!(
        d.join("etcd/verdicts.tsv").exists(),
        "corpus missing at {}",
        d.display()
    );
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

mod cli {
    //! `detsim check-history` as a user meets it: exit codes, the counterexample in text,
    //! JSON and HTML, and malformed files.

    use super::*;
    use crate::scenarios::detsim;
    use crate::support::tempdir;

    fn code(args: &[&str]) -> (Option<i32>, String, String) {
        let out = detsim(args);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    #[test]
    fn exit_codes_agree_with_the_corpus() {
        let etcd = etcd_verdicts();
        let kv = kv_verdicts();
        let picks = [
            (&etcd[0], "cas-register"),
            (&etcd[1], "cas-register"),
            (&etcd[51], "cas-register"),
            (&kv[0], "kv"),
            (&kv[3], "kv"),
        ];
        for ((path, linearizable), model) in picks {
            let (c, out, err) = code(&["check-history", path.to_str().unwrap(), "--model", model]);
            assert_eq!(
                c,
                Some(if *linearizable { 0 } else { 1 }),
                "{}: {out}{err}",
                path.display()
            );
            let word = if *linearizable {
                "verdict: LINEARIZABLE"
            } else {
                "verdict: NOT LINEARIZABLE"
            };
            assert!(out.contains(word), "{out}");
        }
        // The same etcd log is bad input for the plain register (it has cas), and unknown
        // with a budget of 10 steps.
        let (c, _, err) = code(&["check-history", etcd[1].0.to_str().unwrap(), "--model", "register"]);
        assert_eq!(c, Some(2));
        assert!(
            err.contains("etcd_002.log:4:31: cas is not an operation of the register model"),
            "{err}"
        );
        let (c, out, _) = code(&[
            "check-history",
            etcd[1].0.to_str().unwrap(),
            "--model",
            "cas-register",
            "--max-steps",
            "10",
        ]);
        assert_eq!(c, Some(3));
        assert!(
            out.contains("verdict: UNKNOWN: step budget of 10 steps used up"),
            "{out}"
        );
        // etcd_002 takes 1.36 M steps, far more than a millisecond.
        let (c, out, _) = code(&[
            "check-history",
            etcd[1].0.to_str().unwrap(),
            "--model",
            "cas-register",
            "--timeout",
            "1ms",
        ]);
        assert_eq!(c, Some(3));
        assert!(out.contains("verdict: UNKNOWN: cancelled (time limit)"), "{out}");
    }

    /// A stale read in detsim's JSON lines: write 1, write 2, then a read of 1.
    const STALE: &str = r#"{"process":0,"type":"invoke","f":"write","value":1,"time":0}
{"process":0,"type":"ok","f":"write","value":1,"time":10}
{"process":1,"type":"invoke","f":"write","value":2,"time":20}
{"process":1,"type":"ok","f":"write","value":2,"time":30}
{"process":2,"type":"invoke","f":"read","time":40}
{"process":3,"type":"invoke","f":"write","value":9,"time":41}
{"process":2,"type":"ok","f":"read","value":1,"time":50}
"#;

    #[test]
    fn a_stale_read_is_shown_in_text_json_and_html() {
        let dir = tempdir("lin-stale");
        let file = dir.join("stale.jsonl");
        std::fs::write(&file, STALE).unwrap();
        let f = file.to_str().unwrap();
        let (c, out, err) = code(&["check-history", f, "--model", "register"]);
        assert_eq!(c, Some(1), "{out}{err}");
        assert!(
            out.contains("cannot be placed next: line 5     client 2    read() -> 1"),
            "{out}"
        );
        assert!(out.contains("(1 operation with an unknown outcome"), "{out}");
        let report = dir.join("stale.html");
        let (c, out, err) = code(&[
            "check-history",
            f,
            "--model",
            "register",
            "--json",
            "--report",
            report.to_str().unwrap(),
        ]);
        assert_eq!(c, Some(1), "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["verdict"], "not_linearizable");
        assert_eq!((v["operations"].as_u64(), v["clients"].as_u64()), (Some(4), Some(4)));
        let cex = &v["counterexample"][0];
        assert_eq!(cex["blocked"]["line"], 5);
        assert_eq!(cex["blocked"]["description"], "read() -> 1");
        let prefix: Vec<u64> = cex["prefix"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["line"].as_u64().unwrap())
            .collect();
        // The two writes, and the unknown write of 9 (it may take effect any time): none
        // of the orders leaves 1 for the read.
        assert_eq!(&prefix[..2], &[1, 3]);
        let mut states: Vec<&str> = cex["states"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        states.sort();
        assert_eq!(states, vec!["2", "9"], "after write 2, or after the unknown write of 9");
        let html = std::fs::read_to_string(&report).unwrap();
        assert!(html.contains(r#"<g class="op blocked" id="op-2">"#), "the read is op 2");
        assert!(html.contains("op 2 returned here"));
        assert!(
            html.contains(" unknown\" id=\"op-3\""),
            "the write of 9 is drawn open-ended"
        );
    }

    #[test]
    fn malformed_files_exit_2_with_file_line_and_column() {
        let dir = tempdir("lin-malformed");
        let cases: [(&str, &str, &str, &str); 10] = [
            (
                "trunc.log",
                "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\t:re",
                "cas-register",
                ":2:27: expected one of read, write, cas",
            ),
            (
                "trunc2.log",
                "INFO  jepsen.util - 0\t:invoke\t:write\t[1",
                "cas-register",
                ":1:40: expected ']' to close the vector",
            ),
            (
                "f.edn",
                "{:process 0, :type :invoke, :f :frob, :key \"k\", :value nil}",
                "kv",
                ":1:32: :f must be one of",
            ),
            (
                "value.jsonl",
                "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":\"x\"}",
                "register",
                ":1:50: expected the value to write (an integer)",
            ),
            (
                "json.jsonl",
                "{\"process\":0,\"type\":\"invoke\",\"f\":\"wr",
                "register",
                ":1:",
            ),
            (
                "empty.jsonl",
                "",
                "register",
                ":1:1: the file is empty: no operations found",
            ),
            ("other.txt", "hello", "register", ":1:1: cannot tell the format"),
            (
                "noread.jsonl",
                "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n{\"process\":0,\"type\":\"ok\",\"f\":\"read\"}",
                "register",
                ":2:36: expected the field \"value\" (the value read, null for none) on an ok read",
            ),
            (
                "key.jsonl",
                "{\"process\":0,\"type\":\"invoke\",\"f\":\"put\",\"key\":\"x\",\"value\":\"a\"}\n{\"process\":0,\"type\":\"ok\",\"f\":\"put\",\"key\":\"y\",\"value\":\"a\"}",
                "kv",
                ":2:42: completes an operation on key \"y\", but its invocation (line 1) was on key \"x\"",
            ),
            (
                "orphan.edn",
                "{:process 0, :type :ok, :f :get, :key \"k\", :value \"\"}",
                "kv",
                ":1:1: process 0 completes an operation it never invoked",
            ),
        ];
        for (name, text, model, want) in cases {
            let file = dir.join(name);
            std::fs::write(&file, text).unwrap();
            let (c, out, err) = code(&["check-history", file.to_str().unwrap(), "--model", model]);
            assert_eq!(c, Some(2), "{name}: {out}{err}");
            assert!(err.contains(&format!("{}{want}", file.display())), "{name}: {err}");
            assert!(!err.contains("panicked"), "{err}");
        }
        let (c, _, err) = code(&[
            "check-history",
            dir.join("missing.log").to_str().unwrap(),
            "--model",
            "kv",
        ]);
        assert_eq!(c, Some(2));
        assert!(err.contains("missing.log:0:0: cannot read"), "{err}");
    }
}

mod budget {
    //! Out of budget the verdict is unknown, never a wrong one; with the default budget the
    //! same histories get the corpus's verdict.

    use super::*;
    use detsim::linearizability::check_detailed;

    #[test]
    fn a_tiny_budget_gives_unknown_and_the_default_the_right_verdict() {
        // The corpus's hardest etcd logs, by steps with the default budget.
        let mut hard: Vec<(u64, PathBuf, bool)> = etcd_verdicts()
            .into_iter()
            .map(|(p, v)| {
                let (file, text) = read_text(&p).unwrap();
                let (_, events) = parse_events(&file, &text, Format::Jepsen).unwrap();
                let h = to_history(&file, &events, cas_op).unwrap();
                (check_detailed(&CasRegister, &h.ops, &Budget::default()).steps, p, v)
            })
            .collect();
        hard.sort();
        let mut seen = (false, false);
        for (steps, path, expected) in hard.iter().rev().take(6) {
            let (file, text) = read_text(path).unwrap();
            let (_, events) = parse_events(&file, &text, Format::Jepsen).unwrap();
            let h = to_history(&file, &events, cas_op).unwrap();
            for tiny in [
                Budget::steps(steps / 2),
                Budget::steps(1),
                Budget {
                    max_memory_bytes: 4096,
                    ..Budget::default()
                },
            ] {
                let got = check(&CasRegister, &h.ops, &tiny);
                assert!(
                    matches!(got, Outcome::Unknown { .. }),
                    "{file} with {tiny:?}: {}",
                    got.name()
                );
            }
            assert_eq!(
                verdict(&check(&CasRegister, &h.ops, &Budget::default())),
                Some(*expected),
                "{file}"
            );
            assert_eq!(
                verdict(&check(&CasRegister, &h.ops, &Budget::steps(*steps))),
                Some(*expected),
                "{file}: exactly enough steps"
            );
            if *expected { seen.0 = true } else { seen.1 = true }
        }
        assert!(seen.0 || seen.1);
        // A cancel closure that says stop at once (as a time limit would).
        let (path, _) = &etcd_verdicts()[0];
        let (file, text) = read_text(path).unwrap();
        let h = to_history(&file, &parse_events(&file, &text, Format::Jepsen).unwrap().1, cas_op).unwrap();
        let cancelled = Budget {
            max_steps: u64::MAX,
            cancel: Some(Box::new(|| true)),
            ..Budget::default()
        };
        let big: Vec<_> = (0..40).flat_map(|_| h.ops.clone()).collect();
        assert!(
            matches!(check(&CasRegister, &big, &cancelled), Outcome::Unknown { reason } if reason.contains("cancelled"))
        );
    }
}

mod generated {
    //! Histories generated from a sequential run of the model, with overlapping intervals
    //! around each operation's linearization point, are linearizable; changing one read's
    //! value to one never written makes them not linearizable.

    use detsim::linearizability::{
        Budget, CasInput, CasOutput, CasRegister, Kv, KvInput, KvOutput, Model, Operation, Outcome, Register,
        RegisterInput, RegisterOutput, check,
    };
    use proptest::prelude::*;

    /// One generated operation: kind, value, key, client, how long before its point it was
    /// called and after it returned, and whether its outcome is lost.
    type Gen = (u8, u8, u8, u8, u8, u8, bool);

    fn gen_ops() -> impl Strategy<Value = Vec<Gen>> {
        proptest::collection::vec(
            (
                0u8..3,
                1u8..6,
                0u8..3,
                0u8..5,
                0u8..40,
                0u8..40,
                proptest::bool::weighted(0.1),
            ),
            1..40,
        )
    }

    /// Operations with linearization points 10 apart, in the generated order, each
    /// interval around its point; `output(state, input)` is the model's sequential answer.
    fn history<M: Model>(
        model: &M,
        spec: &[Gen],
        input: impl Fn(&Gen) -> M::Input,
        output: impl Fn(&M::State, &M::Input) -> M::Output,
    ) -> Vec<Operation<M::Input, M::Output>> {
        let mut states: std::collections::BTreeMap<Option<String>, M::State> = Default::default();
        spec.iter()
            .enumerate()
            .map(|(k, g)| {
                let i = input(g);
                let state = states.entry(model.partition(&i)).or_insert_with(|| model.init());
                let out = output(state, &i);
                *state = model.step(state, &i, Some(&out)).expect("the sequential run is legal");
                let point = 100 + 10 * k as u64;
                let lost = g.6;
                Operation {
                    client: u64::from(g.3),
                    input: i,
                    call: point - u64::from(g.4),
                    ret: (!lost).then_some(point + u64::from(g.5)),
                    output: (!lost).then_some(out),
                }
            })
            .collect()
    }

    /// Change the first read with a known output to `never`; false if there is none.
    fn corrupt<I, O: Clone>(ops: &mut [Operation<I, O>], is_read: impl Fn(&I) -> bool, never: O) -> bool {
        match ops.iter_mut().find(|o| is_read(&o.input) && o.output.is_some()) {
            Some(o) => {
                o.output = Some(never);
                true
            }
            None => false,
        }
    }

    fn linearizable(o: &Outcome) -> bool {
        matches!(o, Outcome::Linearizable)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn register_histories(g in gen_ops()) {
            let input = |g: &Gen| if g.0 == 0 { RegisterInput::Read } else { RegisterInput::Write(i64::from(g.1)) };
            let output = |s: &Option<i64>, i: &RegisterInput| match i {
                RegisterInput::Read => RegisterOutput::Value(*s),
                RegisterInput::Write(_) => RegisterOutput::Ok,
            };
            let mut ops = history(&Register, &g, input, output);
            let got = check(&Register, &ops, &Budget::default());
            prop_assert!(linearizable(&got), "{got:?} for {ops:?}");
            if corrupt(&mut ops, |i| *i == RegisterInput::Read, RegisterOutput::Value(Some(1_000))) {
                let got = check(&Register, &ops, &Budget::default());
                prop_assert!(matches!(got, Outcome::NotLinearizable(_)), "{got:?} for {ops:?}");
            }
        }

        #[test]
        fn cas_register_histories(g in gen_ops()) {
            let input = |g: &Gen| match g.0 {
                0 => CasInput::Read,
                1 => CasInput::Write(i64::from(g.1)),
                _ => CasInput::Cas { from: i64::from(g.1 % 3 + 1), to: i64::from(g.1) },
            };
            let output = |s: &Option<i64>, i: &CasInput| match i {
                CasInput::Read => CasOutput::Value(*s),
                CasInput::Write(_) => CasOutput::Ok,
                CasInput::Cas { from, .. } => CasOutput::Swapped(*s == Some(*from)),
            };
            let mut ops = history(&CasRegister, &g, input, output);
            let got = check(&CasRegister, &ops, &Budget::default());
            prop_assert!(linearizable(&got), "{got:?} for {ops:?}");
            if corrupt(&mut ops, |i| *i == CasInput::Read, CasOutput::Value(Some(1_000))) {
                let got = check(&CasRegister, &ops, &Budget::default());
                prop_assert!(matches!(got, Outcome::NotLinearizable(_)), "{got:?} for {ops:?}");
            }
        }

        #[test]
        fn kv_histories(g in gen_ops()) {
            let input = |g: &Gen| {
                let key = format!("k{}", g.2);
                match g.0 {
                    0 => KvInput::Get { key },
                    1 => KvInput::Put { key, value: format!("p{}", g.1) },
                    _ => KvInput::Append { key, value: format!("a{}", g.1) },
                }
            };
            let output = |s: &String, i: &KvInput| match i {
                KvInput::Get { .. } => KvOutput::Value(s.clone()),
                _ => KvOutput::Ok,
            };
            let mut ops = history(&Kv, &g, input, output);
            let got = check(&Kv, &ops, &Budget::default());
            prop_assert!(linearizable(&got), "{got:?} for {ops:?}");
            if corrupt(&mut ops, |i| matches!(i, KvInput::Get { .. }), KvOutput::Value("never written".into())) {
                let got = check(&Kv, &ops, &Budget::default());
                prop_assert!(matches!(got, Outcome::NotLinearizable(_)), "{got:?} for {ops:?}");
            }
        }

        /// Mutated corpus lines never panic the parsers: each gives events or an error
        /// with a line.
        #[test]
        fn mutated_history_files_never_panic(which in 0usize..2, at in 0usize..4000, cut in 0usize..40, junk in "[ :\\[\\]{}\",a-z0-9-]{0,6}") {
            let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/porcupine");
            let path = if which == 0 { corpus.join("etcd/etcd_000.log") } else { corpus.join("kv/c01-ok.txt") };
            let text = std::fs::read_to_string(path).unwrap();
            let mut chars: Vec<char> = text.chars().collect();
            let at = at % chars.len();
            let end = (at + cut).min(chars.len());
            chars.splice(at..end, junk.chars());
            let mutated: String = chars.into_iter().collect();
            let parsed = detsim::history_file::parse_events("m", &mutated, detsim::history_file::Format::Auto);
            if let Ok((_, events)) = parsed {
                for convert in [0, 1] {
                    let r = if convert == 0 {
                        detsim::history_file::to_history("m", &events, detsim::history_file::cas_op).map(|h| h.ops.len())
                    } else {
                        detsim::history_file::to_history("m", &events, detsim::history_file::kv_op).map(|h| h.ops.len())
                    };
                    if let Err(e) = r {
                        prop_assert!(e.line > 0 && e.to_string().starts_with("m:"), "{e}");
                    }
                }
            }
        }
    }
}

/// The checker sits with the checks: no file of `src/linearizability/` imports a layer
/// above them (nor the file formats), uses serde, or reads the clock.
#[test]
fn the_checker_imports_nothing_above_the_checks() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/linearizability");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 10, "{}", dir.display());
    let above = [
        "scenario",
        "protocols",
        "plugin",
        "run",
        "explore",
        "report",
        "cli",
        "bench",
        "history_file",
    ];
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (n, line) in text.lines().enumerate() {
            for a in above {
                assert!(
                    !line.contains(&format!("crate::{a}")),
                    "{}:{}: imports {a}",
                    f.display(),
                    n + 1
                );
            }
            for banned in ["serde", "Instant", "SystemTime", "std::thread"] {
                assert!(!line.contains(banned), "{}:{}: uses {banned}", f.display(), n + 1);
            }
        }
    }
}
