//! `compare`'s base-side cache on disk: each base seed's reduced record as a file named
//! by its key (`stormcast::sweep::SeedStore`; the key, a SHA-256 of everything that
//! determines the record, is the library's). Re-running a pull request's check after a
//! new commit then simulates only the proposed side.
//!
//! Where: `--cache-dir DIR`, else `$STORMCAST_CACHE_DIR`, else `$XDG_CACHE_HOME/stormcast`
//! (an absolute path, per the XDG base directory specification), else
//! `$HOME/.cache/stormcast`; records go into its `seeds/BUILD/` folder, BUILD naming the
//! executable ([`build_id`]). `--no-cache` turns it off. The cache is a convenience, never a source of truth: an entry that cannot be
//! read or does not check out is ignored and the seed simulated again, and a failed
//! write only loses the entry. Writes go to a temporary file in the same folder and are
//! renamed into place, so a reader never sees half an entry.

use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use stormcast::sweep::SeedStore;

/// Records as files `DIR/seeds/KEY.json`.
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    /// The cache `--no-cache` and `--cache-dir` ask for, or `None` (off, or no place
    /// for it: no variable names a folder).
    pub fn chosen(no_cache: bool, cache_dir: Option<&Path>) -> Option<FileStore> {
        if no_cache {
            return None;
        }
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let root = cache_dir
            .map(Path::to_path_buf)
            .or_else(|| var("STORMCAST_CACHE_DIR"))
            .or_else(|| var("XDG_CACHE_HOME").filter(|p| p.is_absolute()).map(|p| p.join("stormcast")))
            .or_else(|| var("HOME").map(|home| home.join(".cache").join("stormcast")))?;
        Some(FileStore { dir: root.join("seeds").join(build_id()?) })
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    fn write(&self, key: &str, bytes: &[u8]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let mut file = tempfile::NamedTempFile::new_in(&self.dir)?;
        file.write_all(bytes)?;
        file.persist(self.path(key)).map_err(|e| e.error)?;
        Ok(())
    }
}

/// The first 16 hex digits of the SHA-256 of the running executable: records of one
/// build are never read by another, even when both call themselves the same version
/// (a build from source between releases). `None` if the executable cannot be read.
fn build_id() -> Option<String> {
    let bytes = std::fs::read(std::env::current_exe().ok()?).ok()?;
    Some(Sha256::digest(&bytes).iter().take(8).map(|b| format!("{b:02x}")).collect())
}

impl SeedStore for FileStore {
    fn get(&self, key: &str) -> Option<Vec<u8>> {
        std::fs::read(self.path(key)).ok()
    }

    fn put(&self, key: &str, bytes: &[u8]) {
        // A cache that cannot be written only costs the next run its time.
        let _ = self.write(key, bytes);
    }
}
