//! Bad input never panics: a table of malformed or inconsistent scenario files, each run
//! through the binary, each expected to exit 2 naming the place (line:column or field
//! path) and what was wrong; and a property test feeding mutated scenario files to the
//! parser, the validator and the runner.

use proptest::prelude::*;

use crate::scenarios::detsim;
use crate::support::tempdir;

/// A valid scenario to break: a server and a client.
const BASE: &str = r#"{"name":"m","duration":"1s","nodes":[{"id":"s","role":"rpc_server"},{"id":"c","role":"rpc_client","server":"s","calls":3}]"#;

fn with(extra: &str) -> String {
    format!("{BASE}{extra}}}")
}

fn nodes(n: &str) -> String {
    format!(r#"{{"name":"m","duration":"1s","nodes":[{n}]}}"#)
}

/// (label, file text, what the error must say).
fn cases() -> Vec<(&'static str, String, &'static str)> {
    let srv = r#"{"id":"s","role":"rpc_server"}"#;
    let disp = r#"{"id":"d","role":"dispatcher","arrivals":{"kind":"batch","jobs":3}}"#;
    let mut many = String::from(r#"{"name":"m","duration":"1s","nodes":["#);
    for i in 0..10_001 {
        many.push_str(&format!(
            r#"{}{{"id":"n{i}","role":"registry"}}"#,
            if i > 0 { "," } else { "" }
        ));
    }
    many.push_str("]}");
    vec![
        (
            "syntax error names line and column",
            "{\n  \"name\": \"m\",\n  \"duration\": \"1s\"\n  \"nodes\": []\n}\n".into(),
            ":4:3: expected `,` or `}`",
        ),
        ("trailing garbage", format!("{} x", with("")), "trailing characters"),
        ("empty file", String::new(), ":1:0: EOF while parsing"),
        ("not an object", "[1, 2]".into(), ":1:1: expected a JSON object"),
        (
            "unknown top-level field",
            with(r#","nmae":1"#),
            "at nmae: unknown field `nmae`: expected one of name, description,",
        ),
        (
            "missing name",
            r#"{"duration":"1s","nodes":[]}"#.into(),
            "missing field `name`",
        ),
        (
            "bad duration unit",
            BASE.replace("\"1s\"", "\"5 parsecs\"") + "}",
            "at duration: invalid duration",
        ),
        (
            "duration as number",
            BASE.replace("\"1s\"", "5") + "}",
            "at duration: expected a duration such as \"250ms\", found the number 5",
        ),
        (
            "zero duration",
            BASE.replace("\"1s\"", "\"0s\"") + "}",
            "at duration: must be greater than zero",
        ),
        (
            "duration over the limit",
            BASE.replace("\"1s\"", "\"1000h\"") + "}",
            "at duration: 1000h is over the limit",
        ),
        (
            "event budget zero",
            with(r#","max_events":0"#),
            "at max_events: must be between 1 and",
        ),
        (
            "negative seed",
            with(r#","seed":-1"#),
            "at seed: expected a whole number, 0 or more, found the number -1",
        ),
        (
            "no nodes",
            r#"{"name":"m","duration":"1s","nodes":[]}"#.into(),
            "at nodes: a scenario needs at least one node",
        ),
        (
            "too many nodes",
            many,
            "at nodes: 10001 nodes is over the limit of 10000",
        ),
        (
            "duplicate node ids",
            nodes(&format!("{srv},{srv}")),
            "at nodes[1].id: duplicate node id \"s\"",
        ),
        (
            "unknown role",
            nodes(r#"{"id":"s","role":"rpc_sever"}"#),
            "at nodes[0].role: unknown role \"rpc_sever\": expected one of the roles registry, rpc_server, rpc_client,",
        ),
        (
            "unknown node field",
            nodes(r#"{"id":"s","role":"rpc_server","dedup":true}"#),
            "at nodes[0].dedup: unknown field `dedup`: expected one of id, dedupe, canary_wrapping_multiply, register",
        ),
        (
            "unknown field of a nested object (no `id` offered there)",
            nodes(
                r#"{"id":"s","role":"rpc_server"},{"id":"c","role":"rpc_client","server":"s","calls":1,"mix":{"zz":1}}"#,
            ),
            "at nodes[1].mix.zz: unknown field `zz`: expected one of multiply, divide, deposit",
        ),
        (
            "client of an unknown server",
            nodes(&format!(
                r#"{srv},{{"id":"c","role":"rpc_client","server":"x","calls":1}}"#
            )),
            "at nodes[1].server: unknown node id \"x\"",
        ),
        (
            "client of a non-server",
            nodes(&format!(
                r#"{srv},{{"id":"c","role":"rpc_client","server":"c","calls":1}}"#
            )),
            "at nodes[1].server: node \"c\" is an rpc_client, expected an rpc_server",
        ),
        (
            "client with server and service",
            nodes(&format!(
                r#"{srv},{{"id":"c","role":"rpc_client","server":"s","service":{{"registry":"s","service":"a"}},"calls":1}}"#
            )),
            "at nodes[1]: give exactly one of `server` and `service`",
        ),
        (
            "worker with zero slots",
            nodes(&format!(
                r#"{disp},{{"id":"w","role":"worker","dispatcher":"d","slots":0,"service_time":{{"dist":"constant","value":"1ms"}}}}"#
            )),
            "at nodes[1].slots: must be between 1 and",
        ),
        (
            "batch over the limit",
            nodes(r#"{"id":"d","role":"dispatcher","arrivals":{"kind":"batch","jobs":99999999999}}"#),
            "at nodes[0].arrivals.jobs: a batch of 99999999999 jobs is over the limit",
        ),
        (
            "queue of capacity zero",
            nodes(
                r#"{"id":"d","role":"dispatcher","arrivals":{"kind":"batch","jobs":3},"queue_capacity":0},{"id":"w","role":"worker","dispatcher":"d","service_time":{"dist":"constant","value":"1ms"}}"#,
            ),
            "at nodes[0].queue_capacity: must be at least 1",
        ),
        (
            "dispatcher with no worker",
            nodes(disp),
            "at nodes[0]: dispatcher \"d\" has no worker",
        ),
        (
            "zero calls",
            BASE.replace("\"calls\":3", "\"calls\":0") + "}",
            "at nodes[1].calls: must be at least 1",
        ),
        (
            "nemesis names a target twice",
            with(r#","nemesis":{"stop":"1s","targets":["c","s","c"]}"#),
            "at nemesis.targets[2]: node \"c\" is named twice",
        ),
        (
            "renewal no shorter than the ttl",
            nodes(
                r#"{"id":"r","role":"registry"},{"id":"s","role":"rpc_server","register":{"registry":"r","service":"a","ttl":"100ms","interval":"100ms"}}"#,
            ),
            "at nodes[1].register.interval: 100ms must be shorter than the ttl (100ms)",
        ),
        (
            "poisson rate zero",
            nodes(r#"{"id":"d","role":"dispatcher","arrivals":{"kind":"poisson","rate":0.0}}"#),
            "at nodes[0].arrivals.rate: must be a rate",
        ),
        (
            "drop over one",
            with(r#","network":{"default":{"drop":1.5}}"#),
            "at network.default.drop: must be a probability in [0, 1], got 1.5",
        ),
        (
            "drop as text",
            with(r#","network":{"default":{"drop":"high"}}"#),
            "at network.default.drop: expected a number, found the string \"high\"",
        ),
        (
            "negative duplicate on a link",
            with(r#","network":{"links":[{"from":"c","to":"s","duplicate":-0.1}]}"#),
            "at network.links[0].duplicate: must be a probability",
        ),
        (
            "link from an unknown node",
            with(r#","network":{"links":[{"from":"q","to":"s"}]}"#),
            "at network.links[0].from: unknown node id \"q\"",
        ),
        (
            "uniform latency min over max",
            with(r#","network":{"default":{"latency":{"dist":"uniform","min":"5ms","max":"1ms"}}}"#),
            "at network.default.latency.min: must not be greater than max",
        ),
        (
            "unknown latency distribution",
            with(r#","network":{"default":{"latency":{"dist":"gaussian"}}}"#),
            "at network.default.latency.dist: unknown distribution \"gaussian\": expected one of the distributions constant,",
        ),
        (
            "log-normal with negative sigma",
            with(r#","network":{"default":{"latency":{"dist":"log_normal","median":"1ms","sigma":-1.0}}}"#),
            "at network.default.latency.sigma: must be a finite number >= 0",
        ),
        (
            "fault after the end",
            with(r#","faults":[{"kind":"crash","at":"2s","node":"s"}]"#),
            "at faults[0].at: 2s is after the end of the run (1s)",
        ),
        (
            "fault window ends before it starts",
            with(r#","faults":[{"kind":"crash","at":"500ms","until":"100ms","node":"s"}]"#),
            "at faults[0].until: 100ms must be after `at` (500ms)",
        ),
        (
            "fault on an unknown node",
            with(r#","faults":[{"kind":"pause","at":"1ms","node":"zz"}]"#),
            "at faults[0].node: unknown node id \"zz\"",
        ),
        (
            "partition names a node twice",
            with(r#","faults":[{"kind":"partition","at":"1ms","groups":[["s"],["s","c"]]}]"#),
            "at faults[0].groups[1][0]: node \"s\" is named twice in this partition",
        ),
        (
            "partition with an empty group",
            with(r#","faults":[{"kind":"partition","at":"1ms","groups":[["s"],[]]}]"#),
            "at faults[0].groups[1]: a partition group must not be empty",
        ),
        (
            "unknown fault kind",
            with(r#","faults":[{"kind":"explode","at":"1ms"}]"#),
            "at faults[0].kind: unknown kind \"explode\": expected one of the kinds crash, restart,",
        ),
        (
            "clog with no target",
            with(r#","faults":[{"kind":"clog","at":"1ms","target":{}}]"#),
            "at faults[0].target: expected either",
        ),
        (
            "set_link with only from",
            with(r#","faults":[{"kind":"set_link","at":"1ms","from":"s","config":{}}]"#),
            "at faults[0]: give both `from` and `to`",
        ),
        (
            "nemesis stops after the end",
            with(r#","nemesis":{"stop":"5s","crash_rate":1.0}"#),
            "at nemesis.stop: 5s is after the end of the run",
        ),
        (
            "nemesis negative rate",
            with(r#","nemesis":{"stop":"1s","crash_rate":-2.0}"#),
            "at nemesis.crash_rate: must be a rate >= 0",
        ),
        (
            "nemesis unknown target",
            with(r#","nemesis":{"stop":"1s","targets":["nope"]}"#),
            "at nemesis.targets[0]: unknown node id \"nope\"",
        ),
        (
            "zero liveness bound",
            with(r#","checks":{"pool_liveness_bound":"0s"}"#),
            "at checks.pool_liveness_bound: must be greater than zero",
        ),
    ]
}

#[test]
fn malformed_files_exit_2_naming_the_place_and_the_problem() {
    let dir = tempdir("malformed-1");
    let cases = cases();
    assert!(cases.len() >= 30);
    for (i, (label, text, expect)) in cases.iter().enumerate() {
        let file = dir.join(format!("case{i}.json"));
        std::fs::write(&file, text).unwrap();
        for cmd in ["run", "validate"] {
            let out = detsim(&[cmd, file.to_str().unwrap()]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{label} ({cmd}): {err}");
            assert!(
                err.contains(&format!("case{i}.json:")),
                "{label}: the file is named: {err}"
            );
            assert!(err.contains(expect), "{label}: expected {expect:?} in: {err}");
            assert!(!err.contains("panicked"), "{label}: {err}");
            assert_in_the_formats_words(label, &err);
            assert!(out.stdout.is_empty(), "{label}: nothing on stdout");
        }
    }
}

/// serde's own words, which a user of the scenario format should never have to read.
const SERDE_WORDS: [&str; 14] = [
    "internally tagged",
    "untagged",
    "invalid type",
    "invalid value",
    "unknown variant",
    "variant identifier",
    "expected f64",
    "expected u64",
    "expected u32",
    "expected struct",
    "a map",
    "found map",
    "sequence",
    "Spec",
];

fn assert_in_the_formats_words(label: &str, err: &str) {
    for w in SERDE_WORDS {
        assert!(!err.contains(w), "{label}: serde's words ({w:?}) in: {err}");
    }
}

/// Errors inside tagged objects (a node's role, a fault's kind, a distribution's dist,
/// arrivals' kind), which serde reports at the object: (label, file, the exact field
/// path, what the message must say).
fn tagged_cases() -> Vec<(&'static str, String, &'static str, &'static str)> {
    let srv = r#"{"id":"s","role":"rpc_server"}"#;
    let disp = r#"{"id":"d","role":"dispatcher","arrivals":{"kind":"batch","jobs":3}}"#;
    let client = |extra: &str| {
        nodes(&format!(
            r#"{srv},{{"id":"c","role":"rpc_client","server":"s","calls":1{extra}}}"#
        ))
    };
    let worker = |st: &str| {
        nodes(&format!(
            r#"{disp},{{"id":"w","role":"worker","dispatcher":"d","service_time":{st}}}"#
        ))
    };
    let fault = |f: &str| with(&format!(r#","faults":[{f}]"#));
    let dist = r#"a distribution object such as {"dist": "constant", "value": "1ms"}"#;
    vec![
        (
            "issue example: a distribution as an rpc_client's think",
            nodes(&format!(
                r#"{srv},{srv},{srv},{srv},{{"id":"c","role":"rpc_client","server":"s","calls":1,"think":{{"dist":"constant","value":"1ms"}}}}"#
            ))
            .replace(r#"{"id":"s","role":"rpc_server"},{"id":"s","role":"rpc_server"},{"id":"s","role":"rpc_server"},{"id":"s","role":"rpc_server"}"#,
                r#"{"id":"s","role":"rpc_server"},{"id":"s2","role":"rpc_server"},{"id":"s3","role":"rpc_server"},{"id":"s4","role":"rpc_server"}"#),
            "nodes[4].think",
            r#"expected a duration such as "250ms", found an object"#,
        ),
        (
            "issue example: a string latency",
            with(r#","network":{"default":{"latency":"1ms"}}"#),
            "network.default.latency",
            dist,
        ),
        (
            "a field before the role",
            nodes(&format!(
                r#"{srv},{{"think":{{"dist":"constant","value":"1ms"}},"id":"c","role":"rpc_client","server":"s","calls":1}}"#
            )),
            "nodes[1].think",
            "a duration such as",
        ),
        (
            "a duration as a pool_client's think",
            nodes(&format!(r#"{disp},{{"id":"p","role":"pool_client","dispatcher":"d","think":"5ms"}}"#)),
            "nodes[1].think",
            dist,
        ),
        ("a bad count", client("").replace(r#""calls":1"#, r#""calls":"many""#), "nodes[1].calls", r#"expected a whole number, 0 or more, found the string "many""#),
        (
            "two fields wrong the same way: the first is named",
            client(r#","timeout":5,"backoff_base":5"#),
            "nodes[1].timeout",
            "a duration such as",
        ),
        ("a weight over u32", client(r#","mix":{"multiply":-1}"#), "nodes[1].mix.multiply", "a whole number from 0 to 4294967295"),
        ("a repeated field", nodes(r#"{"id":"s","role":"rpc_server","dedupe":true,"dedupe":false}"#), "nodes[0].dedupe", "field `dedupe` is given twice"),
        ("a node as a string", nodes(r#""s""#), "nodes[0]", "a node object with an id and a role"),
        ("a role as a number", nodes(r#"{"id":"s","role":5}"#), "nodes[0].role", "expected the name of a role (a string), found the number 5"),
        (
            "a registration's ttl",
            nodes(r#"{"id":"r","role":"registry"},{"id":"s","role":"rpc_server","register":{"registry":"r","service":"a","ttl":100}}"#),
            "nodes[1].register.ttl",
            "a duration such as",
        ),
        (
            "a registration without a ttl",
            nodes(r#"{"id":"r","role":"registry"},{"id":"s","role":"rpc_server","register":{"registry":"r","service":"a"}}"#),
            "nodes[1].register",
            "missing field `ttl`",
        ),
        ("a distribution's parameter", worker(r#"{"dist":"exponential","mean":5}"#), "nodes[1].service_time.mean", "a duration such as"),
        ("a distribution without its parameter", worker(r#"{"dist":"exponential"}"#), "nodes[1].service_time", "missing field `mean`"),
        ("a distribution without dist", worker(r#"{"mean":"1ms"}"#), "nodes[1].service_time", "missing field `dist`"),
        (
            "an unknown distribution in a node",
            worker(r#"{"dist":"gaussian","mean":"1ms"}"#),
            "nodes[1].service_time.dist",
            r#"unknown distribution "gaussian": expected one of the distributions constant, uniform,"#,
        ),
        ("a number as a distribution", worker("5"), "nodes[1].service_time", dist),
        ("arrivals as a string", nodes(r#"{"id":"d","role":"dispatcher","arrivals":"batch"}"#), "nodes[0].arrivals", "an arrivals object such as"),
        (
            "a batch size as a string",
            nodes(r#"{"id":"d","role":"dispatcher","arrivals":{"kind":"batch","jobs":"3"}}"#),
            "nodes[0].arrivals.jobs",
            "a whole number",
        ),
        (
            "unknown arrivals",
            nodes(r#"{"id":"d","role":"dispatcher","arrivals":{"kind":"closed"}}"#),
            "nodes[0].arrivals.kind",
            r#"unknown kind "closed": expected one of the kinds batch, poisson, clients"#,
        ),
        ("a fault's time as a number", fault(r#"{"kind":"crash","at":5,"node":"s"}"#), "faults[0].at", "a duration such as"),
        ("a fault's node as a number", fault(r#"{"kind":"crash","at":"5ms","node":1}"#), "faults[0].node", "expected a string, found the number 1"),
        (
            "a partition group member",
            fault(r#"{"kind":"partition","at":"1ms","groups":[["s"],["c",1]]}"#),
            "faults[0].groups[1][1]",
            "expected a string, found the number 1",
        ),
        (
            "the first of two identical bad members",
            fault(r#"{"kind":"partition","at":"1ms","groups":[[1],[1]]}"#),
            "faults[0].groups[0][0]",
            "expected a string",
        ),
        ("a fault without its time", fault(r#"{"kind":"crash","node":"s"}"#), "faults[0]", "missing field `at`"),
        (
            "a set_link's latency",
            fault(r#"{"kind":"set_link","at":"1ms","config":{"latency":"2ms"}}"#),
            "faults[0].config.latency",
            dist,
        ),
        ("a clog target as a string", fault(r#"{"kind":"clog","at":"1ms","target":"s"}"#), "faults[0].target", "a clog target such as"),
        (
            "a nemesis range as a duration",
            with(r#","nemesis":{"stop":"1s","downtime":"1s"}"#),
            "nemesis.downtime",
            "a range of durations such as",
        ),
        (
            "a log-normal's sigma",
            with(r#","network":{"default":{"latency":{"dist":"log_normal","median":"1ms","sigma":"x"}}}"#),
            "network.default.latency.sigma",
            r#"expected a number, found the string "x""#,
        ),
        (
            "links as an object",
            with(r#","network":{"links":{}}"#),
            "network.links",
            "expected an array, found an object",
        ),
    ]
}

#[test]
fn errors_inside_tagged_objects_name_the_field_in_the_formats_words() {
    let dir = tempdir("malformed-tagged");
    let cases = tagged_cases();
    for (i, (label, text, path, expect)) in cases.iter().enumerate() {
        let name = format!("tagged{i}.json");
        // One node, fault or field per line, so that the line number can be checked.
        let text = text.replace("},{", "},\n{");
        let file = dir.join(&name);
        std::fs::write(&file, &text).unwrap();
        let out = detsim(&["validate", file.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{label}: {err}");
        assert!(err.contains(&format!("{name}:")), "{label}: the file is named: {err}");
        assert!(
            err.contains(&format!(": at {path}: ")),
            "{label}: the path {path:?} in: {err}"
        );
        assert!(err.contains(expect), "{label}: {expect:?} in: {err}");
        assert_eq!(err.lines().count(), 1, "{label}: one error: {err}");
        assert_in_the_formats_words(label, &err);
        assert!(!err.contains("panicked"), "{label}: {err}");
    }
    // The place is the field's own line (the issue's example: the 5th node's line).
    let text = cases[0].1.replace("},{", "},\n{");
    let line = text.lines().position(|l| l.contains("think")).unwrap() + 1;
    let file = dir.join("line.json");
    std::fs::write(&file, &text).unwrap();
    let err = String::from_utf8_lossy(&detsim(&["validate", file.to_str().unwrap()]).stderr).into_owned();
    assert!(err.contains(&format!("line.json:{line}:")), "line {line}: {err}");
}

#[test]
fn validate_reports_every_problem_and_a_missing_file() {
    let dir = tempdir("malformed-2");
    let file = dir.join("several.json");
    std::fs::write(
        &file,
        with(r#","faults":[{"kind":"crash","at":"9s","node":"q"}],"network":{"default":{"drop":2.0}}"#),
    )
    .unwrap();
    let out = detsim(&["validate", file.to_str().unwrap(), "/nonexistent/x.json"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    for expect in [
        "faults[0].at",
        "faults[0].node",
        "network.default.drop",
        "/nonexistent/x.json",
        "cannot read",
    ] {
        assert!(err.contains(expect), "{expect:?} missing from: {err}");
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["run"][..],
        &["explore", "x.json"],
        &["explore", "x.json", "--seeds", "5..2"],
        &["frobnicate"],
    ] {
        let out = detsim(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

/// One byte-level or token-level mutation of a scenario text.
#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, String),
    Replace(usize, String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let token = prop_oneof![
        Just("{".to_string()),
        Just("}".to_string()),
        Just("[".to_string()),
        Just(",".to_string()),
        Just("\"".to_string()),
        Just("-1".to_string()),
        Just("1e400".to_string()),
        Just("null".to_string()),
        Just("\"0s\"".to_string()),
        Just("\"99999h\"".to_string()),
        Just("NaN".to_string()),
        Just("18446744073709551615".to_string()),
        "[a-z_]{1,8}".prop_map(|s| format!("\"{s}\"")),
        any::<u32>().prop_map(|n| n.to_string()),
    ];
    prop_oneof![
        (any::<usize>(), 1usize..8).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (any::<usize>(), token.clone()).prop_map(|(a, t)| Mutation::Insert(a, t)),
        (any::<usize>(), token).prop_map(|(a, t)| Mutation::Replace(a, t)),
    ]
}

fn apply(text: &str, muts: &[Mutation]) -> String {
    let mut b: Vec<char> = text.chars().collect();
    for m in muts {
        let len = b.len().max(1);
        match m {
            Mutation::Delete(a, n) => {
                let start = a % len;
                let end = (start + n).min(b.len());
                if start < end {
                    b.drain(start..end);
                }
            }
            Mutation::Insert(a, t) => {
                let at = a % (b.len() + 1);
                b.splice(at..at, t.chars());
            }
            Mutation::Replace(a, t) => {
                let start = a % len;
                let end = (start + t.len()).min(b.len());
                b.splice(start..end, t.chars());
            }
        }
    }
    b.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("DETSIM_MUTATIONS").ok().and_then(|n| n.parse().ok()).unwrap_or(256),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Mutated example scenarios never panic the parser, the validator or (when they are
    /// still valid) a bounded run, and every error they give is in the format's words.
    #[test]
    fn mutated_scenarios_never_panic(which in 0usize..9, muts in proptest::collection::vec(mutation(), 1..4)) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        let text = std::fs::read_to_string(&files[which % files.len()]).unwrap();
        let mutated = apply(&text, &muts);
        match detsim::scenario::parse_scenario(&detsim::Protocols::builtin(), "mutated.json", &mutated) {
            Ok(mut s) => {
                s.max_events = s.max_events.min(20_000);
                let _ = detsim::run::run_scenario(&detsim::Protocols::builtin(), &s, 1, None);
            }
            Err(errs) => {
                let text = errs.to_string();
                for w in SERDE_WORDS {
                    prop_assert!(!text.contains(w), "serde's words ({:?}) in: {}\nfile: {}", w, text, mutated);
                }
            }
        }
    }
}

#[test]
fn replay_and_shrink_of_a_plain_scenario_say_what_they_expect() {
    let s = crate::scenarios::scenario("rpc_multiply");
    for cmd in ["replay", "shrink"] {
        let out = detsim(&[cmd, &s]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {err}");
        assert!(
            err.contains("rpc_multiply.json:1:1: not a FAILURE file"),
            "{cmd}: {err}"
        );
    }
}
