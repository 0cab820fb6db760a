//! Sweeps on a cluster: `sweep emit slurm` submitted to a real single-node Slurm (its
//! daemons started here, in a private directory, on free ports), its tasks merged by
//! `detsim merge` into exactly what one `explore` of the range prints; a task killed
//! midway and re-run resumes and loses nothing; `merge` names missing and duplicated
//! seeds; the Kubernetes Indexed Job has what the batch/v1 Job schema requires (there is
//! no Kubernetes here: it is checked, never run).
//!
//! The Slurm test needs Debian's `slurmctld`, `slurmd`, `slurm-client` and `munge`, and
//! root (slurmd runs the tasks). Without them it prints `SKIPPED` and passes, unless
//! `DETSIM_REQUIRE_SLURM=1` (`.ci/run` installs the packages and sets it).

// Outside any simulation: the wall clock bounds how long the daemons and tasks may take.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::scenarios::scenario;
use crate::support::tempdir;

/// The variable that makes the Slurm test mandatory (`.ci/run` sets it).
const REQUIRE_SLURM: &str = "DETSIM_REQUIRE_SLURM";

/// The canary the sweeps run: some seeds of it lose a write (rkv.linearizable fails),
/// most pass.
const CANARY: &str = "rkv_lost_write_canary";

/// `detsim ARGS` in `dir`, with `env` set and no shard variables inherited.
fn detsim_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    command_in(dir, args, env).output().expect("run detsim")
}

fn command_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_detsim"));
    c.args(args).current_dir(dir);
    for v in [
        "DETSIM_SEED",
        "DETSIM_SHARD_COUNT",
        "SLURM_ARRAY_TASK_ID",
        "SLURM_ARRAY_TASK_COUNT",
        "SLURM_ARRAY_TASK_MIN",
        "SLURM_ARRAY_TASK_MAX",
        "JOB_COMPLETION_INDEX",
    ] {
        c.env_remove(v);
    }
    c.envs(env.iter().copied());
    c
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// One `explore --keep-going --json` of `seeds` in `dir` (FAILURE files in `dir/failures`).
fn one_machine(dir: &Path, seeds: &str) -> Output {
    std::fs::create_dir_all(dir).unwrap();
    detsim_in(
        dir,
        &["explore", &scenario(CANARY), "--seeds", seeds, "--keep-going", "--json"],
        &[],
    )
}

/// `merge RESULTS --json` in `dir` (FAILURE files in `dir/failures`).
fn merge(dir: &Path, results: &[&Path], extra: &[&str]) -> Output {
    std::fs::create_dir_all(dir).unwrap();
    let mut args: Vec<String> = vec!["merge".into()];
    args.extend(results.iter().map(|r| r.display().to_string()));
    args.push("--json".into());
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    detsim_in(dir, &args, &[])
}

/// The merge is what one machine's explore is: the same `--json` bytes, exit code,
/// summary lines after the first, and FAILURE files (byte for byte); each FAILURE file
/// replays to its hash. Returns the merge's summary.
fn assert_merge_is_one_machine(merged_dir: &Path, merged: &Output, one_dir: &Path, one: &Output) -> String {
    let (m_err, o_err) = (text(&merged.stderr), text(&one.stderr));
    assert_eq!(merged.status.code(), one.status.code(), "{m_err}\n---\n{o_err}");
    assert!(
        merged.stdout == one.stdout,
        "merged --json differs from one explore's:\n{}\n---\n{}",
        text(&merged.stdout),
        text(&one.stdout)
    );
    let tail = |s: &str| s.lines().skip(1).map(String::from).collect::<Vec<_>>();
    let (m_lines, o_lines) = (tail(&m_err), tail(&o_err));
    assert!(
        m_lines.len() >= o_lines.len() && m_lines[..o_lines.len()] == o_lines[..],
        "{m_err}\n---\n{o_err}"
    );
    assert!(m_err.starts_with("merged "), "{m_err}");
    let files = |d: &Path| {
        let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(d.join("failures"))
            .map(|r| {
                r.flatten()
                    .map(|e| {
                        (
                            e.file_name().to_string_lossy().into_owned(),
                            std::fs::read(e.path()).unwrap(),
                        )
                    })
                    .filter(|(n, _)| !n.ends_with(".shrunk.json")) // merge --shrink's own
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    let (mf, of) = (files(merged_dir), files(one_dir));
    assert!(!of.is_empty(), "the canary fails some seed: {o_err}");
    assert_eq!(
        mf.iter().map(|f| &f.0).collect::<Vec<_>>(),
        of.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    assert!(mf == of, "the FAILURE files differ");
    for (name, _) in &mf {
        let out = detsim_in(merged_dir, &["replay", &format!("failures/{name}"), "--json"], &[]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", text(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["same_hash"], true, "{name}");
        assert_eq!(v["same_violation"], true, "{name}");
    }
    m_err
}

/// Seeds in the `--json` lines of a merge, in order.
fn seeds_of(out: &Output) -> Vec<u64> {
    text(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["seed"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

fn block_files(task: &Path) -> usize {
    std::fs::read_dir(task).map_or(0, |r| {
        r.flatten()
            .filter(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.starts_with("seeds-") && n.ends_with(".jsonl")
            })
            .count()
    })
}

#[test]
fn a_killed_task_resumes_and_the_merge_is_complete_and_identical() {
    let dir = tempdir("cluster-kill");
    let results = dir.join("results");
    let seeds = "0..160";
    let task = |i: &str| {
        command_in(
            &dir,
            &[
                "explore",
                &scenario(CANARY),
                "--seeds",
                seeds,
                "--shard",
                "auto",
                "--results",
                results.to_str().unwrap(),
                "--block",
                "4",
                "--jobs",
                "1",
            ],
            &[("SLURM_ARRAY_TASK_ID", i), ("SLURM_ARRAY_TASK_COUNT", "2")],
        )
    };
    // Task 1, killed (SIGKILL) once it has written a few blocks of its 20.
    let task1 = results.join("shard-1-of-2");
    let mut child = task("1").stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while block_files(&task1) < 3 {
        assert!(Instant::now() < deadline, "task 1 wrote no blocks");
        assert!(
            child.try_wait().unwrap().is_none(),
            "task 1 finished before it was killed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let kept = block_files(&task1);
    assert!(kept < 20, "killed midway: {kept} blocks of 20");
    // Only whole blocks are left (a block being written is a hidden temporary file).
    for k in 0..kept {
        let b = std::fs::read_to_string(task1.join(format!("seeds-{k:06}.jsonl"))).unwrap();
        assert_eq!(b.lines().count(), 4, "block {k}: {b}");
        assert!(b.ends_with('\n'));
    }
    // Task 0 has not run: merge names the seeds missing, exit 2.
    let partial = merge(&dir.join("partial"), &[&results], &[]);
    assert_eq!(partial.status.code(), Some(2), "{}", text(&partial.stderr));
    let e = text(&partial.stderr);
    assert!(e.contains("seeds missing: 0, 2, 4, 6,"), "{e}");
    // Task 1 again: it keeps its blocks and runs the rest.
    let again = task("1").output().unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    let out = text(&again.stdout);
    assert!(
        out.contains(&format!("{} seeds resumed from an earlier run", kept * 4)),
        "{out}"
    );
    assert_eq!(block_files(&task1), 20);
    let hidden: Vec<String> = std::fs::read_dir(&task1)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(
        hidden.is_empty(),
        "the killed run's temporary files are gone: {hidden:?}"
    );
    let t0 = task("0").output().unwrap();
    assert_eq!(t0.status.code(), Some(0), "{}", text(&t0.stderr));
    // A task run again once finished runs nothing and changes nothing.
    let before = std::fs::read(task1.join("seeds-000019.jsonl")).unwrap();
    let third = task("1").output().unwrap();
    assert!(
        text(&third.stdout).contains("80 seeds resumed"),
        "{}",
        text(&third.stdout)
    );
    assert_eq!(std::fs::read(task1.join("seeds-000019.jsonl")).unwrap(), before);

    let merged_dir = dir.join("merged");
    let merged = merge(&merged_dir, &[&results], &["--shrink", "--max-runs", "60"]);
    assert_eq!(seeds_of(&merged), (0..160).collect::<Vec<_>>());
    let one_dir = dir.join("one");
    let one = one_machine(&one_dir, seeds);
    let summary = assert_merge_is_one_machine(&merged_dir, &merged, &one_dir, &one);
    assert!(
        summary.contains("by violation signature (1 signature):\n    rkv.linearizable: "),
        "{summary}"
    );
    assert!(summary.contains("  shrunk rkv.linearizable (seed "), "{summary}");
    // The representative's shrunk file replays its violation.
    let shrunk: Vec<PathBuf> = std::fs::read_dir(merged_dir.join("failures"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".shrunk.json"))
        .collect();
    assert_eq!(shrunk.len(), 1, "{shrunk:?}");

    // The same task directory given twice: every seed of it is named as duplicated.
    let twice = merge(&dir.join("twice"), &[&results, &task1], &[]);
    assert_eq!(twice.status.code(), Some(2));
    assert!(
        text(&twice.stderr).contains("80 seeds more than once: 1, 3, 5,"),
        "{}",
        text(&twice.stderr)
    );
    // A task of another sweep (other seeds) is refused by name.
    let other = dir.join("other");
    let o = command_in(
        &dir,
        &[
            "explore",
            &scenario(CANARY),
            "--seeds",
            "0..10",
            "--shard",
            "0/2",
            "--results",
            other.to_str().unwrap(),
        ],
        &[],
    )
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let mixed = merge(&dir.join("mixed"), &[&results, &other], &[]);
    assert_eq!(mixed.status.code(), Some(2));
    assert!(
        text(&mixed.stderr).contains("tasks of different sweeps"),
        "{}",
        text(&mixed.stderr)
    );
    // Re-running a task directory with another sweep's arguments is refused too.
    let clash = command_in(
        &dir,
        &[
            "explore",
            &scenario(CANARY),
            "--seeds",
            "0..12",
            "--shard",
            "0/2",
            "--results",
            other.to_str().unwrap(),
        ],
        &[],
    )
    .output()
    .unwrap();
    assert_eq!(clash.status.code(), Some(2));
    assert!(
        text(&clash.stderr).contains("an earlier run swept something else"),
        "{}",
        text(&clash.stderr)
    );
}

#[test]
fn shard_auto_outside_an_array_task_is_a_clear_error() {
    let dir = tempdir("cluster-auto");
    let args = ["explore", &scenario(CANARY), "--seeds", "0..4", "--shard", "auto"];
    let out = detsim_in(&dir, &args, &[]);
    assert_eq!(out.status.code(), Some(2));
    let e = text(&out.stderr);
    assert!(
        e.contains("SLURM_ARRAY_TASK_ID") && e.contains("JOB_COMPLETION_INDEX"),
        "{e}"
    );
    let out = detsim_in(&dir, &args, &[("JOB_COMPLETION_INDEX", "1")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("set DETSIM_SHARD_COUNT"),
        "{}",
        text(&out.stderr)
    );
    // Kubernetes' index with the count the manifest sets: shard 1 of 2 is seeds 1 and 3.
    let mut a = args.to_vec();
    a.extend(["--json", "--keep-going"]);
    let out = detsim_in(&dir, &a, &[("JOB_COMPLETION_INDEX", "1"), ("DETSIM_SHARD_COUNT", "2")]);
    assert_eq!(seeds_of(&out), [1, 3], "{}", text(&out.stderr));
}

/// A batch/v1 Job's problems, by the fields the API server requires and the rules it
/// enforces for Indexed Jobs with a pod failure policy (an empty list: none).
fn job_problems(job: &serde_json::Value) -> Vec<String> {
    let mut p = Vec::new();
    let mut need = |ok: bool, what: &str| {
        if !ok {
            p.push(what.to_string());
        }
    };
    need(job["apiVersion"] == "batch/v1", "apiVersion batch/v1");
    need(job["kind"] == "Job", "kind Job");
    let name = job["metadata"]["name"].as_str().unwrap_or("");
    need(
        !name.is_empty()
            && name.len() <= 63
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !name.starts_with('-')
            && !name.ends_with('-'),
        "metadata.name: a DNS label",
    );
    let spec = &job["spec"];
    need(spec["completionMode"] == "Indexed", "spec.completionMode Indexed");
    let completions = spec["completions"].as_u64().unwrap_or(0);
    need(completions >= 1, "spec.completions (required when Indexed)");
    need(spec["parallelism"].as_u64().is_some_and(|n| n >= 1), "spec.parallelism");
    need(
        spec["backoffLimitPerIndex"].as_u64().is_some(),
        "spec.backoffLimitPerIndex",
    );
    let rules = spec["podFailurePolicy"]["rules"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    need(!rules.is_empty(), "spec.podFailurePolicy.rules");
    for (i, r) in rules.iter().enumerate() {
        let action = r["action"].as_str().unwrap_or("");
        need(
            ["FailJob", "FailIndex", "Ignore", "Count"].contains(&action),
            &format!("rules[{i}].action"),
        );
        let codes = &r["onExitCodes"];
        let conds = &r["onPodConditions"];
        need(
            codes.is_null() != conds.is_null(),
            &format!("rules[{i}]: one of onExitCodes, onPodConditions"),
        );
        if !codes.is_null() {
            need(
                ["In", "NotIn"].contains(&codes["operator"].as_str().unwrap_or("")),
                &format!("rules[{i}].onExitCodes.operator"),
            );
            let values = codes["values"].as_array().cloned().unwrap_or_default();
            need(
                !values.is_empty() && values.iter().all(|v| v.as_i64().is_some()),
                &format!("rules[{i}].onExitCodes.values"),
            );
            need(
                codes["operator"] != "In" || values.iter().all(|v| v != 0),
                &format!("rules[{i}]: In may not hold 0"),
            );
        }
        if let Some(cs) = conds.as_array() {
            need(
                cs.iter().all(|c| c["type"].is_string()),
                &format!("rules[{i}].onPodConditions[].type"),
            );
        }
    }
    let pod = &spec["template"]["spec"];
    need(
        pod["restartPolicy"] == "Never",
        "template.spec.restartPolicy Never (required with a podFailurePolicy)",
    );
    let containers = pod["containers"].as_array().cloned().unwrap_or_default();
    need(containers.len() == 1, "template.spec.containers");
    let volumes: Vec<&str> = pod["volumes"]
        .as_array()
        .map(|v| v.iter().filter_map(|v| v["name"].as_str()).collect())
        .unwrap_or_default();
    for (i, c) in containers.iter().enumerate() {
        need(c["name"].is_string(), &format!("containers[{i}].name"));
        need(c["image"].is_string(), &format!("containers[{i}].image"));
        need(
            c["command"].as_array().is_some_and(|a| a.iter().all(|s| s.is_string())),
            &format!("containers[{i}].command: strings"),
        );
        for e in c["env"].as_array().cloned().unwrap_or_default() {
            need(
                e["name"].is_string() && e["value"].is_string(),
                "env: name and string value",
            );
        }
        for m in c["volumeMounts"].as_array().cloned().unwrap_or_default() {
            need(
                m["mountPath"].is_string() && volumes.contains(&m["name"].as_str().unwrap_or("")),
                "volumeMounts: a declared volume",
            );
        }
    }
    // A FailJob rule's containerName is the container's.
    for r in &rules {
        if let Some(n) = r["onExitCodes"]["containerName"].as_str() {
            need(containers.iter().any(|c| c["name"] == n), "onExitCodes.containerName");
        }
    }
    p
}

#[test]
fn the_kubernetes_indexed_job_has_what_the_job_schema_requires() {
    let dir = tempdir("cluster-k8s");
    let job = dir.join("job.json");
    let out = detsim_in(
        &dir,
        &[
            "sweep",
            "emit",
            "k8s",
            &scenario(CANARY),
            "--seeds",
            "0..100000",
            "--tasks",
            "16",
            "--image",
            "registry.example/detsim:1",
            "--jobs",
            "2",
            "-o",
            job.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&job).unwrap()).unwrap();
    assert_eq!(job_problems(&v), Vec::<String>::new(), "{v:#}");
    assert_eq!(v["spec"]["completions"], 16);
    assert_eq!(v["metadata"]["name"], "detsim-rkv-lost-write-canary");
    let c = &v["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        c["env"][0],
        serde_json::json!({"name": "DETSIM_SHARD_COUNT", "value": "16"})
    );
    let cmd: Vec<&str> = c["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for w in [
        ["--shard", "auto"],
        ["--results", "/results"],
        ["--seeds", "0..100000"],
        ["--jobs", "2"],
    ] {
        assert!(cmd.windows(2).any(|p| p == w), "{cmd:?}");
    }
    assert_eq!(c["volumeMounts"][0]["mountPath"], "/results");
    let rules = &v["spec"]["podFailurePolicy"]["rules"];
    assert_eq!(rules[0]["action"], "FailJob");
    assert_eq!(rules[0]["onExitCodes"]["values"], serde_json::json!([2]));
    // The checker catches what the API server would refuse.
    let mut bad = v.clone();
    bad["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure".into();
    bad["spec"]["podFailurePolicy"]["rules"][0]["onExitCodes"]["values"] = serde_json::json!([0, 2]);
    assert_eq!(job_problems(&bad).len(), 2, "{:?}", job_problems(&bad));
    // Without an image it is bad usage.
    let out = detsim_in(
        &dir,
        &[
            "sweep",
            "emit",
            "k8s",
            &scenario(CANARY),
            "--seeds",
            "0..10",
            "--tasks",
            "2",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--image"), "{}", text(&out.stderr));
}

// ---- A real Slurm -------------------------------------------------------------------

/// Where a program is: on PATH, or in /usr/sbin or /sbin (daemons, when PATH lacks them).
fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// Why this machine cannot run a Slurm here, if it cannot.
fn slurm_missing() -> Option<String> {
    let missing: Vec<&str> = ["munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol"]
        .into_iter()
        .filter(|p| find(p).is_none())
        .collect();
    if !missing.is_empty() {
        return Some(format!("{} not found", missing.join(", ")));
    }
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| text(&o.stdout).trim().to_string());
    if uid.ok().as_deref() != Some("0") {
        return Some("not root (slurmd runs the tasks as root here)".into());
    }
    None
}

/// What the Slurm test does: `Ok(true)` run, `Ok(false)` skip, `Err` fail.
fn slurm_decision(missing: Option<String>, require: Option<&str>) -> Result<bool, String> {
    match (missing, require) {
        (None, _) => Ok(true),
        (Some(why), Some("1")) => Err(format!(
            "{why} and {REQUIRE_SLURM}=1: install Slurm (`apt-get install -y slurmctld slurmd slurm-client munge`, as .ci/run does) and run as root"
        )),
        (Some(_), _) => Ok(false),
    }
}

#[test]
fn a_missing_slurm_skips_unless_required() {
    assert_eq!(slurm_decision(None, None), Ok(true));
    assert_eq!(slurm_decision(Some("x".into()), None), Ok(false));
    assert_eq!(slurm_decision(Some("x".into()), Some("0")), Ok(false));
    let e = slurm_decision(Some("slurmd not found".into()), Some("1")).unwrap_err();
    assert!(
        e.contains("DETSIM_REQUIRE_SLURM=1") && e.contains("apt-get install"),
        "{e}"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ci = std::fs::read_to_string(root.join(".ci/run")).unwrap();
    assert!(ci.contains("export DETSIM_REQUIRE_SLURM=1"), ".ci/run sets it");
    assert!(
        ci.contains("slurmctld slurmd slurm-client munge"),
        ".ci/run installs Slurm"
    );
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(readme.contains("## Sweeping on a cluster") && readme.contains("DETSIM_REQUIRE_SLURM=1"));
}

/// A free TCP port on the loopback (bound, read, released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A single-node Slurm with its own munge, all in `dir`; stopped when dropped.
struct Slurm {
    dir: PathBuf,
    conf: PathBuf,
    daemons: Vec<(&'static str, Child)>,
}

impl Slurm {
    fn start(dir: &Path) -> Slurm {
        let d = |p: &str| dir.join(p);
        for sub in ["state", "spool", "munge", "log"] {
            std::fs::create_dir_all(d(sub)).unwrap();
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(d("munge"), std::fs::Permissions::from_mode(0o700)).unwrap();
        // A key of our own: 1 KiB from the kernel's generator, readable by root alone.
        let mut key = vec![0u8; 1024];
        std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom").unwrap(), &mut key).unwrap();
        std::fs::write(d("munge/munge.key"), key).unwrap();
        std::fs::set_permissions(d("munge/munge.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
        let socket = d("munge/munge.sock");
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().split('.').next().unwrap_or("").to_string())
            .unwrap_or_default();
        let host = if host.is_empty() { "localhost".to_string() } else { host };
        let (ctld_port, d_port) = (free_port(), free_port());
        let conf = d("slurm.conf");
        let dirs = |p: &str| d(p).display().to_string();
        std::fs::write(
            &conf,
            format!(
                "ClusterName=detsimtest\n\
                 SlurmctldHost={host}(127.0.0.1)\n\
                 SlurmctldPort={ctld_port}\n\
                 SlurmdPort={d_port}\n\
                 AuthType=auth/munge\n\
                 AuthInfo=socket={socket}\n\
                 CredType=cred/munge\n\
                 SlurmUser=root\n\
                 SlurmdUser=root\n\
                 StateSaveLocation={state}\n\
                 SlurmdSpoolDir={spool}\n\
                 SlurmctldPidFile={log}/slurmctld.pid\n\
                 SlurmdPidFile={log}/slurmd.pid\n\
                 SlurmctldLogFile={log}/slurmctld.log\n\
                 SlurmdLogFile={log}/slurmd.log\n\
                 ProctrackType=proctrack/linuxproc\n\
                 TaskPlugin=task/none\n\
                 SelectType=select/cons_tres\n\
                 SelectTypeParameters=CR_Core\n\
                 MpiDefault=none\n\
                 ReturnToService=2\n\
                 SchedulerType=sched/builtin\n\
                 JobCompType=jobcomp/none\n\
                 AccountingStorageType=accounting_storage/none\n\
                 MinJobAge=600\n\
                 NodeName=detsimnode NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN\n\
                 PartitionName=detsim Nodes=detsimnode Default=YES MaxTime=INFINITE State=UP\n",
                socket = socket.display(),
                state = dirs("state"),
                spool = dirs("spool"),
                log = dirs("log"),
            ),
        )
        .unwrap();
        let mut s = Slurm {
            dir: dir.to_path_buf(),
            conf,
            daemons: Vec::new(),
        };
        let spawn = |s: &mut Slurm, name: &'static str, args: &[String]| {
            let log = std::fs::File::create(s.dir.join(format!("log/{name}.out"))).unwrap();
            let child = Command::new(find(name).unwrap())
                .args(args)
                .env("SLURM_CONF", &s.conf)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("start {name}: {e}"));
            s.daemons.push((name, child));
        };
        let arg = |k: &str, p: &str| format!("--{k}={}", d(p).display());
        spawn(
            &mut s,
            "munged",
            &[
                "--foreground".into(),
                "--force".into(),
                arg("socket", "munge/munge.sock"),
                arg("key-file", "munge/munge.key"),
                arg("pid-file", "munge/munged.pid"),
                arg("log-file", "munge/munged.log"),
                arg("seed-file", "munge/munged.seed"),
            ],
        );
        s.wait_for("munge's socket", Duration::from_secs(20), |s| {
            s.dir.join("munge/munge.sock").exists()
        });
        spawn(&mut s, "slurmctld", &["-D".into(), "-c".into()]);
        spawn(&mut s, "slurmd", &["-D".into(), "-N".into(), "detsimnode".into()]);
        s.wait_for("the node to be idle", Duration::from_secs(60), |s| {
            let o = s.client("sinfo", &["-h", "-o", "%T"]);
            text(&o.stdout).trim() == "idle"
        });
        s
    }

    /// Wait until `ready`, or panic with the daemons' logs.
    fn wait_for(&mut self, what: &str, limit: Duration, ready: impl Fn(&Slurm) -> bool) {
        let deadline = Instant::now() + limit;
        while !ready(self) {
            let exited = self
                .daemons
                .iter_mut()
                .find_map(|(name, c)| c.try_wait().ok().flatten().map(|st| (*name, st)));
            if let Some((name, status)) = exited {
                panic!("{name} exited ({status}) waiting for {what}:\n{}", self.logs());
            }
            if Instant::now() > deadline {
                panic!("no {what} after {limit:?}:\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The daemons' logs (for a failure's message).
    fn logs(&self) -> String {
        let mut s = String::new();
        for f in [
            "log/munged.out",
            "munge/munged.log",
            "log/slurmctld.out",
            "log/slurmctld.log",
            "log/slurmd.out",
            "log/slurmd.log",
        ] {
            let t = std::fs::read_to_string(self.dir.join(f)).unwrap_or_default();
            let tail: Vec<&str> = t.lines().rev().take(15).collect();
            s += &format!("--- {f}\n{}\n", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
        }
        s
    }

    /// A Slurm client command against this cluster.
    fn client(&self, program: &str, args: &[&str]) -> Output {
        Command::new(find(program).unwrap_or_else(|| PathBuf::from(program)))
            .args(args)
            .env("SLURM_CONF", &self.conf)
            .current_dir(&self.dir)
            .output()
            .unwrap_or_else(|e| panic!("run {program}: {e}"))
    }

    /// Submit a batch script; the job's id.
    fn submit(&self, script: &Path) -> String {
        let o = self.client("sbatch", &["--parsable", script.to_str().unwrap()]);
        assert!(o.status.success(), "sbatch: {}\n{}", text(&o.stderr), self.logs());
        text(&o.stdout).trim().split(';').next().unwrap().to_string()
    }

    /// Wait until job `id` (all of its array tasks) has left the queue.
    fn wait_job(&mut self, id: &str, limit: Duration) {
        let id = id.to_string();
        self.wait_for(&format!("job {id} to finish"), limit, move |s| {
            let o = s.client("squeue", &["-h", "-j", &id]);
            o.status.success() && text(&o.stdout).trim().is_empty()
        });
    }

    /// Each array task's state and exit code (`scontrol show job`).
    fn task_states(&self, id: &str) -> Vec<(String, String)> {
        let o = self.client("scontrol", &["-o", "show", "job", id]);
        text(&o.stdout)
            .lines()
            .map(|l| {
                let field = |k: &str| {
                    l.split_whitespace()
                        .find_map(|w| w.strip_prefix(k))
                        .unwrap_or("")
                        .to_string()
                };
                (field("JobState="), field("ExitCode="))
            })
            .collect()
    }
}

impl Drop for Slurm {
    fn drop(&mut self) {
        // Jobs first (their tasks are slurmd's children), then the daemons, newest first.
        let _ = self.client("scancel", &["--partition=detsim"]);
        for (_, c) in self.daemons.iter_mut().rev() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn a_slurm_array_sweep_merges_into_the_one_machine_explore() {
    let require = std::env::var(REQUIRE_SLURM).ok();
    match slurm_decision(slurm_missing(), require.as_deref()) {
        Ok(true) => {}
        Ok(false) => {
            // Straight to stderr, not `eprintln!`: the harness captures that.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED a_slurm_array_sweep_merges_into_the_one_machine_explore: {}; set {REQUIRE_SLURM}=1 to make it mandatory",
                slurm_missing().unwrap_or_default()
            );
            return;
        }
        Err(e) => panic!("{e}"),
    }
    let dir = tempdir("cluster-slurm");
    let mut slurm = Slurm::start(&dir.join("slurm"));
    let seeds = "0..160";
    let results = dir.join("results");
    let script = dir.join("sweep.sh");
    let out = detsim_in(
        &dir,
        &[
            "sweep",
            "emit",
            "slurm",
            &scenario(CANARY),
            "--seeds",
            seeds,
            "--tasks",
            "4",
            "--results",
            results.to_str().unwrap(),
            "-o",
            script.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let body = std::fs::read_to_string(&script).unwrap();
    for want in [
        "#SBATCH --array=0-3\n",
        "export DETSIM_SHARD_COUNT=4\n",
        "--shard auto --results",
        "#SBATCH --requeue\n",
    ] {
        assert!(body.contains(want), "{want:?} in:\n{body}");
    }
    let id = slurm.submit(&script);
    slurm.wait_job(&id, Duration::from_secs(180));
    let states = slurm.task_states(&id);
    assert_eq!(
        states,
        vec![("COMPLETED".to_string(), "0:0".to_string()); 4],
        "{}",
        slurm.logs()
    );
    // Every task wrote its shard, and its log says where.
    for i in 0..4 {
        let log = std::fs::read_to_string(results.join(format!("slurm-{id}_{i}.out"))).unwrap_or_default();
        assert!(
            log.contains(&format!(
                "results: {}",
                results.join(format!("shard-{i}-of-4")).display()
            )),
            "task {i}: {log}"
        );
    }
    let merged_dir = dir.join("merged");
    let merged = merge(&merged_dir, &[&results], &[]);
    assert_eq!(
        seeds_of(&merged),
        (0..160).collect::<Vec<_>>(),
        "every seed once, in order"
    );
    let one_dir = dir.join("one");
    let one = one_machine(&one_dir, seeds);
    let summary = assert_merge_is_one_machine(&merged_dir, &merged, &one_dir, &one);
    // The canary's failures, grouped: one check, one signature, counted.
    let failing = text(&one.stdout)
        .lines()
        .filter(|l| l.contains("\"status\":\"fail\""))
        .count();
    assert!(failing >= 2, "{summary}");
    assert!(
        summary.contains(&format!("  rkv.linearizable: {failing} seeds (")),
        "{summary}"
    );
    assert!(
        summary.contains(&format!(
            "by violation signature (1 signature):\n    rkv.linearizable: {failing} seeds (first "
        )),
        "{summary}"
    );
}
