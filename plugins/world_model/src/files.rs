//! Reading files whose size is not to be trusted: a path given on the command line may name
//! a 10 GB file, a pipe or `/dev/zero`. Every whole-file read of this crate (checkpoints,
//! datasets, JSON configs) goes through [`open_limited`], which refuses a file over its limit
//! before reading much of it.

use std::fs::File;
use std::io::{self, Read, Take};
use std::path::Path;

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

#[cfg(test)]
mod tests {
    use super::*;

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
