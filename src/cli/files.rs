//! Output files appear whole or not at all: each is written to a temporary file beside
//! its destination (same directory, so the same file system) and renamed over it, which
//! is atomic. An interrupted command (kill -9, Ctrl-C, a full disk) leaves at most a
//! hidden `.NAME.PID.tmp` behind, never a cut-off FAILURE file, shrunk scenario, trace or
//! report; an error names the destination. `explore` removes the stale ones of its
//! FAILURE files ([`remove_stale_temps`]: their process is gone).
//!
//! A destination that is a symlink is written through (its target is replaced); one that
//! is not a regular file (`/dev/stdout`, a FIFO, `/dev/full`) is written directly: there
//! is no file to replace, and renaming over it would replace the device itself.
//!
//! Also the guards run before any work: an output that is one of the command's inputs
//! (compared as canonical paths, so through symlinks and `..`) is refused
//! ([`refuse_overwriting_inputs`]); `explore --out` must be a directory it can write to,
//! or one it can create ([`check_out_dir`]).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where writing `dest` really goes: its symlinks followed (a link's target is replaced,
/// not the link), or `dest` itself when it does not exist yet.
fn resolve(dest: &Path) -> PathBuf {
    std::fs::canonicalize(dest).unwrap_or_else(|_| dest.to_path_buf())
}

/// Is `dest` an existing file that is not a regular file (a device, a FIFO): written in
/// place, never replaced.
fn is_special(dest: &Path) -> bool {
    std::fs::metadata(dest).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// The temporary file beside `dest`: `.NAME.PID.tmp` in the same directory.
fn temp_beside(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let tmp = format!(".{name}.{}.tmp", std::process::id());
    match dest.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(tmp),
        _ => PathBuf::from(tmp),
    }
}

/// Write `bytes` to `dest`, whole or not at all.
pub(crate) fn write_whole(dest: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let pending = Pending::create(dest)?;
    let mut f = pending.file()?;
    // A device or a FIFO has nothing to sync.
    let regular = pending.tmp.is_some();
    f.write_all(bytes)
        .and_then(|()| f.flush())
        .and_then(|()| if regular { f.sync_all() } else { Ok(()) })
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", dest.display()))?;
    drop(f);
    pending.commit()
}

/// A file being written in pieces (a streamed trace): its temporary file, renamed to its
/// destination by [`Pending::commit`]; dropped without a commit, the temporary file is
/// removed. A destination that is not a regular file is written directly.
pub(crate) struct Pending {
    /// The temporary file; `None` when the destination is written in place.
    tmp: Option<PathBuf>,
    /// The destination as given (for messages).
    dest: PathBuf,
    /// Where the file really goes (symlinks followed).
    target: PathBuf,
    committed: bool,
}

impl Pending {
    /// Start writing `dest` (its temporary file is created empty).
    pub(crate) fn create(dest: &Path) -> anyhow::Result<Pending> {
        let target = resolve(dest);
        let tmp = (!is_special(&target)).then(|| temp_beside(&target));
        let created = match &tmp {
            Some(tmp) => File::create(tmp),
            None => File::options().write(true).open(&target),
        };
        created.map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dest.display()))?;
        Ok(Pending {
            tmp,
            dest: dest.to_path_buf(),
            target,
            committed: false,
        })
    }

    /// The temporary file, open for writing.
    pub(crate) fn file(&self) -> anyhow::Result<File> {
        let mut o = File::options();
        o.write(true);
        match &self.tmp {
            Some(tmp) => o.truncate(true).open(tmp),
            None => o.open(&self.target),
        }
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", self.dest.display()))
    }

    /// Everything is written: the file takes its name.
    pub(crate) fn commit(mut self) -> anyhow::Result<()> {
        if let Some(tmp) = &self.tmp {
            std::fs::rename(tmp, &self.target)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", self.dest.display()))?;
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.committed
            && let Some(tmp) = &self.tmp
        {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// The identity of a file that exists (canonical path), or of one that would be created
/// (its directory's canonical path joined with its name); `None` when neither can be
/// known (its directory does not exist either: it cannot be an existing input).
fn identity(path: &Path) -> Option<PathBuf> {
    if let Ok(p) = std::fs::canonicalize(path) {
        return Some(p);
    }
    let name = path.file_name()?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    Some(std::fs::canonicalize(dir).ok()?.join(name))
}

/// Refuse (an error naming both) when an output is one of the inputs, or two outputs are
/// the same file: `--trace scenario.json`, `shrink f.json -o f.json`, `--trace x
/// --report x`, through symlinks too. Each is `(what, path)`: `("--trace", path)`.
pub(crate) fn refuse_overwriting_inputs(inputs: &[(&str, &Path)], outputs: &[(&str, &Path)]) -> anyhow::Result<()> {
    let known = |list: &[(&str, &Path)]| -> Vec<(String, PathBuf, PathBuf)> {
        list.iter()
            .filter_map(|(what, p)| identity(p).map(|id| (what.to_string(), p.to_path_buf(), id)))
            .collect()
    };
    let ins = known(inputs);
    let outs = known(outputs);
    for (i, (what, path, id)) in outs.iter().enumerate() {
        if is_special(id) {
            continue; // /dev/stdout, a FIFO: written in place, never replaced
        }
        if let Some((input, ipath, _)) = ins.iter().find(|(_, _, other)| other == id) {
            anyhow::bail!(
                "{what} {} is the same file as the {input} {}: refusing to overwrite an input",
                path.display(),
                ipath.display()
            );
        }
        if let Some((other, opath, _)) = outs[..i].iter().find(|(_, _, other)| other == id) {
            anyhow::bail!(
                "{what} {} is the same file as {other} {}: give each output its own file",
                path.display(),
                opath.display()
            );
        }
    }
    Ok(())
}

/// `explore --out DIR`, checked before any seed runs: an existing directory that can be
/// written to, or one that can be created (its nearest existing ancestor is a directory
/// that can be written to). Checked by creating (and removing) a hidden file there, so
/// it is what the file system says, root or not. An error names the path.
pub(crate) fn check_out_dir(dir: &Path) -> anyhow::Result<()> {
    let mut at = dir;
    let existing = loop {
        match std::fs::metadata(at) {
            Ok(m) if m.is_dir() => break at,
            Ok(_) if at == dir => anyhow::bail!("--out {}: not a directory", dir.display()),
            Ok(_) => anyhow::bail!(
                "--out {}: cannot create it, {} is not a directory",
                dir.display(),
                at.display()
            ),
            Err(e)
                if !matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                anyhow::bail!("--out {}: cannot use {}: {e}", dir.display(), at.display())
            }
            Err(_) => match at.parent() {
                Some(p) if !p.as_os_str().is_empty() => at = p,
                _ => break Path::new("."),
            },
        }
    };
    let probe = existing.join(format!(".detsim-probe.{}.tmp", std::process::id()));
    match File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) if existing == dir => anyhow::bail!("--out {}: cannot write there: {e}", dir.display()),
        Err(e) => anyhow::bail!(
            "--out {}: cannot create it in {}: {e}",
            dir.display(),
            existing.display()
        ),
    }
}

/// Remove from `dir` the temporary files of FAILURE files (`.NAME-seedN.json.PID.tmp`),
/// or of a cluster task's blocks and manifest, left by an `explore` that was killed: those whose process is no longer running (where
/// that cannot be known, /proc missing, those over an hour old). Another explore writing
/// into the same directory (a shard) keeps its own. Returns how many were removed.
pub(crate) fn remove_stale_temps(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let me = std::process::id();
    let proc_fs = Path::new("/proc/self").exists();
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = failure_temp_pid(&name) else { continue };
        let stale = if pid == me {
            false
        } else if proc_fs {
            !Path::new("/proc").join(pid.to_string()).exists()
        } else {
            e.metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_secs() > 3600)
        };
        if stale && std::fs::remove_file(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// The process id in the name of a FAILURE file's temporary file
/// (`.NAME-seedN.json.PID.tmp`, as [`temp_beside`] names it), of a cluster task's block
/// or manifest (`.seeds-000003.jsonl.PID.tmp`, `.task.json.PID.tmp`) or of
/// [`check_out_dir`]'s probe (`.detsim-probe.PID.tmp`), if `name` is one.
pub(crate) fn failure_temp_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (file, pid) = rest.rsplit_once('.')?;
    let task_file = file == "task.json" || (file.starts_with("seeds-") && file.ends_with(".jsonl"));
    (file == "detsim-probe" || (file.ends_with(".json") && file.contains("-seed")) || task_file).then_some(())?;
    pid.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("detsim-files-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn entries(d: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_file_appears_whole_and_replaces_the_old_one_leaving_nothing_else() {
        let d = dir("whole");
        let f = d.join("out.json");
        std::fs::write(&f, "old").unwrap();
        write_whole(&f, b"new and longer").unwrap();
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "new and longer");
        assert_eq!(entries(&d), ["out.json"]);
    }

    #[test]
    fn only_failure_temp_files_and_probes_are_recognised() {
        assert_eq!(failure_temp_pid(".x-seed3.json.123.tmp"), Some(123));
        assert_eq!(failure_temp_pid(".a_b.e61d99190466522c-seed3.json.7.tmp"), Some(7));
        assert_eq!(failure_temp_pid(".detsim-probe.9.tmp"), Some(9));
        assert_eq!(failure_temp_pid(".seeds-000003.jsonl.8.tmp"), Some(8));
        assert_eq!(failure_temp_pid(".task.json.8.tmp"), Some(8));
        for other in [
            "x-seed3.json",
            ".x-seed3.json.tmp",
            ".trace.jsonl.5.tmp",
            ".x.json.5.tmp",
            ".x-seed3.json.q.tmp",
        ] {
            assert_eq!(failure_temp_pid(other), None, "{other}");
        }
        // A temporary file is recognised by the name it really gets.
        let tmp = temp_beside(Path::new("d/x-seed3.json"));
        let name = tmp.file_name().unwrap().to_string_lossy();
        assert_eq!(failure_temp_pid(&name), Some(std::process::id()));
    }

    #[test]
    fn an_unfinished_file_never_appears_and_errors_name_the_destination() {
        let d = dir("unfinished");
        let f = d.join("trace.jsonl");
        {
            let p = Pending::create(&f).unwrap();
            p.file().unwrap().write_all(b"{\"half\":").unwrap();
            // Dropped without a commit: as if the run failed midway.
        }
        assert!(entries(&d).is_empty(), "{:?}", entries(&d));
        let p = Pending::create(&f).unwrap();
        p.file().unwrap().write_all(b"{}\n").unwrap();
        p.commit().unwrap();
        assert_eq!(entries(&d), ["trace.jsonl"]);
        let missing = d.join("no/such/dir/x.json");
        let e = write_whole(&missing, b"x").unwrap_err().to_string();
        assert!(e.contains("no/such/dir/x.json"), "{e}");
    }
}
