//! [`FileStore`]: tokens in a directory, shared by the processes of one
//! host through advisory file locks.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use super::sealed::{Sealer, Unsealed};
use super::{EncryptionKey, StoreError, TokenStore};
use crate::error::Error;
use crate::tokens::IssuedToken;

/// Largest token file read: a sealed token is well under 4 KiB.
const RECORD_LIMIT: u64 = 64 * 1024;
/// How many file operations of one store may be in the file system at
/// once. On a hung file system, at most this many of tokio's blocking
/// threads (which DNS lookups need too) wait with it; later operations wait
/// without a thread, until the store timeout.
const IO_THREADS: usize = 4;

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
/// The directory must belong to the process's user and be writable by no
/// one else (a directory others can write could hold planted links); no
/// file in it is opened through a symbolic link. It must be on a local
/// file system (advisory locks are not reliable over NFS), and every
/// process needs the same [`EncryptionKey`].
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
    /// Admits [`IO_THREADS`] file operations at a time.
    io: Arc<Semaphore>,
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
    /// [`Error::InvalidConfig`] when the directory cannot be created, is
    /// not a directory, belongs to another user, or can be written by
    /// other users (the message says how to fix it).
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
        let metadata = fs::metadata(&directory).map_err(invalid)?;
        if !metadata.is_dir() {
            return Err(invalid(io::Error::other("not a directory")));
        }
        #[cfg(unix)]
        owned_by_us_alone(&metadata).map_err(invalid)?;
        Ok(Self {
            inner: Arc::new(Inner {
                directory,
                sealer,
                io: Arc::new(Semaphore::new(IO_THREADS)),
            }),
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

    /// Runs file I/O off the async workers, at most [`IO_THREADS`] at once.
    /// Waiting for a turn takes no thread, and ends with the caller's
    /// timeout; a turn ends when its I/O does, however long that takes.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let turn = Arc::clone(&self.inner.io)
            .acquire_owned()
            .await
            .map_err(|_| StoreError::unavailable("file store closed"))?;
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            work(&inner)
        })
        .await
        .unwrap_or_else(|_| Err(StoreError::unavailable("file store I/O task failed")))
    }
}

/// Refuses a directory another user owns or can write: planted links there
/// could turn the store's writes into writes elsewhere.
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

/// A held [`FileStore`] lock: the open lock file. Dropping it (or the
/// holder's exit) frees the lock.
#[derive(Debug)]
pub struct FileLease {
    _held: File,
}

impl TokenStore for FileStore {
    type Lease = FileLease;

    async fn load(&self, key: &str) -> Result<Option<IssuedToken>, StoreError> {
        let key = key.to_owned();
        self.blocking(move |inner| inner.load(&key)).await
    }

    async fn lock(&self, key: &str, _ttl: Duration) -> Result<Option<FileLease>, StoreError> {
        let path = self.inner.path(key, "lock");
        self.blocking(move |_| {
            let file = no_follow(
                owner_only()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false),
            )
            .open(&path)
            .map_err(|e| unavailable(&path, &e))?;
            match file.try_lock() {
                Ok(()) => Ok(Some(FileLease { _held: file })),
                Err(TryLockError::WouldBlock) => Ok(None),
                Err(TryLockError::Error(e)) => Err(unavailable(&path, &e)),
            }
        })
        .await
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
        let key = key.to_owned();
        // The lease moves along, so the lock is held until the file is in place.
        self.blocking(move |inner| {
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
        let name = path.display().to_string();
        let record = match read_record(&path).map_err(|e| unavailable(&path, &e))? {
            Record::Absent => return Ok(None),
            Record::Damaged(why) => return Unsealed::Corrupt(why).into_store_result(&name),
            Record::Bytes(record) => record,
        };
        match self.sealer.open(key, &record) {
            Ok(token) => Ok(Some(token)),
            Err(unsealed) => unsealed.into_store_result(&name),
        }
    }

    /// Writes `sealed` as the token of `key`: a temporary file, flushed,
    /// renamed over the old one.
    fn write(&self, key: &str, sealed: &[u8]) -> Result<(), StoreError> {
        let path = self.path(key, "token");
        let failed = |e: io::Error| unavailable(&path, &e);
        // Owner-only, never through a link; removed if anything below fails.
        let mut temporary = tempfile::Builder::new()
            .make_in(&self.directory, |name| {
                no_follow(owner_only().write(true).create_new(true)).open(name)
            })
            .map_err(failed)?;
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

/// What a token file holds.
enum Record {
    /// No file.
    Absent,
    /// Something a token file never is: read as no token, and replaced
    /// (the new file is renamed over it).
    Damaged(&'static str),
    Bytes(Vec<u8>),
}

/// The bytes of a token file. An error when it cannot be read or is a
/// directory (which no new token can replace).
fn read_record(path: &Path) -> io::Result<Record> {
    let mut options = OpenOptions::new();
    options.read(true);
    // Not waiting on a FIFO's writer, not following a planted link.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(
        &mut options,
        libc::O_NONBLOCK | libc::O_NOFOLLOW,
    );
    let file = match options.open(path) {
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
    if metadata.len() > RECORD_LIMIT {
        return Ok(Record::Damaged("larger than 64 KiB"));
    }
    let mut bytes = Vec::new();
    file.take(RECORD_LIMIT).read_to_end(&mut bytes)?;
    Ok(Record::Bytes(bytes))
}

/// Whether opening failed because the path is a symbolic link.
fn is_link(error: &io::Error) -> bool {
    #[cfg(unix)]
    return error.raw_os_error() == Some(libc::ELOOP);
    #[cfg(not(unix))]
    return false;
}

/// Options that create files readable and writable by the owner only.
fn owner_only() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// `options`, refusing to open through a symbolic link (its only custom
/// flag).
fn no_follow(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(options, libc::O_NOFOLLOW);
    options
}

fn unavailable(path: &Path, error: &io::Error) -> StoreError {
    StoreError::unavailable(format!("{}: {error}", path.display()))
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

    #[cfg(unix)]
    #[test]
    fn a_directory_others_can_write_or_another_user_owns_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        fs::create_dir(&shared).unwrap();
        for mode in [0o777, 0o775, 0o1777] {
            fs::set_permissions(&shared, fs::Permissions::from_mode(mode)).unwrap();
            let error = FileStore::new(&shared, &EncryptionKey::generate()).unwrap_err();
            assert!(error.to_string().contains("chmod 700"), "{mode:o}: {error}");
        }
        // Readable by others is fine: the files are owner-only.
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o755)).unwrap();
        FileStore::new(&shared, &EncryptionKey::generate()).unwrap();
        // Another user's directory, where this process may change owners.
        let theirs = dir.path().join("theirs");
        fs::create_dir(&theirs).unwrap();
        if std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).is_ok() {
            let error = FileStore::new(&theirs, &EncryptionKey::generate()).unwrap_err();
            assert!(
                error.to_string().contains("belongs to user 65534"),
                "{error}"
            );
        }
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn planted_links_are_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = store(dir.path());
        let victim = dir.path().join("victim");
        // A link as the lock file: refused, and the file it names is not made.
        std::os::unix::fs::symlink(&victim, store.inner.path("k", "lock")).unwrap();
        let error = store.lock("k", TTL).await.unwrap_err();
        assert_eq!(error.kind(), StoreErrorKind::Unavailable);
        assert!(!victim.exists());
        // A link as the token file: read as damage, and replaced by a file.
        fs::write(&victim, b"not yours").unwrap();
        std::os::unix::fs::symlink(&victim, store.token_path("j")).unwrap();
        assert!(store.load("j").await.unwrap().is_none());
        let lease = store.lock("j", TTL).await.unwrap().unwrap();
        store.unlock("j", lease, Some(&token("t"))).await.unwrap();
        assert!(
            fs::symlink_metadata(store.token_path("j"))
                .unwrap()
                .is_file()
        );
        assert_eq!(fs::read(&victim).unwrap(), b"not yours");
        assert!(store.load("j").await.unwrap().is_some());
    }

    #[tokio::test]
    async fn a_token_file_over_the_limit_is_damage_and_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = store(dir.path());
        fs::write(store.token_path("k"), vec![b'x'; 64 * 1024 + 1]).unwrap();
        assert!(store.load("k").await.unwrap().is_none());
        let lease = store.lock("k", TTL).await.unwrap().unwrap();
        store.unlock("k", lease, Some(&token("t"))).await.unwrap();
        assert!(store.load("k").await.unwrap().is_some());
    }

    /// File operations stuck in a hung file system hold at most
    /// `IO_THREADS` of tokio's blocking threads; the next wait for a turn
    /// without a thread, and give up with the caller's timeout.
    #[tokio::test]
    async fn stuck_file_operations_hold_a_bounded_number_of_threads() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::{Condvar, Mutex};
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = store(dir.path());
        let hung = Arc::new((Mutex::new(true), Condvar::new()));
        let inside = Arc::new(AtomicUsize::new(0));
        let stuck: Vec<_> = (0..IO_THREADS + 3)
            .map(|_| {
                let (store, hung, inside) = (store.clone(), Arc::clone(&hung), Arc::clone(&inside));
                tokio::spawn(async move {
                    let operation = store.blocking(move |_| {
                        inside.fetch_add(1, Ordering::SeqCst);
                        let (lock, released) = &*hung;
                        drop(released.wait_while(lock.lock().unwrap(), |h| *h).unwrap());
                        Ok(())
                    });
                    tokio::time::timeout(Duration::from_millis(300), operation).await
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(inside.load(Ordering::SeqCst), IO_THREADS);
        let mut timed_out = 0;
        for operation in stuck {
            timed_out += usize::from(operation.await.unwrap().is_err());
        }
        assert_eq!(timed_out, IO_THREADS + 3, "every caller gave up on time");
        assert_eq!(
            inside.load(Ordering::SeqCst),
            IO_THREADS,
            "no more threads went in"
        );
        *hung.0.lock().unwrap() = false;
        hung.1.notify_all();
        // Once the file system answers, the store works again.
        tokio::time::timeout(Duration::from_secs(5), store.load("k"))
            .await
            .unwrap()
            .unwrap();
    }
}
