//! The HTML report through the real binary: element counts that match the run's report,
//! the default window on the first violation, bad windows refused with exit 2, replay
//! reports, and the pages rendered in headless Chromium (screenshot, no console errors,
//! the inline script ran, the DOM has the lanes and arrows).
//!
//! The browser part needs Chromium. Without it, `cargo test` skips that one test and says
//! so on stderr (a fresh machine passes the README's test command); `.ci/run` installs
//! Debian's `chromium` and sets `DETSIM_REQUIRE_BROWSER=1`, which makes a missing browser
//! a failure.

use std::path::Path;

use crate::support::tempdir;
use std::process::Command;

use super::scenarios::{detsim, scenario};

/// Run `args` plus `--json --report FILE`; the JSON report and the page.
fn report(args: &[&str], file: &Path, code: i32) -> (serde_json::Value, String) {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--json", "--report", file.to_str().unwrap()]);
    let out = detsim(&all);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report on stdout");
    let html = std::fs::read_to_string(file).expect("the report file was written");
    (v, html)
}

fn count(html: &str, ev: &str) -> u64 {
    html.matches(&format!(r#"data-ev="{ev}""#)).count() as u64
}

fn attr_u64(html: &str, name: &str) -> u64 {
    let key = format!(r#"{name}=""#);
    let at = html.find(&key).unwrap_or_else(|| panic!("no {name}")) + key.len();
    html[at..].split('"').next().unwrap().parse().unwrap()
}

fn nodes_of(name: &str) -> u64 {
    let text = std::fs::read_to_string(scenario(name)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["nodes"].as_array().unwrap().len() as u64
}

#[test]
fn report_counts_match_the_run_for_a_whole_run_window() {
    let dir = tempdir("html-counts");
    for (name, code) in [("rpc_multiply", 0), ("deposit_partition_canary", 1)] {
        let (v, html) = report(&["run", &scenario(name)], &dir.join(format!("{name}.html")), code);
        let m = &v["messages"];
        assert!(html.contains("(the whole run)"), "{name}: small runs are drawn whole");
        assert_eq!(count(&html, "lane"), nodes_of(name), "{name}: one lane per node");
        assert_eq!(
            count(&html, "deliver"),
            m["delivered"].as_u64().unwrap(),
            "{name}: one arrow per delivered copy"
        );
        assert_eq!(
            count(&html, "drop"),
            m["dropped"].as_u64().unwrap(),
            "{name}: one cross per drop"
        );
        assert!(html.contains(&v["trace_hash"].as_str().unwrap().to_string()));
        assert!(
            html.contains(&format!("--seed {}", v["seed"])),
            "{name}: the reproducing command"
        );
        for c in v["checks"].as_array().unwrap() {
            assert!(html.contains(&format!(r#"data-check="{}""#, c["name"].as_str().unwrap())));
        }
        // Self-contained: nothing is fetched.
        for outside in ["http://", "https://", "<link", "src=\""] {
            assert!(!html.contains(outside), "{name}: the page refers outside ({outside})");
        }
        assert!(html.len() < 3_000_000, "{name}: {} bytes", html.len());
    }
    let (_, html) = report(&["run", &scenario("rpc_multiply")], &dir.join("m.html"), 0);
    assert!(
        html.contains(">Multiply(") && html.contains(">= "),
        "labels name calls and replies"
    );
    assert!(
        !html.contains(r#"data-ev="violation""#),
        "a passing run has no violation mark"
    );
    assert!(html.contains(r#"data-plot="rpc-latency""#) && html.contains(r#"data-plot="rpc-cdf""#));
}

/// A deposit canary whose only double execution comes late: replies lost to a partition
/// at 6 s make clients retry; 2,400+ messages, more than the default window draws.
const LATE_CANARY: &str = r#"{
  "name": "late-canary",
  "description": "Deposits without dedupe; a partition at 6s loses replies, retries execute twice.",
  "seed": 1,
  "duration": "20s",
  "nodes": [
    { "id": "bank", "role": "rpc_server", "dedupe": false },
    { "id": "alice", "role": "rpc_client", "server": "bank", "calls": 600, "interval": "10ms",
      "mix": { "deposit": 1 }, "timeout": "20ms", "max_attempts": 50 },
    { "id": "bob", "role": "rpc_client", "server": "bank", "calls": 600, "interval": "10ms",
      "mix": { "deposit": 1 }, "timeout": "20ms", "max_attempts": 50 }
  ],
  "faults": [
    { "kind": "block", "at": "4.5s", "until": "4.6s", "from": "bank", "to": "alice" }
  ]
}"#;

#[test]
fn a_failing_report_opens_its_window_on_the_first_violation() {
    let dir = tempdir("html-window");
    let file = dir.join("late.json");
    std::fs::write(&file, LATE_CANARY).unwrap();
    let (v, html) = report(&["run", file.to_str().unwrap()], &dir.join("late.html"), 1);
    let first = v["violations"][0]["at"]
        .as_str()
        .expect("a violation")
        .parse::<detsim::SimTime>()
        .unwrap()
        .as_nanos();
    assert!(first > 4_000_000_000, "the planted violation comes late: {first}");
    let (start, end) = (
        attr_u64(&html, "data-window-start-ns"),
        attr_u64(&html, "data-window-end-ns"),
    );
    assert!(start <= first && first <= end, "window {start}..{end} holds {first}");
    assert!(start > 0, "not the whole run: {start}..{end}");
    assert!(html.contains(r#"id="violation-1""#), "the first violation is drawn");
    assert!(html.contains(r##"href="#violation-1""##), "and linked from the header");
    assert!(html.contains("around the first violation"));
    let sent = v["messages"]["sent"].as_u64().unwrap();
    assert!(sent > 2_000, "{sent}");
    assert!(count(&html, "deliver") < sent, "a window, not everything");

    // An explicit window is drawn as asked; the violation outside it is listed, not drawn.
    let (_, html) = report(
        &["run", file.to_str().unwrap(), "--report-window", "1s..1.2s"],
        &dir.join("early.html"),
        1,
    );
    assert_eq!(attr_u64(&html, "data-window-start-ns"), 1_000_000_000);
    assert_eq!(attr_u64(&html, "data-window-end-ns"), 1_200_000_000);
    assert!(!html.contains(r#"id="violation-1""#));
    assert!(html.contains("outside the diagram's window"));
}

#[test]
fn a_bad_report_window_is_a_usage_error() {
    let dir = tempdir("html-bad");
    let file = dir.join("x.html");
    let sc = scenario("rpc_multiply");
    for (extra, needle) in [
        (
            vec!["--report", file.to_str().unwrap(), "--report-window", "3s..2s"],
            "invalid report window",
        ),
        (
            vec!["--report", file.to_str().unwrap(), "--report-window", "soon"],
            "invalid report window",
        ),
        (vec!["--report-window", "1s..2s"], "--report"),
        // After the end of the run (rpc_multiply ends well before 5s): not an empty diagram.
        (
            vec!["--report", file.to_str().unwrap(), "--report-window", "9s..10s"],
            "starts after the end of the run (it ran to ",
        ),
    ] {
        let mut args = vec!["run", sc.as_str()];
        args.extend(extra);
        let out = detsim(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    assert!(!file.exists(), "no report written on a usage error");
}

#[test]
fn replay_writes_a_report_of_the_failure() {
    let dir = tempdir("html-replay");
    let out_dir = dir.join("failures");
    let out = detsim(&[
        "explore",
        &scenario("deposit_partition_canary"),
        "--seeds",
        "3..4",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let failure = std::fs::read_dir(&out_dir).unwrap().next().unwrap().unwrap().path();
    let page = dir.join("replay.html");
    let out = detsim(&["replay", failure.to_str().unwrap(), "--report", page.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("came back"));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("detsim replay "), "the reproducing command is the replay");
    assert!(html.contains(r#"id="violation-1""#));
}

fn chromium() -> Option<String> {
    ["chromium", "chromium-browser"].into_iter().find_map(|c| {
        Command::new("sh")
            .args(["-c", &format!("command -v {c}")])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    })
}

fn browse(bin: &str, dir: &Path, tag: &str, extra: &[&str], page: &Path) -> std::process::Output {
    let profile = dir.join(format!("profile-{tag}"));
    Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("start chromium")
}

/// The variable that makes the browser test mandatory (`.ci/run` sets it).
const REQUIRE_BROWSER: &str = "DETSIM_REQUIRE_BROWSER";

/// What the browser test does with the browser it found (if any) and the value of
/// [`REQUIRE_BROWSER`]: `Ok(Some(bin))` run it, `Ok(None)` skip it, `Err` fail.
fn browser_decision(found: Option<String>, require: Option<&str>) -> Result<Option<String>, String> {
    match (found, require) {
        (Some(bin), _) => Ok(Some(bin)),
        (None, Some("1")) => Err(format!(
            "chromium not found and {REQUIRE_BROWSER}=1: install it (`apt-get install -y chromium`, as .ci/run does)"
        )),
        (None, _) => Ok(None),
    }
}

#[test]
fn a_missing_browser_skips_unless_required() {
    let bin = Some("/usr/bin/chromium".to_string());
    assert_eq!(browser_decision(bin.clone(), None), Ok(bin.clone()));
    assert_eq!(browser_decision(bin.clone(), Some("1")), Ok(bin));
    assert_eq!(browser_decision(None, None), Ok(None));
    assert_eq!(browser_decision(None, Some("0")), Ok(None));
    let err = browser_decision(None, Some("1")).unwrap_err();
    assert!(err.contains("DETSIM_REQUIRE_BROWSER=1"), "{err}");
    // CI makes the browser mandatory; the README documents both.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ci = std::fs::read_to_string(root.join(".ci/run")).unwrap();
    assert!(ci.contains("export DETSIM_REQUIRE_BROWSER=1"), ".ci/run sets it");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(readme.contains("DETSIM_REQUIRE_BROWSER=1") && readme.contains("SKIPPED"));
}

#[test]
fn reports_render_in_headless_chromium() {
    let require = std::env::var(REQUIRE_BROWSER).ok();
    let bin = match browser_decision(chromium(), require.as_deref()) {
        Ok(Some(bin)) => bin,
        Ok(None) => {
            // Straight to stderr, not `eprintln!`: the test harness captures that, and the
            // skip must show in a plain `cargo test`.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED reports_render_in_headless_chromium: chromium not found; set {REQUIRE_BROWSER}=1 to make it mandatory"
            );
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let dir = tempdir("html-browser");
    for (name, code) in [("rpc_multiply", 0), ("deposit_partition_canary", 1)] {
        let page = dir.join(format!("{name}.html"));
        let (v, _) = report(&["run", &scenario(name)], &page, code);
        let shot = dir.join(format!("{name}.png"));
        let out = browse(
            &bin,
            &dir,
            &format!("{name}-shot"),
            &[&format!("--screenshot={}", shot.display()), "--window-size=1280,900"],
            &page,
        );
        let png = std::fs::read(&shot)
            .unwrap_or_else(|e| panic!("{name}: no screenshot ({e}): {}", String::from_utf8_lossy(&out.stderr)));
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 20_000,
            "{name}: {} bytes",
            png.len()
        );

        let out = browse(&bin, &dir, &format!("{name}-dom"), &["--dump-dom"], &page);
        let dom = String::from_utf8_lossy(&out.stdout);
        let log = String::from_utf8_lossy(&out.stderr);
        for bad in ["Uncaught", ":CONSOLE", "SyntaxError", "TypeError", "ReferenceError"] {
            assert!(!log.contains(bad), "{name}: console error ({bad}):\n{log}");
        }
        assert!(
            dom.contains(r#"data-ready="1""#),
            "{name}: the inline script ran to its end"
        );
        assert_eq!(count(&dom, "lane"), nodes_of(name), "{name}: lanes in the DOM");
        assert_eq!(
            count(&dom, "deliver"),
            v["messages"]["delivered"].as_u64().unwrap(),
            "{name}: arrows in the DOM"
        );
        assert_eq!(
            dom.contains(r#"id="violation-1""#),
            code == 1,
            "{name}: a violation mark exactly when the run failed"
        );
    }
}

/// The value of attribute `name` of the element whose id is `id`.
fn attr_of(html: &str, id: &str, name: &str) -> String {
    let at = html
        .find(&format!(r#"id="{id}""#))
        .unwrap_or_else(|| panic!("no element {id}"));
    let tag_start = html[..at].rfind('<').unwrap();
    let tag = &html[tag_start..tag_start + html[tag_start..].find('>').unwrap()];
    let key = format!(r#"{name}=""#);
    let v = tag.find(&key).unwrap_or_else(|| panic!("{id} has no {name}: {tag}")) + key.len();
    tag[v..].split('"').next().unwrap().to_string()
}

#[test]
fn a_linearizability_counterexample_is_drawn_and_linked_into_the_diagram() {
    let dir = tempdir("report-lin");
    let file = dir.join("r.html");
    let (v, html) = report(&["run", &scenario("rkv_stale_read_canary")], &file, 1);
    let violation = v["violations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["check"] == "rkv.linearizable")
        .expect("the canary's stale read");
    // `get k1 -> "n3#3 " by c2 (...)`: the key and the value read.
    let message = violation["message"].as_str().unwrap();
    let (key, read) = message
        .strip_prefix("get ")
        .and_then(|m| m.split_once(" -> "))
        .map(|(k, rest)| (k, rest.split(" by ").next().unwrap()))
        .unwrap_or_else(|| panic!("not a get: {message}"));
    assert!(html.contains(r#"id="counterexamples""#));
    // The timeline names the illegal operation as the model describes it.
    let described = format!("get(&quot;{key}&quot;) -&gt; {}", read.replace('"', "&quot;"));
    let blocked = html
        .split(r#"<span class="blockedop">"#)
        .nth(1)
        .and_then(|s| s.split("</span>").next())
        .expect("the blocked operation's line");
    assert!(blocked.ends_with(&described), "{blocked:?} is not {described:?}");
    let op: usize = blocked
        .strip_prefix("op ")
        .and_then(|s| s.split(':').next())
        .unwrap()
        .parse()
        .unwrap();
    // Bar and mark link to each other, and both exist.
    let (bar, mark) = (format!("lin0-op-{op}"), format!("lin0-mark-{op}"));
    assert_eq!(attr_of(&html, &mark, "href"), format!("#{bar}"));
    assert_eq!(attr_of(&html, &mark, "data-ev"), "linmark");
    assert!(html.contains(&format!(r##"<a href="#{mark}"><g class="op blocked" id="{bar}">"##)));
    assert_eq!(count(&html, "linmark"), 1);
    // The mark sits on the diagram (after it opens), on the client's call, and the default
    // window covers the operation from its call to its return.
    assert!(html.find(&format!(r#"id="{mark}""#)).unwrap() > html.find(r#"<svg id="diagram""#).unwrap());
    let call = attr_of(&html, &mark, "data-call-ns").parse::<u64>().unwrap();
    let events = violation["events"].as_array().unwrap();
    assert_eq!(events[0]["at_ns"].as_u64(), Some(call), "the mark is at the invocation");
    let ret = events[1]["at_ns"].as_u64().unwrap();
    let (start, end) = (
        attr_u64(&html, "data-window-start-ns"),
        attr_u64(&html, "data-window-end-ns"),
    );
    assert!(
        start <= call && ret <= end,
        "window {start}..{end} misses {call}..{ret}"
    );
}

#[test]
fn a_passing_kv_run_has_no_counterexample_section() {
    let dir = tempdir("report-lin-pass");
    let file = dir.join("r.html");
    let (v, html) = report(&["run", &scenario("rkv_nemesis")], &file, 0);
    assert_eq!(v["status"], "pass");
    assert!(!html.contains("counterexample"), "a passing run drew a counterexample");
    assert_eq!(count(&html, "linmark"), 0);
    assert!(html.contains(r#"<svg id="diagram""#));
}
