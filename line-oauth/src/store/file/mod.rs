//! [`FileStore`]: tokens in a directory, shared by the processes of one
//! host through advisory file locks.

mod dir;

use std::fs::{File, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::Semaphore;

use super::sealed::{Sealer, Unsealed};
use super::{EncryptionKey, StoreError, TokenStore};
use crate::tokens::{IssuedToken, MAX_LIFETIME};
use dir::{Dir, Record};

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
/// one else (a directory others can write could hold planted links). It is
/// checked once and held open: every file operation is made relative to
/// it, and no file in it is opened through a symbolic link. It must be on a
/// local file system (advisory locks are not reliable over NFS), and every
/// process needs the same [`EncryptionKey`]. A record sealed under another
/// key that is older than any token (30 days) is damage, and replaced.
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
    dir: Dir,
    sealer: Sealer,
    /// Admits [`IO_THREADS`] file operations at a time.
    io: Arc<Semaphore>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore")
            .field("directory", &self.dir.path_of(""))
            .finish_non_exhaustive()
    }
}

impl FileStore {
    /// A store in `directory`, created owner-only (0700) if missing; tokens
    /// are encrypted under `key`.
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Setup`](crate::StoreErrorKind::Setup) when the
    /// directory cannot be created, is
    /// not a directory, belongs to another user, or can be written by
    /// other users (the message says how to fix it).
    pub fn new(directory: impl Into<PathBuf>, key: &EncryptionKey) -> Result<Self, StoreError> {
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
    ) -> Result<Self, StoreError> {
        Self::build(directory.into(), Sealer::new(key, Some(previous)))
    }

    fn build(directory: PathBuf, sealer: Sealer) -> Result<Self, StoreError> {
        let dir = Dir::open(&directory)
            .map_err(|e| StoreError::setup(format!("file store {}: {e}", directory.display())))?;
        Ok(Self {
            inner: Arc::new(Inner {
                dir,
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
        self.inner.dir.path_of(&file_name(key, "token"))
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

/// A held [`FileStore`] lock: the open lock file. Dropping it (or the
/// holder's exit) frees the lock.
#[derive(Debug)]
pub struct FileLease {
    _held: File,
}

impl TokenStore for FileStore {
    type Lease = FileLease;

    fn name(&self) -> &'static str {
        "file"
    }

    async fn load(&self, key: &str) -> Result<Option<IssuedToken>, StoreError> {
        let key = key.to_owned();
        self.blocking(move |inner| inner.load(&key)).await
    }

    async fn lock(&self, key: &str, _ttl: Duration) -> Result<Option<FileLease>, StoreError> {
        let name = file_name(key, "lock");
        self.blocking(move |inner| {
            let failed = |e: &io::Error| unavailable(&inner.dir.path_of(&name), e);
            let file = inner.dir.lock_file(&name).map_err(|e| failed(&e))?;
            match file.try_lock() {
                Ok(()) => Ok(Some(FileLease { _held: file })),
                Err(TryLockError::WouldBlock) => Ok(None),
                Err(TryLockError::Error(e)) => Err(failed(&e)),
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

/// `<key>.<extension>`, the key percent-encoded but for letters, digits,
/// `-`, `_` and `.` (so no name starts with the `.` of temporary files).
fn file_name(key: &str, extension: &str) -> String {
    let mut name = String::with_capacity(key.len() + extension.len() + 1);
    for byte in key.bytes() {
        let kept = byte.is_ascii_alphanumeric()
            || matches!(byte, b'-' | b'_')
            || (byte == b'.' && !name.is_empty());
        if kept {
            name.push(char::from(byte));
        } else {
            name.push_str(&format!("%{byte:02X}"));
        }
    }
    name.push('.');
    name.push_str(extension);
    name
}

impl Inner {
    fn load(&self, key: &str) -> Result<Option<IssuedToken>, StoreError> {
        let name = file_name(key, "token");
        let path = self.dir.path_of(&name);
        let shown = path.display().to_string();
        let (record, written) = match self.dir.read(&name, RECORD_LIMIT) {
            Err(e) => return Err(unavailable(&path, &e)),
            Ok(Record::Absent) => return Ok(None),
            Ok(Record::Damaged(why)) => return Unsealed::Corrupt(why).into_store_result(&shown),
            Ok(Record::Bytes { bytes, written }) => (bytes, written),
        };
        match self.sealer.open(key, &record) {
            Ok(token) => Ok(Some(token)),
            // No token lives longer: whoever wrote it, it is of no use.
            Err(Unsealed::WrongKey) if older_than_any_token(written) => {
                Unsealed::Corrupt("sealed under another key, and older than any token")
                    .into_store_result(&shown)
            }
            Err(unsealed) => unsealed.into_store_result(&shown),
        }
    }

    /// Writes `sealed` as the token of `key`, whole.
    fn write(&self, key: &str, sealed: &[u8]) -> Result<(), StoreError> {
        let name = file_name(key, "token");
        self.dir
            .replace(&name, sealed)
            .map_err(|e| unavailable(&self.dir.path_of(&name), &e))
    }
}

/// Whether a record written at `written` is older than LINE's longest token.
fn older_than_any_token(written: SystemTime) -> bool {
    SystemTime::now()
        .duration_since(written)
        .is_ok_and(|age| age > MAX_LIFETIME)
}

fn unavailable(path: &Path, error: &io::Error) -> StoreError {
    StoreError::unavailable(format!("{}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use std::fs;

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
        std::os::unix::fs::symlink(&victim, dir.path().join(file_name("k", "lock"))).unwrap();
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

    /// The store holds its directory: a path swapped after it was opened
    /// (a link pointed elsewhere) redirects none of its files.
    #[cfg(unix)]
    #[tokio::test]
    async fn a_directory_swapped_after_opening_redirects_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (ours, theirs) = (dir.path().join("ours"), dir.path().join("theirs"));
        fs::create_dir(&ours).unwrap();
        fs::create_dir(&theirs).unwrap();
        let link = dir.path().join("store");
        std::os::unix::fs::symlink(&ours, &link).unwrap();
        let (store, _) = store(&link);
        fs::remove_file(&link).unwrap();
        std::os::unix::fs::symlink(&theirs, &link).unwrap();
        let lease = store.lock("k", TTL).await.unwrap().unwrap();
        store.unlock("k", lease, Some(&token("t"))).await.unwrap();
        assert!(store.load("k").await.unwrap().is_some());
        assert_eq!(fs::read_dir(&theirs).unwrap().count(), 0);
        assert_eq!(
            fs::read_dir(&ours).unwrap().count(),
            2,
            "the token and the lock"
        );
    }

    /// A record under another key may be a rotation in progress (an error);
    /// one older than any token is of no use to anyone, and replaced.
    #[tokio::test]
    async fn a_record_under_another_key_older_than_any_token_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, _) = store(dir.path());
        let lease = writer.lock("k", TTL).await.unwrap().unwrap();
        writer.unlock("k", lease, Some(&token("t"))).await.unwrap();
        let (reader, _) = store(dir.path());
        assert_eq!(
            reader.load("k").await.unwrap_err().kind(),
            StoreErrorKind::WrongKey
        );
        let month_ago = SystemTime::now() - MAX_LIFETIME - Duration::from_secs(60);
        File::options()
            .write(true)
            .open(writer.token_path("k"))
            .unwrap()
            .set_modified(month_ago)
            .unwrap();
        assert!(reader.load("k").await.unwrap().is_none());
    }
}
