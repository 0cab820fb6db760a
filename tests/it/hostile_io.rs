//! The command line against hostile files and pipes (issue 12, items 4, 5, 6 and 8):
//! output files appear whole or not at all, even when `explore` is killed; a write that
//! fails names its path and the FAILURE files already written are still listed; an
//! output that is an input is refused; `--out` is checked before any seed runs; names
//! that sanitise alike never share a FAILURE file; FAILURE files are read through a
//! bounded reader (a FIFO too) and checked field by field; `replay`'s exit code is the
//! re-run's verdict; a closed stdout ends a command quietly; huge seed ranges and shard
//! counts stream.
//!
//! Every child runs under a watchdog: a command that would spin or hang fails the test
//! after a bounded time instead of hanging it (the wall clock and a writer thread are
//! the test harness's, outside any simulation).

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use crate::cli::canary_failure;
use crate::scenarios::{detsim, scenario};
use crate::support::tempdir;

/// How long any child may take before the test fails.
const WATCHDOG: Duration = Duration::from_secs(60);

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_detsim"));
    c.env_remove("DETSIM_SEED");
    c
}

/// Wait for `child`, killing it (and failing the test) after [`WATCHDOG`].
fn wait_bounded(child: &mut Child, what: &str) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > WATCHDOG {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {WATCHDOG:?} (killed)");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Run `args` with stdout into a pipe whose reading end is already closed: every write
/// to stdout fails with EPIPE. With `both`, stderr goes there too (`2>&1 | head`), and
/// the stderr returned is empty.
fn with_closed_stdout(args: &[&str], both: bool) -> (ExitStatus, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let err_to = if both {
        Stdio::from(writer.try_clone().unwrap())
    } else {
        Stdio::piped()
    };
    let mut child = bin()
        .args(args)
        .stdout(Stdio::from(writer))
        .stderr(err_to)
        .spawn()
        .unwrap();
    let mut err = String::new();
    let pipe = child.stderr.take();
    let status = wait_bounded(&mut child, &args.join(" "));
    if let Some(mut pipe) = pipe {
        pipe.read_to_string(&mut err).unwrap();
    }
    (status, err)
}

/// The names of the entries of `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

// ---- item 8: pipes and ranges ----

/// Was: `explore … --json | head -1` panicked on the broken pipe (exit 101). Now the
/// sweep stops when nobody reads, quietly, with the verdict of the seeds that ran; and a
/// range up to the last seed streams (it would run for ever: only the closed pipe ends it).
#[test]
fn explore_into_a_pipe_closed_after_one_line_stops_quietly() {
    for (name, code) in [("rpc_multiply", 0), ("deposit_partition_canary", 1)] {
        let dir = tempdir(&format!("hostile-head-{name}"));
        let mut child = bin()
            .args([
                "explore",
                &scenario(name),
                "--seeds",
                "0..18446744073709551615",
                "--keep-going",
                "--json",
                "--out",
                dir.join("failures").to_str().unwrap(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        // `head -1`: the reader goes away after one line.
        let line: serde_json::Value = serde_json::from_str(&first).unwrap();
        assert_eq!(line["seed"], 0);
        let status = wait_bounded(&mut child, name);
        let mut err = String::new();
        child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        assert!(!err.contains("panicked"), "{name}: {err}");
        assert_eq!(status.code(), Some(code), "{name}: {err}");
    }
}

/// Every subcommand: stdout (and stderr) closed before it writes a byte is no panic (was
/// exit 101); the exit code is the command's own verdict.
#[test]
fn every_subcommand_survives_a_closed_stdout() {
    let dir = tempdir("hostile-closed");
    let failure = canary_failure(&dir, 3);
    let f = failure.to_str().unwrap();
    let shrunk = dir.join("small.json");
    let multiply = scenario("rpc_multiply");
    let cases: Vec<(Vec<&str>, i32)> = vec![
        (vec!["run", &multiply], 0),
        (vec!["run", &multiply, "--json"], 0),
        (vec!["validate", &multiply], 0),
        (vec!["explore", &multiply, "--seeds", "0..3"], 0),
        (vec!["replay", f], 1),
        (vec!["replay", f, "--json"], 1),
        (vec!["shrink", f, "-o", shrunk.to_str().unwrap(), "--max-runs", "20"], 0),
        (
            vec!["bench", "--clients", "2", "--messages", "2000", "--repeat", "1"],
            0,
        ),
    ];
    for (args, code) in cases {
        let (status, err) = with_closed_stdout(&args, false);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(status.code(), Some(code), "{args:?}: {err}");
        // `2>&1 | head`: stderr is the closed pipe too (a panic would exit 101).
        let (status, _) = with_closed_stdout(&args, true);
        assert_eq!(status.code(), Some(code), "{args:?} 2>&1");
    }
}

/// A stdout that fails otherwise (a full disk) loses output: an error, exit 2 (was a
/// panic, exit 101).
#[cfg(unix)]
#[test]
fn a_full_stdout_is_an_error() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        eprintln!("skipped: no /dev/full");
        return;
    };
    let out = bin()
        .args(["run", &scenario("rpc_multiply"), "--json"])
        .stdout(Stdio::from(full))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("error: cannot write to stdout: No space left on device"),
        "{}",
        stderr(&out)
    );
}

/// A range up to the last seed is made lazily: without --keep-going the sweep stops at
/// the first failing seed, and a shard of u64::MAX shards runs its one seed (no loop
/// over the others), both at once.
#[test]
fn huge_seed_ranges_and_shard_counts_stream() {
    let dir = tempdir("hostile-huge");
    let failures = dir.join("failures");
    let mut child = bin()
        .args([
            "explore",
            &scenario("deposit_partition_canary"),
            "--seeds",
            "0..18446744073709551615",
            "--json",
            "--out",
            failures.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_bounded(&mut child, "explore 0..u64::MAX");
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    assert_eq!(status.code(), Some(1), "{out}");
    assert_eq!(out.lines().count(), 1, "stops at the first failing seed: {out}");

    let huge = "18446744073709551615";
    for (seeds, shard, want) in [
        ("0..18446744073709551615", "5/18446744073709551615", vec![5u64]),
        (
            "0..=18446744073709551614",
            "18446744073709551614/18446744073709551615",
            vec![18446744073709551614],
        ),
        ("0..5", "7/18446744073709551615", vec![]),
        ("3..9", "1/4", vec![4, 8]),
    ] {
        let mut child = bin()
            .args([
                "explore",
                &scenario("rpc_multiply"),
                "--seeds",
                seeds,
                "--shard",
                shard,
                "--json",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let status = wait_bounded(&mut child, &format!("--shard {shard}"));
        let mut out = String::new();
        child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        assert_eq!(status.code(), Some(0), "{shard}: {out}");
        let ran: Vec<u64> = out
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["seed"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(ran, want, "--seeds {seeds} --shard {shard} (N = {huge})");
    }
}

// ---- item 6: outputs ----

/// Was: `--trace scenario.json` replaced the scenario by its trace (exit 0); `shrink f -o
/// f` replaced the FAILURE file. Now an output that is an input (by path, through `..` or
/// a symlink) or another output is refused, exit 2, and the input is untouched.
#[test]
fn an_output_that_is_an_input_is_refused() {
    let dir = tempdir("hostile-same");
    let s = dir.join("s.json");
    std::fs::copy(scenario("rpc_multiply"), &s).unwrap();
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let failure = canary_failure(&dir, 3);
    let before = |p: &Path| std::fs::read(p).unwrap();
    let (s_text, f_text) = (before(&s), before(&failure));
    let sp = s.to_str().unwrap();
    let fp = failure.to_str().unwrap();
    let dotted = dir.join("sub/../s.json");
    let mut cases: Vec<Vec<String>> = vec![
        vec!["run".into(), sp.into(), "--trace".into(), sp.into()],
        vec!["run".into(), sp.into(), "--report".into(), sp.into()],
        vec!["run".into(), sp.into(), "--trace".into(), dotted.display().to_string()],
        vec!["run".into(), fp.into(), "--trace".into(), fp.into()],
        vec!["replay".into(), fp.into(), "--report".into(), fp.into()],
        vec!["shrink".into(), fp.into(), "-o".into(), fp.into()],
    ];
    #[cfg(unix)]
    {
        let link = dir.join("link.json");
        std::os::unix::fs::symlink(&s, &link).unwrap();
        cases.push(vec![
            "run".into(),
            sp.into(),
            "--trace".into(),
            link.display().to_string(),
        ]);
        let flink = dir.join("flink.json");
        std::os::unix::fs::symlink(&failure, &flink).unwrap();
        cases.push(vec![
            "shrink".into(),
            fp.into(),
            "-o".into(),
            flink.display().to_string(),
        ]);
    }
    for args in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = detsim(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("refusing to overwrite an input"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert_eq!(before(&s), s_text, "{args:?}");
        assert_eq!(before(&failure), f_text, "{args:?}");
    }
    // Two outputs into one file.
    let t = dir.join("t.out");
    let out = detsim(&[
        "run",
        sp,
        "--trace",
        t.to_str().unwrap(),
        "--report",
        t.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("is the same file as --trace"), "{}", stderr(&out));
    assert!(!t.exists());
    // A different file is fine.
    let out = detsim(&["run", sp, "--trace", dir.join("sub/t.jsonl").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// Was: `--out` that is a file was found only when the first FAILURE file was written
/// (a passing sweep never noticed, exit 0). Now it is an error naming the path before
/// any seed runs: no seed line, exit 2.
#[test]
fn a_bad_out_dir_is_refused_before_any_seed_runs() {
    let dir = tempdir("hostile-out");
    let file = dir.join("a-file");
    std::fs::write(&file, "x").unwrap();
    let under = file.join("sub");
    for (out_dir, says) in [
        (&file, "not a directory".to_string()),
        (&under, format!("{} is not a directory", file.display())),
    ] {
        for name in ["rpc_multiply", "deposit_partition_canary"] {
            let out = detsim(&[
                "explore",
                &scenario(name),
                "--seeds",
                "0..5",
                "--json",
                "--out",
                out_dir.to_str().unwrap(),
            ]);
            assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
            let err = stderr(&out);
            assert!(
                err.contains(&format!("--out {}", out_dir.display())) && err.contains(&says),
                "{name}: {err}"
            );
            assert_eq!(stdout(&out), "", "no seed ran");
        }
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
}

/// A read-only `--out` directory (skipped when running as root, which may write there:
/// then the check rightly passes).
#[cfg(unix)]
#[test]
fn a_read_only_out_dir_is_refused_before_any_seed_runs() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempdir("hostile-ro");
    let ro = dir.join("ro");
    std::fs::create_dir_all(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    let probe = ro.join("probe");
    if std::fs::write(&probe, "x").is_ok() {
        let _ = std::fs::remove_file(&probe);
        eprintln!("skipped: a read-only directory is writable here (running as root)");
        return;
    }
    for target in [ro.clone(), ro.join("new")] {
        let out = detsim(&[
            "explore",
            &scenario("rpc_multiply"),
            "--seeds",
            "0..3",
            "--json",
            "--out",
            target.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("--out {}", target.display())),
            "{}",
            stderr(&out)
        );
        assert_eq!(stdout(&out), "");
    }
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Was: scenarios named `a_b`, `a.b` and `a/b` all wrote `a_b-seed3.json`, each
/// overwriting the last. Now each has its own file, and each replays its own scenario.
#[test]
fn names_that_sanitise_alike_never_share_a_failure_file() {
    let dir = tempdir("hostile-names");
    let out_dir = dir.join("failures");
    let mut s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(scenario("deposit_partition_canary")).unwrap()).unwrap();
    let names = ["a_b", "a.b", "a/b", "a b"];
    for (i, name) in names.iter().enumerate() {
        s["name"] = (*name).into();
        let file = dir.join(format!("s{i}.json"));
        std::fs::write(&file, s.to_string()).unwrap();
        let out = detsim(&[
            "explore",
            file.to_str().unwrap(),
            "--seeds",
            "3",
            "--out",
            out_dir.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
    }
    let files = entries(&out_dir);
    assert_eq!(files.len(), names.len(), "{files:?}");
    assert!(files.contains(&"a_b-seed3.json".to_string()), "{files:?}");
    let mut held: Vec<String> = files
        .iter()
        .map(|f| {
            let v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(out_dir.join(f)).unwrap()).unwrap();
            v["scenario"]["name"].as_str().unwrap().to_string()
        })
        .collect();
    held.sort();
    let mut want = names.map(String::from).to_vec();
    want.sort();
    assert_eq!(held, want);
}

// ---- item 5: inputs ----

/// Was: a FAILURE file with `detsim_failure: 99`, an empty trace hash or a check its
/// scenario does not have replayed (exit 1, `[FAIL] rpc.at_most_once`). Now each is
/// refused, exit 2, naming the file and the field; trailing text too.
#[test]
fn replay_refuses_a_failure_file_with_a_bad_field() {
    let dir = tempdir("hostile-fields");
    let good = canary_failure(&dir, 3);
    let f: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&good).unwrap()).unwrap();
    let with = |field: &str, v: serde_json::Value| {
        let mut g = f.clone();
        g[field] = v;
        g.to_string()
    };
    let cases = [
        (
            "version",
            with("detsim_failure", 99.into()),
            "at detsim_failure: unknown FAILURE file version 99",
        ),
        (
            "version0",
            with("detsim_failure", 0.into()),
            "at detsim_failure: unknown FAILURE file version 0",
        ),
        (
            "empty-hash",
            with("trace_hash", "".into()),
            "at trace_hash: \"\" is not a trace hash",
        ),
        (
            "short-hash",
            with("trace_hash", "abc".into()),
            "at trace_hash: \"abc\" is not a trace hash",
        ),
        (
            "bogus-check",
            with("check", "bogus.check".into()),
            "at check: no check \"bogus.check\" in this scenario",
        ),
        (
            "pool-check",
            with("check", "pool.accepted_once".into()),
            "at check: no check \"pool.accepted_once\"",
        ),
        (
            "trailing",
            format!("{f} garbage"),
            "trailing characters after the top-level object",
        ),
        (
            "two-objects",
            format!("{f}\n{f}"),
            "trailing characters after the top-level object",
        ),
    ];
    for (tag, text, says) in cases {
        let file = dir.join(format!("{tag}.json"));
        std::fs::write(&file, text).unwrap();
        for cmd in ["replay", "run", "shrink", "validate"] {
            let out = detsim(&[cmd, file.to_str().unwrap()]);
            assert_eq!(out.status.code(), Some(2), "{cmd} {tag}: {}", stderr(&out));
            let err = stderr(&out);
            assert!(
                err.contains(&format!("{}:", file.display())) && err.contains(says),
                "{cmd} {tag}: {err}"
            );
        }
    }
}

/// The exit code of `replay` is the re-run's verdict, never whether the recorded check
/// matched: naming a check of the scenario that passes still exits 1 when another failed.
#[test]
fn replay_exits_1_whenever_a_check_failed() {
    let dir = tempdir("hostile-verdict");
    let good = canary_failure(&dir, 3);
    let mut f: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&good).unwrap()).unwrap();
    f["check"] = "rpc.correct_result".into();
    let other = dir.join("other.json");
    std::fs::write(&other, f.to_string()).unwrap();
    let out = detsim(&["replay", other.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("[FAIL] rpc.at_most_once")
            && text.contains("violation of rpc.correct_result did NOT come back")
            && text.contains("but another check failed: rpc.at_most_once"),
        "{text}"
    );
    let out = detsim(&["replay", other.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((&r["same_violation"], &r["status"]), (&false.into(), &"fail".into()));
}

/// Was: the size cap was checked on the file's metadata only, so a FIFO (size 0) was
/// read whole, however much came through it. Now the reader stops at the cap: the error
/// names the limit, and the writer is cut off just past it.
#[cfg(unix)]
#[test]
fn a_fifo_is_read_no_further_than_the_cap() {
    use std::io::Write;
    let dir = tempdir("hostile-fifo");
    let fifo = dir.join("failure.json");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped: no mkfifo");
        return;
    }
    let cap = detsim::scenario::MAX_FAILURE_FILE_BYTES;
    let offered = cap + 32 * 1024 * 1024;
    let path = fifo.clone();
    let writer = std::thread::spawn(move || {
        // Blocks until the reader opens the FIFO; stops at the first failed write.
        let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        let mut written = 0u64;
        let head = b"{\"detsim_failure\": 1, \"message\": \"";
        f.write_all(head).unwrap();
        written += head.len() as u64;
        let chunk = vec![b'x'; 1 << 20];
        while written < offered {
            if f.write_all(&chunk).is_err() {
                break;
            }
            written += chunk.len() as u64;
        }
        written
    });
    let mut child = bin()
        .args(["replay", fifo.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_bounded(&mut child, "replay FIFO");
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let written = writer.join().unwrap();
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("{}:", fifo.display())) && err.contains(&format!("file is over {cap} bytes")),
        "{err}"
    );
    assert!(
        written < cap + 8 * 1024 * 1024,
        "{written} bytes went through (cap {cap}): the reader read past its cap"
    );
}

/// A regular FAILURE file over the cap is refused from its size, before a byte is read
/// (a sparse 1 GiB file: it would cost 2 GiB to read and parse).
#[test]
fn a_huge_failure_file_is_refused_before_reading() {
    let dir = tempdir("hostile-huge-file");
    let file = dir.join("huge.json");
    let f = std::fs::File::create(&file).unwrap();
    f.set_len(1 << 30).unwrap();
    for cmd in ["replay", "run", "shrink", "validate"] {
        let out = detsim(&[cmd, file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("file is 1073741824 bytes; scenario files are limited to"),
            "{cmd}: {}",
            stderr(&out)
        );
    }
}

// ---- item 4: outputs whole or not at all ----

/// Was: a FAILURE file that could not be written (a full disk) ended explore with a bare
/// error (exit 2) and the list of files already written was never printed. Now the
/// sweep stops, every file written is listed (summary and --json), and the error names
/// the path. The failure is a rename onto a directory, which fails as root too.
#[test]
fn a_failed_write_names_the_path_and_lists_the_files_already_written() {
    for json in [false, true] {
        let dir = tempdir(&format!("hostile-write-{json}"));
        let out_dir = dir.join("failures");
        let blocked = out_dir.join("deposit-partition-canary-seed4.json");
        std::fs::create_dir_all(blocked.join("in-the-way")).unwrap();
        let mut args = vec![
            "explore".to_string(),
            scenario("deposit_partition_canary"),
            "--seeds".into(),
            "0..10".into(),
            "--keep-going".into(),
            "--max-failures".into(),
            "10".into(),
            "--jobs".into(),
            "1".into(),
            "--out".into(),
            out_dir.display().to_string(),
        ];
        if json {
            args.push("--json".into());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = detsim(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(&format!("cannot write {}", blocked.display())), "{err}");
        let written: Vec<String> = (0..4)
            .map(|s| {
                out_dir
                    .join(format!("deposit-partition-canary-seed{s}.json"))
                    .display()
                    .to_string()
            })
            .collect();
        if json {
            let lines: Vec<serde_json::Value> =
                stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
            let listed: Vec<&str> = lines.iter().map(|l| l["failure_file"].as_str().unwrap()).collect();
            assert_eq!(listed, written);
        }
        let summary = if json { err.clone() } else { stdout(&out) };
        for (seed, path) in written.iter().enumerate() {
            assert!(
                summary.contains(&format!("seed {seed} fails rpc.at_most_once: {path}")),
                "{summary}"
            );
            assert!(Path::new(path).is_file());
        }
        // Nothing half-written is left: the four files and the directory in the way.
        let mut want: Vec<String> = (0..5)
            .map(|s| format!("deposit-partition-canary-seed{s}.json"))
            .collect();
        want.sort();
        assert_eq!(entries(&out_dir), want);
    }
}

/// A destination that is a device is written in place (renaming over it would replace
/// the device, as root), and a full one is an error naming it.
#[cfg(unix)]
#[test]
fn a_full_device_as_output_is_an_error_naming_it() {
    use std::os::unix::fs::FileTypeExt;
    let is_dev = || std::fs::metadata("/dev/full").is_ok_and(|m| m.file_type().is_char_device());
    if !is_dev() {
        eprintln!("skipped: no /dev/full");
        return;
    }
    let dir = tempdir("hostile-devfull");
    let failure = canary_failure(&dir, 3);
    let s = scenario("rpc_multiply");
    for args in [
        vec!["run", &s, "--trace", "/dev/full"],
        vec!["run", &s, "--report", "/dev/full"],
        vec![
            "shrink",
            failure.to_str().unwrap(),
            "-o",
            "/dev/full",
            "--max-runs",
            "20",
        ],
    ] {
        let out = detsim(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("cannot write /dev/full: No space left on device"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(is_dev(), "{args:?} replaced /dev/full");
    }
    // Written in place: /dev/null takes the trace.
    let out = detsim(&["run", &s, "--trace", "/dev/null"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// kill -9 or Ctrl-C in the middle of `explore --out DIR` leaves no cut-off FAILURE file:
/// every file in DIR is whole (parses and validates as a FAILURE file); what may be left
/// is a hidden `.NAME-seedN.json.PID.tmp`, which the next explore into DIR removes (its
/// process is gone), while a live process's is kept.
#[cfg(unix)]
#[test]
fn killing_explore_leaves_no_cut_off_failure_file() {
    let protocols = detsim::Protocols::builtin();
    for signal in ["KILL", "INT"] {
        let dir = tempdir(&format!("hostile-kill-{signal}"));
        let out_dir = dir.join("failures");
        let mut child = bin()
            .args([
                "explore",
                &scenario("deposit_partition_canary"),
                "--seeds",
                "0..1000000",
                "--keep-going",
                "--max-failures",
                "1000000",
                "--json",
                "--out",
                out_dir.to_str().unwrap(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while !out_dir.is_dir() || entries(&out_dir).iter().filter(|n| !n.starts_with('.')).count() < 3 {
            assert!(start.elapsed() < WATCHDOG, "no FAILURE file after {WATCHDOG:?}");
            std::thread::sleep(Duration::from_millis(5));
        }
        let killed = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = wait_bounded(&mut child, "killed explore");
        assert!(!status.success(), "{signal}: {status:?}");
        let mut whole = 0;
        for name in entries(&out_dir) {
            if name.starts_with('.') {
                assert!(name.ends_with(".tmp") && name.contains("-seed"), "{name}");
                continue;
            }
            let text = std::fs::read_to_string(out_dir.join(&name)).unwrap();
            detsim::explore::parse_failure(&protocols, &name, &text)
                .unwrap_or_else(|e| panic!("{signal}: {name} is cut off: {e}"));
            whole += 1;
        }
        assert!(whole >= 3, "{whole}");
        // Stale temporary files (a process that is gone) are removed by the next explore;
        // one of a live process (this test's) is kept.
        let stale = out_dir.join(".deposit-partition-canary-seed7.json.4294967295.tmp");
        std::fs::write(&stale, "{\"half\":").unwrap();
        let live = out_dir.join(format!(
            ".deposit-partition-canary-seed8.json.{}.tmp",
            std::process::id()
        ));
        std::fs::write(&live, "{\"half\":").unwrap();
        let out = detsim(&[
            "explore",
            &scenario("deposit_partition_canary"),
            "--seeds",
            "3",
            "--out",
            out_dir.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let left: Vec<String> = entries(&out_dir).into_iter().filter(|n| n.starts_with('.')).collect();
        assert_eq!(
            left,
            [live.file_name().unwrap().to_string_lossy().into_owned()],
            "{signal}"
        );
    }
}
