//! Atomic file writes: a reader of the target path sees either the old file or the complete new
//! one, never a half-written file, even if the writer fails or the process is killed midway.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;

/// Writes `bytes` to `path` atomically, creating the parent folders if needed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_atomic_with(path, |file| {
        file.write_all(bytes)
            .with_context(|| format!("could not write {}: check free disk space", path.display()))
    })
}

/// Lets `write` fill a temporary file next to `path`, then renames it over `path`; if `write` (or
/// anything after it) fails, the temporary file is removed and `path` keeps its previous content.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut File) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let folder = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty());
    if let Some(folder) = folder {
        fs::create_dir_all(folder).with_context(|| {
            format!(
                "could not create the folder {}: check its permissions or choose another path",
                folder.display()
            )
        })?;
    }
    let temp = temp_path(path);
    let result = fill_and_rename(&temp, path, write);
    if result.is_err() {
        // Best effort: the error being reported matters more than a failure to clean up.
        let _ = fs::remove_file(&temp);
    }
    result
}

fn fill_and_rename(
    temp: &Path,
    path: &Path,
    write: impl FnOnce(&mut File) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut file = File::create(temp).with_context(|| {
        format!(
            "could not create {}: check that its folder is writable",
            temp.display()
        )
    })?;
    write(&mut file)?;
    // Without the sync, a crash soon after the rename could leave the new name pointing at
    // data that never reached the disk.
    file.sync_all().with_context(|| {
        format!(
            "could not flush {} to disk: check free disk space",
            temp.display()
        )
    })?;
    drop(file);
    fs::rename(temp, path).with_context(|| {
        format!(
            "could not move {} to {}: check that the folder is writable",
            temp.display(),
            path.display()
        )
    })
}

/// A hidden sibling of `path`, unique per process and per call, so that concurrent writers of the
/// same target never share a temporary file; being in the same folder keeps the rename atomic.
fn temp_path(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let unique = NEXT.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.tmp-{}-{unique}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder_entries(folder: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(folder)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn failing_writer_keeps_the_older_file_and_leaves_no_temp() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("weights.bin");
        write_atomic(&path, b"old and good").unwrap();

        let error = write_atomic_with(&path, |file| {
            file.write_all(b"half of the new")?;
            anyhow::bail!("simulated failure")
        })
        .unwrap_err();

        assert_eq!(error.to_string(), "simulated failure");
        assert_eq!(fs::read(&path).unwrap(), b"old and good");
        assert_eq!(folder_entries(folder.path()), ["weights.bin"]);
    }

    #[test]
    fn write_replaces_the_file_and_creates_parent_folders() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("a/b/out.txt");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        assert_eq!(folder_entries(&folder.path().join("a/b")), ["out.txt"]);
    }
}
