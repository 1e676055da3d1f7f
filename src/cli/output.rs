//! Writing a command's files into `--out`: the whole set or none of it, one command at
//! a time per folder, and never through a link found there.
//!
//! A command renders everything it writes into memory first (`OutputFile`s). Then:
//!
//! 1. Before simulating, [`OutDir::open`] creates the folder, checks that a file can be
//!    created in it, and takes an advisory lock on `.stormcast.lock` in it for as long
//!    as the command runs; a second command writing into the same folder is refused
//!    (exit 2) instead of mixing its files with the first's.
//! 2. [`OutDir::write`] writes the whole set into a fresh staging folder inside `--out`
//!    (`.stormcast-tmp-` and a random name, made with `mkdir`, so it cannot already
//!    exist as a link), each file created new (`create_new`: a link is never followed)
//!    and synced. A full disk or any other error here removes the staging folder and
//!    leaves `--out` as it was.
//! 3. It then renames each file over its destination. A rename replaces a link at the
//!    destination rather than writing through it, and the folders are on the same file
//!    system, so each rename is atomic. Before each, the file it replaces is kept as a
//!    hard link in the staging folder; if a rename fails (a folder in the way, a file
//!    system turned read-only), the files already moved are put back (the previous
//!    ones restored, new ones removed).
//!
//! This lives in the binary rather than in `report` because the staging folder's name
//! is random (`tempfile`, from OS entropy), and the library takes nothing from OS
//! entropy; file names do not reach any output.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use stormcast::report::output::OutputFile;

use super::Failure;

/// The file whose advisory lock a command holds while it may write into a folder. It
/// is left in place (empty): were it removed at exit, a command that had just opened it
/// could lock the removed file while a third created and locked a new one.
pub const LOCK_FILE: &str = ".stormcast.lock";

/// The start of a staging folder's name. One left behind by a command that was killed
/// is removed by the next command that locks the folder.
const STAGING_PREFIX: &str = ".stormcast-tmp-";

/// An output folder this command has locked: no other stormcast command writes into it
/// until this one exits.
pub struct OutDir {
    path: PathBuf,
    /// Held for its lock, released when the process exits.
    _lock: Option<File>,
}

impl OutDir {
    /// Creates `dir` if needed, checks that files can be created in it and locks it;
    /// exit 2 with the path named if it cannot be written or another command holds it.
    pub fn open(dir: &Path) -> Result<OutDir, Failure> {
        let refuse = |e: io::Error| {
            Failure::input(format!(
                "error: --out {}: cannot write outputs there: {e}\n  = help: pass a folder that can be created and written, or drop --out",
                dir.display()
            ))
        };
        ensure_writable_dir(dir).map_err(refuse)?;
        let lock = match lock(dir).map_err(refuse)? {
            Lock::Held(file) => Some(file),
            Lock::Unsupported => None,
            Lock::Busy => {
                return Err(Failure::input(format!(
                    "error: --out {}: another stormcast command is writing into this folder (it holds {LOCK_FILE})\n  = help: wait for it to finish, or pass another folder",
                    dir.display()
                )));
            }
        };
        remove_stale_staging(dir);
        Ok(OutDir { path: dir.to_path_buf(), _lock: lock })
    }

    /// Writes `files` into the folder as one set (see the module's documentation), and
    /// tells the Ctrl-C handler how far it got.
    pub fn write(&self, files: &[OutputFile]) -> Result<(), Failure> {
        set_phase(Phase::Staging { interrupted: false });
        let result = write_set(&self.path, files, &start_commit);
        let mut phase = PHASE.lock().unwrap_or_else(PoisonError::into_inner);
        let interrupted =
            matches!(*phase, Phase::Staging { interrupted: true } | Phase::Committing { interrupted: true });
        *phase = if result.is_ok() { Phase::Written } else { Phase::Working };
        drop(phase);
        let dir = self.path.display();
        match result {
            Ok(()) if interrupted => Err(Failure {
                code: 130,
                message: format!("\ninterrupted: the outputs were already being moved into {dir}; they are complete"),
            }),
            Ok(()) => Ok(()),
            Err(SetError::Interrupted) => {
                Err(Failure { code: 130, message: "\ninterrupted: stopped before writing any output".to_string() })
            }
            Err(SetError::Io { name, error, unrestored }) => {
                let outcome = if unrestored.is_empty() {
                    "nothing in it was changed".to_string()
                } else {
                    format!(
                        "the previous {} could not be put back and hold this command's output",
                        unrestored.join(", ")
                    )
                };
                Err(Failure::input(format!("error: --out {dir}: cannot write {name}: {error}; {outcome}")))
            }
        }
    }
}

/// Makes sure outputs can be written into `dir`: creates it (and its parents) if
/// missing, then creates and removes a probe file in it.
///
/// Actually writing is the only reliable test: permission bits do not stop root, and a
/// read-only mount, a full disk or an ACL show only when a file is created. When the
/// nearest existing ancestor of `dir` (or `dir` itself) is not a directory, the error
/// names it, since "Not a directory" alone does not say which part of the path is a
/// file.
fn ensure_writable_dir(dir: &Path) -> io::Result<()> {
    if let Some(existing) = dir.ancestors().filter(|a| !a.as_os_str().is_empty()).find(|a| a.exists())
        && !existing.is_dir()
    {
        return Err(io::Error::new(
            io::ErrorKind::NotADirectory,
            format!("{} is a file, not a directory", existing.display()),
        ));
    }
    fs::create_dir_all(dir)?;
    // Removed when closed; `close` reports a failure to remove it.
    tempfile::Builder::new().prefix(".stormcast-probe-").tempfile_in(dir)?.close()
}

enum Lock {
    Held(File),
    /// Another process holds it.
    Busy,
    /// The platform has no file locks in std (`File::try_lock`); the folder is written
    /// unlocked, still one whole set at a time per command.
    Unsupported,
}

/// Takes the lock of `dir`, creating the lock file if missing.
///
/// The lock file is created only if nothing has its name (`create_new`), and an
/// existing one is opened only if it is a plain file, so a link planted under its name
/// is refused rather than followed: nothing is created outside the folder. (If a link
/// replaced the file between the check and the open, the lock would be taken on the
/// link's target, opened read-only and never written.)
fn lock(dir: &Path) -> io::Result<Lock> {
    let path = dir.join(LOCK_FILE);
    let file = match OpenOptions::new().write(true).create_new(true).open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            if !fs::symlink_metadata(&path)?.is_file() {
                return Err(io::Error::other(format!("{} is not a regular file", path.display())));
            }
            File::open(&path)?
        }
        Err(e) => return Err(e),
    };
    match file.try_lock() {
        Ok(()) => Ok(Lock::Held(file)),
        Err(fs::TryLockError::WouldBlock) => Ok(Lock::Busy),
        Err(fs::TryLockError::Error(e)) if e.kind() == io::ErrorKind::Unsupported => Ok(Lock::Unsupported),
        Err(fs::TryLockError::Error(e)) => Err(e),
    }
}

/// Removes staging folders that a killed command left in `dir`. Only called with the
/// folder locked, so no other command is using one; entries that are not directories
/// (a link named like one) are left alone.
fn remove_stale_staging(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let staging = entry.file_name().to_str().is_some_and(|n| n.starts_with(STAGING_PREFIX));
        if staging && entry.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Why a set of files was not written.
#[derive(Debug)]
enum SetError {
    /// Ctrl-C before any destination was replaced; the staging folder is removed.
    Interrupted,
    /// `name` could not be written (`"the outputs"` when no single file is to blame).
    /// `unrestored` lists the destinations whose previous content could not be put back.
    Io { name: String, error: io::Error, unrestored: Vec<String> },
}

impl SetError {
    fn io(name: &str) -> impl FnOnce(io::Error) -> SetError + '_ {
        move |error| SetError::Io { name: name.to_string(), error, unrestored: Vec::new() }
    }
}

/// Writes `files` into `dir` as one set: staged in a fresh folder inside `dir`, then
/// renamed into place, with the renames undone if one fails. `commit` is asked once,
/// after staging and before the first rename, whether to go on.
fn write_set(dir: &Path, files: &[OutputFile], commit: &dyn Fn() -> bool) -> Result<(), SetError> {
    for f in files {
        assert!(Path::new(&f.name).file_name().is_some_and(|n| *n == *f.name), "output name {:?} is a path", f.name);
    }
    // Removed when dropped: with the staged files on any error, with the previous
    // versions of the replaced files after success.
    let staging =
        tempfile::Builder::new().prefix(STAGING_PREFIX).tempdir_in(dir).map_err(SetError::io("the outputs"))?;
    let (new, old) = (staging.path().join("new"), staging.path().join("old"));
    fs::create_dir(&new).and_then(|()| fs::create_dir(&old)).map_err(SetError::io("the outputs"))?;
    for f in files {
        let mut file =
            OpenOptions::new().write(true).create_new(true).open(new.join(&f.name)).map_err(SetError::io(&f.name))?;
        file.write_all(&f.bytes).and_then(|()| file.sync_all()).map_err(SetError::io(&f.name))?;
    }
    if !commit() {
        return Err(SetError::Interrupted);
    }
    let mut moved: Vec<(&str, Previous)> = Vec::new();
    for f in files {
        let dest = dir.join(&f.name);
        // A link at the destination is kept as a link: hard-linking it links the link.
        let previous = match fs::symlink_metadata(&dest) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Previous::Absent,
            _ if fs::hard_link(&dest, old.join(&f.name)).is_ok() => Previous::Kept,
            _ => Previous::Lost,
        };
        if let Err(error) = fs::rename(new.join(&f.name), &dest) {
            let unrestored = roll_back(dir, &old, &moved);
            return Err(SetError::Io { name: f.name.clone(), error, unrestored });
        }
        moved.push((&f.name, previous));
    }
    Ok(())
}

/// What a destination held before this command's file was renamed over it.
enum Previous {
    Absent,
    /// Hard-linked into the staging folder's `old/`.
    Kept,
    /// Something this command could not keep (no hard links on this file system, or a
    /// folder, over which the rename fails anyway).
    Lost,
}

/// Undoes the renames of `moved`, last first: a destination that was absent is removed,
/// a kept one renamed back. Returns the names that could not be restored.
fn roll_back(dir: &Path, old: &Path, moved: &[(&str, Previous)]) -> Vec<String> {
    let mut unrestored: Vec<String> = moved
        .iter()
        .rev()
        .filter(|(name, previous)| {
            let dest = dir.join(name);
            let restored = match previous {
                Previous::Absent => fs::remove_file(&dest).is_ok(),
                Previous::Kept => fs::rename(old.join(name), &dest).is_ok(),
                Previous::Lost => false,
            };
            !restored
        })
        .map(|(name, _)| name.to_string())
        .collect();
    unrestored.reverse();
    unrestored
}

/// How far the command has got, which decides what Ctrl-C does.
enum Phase {
    /// Simulating or rendering: nothing has been written, so Ctrl-C stops at once.
    Working,
    /// Writing the staging folder: Ctrl-C is noted, and the writer removes the staging
    /// folder and stops before replacing anything.
    Staging { interrupted: bool },
    /// Renaming into place: Ctrl-C is noted, and the writer finishes the renames (a few
    /// microseconds each) rather than leave the folder with half a set, then stops.
    Committing { interrupted: bool },
    /// The set is in place.
    Written,
}

static PHASE: Mutex<Phase> = Mutex::new(Phase::Working);

fn set_phase(phase: Phase) {
    *PHASE.lock().unwrap_or_else(PoisonError::into_inner) = phase;
}

/// Moves from staging to committing, unless Ctrl-C came first. One lock, so Ctrl-C is
/// either seen here or noted for after the renames, never lost in between.
fn start_commit() -> bool {
    let mut phase = PHASE.lock().unwrap_or_else(PoisonError::into_inner);
    if matches!(*phase, Phase::Staging { interrupted: true }) {
        return false;
    }
    *phase = Phase::Committing { interrupted: false };
    true
}

/// The Ctrl-C handler: stops at once unless outputs are being written (then the writer
/// stops when the folder is whole again), and says honestly whether outputs were
/// written. Exit code 130, as a shell reports a command killed by SIGINT.
pub fn on_interrupt() {
    let mut phase = PHASE.lock().unwrap_or_else(PoisonError::into_inner);
    match &mut *phase {
        Phase::Working => {
            eprintln!("\ninterrupted: stopped before writing any output");
            std::process::exit(130);
        }
        Phase::Staging { interrupted } | Phase::Committing { interrupted } => *interrupted = true,
        Phase::Written => {
            eprintln!("\ninterrupted: the outputs were written whole before stopping");
            std::process::exit(130);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A missing folder is created and left empty; a file, or a path through a file, is
    /// refused with the file named, and left alone.
    #[test]
    fn writable_dirs_are_created_and_files_refused() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        ensure_writable_dir(&dir).unwrap();
        assert!(dir.is_dir());
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0, "the probe is removed");
        let file = root.path().join("file");
        fs::write(&file, "x").unwrap();
        for bad in [file.clone(), file.join("out"), file.join("out/deeper")] {
            let e = ensure_writable_dir(&bad).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::NotADirectory, "{bad:?}");
            assert_eq!(e.to_string(), format!("{} is a file, not a directory", file.display()));
        }
        assert_eq!(fs::read_to_string(&file).unwrap(), "x");
    }

    fn files(tag: &str) -> Vec<OutputFile> {
        ["a.json", "b.csv", "c.png"].iter().map(|n| OutputFile::new(*n, format!("{n} {tag}"))).collect()
    }

    /// The names in `dir`, sorted.
    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn a_set_replaces_the_previous_one_and_leaves_no_staging() {
        let dir = tempfile::tempdir().unwrap();
        write_set(dir.path(), &files("one"), &|| true).unwrap();
        write_set(dir.path(), &files("two"), &|| true).unwrap();
        assert_eq!(listing(dir.path()), ["a.json", "b.csv", "c.png"]);
        assert_eq!(fs::read_to_string(dir.path().join("b.csv")).unwrap(), "b.csv two");
    }

    /// Ctrl-C while staging: nothing in the folder changes and the staging is removed.
    #[test]
    fn an_interrupt_before_the_renames_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        write_set(dir.path(), &files("one"), &|| true).unwrap();
        assert!(matches!(write_set(dir.path(), &files("two"), &|| false), Err(SetError::Interrupted)));
        assert_eq!(listing(dir.path()), ["a.json", "b.csv", "c.png"]);
        for f in files("one") {
            assert_eq!(fs::read(dir.path().join(&f.name)).unwrap(), f.bytes);
        }
    }

    /// A rename that fails half-way (a folder where the last file goes) puts back the
    /// files already moved: the previous ones restored, new ones removed.
    #[test]
    fn a_failed_rename_rolls_the_set_back() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.json"), "a.json before").unwrap();
        fs::create_dir(dir.path().join("c.png")).unwrap();
        let Err(SetError::Io { name, unrestored, .. }) = write_set(dir.path(), &files("new"), &|| true) else {
            panic!("a folder in the way must fail the set");
        };
        assert_eq!((name.as_str(), unrestored.len()), ("c.png", 0));
        assert_eq!(listing(dir.path()), ["a.json", "c.png"]);
        assert_eq!(fs::read_to_string(dir.path().join("a.json")).unwrap(), "a.json before");
        assert!(dir.path().join("c.png").is_dir());
    }

    /// A link at a destination is replaced by the file, never written through, and a
    /// rollback restores the link itself.
    #[test]
    #[cfg(unix)]
    fn links_at_destinations_are_replaced_or_restored_not_followed() {
        let root = tempfile::tempdir().unwrap();
        let (dir, victim) = (root.path().join("out"), root.path().join("victim.txt"));
        fs::create_dir(&dir).unwrap();
        fs::write(&victim, "victim").unwrap();
        std::os::unix::fs::symlink(&victim, dir.join("a.json")).unwrap();
        fs::create_dir(dir.join("c.png")).unwrap();
        assert!(write_set(&dir, &files("new"), &|| true).is_err());
        assert!(fs::symlink_metadata(dir.join("a.json")).unwrap().file_type().is_symlink(), "the link is put back");
        fs::remove_dir(dir.join("c.png")).unwrap();
        write_set(&dir, &files("new"), &|| true).unwrap();
        assert!(fs::symlink_metadata(dir.join("a.json")).unwrap().is_file());
        assert_eq!(fs::read_to_string(dir.join("a.json")).unwrap(), "a.json new");
        assert_eq!(fs::read_to_string(&victim).unwrap(), "victim");
    }

    /// A second lock on a folder is refused while the first is held, and a link named
    /// like the lock file is refused, not followed.
    #[test]
    fn a_locked_folder_and_a_planted_lock_link_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("out");
        let first = OutDir::open(&dir).unwrap_or_else(|f| panic!("{}", f.message));
        let second = OutDir::open(&dir).err().expect("the folder is locked");
        assert!(second.message.contains("another stormcast command is writing into this folder"), "{}", second.message);
        drop(first);
        OutDir::open(&dir).unwrap_or_else(|f| panic!("{}", f.message));
        #[cfg(unix)]
        {
            let other = root.path().join("other");
            fs::create_dir(&other).unwrap();
            std::os::unix::fs::symlink(root.path().join("elsewhere.lock"), other.join(LOCK_FILE)).unwrap();
            let refused = OutDir::open(&other).err().expect("a planted link is refused");
            assert!(refused.message.contains("is not a regular file"), "{}", refused.message);
            assert!(!root.path().join("elsewhere.lock").exists(), "nothing created through the link");
        }
    }

    /// A staging folder left by a killed command is removed when the folder is next
    /// locked.
    #[test]
    fn stale_staging_is_removed_under_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let stale = dir.path().join(format!("{STAGING_PREFIX}killed"));
        fs::create_dir_all(stale.join("new")).unwrap();
        fs::write(stale.join("new/a.json"), "half").unwrap();
        let _out = OutDir::open(dir.path()).unwrap_or_else(|f| panic!("{}", f.message));
        assert_eq!(listing(dir.path()), [LOCK_FILE]);
    }

    /// Ctrl-C while staging is noted and stops the renames before the first; during the
    /// renames it is noted and they go on. (The only test that sets the process-wide
    /// phase; `Working` would exit the test process.)
    #[test]
    fn ctrl_c_while_writing_is_noted_not_fatal() {
        set_phase(Phase::Staging { interrupted: false });
        on_interrupt();
        assert!(!start_commit(), "interrupted while staging: nothing is renamed");
        set_phase(Phase::Staging { interrupted: false });
        assert!(start_commit());
        on_interrupt();
        assert!(matches!(*PHASE.lock().unwrap(), Phase::Committing { interrupted: true }));
        set_phase(Phase::Working);
    }
}
