//! Where a partition's timeline state keeps the bodies of its entries: the full entry with its
//! sources and sentence, exactly the bytes of its changelog record.
//!
//! The store keeps in memory only what merging, ordering and release read (the entry's date,
//! trigger, entities and merge class: [`super::store`]'s heads). The bodies are read only when an
//! entry changes or is listed, so they can live on disk:
//! - [`Bodies::Memory`]: no file; the store then holds every body in memory, as a struct (tests,
//!   replays, small deployments);
//! - [`Bodies::Disk`]: a [`redb`] file per partition, the layout of Kafka Streams' RocksDB stores.
//!   It is a cache of the changelog, never a source of truth: a partition's file is created empty
//!   when the partition is assigned, filled from the changelog, and deleted when the partition is
//!   given up or the process stops. So a crash cannot leave a file ahead of the committed
//!   changelog, and nothing needs fsync: commits use [`redb::Durability::None`], with an
//!   `Immediate` one now and then so that redb reuses freed pages.
//!
//! A disk error never loses a body: what could not be written stays in memory (and the error is
//! logged and counted), so the state stays complete.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use redb::{Database, Durability, ReadableDatabase, TableDefinition};

const TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("bodies");

/// Every how many flushes a disk store commits with `Durability::Immediate`, so that redb frees
/// the pages of overwritten bodies.
const DURABLE_EVERY: u64 = 32;

/// Bodies waiting in memory beyond which a restore flushes them to disk.
const RESTORE_FLUSH: usize = 20_000;

/// Where entry bodies live, and how (the `[timelines] state` setting).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Backend {
    /// In memory.
    #[default]
    Memory,
    /// One redb file per partition under `dir`, each with a page cache of `cache_bytes`.
    Disk {
        /// Directory of this process's files (created if missing; see [`process_dir`]).
        dir: PathBuf,
        /// redb page cache per partition, in bytes.
        cache_bytes: usize,
        /// Per partition, how much memory the timelines used recently may take before the
        /// others are spilled to the file (see `store`'s `Timelines`), in bytes.
        memory_bytes: usize,
        /// Only timelines unused for at least this many batches are spilled.
        spill_idle_batches: u64,
    },
}

/// The entry bodies of one partition.
#[derive(Debug)]
pub enum Bodies {
    /// Encoded bodies by key.
    Memory(HashMap<String, Vec<u8>>),
    /// A redb file, with the bodies written since the last flush.
    Disk(DiskBodies),
}

impl Default for Bodies {
    fn default() -> Self {
        Bodies::Memory(HashMap::new())
    }
}

impl Bodies {
    /// Empty bodies for `partition` on `backend`. A disk store that cannot be created falls back
    /// to memory, with the reason logged: the state stays correct, only its memory grows.
    pub fn open(backend: &Backend, partition: i32) -> Self {
        match backend {
            Backend::Memory => Bodies::default(),
            Backend::Disk {
                dir,
                cache_bytes,
                memory_bytes,
                spill_idle_batches,
            } => match DiskBodies::create(dir, partition, *cache_bytes) {
                Ok(mut disk) => {
                    disk.memory_bytes = *memory_bytes;
                    disk.spill_idle_batches = *spill_idle_batches;
                    Bodies::Disk(disk)
                }
                Err(error) => {
                    tracing::error!(
                        partition,
                        dir = %dir.display(),
                        %error,
                        "cannot create the on-disk timeline state; keeping it in memory"
                    );
                    metrics::counter!(crate::telemetry::TIMELINE_STATE_ERRORS).increment(1);
                    Bodies::default()
                }
            },
        }
    }

    /// The body stored under `key`.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        match self {
            Bodies::Memory(map) => map.get(key).cloned(),
            Bodies::Disk(disk) => disk.get(key),
        }
    }

    /// How much memory recently used timelines may take before others are spilled here (`None`
    /// in memory: nothing is ever spilled), and after how many idle batches a timeline may be
    /// spilled.
    pub fn memory_budget(&self) -> Option<(usize, u64)> {
        match self {
            Bodies::Memory(_) => None,
            Bodies::Disk(disk) => Some((disk.memory_bytes, disk.spill_idle_batches)),
        }
    }

    /// Stores `value` under `key` (written to disk at the next [`Bodies::flush`]).
    pub fn put(&mut self, key: String, value: Vec<u8>) {
        match self {
            Bodies::Memory(map) => {
                map.insert(key, value);
            }
            Bodies::Disk(disk) => {
                disk.pending.insert(key, value);
            }
        }
    }

    /// Writes what [`Bodies::put`] stored to disk (a no-op in memory).
    pub fn flush(&mut self) {
        if let Bodies::Disk(disk) = self {
            disk.flush();
        }
    }

    /// [`Bodies::flush`] when enough bodies wait (while a partition is being restored).
    pub fn flush_if_large(&mut self) {
        if let Bodies::Disk(disk) = self
            && disk.pending.len() >= RESTORE_FLUSH
        {
            disk.flush();
        }
    }

    /// Bodies held in memory (for the disk store: those not yet written).
    pub fn pending(&self) -> usize {
        match self {
            Bodies::Memory(map) => map.len(),
            Bodies::Disk(disk) => disk.pending.len(),
        }
    }
}

/// A partition's bodies in a redb file, deleted on drop.
pub struct DiskBodies {
    db: Database,
    path: PathBuf,
    /// Written since the last flush, or not writable: read before the file.
    pending: HashMap<String, Vec<u8>>,
    flushes: u64,
    /// See [`Backend::Disk`].
    memory_bytes: usize,
    spill_idle_batches: u64,
}

impl std::fmt::Debug for DiskBodies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskBodies")
            .field("path", &self.path)
            .field("pending", &self.pending.len())
            .finish()
    }
}

static FILES: AtomicU64 = AtomicU64::new(0);

impl DiskBodies {
    /// A new, empty file for `partition` in `dir`. File names are unique in the process, so a
    /// partition restored while its previous state is still alive gets a file of its own.
    pub fn create(dir: &Path, partition: i32, cache_bytes: usize) -> Result<Self, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let n = FILES.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("p{partition}-{n}.redb"));
        let _ = std::fs::remove_file(&path);
        let db = Database::builder()
            .set_cache_size(cache_bytes)
            .create(&path)
            .map_err(|e| e.to_string())?;
        Ok(DiskBodies {
            db,
            path,
            pending: HashMap::new(),
            flushes: 0,
            memory_bytes: usize::MAX,
            spill_idle_batches: 1,
        })
    }

    fn get(&self, key: &str) -> Option<Vec<u8>> {
        if let Some(v) = self.pending.get(key) {
            return Some(v.clone());
        }
        let read = || -> Result<Option<Vec<u8>>, redb::Error> {
            let txn = self.db.begin_read()?;
            let table = match txn.open_table(TABLE) {
                Ok(t) => t,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            Ok(table.get(key)?.map(|v| v.value().to_vec()))
        };
        match read() {
            Ok(v) => v,
            Err(error) => {
                tracing::error!(path = %self.path.display(), %error, "timeline state read failed");
                metrics::counter!(crate::telemetry::TIMELINE_STATE_ERRORS).increment(1);
                None
            }
        }
    }

    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        self.flushes += 1;
        let durable = self.flushes.is_multiple_of(DURABLE_EVERY);
        let write = || -> Result<(), redb::Error> {
            let mut txn = self.db.begin_write()?;
            txn.set_durability(if durable {
                Durability::Immediate
            } else {
                Durability::None
            })
            .map_err(|e| redb::Error::Corrupted(e.to_string()))?;
            {
                let mut table = txn.open_table(TABLE)?;
                for (k, v) in &self.pending {
                    table.insert(k.as_str(), v.as_slice())?;
                }
            }
            txn.commit()?;
            Ok(())
        };
        match write() {
            Ok(()) => self.pending.clear(),
            Err(error) => {
                // Kept in `pending`, read from there, written again at the next flush.
                tracing::error!(path = %self.path.display(), %error, "timeline state write failed; kept in memory");
                metrics::counter!(crate::telemetry::TIMELINE_STATE_ERRORS).increment(1);
            }
        }
    }
}

impl Drop for DiskBodies {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// This process's directory under `base` (`<base>/<pid>`), after deleting the directories of
/// processes that no longer run (a killed instance cannot delete its own).
pub fn process_dir(base: &Path) -> PathBuf {
    if let Ok(entries) = std::fs::read_dir(base) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    base.join(std::process::id().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_bodies_read_back_what_was_written_before_and_after_a_flush() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = Bodies::open(
            &Backend::Disk {
                dir: dir.path().to_path_buf(),
                cache_bytes: 1 << 20,
                memory_bytes: 0,
                spill_idle_batches: 1,
            },
            3,
        );
        assert!(matches!(b, Bodies::Disk(_)));
        b.put("entry|a|1".into(), b"one".to_vec());
        assert_eq!(b.get("entry|a|1").as_deref(), Some(&b"one"[..]));
        b.flush();
        assert_eq!(b.pending(), 0);
        assert_eq!(b.get("entry|a|1").as_deref(), Some(&b"one"[..]));
        for i in 0..100 {
            b.put("entry|a|1".into(), format!("v{i}").into_bytes());
            b.flush();
        }
        assert_eq!(b.get("entry|a|1").as_deref(), Some(&b"v99"[..]));
        assert_eq!(b.get("entry|a|2"), None);
        let files = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(files, 1);
        drop(b);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn process_dir_removes_the_directories_of_dead_processes() {
        let base = tempfile::tempdir().unwrap();
        // No process has pid 4,000,000,000 (above Linux's pid_max).
        let dead = base.path().join("4000000000");
        std::fs::create_dir_all(&dead).unwrap();
        let other = base.path().join("not-a-pid");
        std::fs::create_dir_all(&other).unwrap();
        let mine = process_dir(base.path());
        assert!(!dead.exists());
        assert!(other.exists());
        assert_eq!(mine, base.path().join(std::process::id().to_string()));
    }
}
