//! Reading files whose size is not to be trusted: a path given on the command line may name
//! a 10 GB file, a pipe or `/dev/zero`. Every whole-file read of this crate (checkpoints,
//! datasets, JSON configs) goes through [`open_limited`], which refuses a file over its limit
//! before reading much of it.
//!
//! Also what a program checks before a long run writes anything: whether two paths name one
//! file ([`same_file`]) and whether a directory takes new files ([`probe_writable_dir`]).

use std::fs::File;
use std::io::{self, Read, Take};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The error for a file over `limit` bytes (`size`, when its size is known).
fn too_large(size: Option<u64>, limit: u64) -> io::Error {
    let message = match size {
        Some(size) => format!("{size} bytes, above the limit of {limit} bytes"),
        None => format!("more than the limit of {limit} bytes"),
    };
    io::Error::new(io::ErrorKind::FileTooLarge, message)
}

/// Opens `path` for reading at most `limit + 1` bytes: a file the file system says is larger
/// than `limit` is refused at once (a 10 GB sparse file), and a stream of unknown size (a
/// pipe, `/dev/zero`) ends one byte past the limit, so [`check_limit`] can tell that it went
/// over.
pub fn open_limited(path: &Path, limit: u64) -> io::Result<Take<File>> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_file() && meta.len() > limit {
        return Err(too_large(Some(meta.len()), limit));
    }
    Ok(file.take(limit.saturating_add(1)))
}

/// After reading from a reader of [`open_limited`] until it ended: an error when it ended at
/// the limit, that is when the file is longer than `limit`.
pub fn check_limit(input: &Take<File>, limit: u64) -> io::Result<()> {
    if input.limit() == 0 {
        return Err(too_large(None, limit));
    }
    Ok(())
}

/// Reads all of `path`, refusing a file over `limit` bytes ([`open_limited`]).
pub fn read_limited(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let mut input = open_limited(path, limit)?;
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes)?;
    check_limit(&input, limit)?;
    Ok(bytes)
}

/// [`read_limited`] as UTF-8 text.
pub fn read_to_string_limited(path: &Path, limit: u64) -> io::Result<String> {
    String::from_utf8(read_limited(path, limit)?)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// `path` as the file system resolves it: absolute, with symbolic links, `.` and `..`
/// resolved as far as it exists (the canonical form of its longest existing ancestor, the
/// rest of the path appended), so `./a`, `a` and `$PWD/a` come out equal whether or not `a`
/// exists yet.
pub fn resolved(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut rest = Vec::new();
    let mut current = absolute.as_path();
    loop {
        if let Ok(canonical) = current.canonicalize() {
            return rest
                .iter()
                .rev()
                .fold(canonical, |acc: PathBuf, name| acc.join(name));
        }
        match (current.parent(), current.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                current = parent;
            }
            _ => break,
        }
    }
    absolute
}

/// Whether `a` and `b` name the same file: for two existing files, the same file on disk
/// (on Unix the same device and inode, so hard links and symbolic links count); otherwise
/// the same [`resolved`] path (a file given as `./a` and as `a`).
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return ma.dev() == mb.dev() && ma.ino() == mb.ino();
        }
    }
    resolved(a) == resolved(b)
}

/// Checks that new files can be written in `dir` (the empty path is the working
/// directory), so a long run finds out before it starts rather than at its end: creates the
/// directory and its parents when missing, refuses a path that is not a directory, and
/// creates and removes a probe file (`.wm-probe-PID-N`) in it. The error says which step
/// failed.
pub fn probe_writable_dir(dir: &Path) -> io::Result<()> {
    static PROBES: AtomicU64 = AtomicU64::new(0);
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    match std::fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                "not a directory (a file exists at that path)",
            ));
        }
        Ok(_) => {}
        Err(_) => std::fs::create_dir_all(dir)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot create the directory: {e}")))?,
    }
    let probe = dir.join(format!(
        ".wm-probe-{}-{}",
        std::process::id(),
        PROBES.fetch_add(1, Ordering::Relaxed)
    ));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot create a file in it: {e}")))?;
    drop(file);
    std::fs::remove_file(&probe).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot remove the probe file {}: {e}", probe.display()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_file_given_two_ways_is_the_same_file() {
        let dir = std::env::temp_dir().join(format!("wm-same-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = dir.join("a");
        std::fs::write(&a, b"a").unwrap();
        let dotted = dir.join(".").join("a");
        assert!(same_file(&a, &dotted));
        assert!(!same_file(&a, &dir.join("b")));
        // Not there yet: the same resolved path.
        assert!(same_file(&dir.join("new"), &dir.join("./new")));
        assert!(!same_file(&dir.join("new"), &dir.join("other")));
        #[cfg(unix)]
        {
            let link = dir.join("link");
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(&a, &link).unwrap();
            assert!(same_file(&a, &link));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_is_not_a_writable_directory() {
        let base = std::env::temp_dir().join(format!("wm-probe-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let fresh = base.join("new/deeper");
        probe_writable_dir(&fresh).unwrap();
        assert!(fresh.is_dir());
        assert_eq!(
            std::fs::read_dir(&fresh).unwrap().count(),
            0,
            "probe removed"
        );
        let file = base.join("file");
        std::fs::write(&file, b"x").unwrap();
        let err = probe_writable_dir(&file).unwrap_err();
        assert!(err.to_string().contains("not a directory"), "{err}");
        assert!(probe_writable_dir(&file.join("below")).is_err());
        assert_eq!(std::fs::read(&file).unwrap(), b"x");
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn files_over_the_limit_are_refused() {
        let path = std::env::temp_dir().join(format!("wm-files-{}", std::process::id()));
        std::fs::write(&path, b"0123456789").unwrap();
        assert_eq!(read_limited(&path, 10).unwrap(), b"0123456789");
        let err = read_limited(&path, 9).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::FileTooLarge);
        assert!(
            err.to_string().contains("10 bytes, above the limit of 9"),
            "{err}"
        );
        std::fs::remove_file(&path).unwrap();
        #[cfg(unix)]
        {
            // No size to stat: read one byte past the limit, then refused.
            let err = read_limited(Path::new("/dev/zero"), 1 << 16).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::FileTooLarge, "{err}");
        }
    }
}
