//! `explore --shard auto`: which shard this task is, read from the cluster engine's
//! environment. Slurm array jobs set `SLURM_ARRAY_TASK_ID` and `SLURM_ARRAY_TASK_COUNT`
//! (and `SLURM_ARRAY_TASK_MIN`/`MAX`); a Kubernetes Indexed Job sets
//! `JOB_COMPLETION_INDEX` but exposes no completions count, so the count comes from
//! [`SHARD_COUNT`] (`DETSIM_SHARD_COUNT`, which `detsim sweep emit` sets in both job
//! definitions). When set, [`SHARD_COUNT`] wins over Slurm's own count: a task
//! re-submitted alone (`sbatch --array=3 job.sh`) is then still shard 3 of the whole
//! array, not shard 0 of 1. Reading is a pure function of a look-up, so tests give it
//! their own environment.

use super::Shard;

/// The shard count set by `detsim sweep emit` (Kubernetes has no variable for it).
pub const SHARD_COUNT: &str = "DETSIM_SHARD_COUNT";
/// Slurm: this array task's index.
pub const SLURM_ID: &str = "SLURM_ARRAY_TASK_ID";
/// Slurm: how many tasks the array has.
pub const SLURM_COUNT: &str = "SLURM_ARRAY_TASK_COUNT";
/// Slurm: the array's lowest index.
pub const SLURM_MIN: &str = "SLURM_ARRAY_TASK_MIN";
/// Slurm: the array's highest index.
pub const SLURM_MAX: &str = "SLURM_ARRAY_TASK_MAX";
/// Kubernetes Indexed Job: this pod's completion index.
pub const K8S_INDEX: &str = "JOB_COMPLETION_INDEX";

/// This task's shard, from the environment `get` reads (`std::env::var(..).ok()` in the
/// command line): Slurm's variables first, then Kubernetes'. An error names the
/// variables it looked for, or the one whose value is wrong.
pub fn shard_from_env(get: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
    let num = |name: &str| -> Result<Option<u64>, String> {
        match get(name) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<u64>()
                .map(Some)
                .map_err(|_| format!("--shard auto: {name}={v:?} is not a whole number")),
        }
    };
    let explicit = num(SHARD_COUNT)?;
    let (index, count, from) = if let Some(id) = num(SLURM_ID)? {
        match explicit {
            Some(n) => (id, n, format!("{SLURM_ID} and {SHARD_COUNT}")),
            None => {
                let min = num(SLURM_MIN)?.unwrap_or(0);
                let count = match (num(SLURM_COUNT)?, num(SLURM_MAX)?) {
                    (Some(c), _) => c,
                    (None, Some(max)) if max >= min => max - min + 1,
                    _ => {
                        return Err(format!(
                            "--shard auto: {SLURM_ID} is set but neither {SLURM_COUNT} nor {SLURM_MAX} is: set {SHARD_COUNT} to the number of tasks"
                        ));
                    }
                };
                let index = id
                    .checked_sub(min)
                    .ok_or_else(|| format!("--shard auto: {SLURM_ID}={id} is below {SLURM_MIN}={min}"))?;
                (index, count, format!("{SLURM_ID} and {SLURM_COUNT}"))
            }
        }
    } else if let Some(index) = num(K8S_INDEX)? {
        let count = explicit.ok_or_else(|| {
            format!(
                "--shard auto: {K8S_INDEX} is set (a Kubernetes Indexed Job) but {SHARD_COUNT} is not: Kubernetes does not expose the completions count, so set {SHARD_COUNT} to it in the pod's env (`detsim sweep emit k8s` does)"
            )
        })?;
        (index, count, format!("{K8S_INDEX} and {SHARD_COUNT}"))
    } else {
        return Err(format!(
            "--shard auto: not inside an array task: none of {SLURM_ID} (a Slurm array job) or {K8S_INDEX} (a Kubernetes Indexed Job) is set; give --shard I/N instead"
        ));
    };
    if count == 0 || index >= count {
        return Err(format!(
            "--shard auto: shard {index} of {count} (from {from}) is not a shard: expected 0 <= index < count"
        ));
    }
    Ok(Shard { index, count })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    fn shard(index: u64, count: u64) -> Result<Shard, String> {
        Ok(Shard { index, count })
    }

    #[test]
    fn slurm_kubernetes_and_the_explicit_count() {
        let s = |v: &[(&str, &str)]| shard_from_env(env(v));
        assert_eq!(s(&[(SLURM_ID, "2"), (SLURM_COUNT, "4")]), shard(2, 4));
        // 1-based arrays count from their minimum; MIN/MAX stand in for the count.
        assert_eq!(s(&[(SLURM_ID, "3"), (SLURM_MIN, "1"), (SLURM_MAX, "4")]), shard(2, 4));
        // A task re-submitted alone still knows the whole array through DETSIM_SHARD_COUNT.
        assert_eq!(
            s(&[
                (SLURM_ID, "3"),
                (SLURM_COUNT, "1"),
                (SLURM_MIN, "3"),
                (SHARD_COUNT, "4")
            ]),
            shard(3, 4)
        );
        assert_eq!(s(&[(K8S_INDEX, "0"), (SHARD_COUNT, "8")]), shard(0, 8));
        let e = s(&[(K8S_INDEX, "0")]).unwrap_err();
        assert!(e.contains(SHARD_COUNT) && e.contains("completions"), "{e}");
        let e = s(&[]).unwrap_err();
        assert!(
            e.contains(SLURM_ID) && e.contains(K8S_INDEX) && e.contains("--shard I/N"),
            "{e}"
        );
        let e = s(&[(SLURM_ID, "x"), (SLURM_COUNT, "4")]).unwrap_err();
        assert!(e.contains("SLURM_ARRAY_TASK_ID=\"x\""), "{e}");
        let e = s(&[(SLURM_ID, "4"), (SLURM_COUNT, "4")]).unwrap_err();
        assert!(e.contains("shard 4 of 4"), "{e}");
        assert!(s(&[(SLURM_ID, "0")]).unwrap_err().contains(SHARD_COUNT));
        assert!(s(&[(K8S_INDEX, "0"), (SHARD_COUNT, "0")]).is_err());
    }
}
