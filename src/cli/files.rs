//! Output files appear whole or not at all: each is written to a temporary file beside
//! its destination (same directory, so the same file system) and renamed over it, which
//! is atomic. An interrupted command (kill -9, Ctrl-C, a full disk) leaves at most a
//! hidden `.NAME.PID.tmp` behind, never a cut-off FAILURE file, shrunk scenario, trace or
//! report; an error names the destination.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

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
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", dest.display()))?;
    drop(f);
    pending.commit()
}

/// A file being written in pieces (a streamed trace): its temporary file, renamed to its
/// destination by [`Pending::commit`]; dropped without a commit, the temporary file is
/// removed.
pub(crate) struct Pending {
    tmp: PathBuf,
    dest: PathBuf,
    committed: bool,
}

impl Pending {
    /// Start writing `dest` (its temporary file is created empty).
    pub(crate) fn create(dest: &Path) -> anyhow::Result<Pending> {
        let tmp = temp_beside(dest);
        File::create(&tmp).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dest.display()))?;
        Ok(Pending {
            tmp,
            dest: dest.to_path_buf(),
            committed: false,
        })
    }

    /// The temporary file, open for writing.
    pub(crate) fn file(&self) -> anyhow::Result<File> {
        File::options()
            .write(true)
            .truncate(true)
            .open(&self.tmp)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", self.dest.display()))
    }

    /// Everything is written: the file takes its name.
    pub(crate) fn commit(mut self) -> anyhow::Result<()> {
        std::fs::rename(&self.tmp, &self.dest)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", self.dest.display()))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
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
