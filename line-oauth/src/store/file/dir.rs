//! The store's directory, checked once and held open. On unix every file
//! operation is made relative to the open directory (`openat`, `renameat`),
//! never through its path again, and no file is opened through a symbolic
//! link: a path swapped, or a link planted, after the checks redirects
//! nothing.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What a token file holds.
pub(super) enum Record {
    /// No file.
    Absent,
    /// Something a token file never is: read as no token, and replaced
    /// (the new file is renamed over it).
    Damaged(&'static str),
    /// Its bytes, and when it was last written.
    Bytes { bytes: Vec<u8>, written: SystemTime },
}

/// The store's directory.
pub(super) struct Dir {
    path: PathBuf,
    #[cfg(unix)]
    held: std::os::fd::OwnedFd,
}

impl Dir {
    /// Creates `path` owner-only (0700) if missing, opens it, and checks
    /// the directory opened: it must belong to this process's user and be
    /// writable by no one else (a directory others can write could hold
    /// planted links).
    pub(super) fn open(path: &Path) -> io::Result<Self> {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            let opened = fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_DIRECTORY)
                .open(path)
                .map_err(|e| match e.raw_os_error() {
                    Some(libc::ENOTDIR) => io::Error::other("not a directory"),
                    _ => e,
                })?;
            owned_by_us_alone(&opened.metadata()?)?;
            Ok(Self {
                path: path.to_owned(),
                held: opened.into(),
            })
        }
        #[cfg(not(unix))]
        {
            if !fs::metadata(path)?.is_dir() {
                return Err(io::Error::other("not a directory"));
            }
            Ok(Self {
                path: path.to_owned(),
            })
        }
    }

    /// Where `name` is, for messages.
    pub(super) fn path_of(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Opens (creating owner-only) the lock file `name`.
    pub(super) fn lock_file(&self, name: &str) -> io::Result<File> {
        #[cfg(unix)]
        {
            use rustix::fs::{Mode, OFlags};
            let flags = OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            let fd = rustix::fs::openat(&self.held, name, flags, Mode::from_raw_mode(0o600))?;
            Ok(fd.into())
        }
        #[cfg(not(unix))]
        fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(self.path_of(name))
    }

    /// The token file `name`, read `limit` bytes at most. An error when it
    /// cannot be read or is a directory (which no new token can replace).
    pub(super) fn read(&self, name: &str, limit: u64) -> io::Result<Record> {
        #[cfg(unix)]
        let opened = {
            use rustix::fs::{Mode, OFlags};
            // Not waiting on a FIFO's writer, not following a planted link.
            let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            rustix::fs::openat(&self.held, name, flags, Mode::empty())
                .map(File::from)
                .map_err(io::Error::from)
        };
        #[cfg(not(unix))]
        let opened = File::open(self.path_of(name));
        let file = match opened {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Record::Absent),
            Err(e) if is_link(&e) => return Ok(Record::Damaged("a symbolic link")),
            Err(e) => return Err(e),
        };
        let metadata = file.metadata()?;
        if metadata.is_dir() {
            return Err(io::Error::other(
                "a directory, not a token file; move it away",
            ));
        }
        if !metadata.is_file() {
            return Ok(Record::Damaged("not a regular file"));
        }
        if metadata.len() > limit {
            return Ok(Record::Damaged("larger than 64 KiB"));
        }
        let mut bytes = Vec::new();
        file.take(limit).read_to_end(&mut bytes)?;
        let written = metadata.modified().unwrap_or_else(|_| SystemTime::now());
        Ok(Record::Bytes { bytes, written })
    }

    /// Replaces `name` with `bytes` whole: an owner-only temporary file,
    /// flushed, renamed over it, the directory flushed. A reader sees the
    /// old file or the new, never half of one.
    pub(super) fn replace(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        #[cfg(unix)]
        {
            use rustix::fs::{AtFlags, Mode, OFlags};
            let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW;
            let (temporary, fd) = loop {
                let temporary = format!(".{name}.{:016x}.tmp", rand::random::<u64>());
                let flags = flags | OFlags::CLOEXEC;
                match rustix::fs::openat(&self.held, &temporary, flags, Mode::from_raw_mode(0o600))
                {
                    Ok(fd) => break (temporary, fd),
                    Err(rustix::io::Errno::EXIST) => continue,
                    Err(e) => return Err(e.into()),
                }
            };
            let mut file = File::from(fd);
            let written = file
                .write_all(bytes)
                .and_then(|()| file.sync_all())
                .and_then(|()| {
                    rustix::fs::renameat(&self.held, &temporary, &self.held, name)
                        .map_err(io::Error::from)
                });
            if written.is_err() {
                let _ = rustix::fs::unlinkat(&self.held, &temporary, AtFlags::empty());
                return written;
            }
            // The rename itself survives a crash once the directory is flushed.
            let _ = rustix::fs::fsync(&self.held);
            Ok(())
        }
        #[cfg(not(unix))]
        {
            let mut temporary = tempfile::NamedTempFile::new_in(&self.path)?;
            temporary.write_all(bytes)?;
            temporary.as_file().sync_all()?;
            temporary
                .persist(self.path_of(name))
                .map(drop)
                .map_err(|e| e.error)
        }
    }
}

/// Refuses a directory another user owns or can write: planted links there
/// could turn the store's writes into writes elsewhere, and its lock and
/// records would be theirs to hold or delete.
#[cfg(unix)]
fn owned_by_us_alone(metadata: &fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let ours = rustix::process::geteuid().as_raw();
    if metadata.uid() != ours {
        return Err(io::Error::other(format!(
            "belongs to user {}, not to this process's user {ours}: use a directory of your own",
            metadata.uid()
        )));
    }
    let mode = metadata.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(io::Error::other(format!(
            "other users can write to it (mode {mode:o}): make it owner-only (chmod 700) or use \
             another directory"
        )));
    }
    Ok(())
}

/// Whether opening failed because the path is a symbolic link.
fn is_link(error: &io::Error) -> bool {
    #[cfg(unix)]
    return error.raw_os_error() == Some(libc::ELOOP);
    #[cfg(not(unix))]
    return {
        let _ = error;
        false
    };
}
