//! [`FileStore`]: tokens in a directory, shared by the processes of one
//! host through advisory file locks.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::sealed::Sealer;
use super::{EncryptionKey, StoreError, TokenStore};
use crate::error::Error;
use crate::tokens::IssuedToken;

/// Largest token file read: a sealed token is well under 4 KiB.
const RECORD_LIMIT: u64 = 64 * 1024;

/// Tokens in a directory of this host, encrypted: they survive restarts,
/// and the processes of the host share them.
///
/// Each provider's token is one file, `<key>.token`, written whole to a
/// temporary file and renamed into place (a reader never sees half a
/// token), created owner-only. Issuance is coordinated by an advisory lock
/// (`flock`) on `<key>.lock`: the kernel frees it when its holder exits or
/// is killed, so a crashed holder blocks no one. A damaged token file is
/// logged and replaced by a new token; it never panics.
///
/// The directory must be on a local file system (advisory locks are not
/// reliable over NFS), and every process needs the same [`EncryptionKey`].
///
/// ```no_run
/// use line_oauth::{ChannelCredentials, Client, ClientSecret, EncryptionKey, FileStore};
/// use line_oauth::{ShortLived, TokenSource};
///
/// let key = EncryptionKey::from_base64(&std::env::var("TOKEN_STORE_KEY")?)?;
/// let store = FileStore::new("/var/lib/my-bot/tokens", &key)?;
/// let creds = ChannelCredentials::new("1234567890", ClientSecret::new("secret"));
/// let source = TokenSource::builder(ShortLived::new(Client::new(), creds).revoke_replaced())
///     .store(store)
///     .build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct FileStore {
    inner: Arc<Inner>,
}

struct Inner {
    directory: PathBuf,
    sealer: Sealer,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore")
            .field("directory", &self.directory)
            .finish_non_exhaustive()
    }
}

impl FileStore {
    /// A store in `directory`, created owner-only (0700) if missing; tokens
    /// are encrypted under `key`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when the directory cannot be created or is
    /// not a directory.
    pub fn new(directory: impl Into<PathBuf>, key: &EncryptionKey) -> Result<Self, Error> {
        Self::build(directory.into(), Sealer::new(key, None))
    }

    /// The same store, during a key rotation: it writes under its key and
    /// also reads tokens written under `previous`. Once every process runs
    /// with the new key and has written a token, drop the previous one.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// use line_oauth::{EncryptionKey, FileStore};
    /// let (old, new) = (EncryptionKey::generate(), EncryptionKey::generate());
    /// let store = FileStore::rotating(dir.path(), &new, &old)?;
    /// # Ok::<(), line_oauth::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`FileStore::new`].
    pub fn rotating(
        directory: impl Into<PathBuf>,
        key: &EncryptionKey,
        previous: &EncryptionKey,
    ) -> Result<Self, Error> {
        Self::build(directory.into(), Sealer::new(key, Some(previous)))
    }

    fn build(directory: PathBuf, sealer: Sealer) -> Result<Self, Error> {
        let invalid =
            |e: io::Error| Error::InvalidConfig(format!("file store {}: {e}", directory.display()));
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&directory).map_err(invalid)?;
        if !fs::metadata(&directory).map_err(invalid)?.is_dir() {
            return Err(invalid(io::Error::other("not a directory")));
        }
        Ok(Self {
            inner: Arc::new(Inner { directory, sealer }),
        })
    }

    /// Where the token of `key` is kept.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = line_oauth::FileStore::new(dir.path(), &line_oauth::EncryptionKey::generate())?;
    /// let path = store.token_path("short-lived:1234567890");
    /// assert!(path.ends_with("short-lived%3A1234567890.token"));
    /// # Ok::<(), line_oauth::Error>(())
    /// ```
    pub fn token_path(&self, key: &str) -> PathBuf {
        self.inner.path(key, "token")
    }
}

/// A held [`FileStore`] lock: the open lock file. Dropping it (or the
/// holder's exit) frees the lock.
#[derive(Debug)]
pub struct FileLease {
    _held: File,
}

impl TokenStore for FileStore {
    type Lease = FileLease;

    async fn load(&self, key: &str) -> Result<Option<IssuedToken>, StoreError> {
        let (inner, key) = (Arc::clone(&self.inner), key.to_owned());
        blocking(move || inner.load(&key)).await
    }

    async fn lock(&self, key: &str, _ttl: Duration) -> Result<Option<FileLease>, StoreError> {
        // Not blocking: an open and a non-blocking flock.
        let path = self.inner.path(key, "lock");
        let file = owner_only()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| unavailable(&path, &e))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(FileLease { _held: file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(unavailable(&path, &e)),
        }
    }

    async fn unlock(
        &self,
        key: &str,
        lease: FileLease,
        save: Option<&IssuedToken>,
    ) -> Result<(), StoreError> {
        let Some(token) = save else {
            drop(lease);
            return Ok(());
        };
        let sealed = self.inner.sealer.seal(key, token)?;
        let (inner, key) = (Arc::clone(&self.inner), key.to_owned());
        // The lease moves along, so the lock is held until the file is in place.
        blocking(move || {
            let written = inner.write(&key, &sealed);
            drop(lease);
            written
        })
        .await
    }
}

impl Inner {
    /// `<directory>/<key>.<extension>`, the key percent-encoded but for
    /// letters, digits, `-`, `_` and `.`.
    fn path(&self, key: &str, extension: &str) -> PathBuf {
        let mut name = String::with_capacity(key.len() + extension.len() + 1);
        for byte in key.bytes() {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.') {
                name.push(char::from(byte));
            } else {
                name.push_str(&format!("%{byte:02X}"));
            }
        }
        name.push('.');
        name.push_str(extension);
        self.directory.join(name)
    }

    fn load(&self, key: &str) -> Result<Option<IssuedToken>, StoreError> {
        let path = self.path(key, "token");
        let Some(record) = read_record(&path).map_err(|e| unavailable(&path, &e))? else {
            return Ok(None);
        };
        match self.sealer.open(key, &record) {
            Ok(token) => Ok(Some(token)),
            Err(unsealed) => unsealed.into_store_result(&path.display().to_string()),
        }
    }

    /// Writes `sealed` as the token of `key`: a temporary file, flushed,
    /// renamed over the old one.
    fn write(&self, key: &str, sealed: &[u8]) -> Result<(), StoreError> {
        let path = self.path(key, "token");
        let failed = |e: io::Error| unavailable(&path, &e);
        // Created 0600 by tempfile; removed if anything below fails.
        let mut temporary = tempfile::NamedTempFile::new_in(&self.directory).map_err(failed)?;
        temporary.write_all(sealed).map_err(failed)?;
        temporary.as_file().sync_all().map_err(failed)?;
        temporary.persist(&path).map_err(|e| failed(e.error))?;
        // The rename itself survives a crash once the directory is flushed.
        if let Ok(directory) = File::open(&self.directory) {
            let _ = directory.sync_all();
        }
        Ok(())
    }
}

/// The bytes of a token file: `None` when there is none; an error when it
/// is not a regular file or larger than [`RECORD_LIMIT`].
fn read_record(path: &Path) -> io::Result<Option<Vec<u8>>> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let metadata = file.metadata()?;
    if !metadata.is_file() || metadata.len() > RECORD_LIMIT {
        return Err(io::Error::other(
            "not a regular file of at most 64 KiB; move it away",
        ));
    }
    let mut bytes = Vec::new();
    file.take(RECORD_LIMIT).read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

/// Options that create files readable and writable by the owner only.
fn owner_only() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

fn unavailable(path: &Path, error: &io::Error) -> StoreError {
    StoreError::unavailable(format!("{}: {error}", path.display()))
}

/// Runs file I/O off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|_| Err(StoreError::unavailable("file store I/O task failed")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::AccessToken;
    use crate::store::StoreErrorKind;

    fn token(value: &str) -> IssuedToken {
        IssuedToken::new(AccessToken::new(value), Duration::from_secs(900))
    }

    fn store(dir: &Path) -> (FileStore, EncryptionKey) {
        let key = EncryptionKey::generate();
        (FileStore::new(dir, &key).unwrap(), key)
    }

    const TTL: Duration = Duration::from_secs(30);

    #[tokio::test]
    async fn a_saved_token_is_read_back_by_another_store_on_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let (store, key) = store(dir.path());
        let lease = store.lock("short-lived:1", TTL).await.unwrap().unwrap();
        assert!(store.lock("short-lived:1", TTL).await.unwrap().is_none());
        store
            .unlock("short-lived:1", lease, Some(&token("secret-token-value")))
            .await
            .unwrap();
        let again = FileStore::new(dir.path(), &key).unwrap();
        let loaded = again.load("short-lived:1").await.unwrap().unwrap();
        assert_eq!(loaded.access_token.expose_secret(), "secret-token-value");
        assert!(again.lock("short-lived:1", TTL).await.unwrap().is_some());
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn files_are_owner_only_and_hold_no_clear_token() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("tokens");
        let (store, _) = store(&inner);
        let lease = store.lock("k", TTL).await.unwrap().unwrap();
        store
            .unlock("k", lease, Some(&token("secret-token-value")))
            .await
            .unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&inner), 0o700);
        for entry in fs::read_dir(&inner).unwrap() {
            let path = entry.unwrap().path();
            assert_eq!(mode(&path), 0o600, "{}", path.display());
            let bytes = fs::read(&path).unwrap();
            assert!(!bytes.windows(18).any(|w| w == b"secret-token-value"));
        }
    }

    #[tokio::test]
    async fn a_damaged_file_reads_as_no_token_and_another_key_as_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = store(dir.path());
        let lease = store.lock("k", TTL).await.unwrap().unwrap();
        store.unlock("k", lease, Some(&token("t"))).await.unwrap();
        let path = store.token_path("k");
        let whole = fs::read(&path).unwrap();

        let (stranger, _) = self::store(dir.path());
        let error = stranger.load("k").await.unwrap_err();
        assert_eq!(error.kind(), StoreErrorKind::WrongKey);
        assert!(error.to_string().contains("another key"), "{error}");

        fs::write(&path, &whole[..whole.len() / 2]).unwrap();
        assert!(store.load("k").await.unwrap().is_none());
        fs::write(&path, b"").unwrap();
        assert!(store.load("k").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_token_path_that_is_not_a_regular_file_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = store(dir.path());
        fs::create_dir(store.token_path("k")).unwrap();
        let error = store.load("k").await.unwrap_err();
        assert_eq!(error.kind(), StoreErrorKind::Unavailable);
    }
}
