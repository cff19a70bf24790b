//! Key files: read only when small and regular, written atomically and
//! owner-only.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

use zeroize::Zeroizing;

use super::error::{FILE_LIMIT, KeyError};

/// Why a small file could not be read.
#[derive(Debug)]
pub(crate) enum SmallFileError {
    /// Opening or reading it failed.
    Io(io::Error),
    /// It is a directory, a FIFO, a device...
    NotRegular,
    /// It is larger than the limit.
    TooLarge,
}

/// The bytes of the regular file at `path`, of at most `limit` bytes, in
/// memory that is zeroed when dropped. Never waits on a FIFO.
pub(crate) fn read_small_file(
    path: &Path,
    limit: u64,
) -> Result<Zeroizing<Vec<u8>>, SmallFileError> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        // A FIFO then opens at once instead of waiting for a writer.
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(SmallFileError::Io)?;
    let metadata = file.metadata().map_err(SmallFileError::Io)?;
    if !metadata.is_file() {
        return Err(SmallFileError::NotRegular);
    }
    if metadata.len() > limit {
        return Err(SmallFileError::TooLarge);
    }
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(SmallFileError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(SmallFileError::TooLarge);
    }
    Ok(bytes)
}

/// The text of a key file: a regular file of at most [`FILE_LIMIT`]
/// bytes, read into memory that is zeroed when dropped.
pub(crate) fn read_key_file(path: &Path) -> Result<Zeroizing<String>, KeyError> {
    let mut bytes = read_small_file(path, FILE_LIMIT).map_err(|e| match e {
        SmallFileError::Io(e) => KeyError::File(format!("{}: {e}", path.display())),
        SmallFileError::NotRegular => KeyError::NotRegularFile(path.display().to_string()),
        SmallFileError::TooLarge => KeyError::FileTooLarge { limit: FILE_LIMIT },
    })?;
    match String::from_utf8(std::mem::take(&mut *bytes)) {
        Ok(text) => Ok(Zeroizing::new(text)),
        Err(e) => {
            drop(Zeroizing::new(e.into_bytes()));
            Err(KeyError::Json("the file is not UTF-8 text".into()))
        }
    }
}

/// Creates `path` with what `write` puts in it, owner-only, atomically:
/// a temporary file in the same directory, flushed, then linked into place
/// unless `path` exists. On any failure the temporary file is removed.
pub(crate) fn write_new_secret_file(
    path: &Path,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<(), KeyError> {
    let file_error = |e: io::Error| KeyError::File(format!("{}: {e}", path.display()));
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    // tempfile creates the file readable and writable by its owner only.
    let mut temporary = tempfile::Builder::new()
        .prefix(".line-oauth-key-")
        .tempfile_in(directory)
        .map_err(file_error)?;
    write(temporary.as_file_mut()).map_err(file_error)?;
    temporary.as_file().sync_all().map_err(file_error)?;
    temporary
        .persist_noclobber(path)
        .map_err(|e| file_error(e.error))?;
    #[cfg(unix)]
    File::open(directory)
        .and_then(|d| d.sync_all())
        .map_err(file_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[cfg(unix)]
    #[test]
    fn only_small_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        for path in [fifo.as_path(), Path::new("/dev/zero"), dir.path()] {
            let err = read_key_file(path).unwrap_err();
            assert!(
                matches!(err, KeyError::NotRegularFile(_)),
                "{path:?}: {err:?}"
            );
        }
        let sparse = dir.path().join("sparse");
        File::create(&sparse).unwrap().set_len(1 << 30).unwrap();
        assert_eq!(
            read_key_file(&sparse).unwrap_err(),
            KeyError::FileTooLarge { limit: FILE_LIMIT }
        );
    }

    #[test]
    fn a_write_that_fails_halfway_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("private.jwk.json");
        let half_then_fail = |file: &mut File| {
            file.write_all(b"{\"kty\":\"RSA\",")?;
            Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"))
        };
        let err = write_new_secret_file(&path, half_then_fail).unwrap_err();
        assert!(err.to_string().contains("disk full"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        write_new_secret_file(&path, |file| file.write_all(b"{}")).expect("a rerun succeeds");
    }
}
