//! Time spent on a CPU, as Linux's scheduler counts it: on a machine shared with other work, wall
//! time says how long a run took, and CPU time how much of the cores it got meanwhile.
//!
//! Both read `schedstat` files, whose first field is a task's time on a CPU in nanoseconds. They
//! give none on systems without them.

/// The calling thread's time on a CPU so far, in seconds.
pub fn thread_cpu_seconds() -> Option<f64> {
    schedstat_seconds(&std::fs::read_to_string("/proc/thread-self/schedstat").ok()?)
}

/// The time on a CPU so far of every thread this process has now, in seconds. Threads that have
/// ended are not counted: measure across spans in which the threads doing the work live on (as
/// rayon's do).
pub fn process_cpu_seconds() -> Option<f64> {
    let mut total = 0.0;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        // A thread that ended since the listing has no file left: it is simply not counted.
        if let Ok(stat) = std::fs::read_to_string(task.ok()?.path().join("schedstat")) {
            total += schedstat_seconds(&stat)?;
        }
    }
    Some(total)
}

/// The first field of a schedstat line, nanoseconds, in seconds.
fn schedstat_seconds(stat: &str) -> Option<f64> {
    let nanoseconds: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(nanoseconds as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_first_field_in_seconds() {
        assert_eq!(schedstat_seconds("1500000000 520790 4\n"), Some(1.5));
        assert_eq!(schedstat_seconds(""), None);
        assert_eq!(schedstat_seconds("soon 1 2"), None);
    }

    #[test]
    fn the_process_has_spent_at_least_the_threads_time() {
        // The process's time includes this thread's, read first, so it cannot be smaller.
        if let Some(thread) = thread_cpu_seconds() {
            let process = process_cpu_seconds().expect("Linux has both files");
            assert!(process >= thread, "process {process} s < thread {thread} s");
        }
    }
}
