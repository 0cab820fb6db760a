//! Speed of the linearizability checker: Porcupine's etcd logs and kv files (as
//! `detsim check-history` reads them), and synthetic compare-and-set histories of 1,000
//! operations with 1, 2, 4, 8 and 16 concurrent clients (linearizable, and the same with
//! one read changed to a value never written). Each figure is the median of `REPEAT` runs
//! (default 5); parsing is not timed.
//!
//! ```text
//! cargo run --release --example lin_bench                        # tests/data/porcupine, 5 runs
//! cargo run --release --example lin_bench -- tests/data/porcupine 9
//! ```

use std::path::{Path, PathBuf};

use detsim::history_file::{Format, cas_op, kv_op, parse_events, read_text, to_history};
use detsim::linearizability::{
    Budget, CasInput, CasOutput, CasRegister, Checked, Kv, Model, Operation, Outcome, check_detailed,
};
use rand::{Rng, SeedableRng};

/// Median seconds of `repeat` runs of `f`, and its last result.
#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // wall clock: measuring speed
fn timed(repeat: usize, mut f: impl FnMut() -> Checked) -> (f64, Checked) {
    let mut secs = Vec::new();
    let mut last = None;
    for _ in 0..repeat.max(1) {
        let t = std::time::Instant::now();
        let c = f();
        secs.push(t.elapsed().as_secs_f64());
        last = Some(c);
    }
    secs.sort_by(f64::total_cmp);
    (secs[secs.len() / 2], last.expect("one run"))
}

fn verdict(o: &Outcome) -> &'static str {
    match o {
        Outcome::Linearizable => "ok",
        Outcome::NotLinearizable(_) => "BAD",
        Outcome::Unknown { .. } => "unknown",
    }
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    v.sort();
    v
}

/// A synthetic cas-register history: `clients` clients each doing operations back to
/// back (durations 1..100, gaps 0..20), 1,000 in all; each takes effect at a random point
/// of its interval, in that order, on values 0..5.
fn synthetic(clients: u64, seed: u64) -> Vec<Operation<CasInput, CasOutput>> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let per = 1000 / clients;
    let mut ops = Vec::new();
    for c in 0..clients {
        let mut t: u64 = rng.random_range(0..50);
        for _ in 0..per {
            let call = t;
            let ret = call + rng.random_range(1..100);
            let point = rng.random_range(call..=ret);
            let v = rng.random_range(0..5);
            let input = match rng.random_range(0..4) {
                0 | 1 => CasInput::Read,
                2 => CasInput::Write(v),
                _ => CasInput::Cas {
                    from: rng.random_range(0..5),
                    to: v,
                },
            };
            ops.push((point, c, input, call, ret));
            t = ret + rng.random_range(0..20);
        }
    }
    ops.sort_by_key(|o| o.0);
    let model = CasRegister;
    let mut state = model.init();
    ops.into_iter()
        .map(|(_, client, input, call, ret)| {
            let output = match &input {
                CasInput::Read => CasOutput::Value(state),
                CasInput::Write(_) => CasOutput::Ok,
                CasInput::Cas { from, .. } => CasOutput::Swapped(state == Some(*from)),
            };
            state = model.step(&state, &input, Some(&output)).expect("sequential run");
            Operation {
                client,
                input,
                call,
                ret: Some(ret),
                output: Some(output),
            }
        })
        .collect()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "tests/data/porcupine".into()));
    let repeat: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    println!("median of {repeat} runs each; default budget");

    let (mut total, mut worst, mut worst_name) = (0.0, 0.0, String::new());
    let etcd = files(&dir.join("etcd"), "log");
    for path in &etcd {
        let (file, text) = read_text(path).expect("read");
        let (_, events) = parse_events(&file, &text, Format::Jepsen).expect("parse");
        let h = to_history(&file, &events, cas_op).expect("history");
        let (s, _) = timed(repeat, || check_detailed(&CasRegister, &h.ops, &Budget::default()));
        total += s;
        if s > worst {
            (worst, worst_name) = (s, file.clone());
        }
    }
    println!(
        "etcd: {} logs, total {:.1} ms, worst {:.2} ms ({worst_name})",
        etcd.len(),
        total * 1e3,
        worst * 1e3
    );

    for path in files(&dir.join("kv"), "txt") {
        let (file, text) = read_text(&path).expect("read");
        let (_, events) = parse_events(&file, &text, Format::Edn).expect("parse");
        let h = to_history(&file, &events, kv_op).expect("history");
        let (s, c) = timed(repeat, || check_detailed(&Kv, &h.ops, &Budget::default()));
        println!(
            "kv {file}: {} ops, {} -> {:.2} ms, {} steps",
            h.ops.len(),
            verdict(&c.outcome),
            s * 1e3,
            c.steps
        );
    }

    println!(
        "synthetic cas-register, 1,000 operations: clients, linearizable (ms, steps), one read corrupted (ms, steps)"
    );
    for clients in [1, 2, 4, 8, 16] {
        let ops = synthetic(clients, 7);
        let (s, c) = timed(repeat, || check_detailed(&CasRegister, &ops, &Budget::default()));
        let mut bad = ops.clone();
        if let Some(o) = bad.iter_mut().skip(500).find(|o| o.input == CasInput::Read) {
            o.output = Some(CasOutput::Value(Some(99)));
        }
        let (sb, cb) = timed(repeat, || check_detailed(&CasRegister, &bad, &Budget::default()));
        println!(
            "  {clients:>2}: {} {:>8.2} ms {:>9} steps | {} {:>8.2} ms {:>9} steps",
            verdict(&c.outcome),
            s * 1e3,
            c.steps,
            verdict(&cb.outcome),
            sb * 1e3,
            cb.steps
        );
    }
}
