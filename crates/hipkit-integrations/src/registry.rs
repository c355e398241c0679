//! The integrations folder: which names exist, and how each runs. Only names found here can
//! be called; a request never names a path. `NAME.py` is a Python integration; any other
//! executable file is one under its name without extension (`deploy` or `deploy.sh` →
//! `/deploy`). Hidden files, folders and invalid names are skipped; `NAME.py` wins over an
//! executable of the same name.

use crate::tokens::valid_name;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// How an integration runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `NAME.py` with `run_integration(...)`, in a warm Python host.
    Python,
    /// An executable run per call.
    Executable,
}

/// One integration of the folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its command name.
    pub name: String,
    /// The file.
    pub path: PathBuf,
    /// How it runs.
    pub kind: Kind,
    /// Size and modification time when scanned (a change reloads it).
    pub stamp: (u64, Option<SystemTime>),
}

/// Why the folder cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the integrations folder {}: {source}", path.display())]
pub struct ScanError {
    /// The folder.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: std::io::Error,
}

/// Lists the folder's integrations by name.
pub fn scan(dir: &Path) -> Result<BTreeMap<String, Entry>, ScanError> {
    let fail = |source| ScanError {
        path: dir.to_path_buf(),
        source,
    };
    let mut found = BTreeMap::new();
    for item in std::fs::read_dir(dir).map_err(fail)? {
        let Ok(item) = item else { continue };
        let path = item.path();
        let Some(file) = path.file_name().and_then(|f| f.to_str()) else {
            continue;
        };
        if file.starts_with('.') {
            continue;
        }
        // Follows symlinks: linking a script into the folder is the operator's choice.
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let (name, kind) = match file.strip_suffix(".py") {
            Some(stem) => (stem, Kind::Python),
            None if meta.permissions().mode() & 0o111 != 0 => {
                (file.split('.').next().unwrap_or(file), Kind::Executable)
            }
            None => continue,
        };
        if !valid_name(name) {
            continue;
        }
        let entry = Entry {
            name: name.to_owned(),
            path: path.clone(),
            kind,
            stamp: (meta.len(), meta.modified().ok()),
        };
        match found.get(name) {
            Some(Entry {
                kind: Kind::Python, ..
            }) => {}
            _ => {
                found.insert(name.to_owned(), entry);
            }
        }
    }
    Ok(found)
}

/// Names that were added, changed or removed between two scans.
pub fn changed(old: &BTreeMap<String, Entry>, new: &BTreeMap<String, Entry>) -> Vec<String> {
    let mut names: Vec<String> = old
        .iter()
        .filter(|(name, entry)| new.get(*name) != Some(entry))
        .map(|(name, _)| name.clone())
        .collect();
    names.extend(new.keys().filter(|n| !old.contains_key(*n)).cloned());
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, mode: u32) {
        let path = dir.join(name);
        std::fs::write(&path, "x").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn names_and_kinds() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "echo.py", 0o644);
        write(d, "deploy.sh", 0o755);
        write(d, "echo", 0o755);
        write(d, "notes.txt", 0o644);
        write(d, ".hidden.py", 0o644);
        write(d, "bad name.py", 0o644);
        std::fs::create_dir(d.join("sub.py")).unwrap();
        let found = scan(d).unwrap();
        assert_eq!(found.keys().collect::<Vec<_>>(), ["deploy", "echo"]);
        assert_eq!(found["echo"].kind, Kind::Python);
        assert_eq!(found["deploy"].kind, Kind::Executable);
        let mut later = found.clone();
        later.remove("deploy");
        assert_eq!(changed(&found, &later), ["deploy"]);
        assert_eq!(changed(&later, &found), ["deploy"]);
    }
}
