//! The process's memory, as the memory budget's safety net reads it: its resident size
//! now, and how much the machine lets it have (the default budget is a fraction of it).
//! Linux only (`/proc`, cgroup v2); elsewhere there is no reading and no default.

/// The process's resident memory, in bytes (`VmRSS` of `/proc/self/status`), if it
/// can be read.
pub fn resident_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The most memory this process may use: the least of the machine's RAM
/// (`/proc/meminfo`), its cgroup's limit (`/sys/fs/cgroup/memory.max`) and its address
/// space limit (`ulimit -v`, `/proc/self/limits`), in bytes, if any can be read.
pub fn available_bytes() -> Option<u64> {
    let ram = std::fs::read_to_string("/proc/meminfo").ok().and_then(|t| {
        let line = t.lines().find(|l| l.starts_with("MemTotal:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    });
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok());
    let address_space = std::fs::read_to_string("/proc/self/limits").ok().and_then(|t| {
        let line = t.lines().find(|l| l.starts_with("Max address space"))?;
        line.split_whitespace().nth(3)?.parse::<u64>().ok()
    });
    [ram, cgroup, address_space].into_iter().flatten().min()
}

/// The default memory budget: half of [`available_bytes`] (the rest is for the
/// binary, the allocator's slack and whatever the run keeps that is not counted).
pub fn default_max_memory() -> Option<u64> {
    available_bytes().map(|b| b / 2)
}

/// `n` bytes in words: `512 B`, `3.0 KiB`, `1.5 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_are_plausible_on_linux() {
        if cfg!(target_os = "linux") {
            let rss = resident_bytes().expect("statm");
            assert!(rss > 1 << 20 && rss < 1 << 40, "{rss}");
            let avail = available_bytes().expect("meminfo");
            assert!(default_max_memory().unwrap() <= avail);
        }
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3 << 30), "3.0 GiB");
    }
}
