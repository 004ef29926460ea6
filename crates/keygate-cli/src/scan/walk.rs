//! Which files a scan reads, and reading one.

use std::fs::File;
use std::path::Path;

use super::Input;
use super::find::{self, Formats, Hit, Scanned};

/// Directories never walked into.
const SKIPPED_DIRS: [&str; 1] = [".git"];

/// What became of one input.
#[derive(Debug)]
pub(crate) enum Outcome {
    Hits(Vec<Hit>),
    /// Binary, or larger than `--max-size`.
    Skipped,
    Failed(String),
}

/// Adds `path` (a file, or every file under a directory) to `inputs`, in name order. Inside a
/// directory, symbolic links and `.git` are skipped; a path named on the command line is
/// followed even if it is a link.
///
/// # Errors
/// `path` cannot be read; one line. An unreadable entry deeper down is reported as it is met,
/// counted in `errors`, and the walk goes on.
pub(crate) fn collect(
    path: &Path,
    inputs: &mut Vec<Input>,
    errors: &mut usize,
) -> Result<(), String> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if meta.is_dir() {
        walk(path, inputs, errors)
    } else {
        inputs.push(Input::File(path.to_owned()));
        Ok(())
    }
}

fn walk(dir: &Path, inputs: &mut Vec<Input>, errors: &mut usize) -> Result<(), String> {
    let listing =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut entries = Vec::new();
    for entry in listing {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        entries.push(entry);
    }
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let kind = match entry.file_type() {
            Ok(kind) => kind,
            Err(e) => {
                super::report::error(&format!("cannot read {}: {e}", path.display()));
                *errors += 1;
                continue;
            }
        };
        if kind.is_dir() {
            if SKIPPED_DIRS.iter().any(|s| entry.file_name() == *s) {
                continue;
            }
            if let Err(e) = walk(&path, inputs, errors) {
                super::report::error(&e);
                *errors += 1;
            }
        } else if kind.is_file() {
            inputs.push(Input::File(path));
        }
    }
    Ok(())
}

/// Reads one input and finds its keys. A file over `max_size` bytes or holding a NUL near
/// its start is skipped; stdin is read whole, however long.
pub(crate) fn scan_input(
    formats: &Formats,
    input: &Input,
    max_size: u64,
    keep_keys: bool,
    buf: &mut Vec<u8>,
    progress: impl FnMut(usize),
) -> Outcome {
    let scanned = match input {
        Input::Stdin => {
            find::scan(formats, &mut std::io::stdin().lock(), false, keep_keys, buf, progress)
        }
        Input::File(path) => {
            let file = match File::open(path) {
                Ok(f) => f,
                Err(e) => return Outcome::Failed(format!("cannot read {}: {e}", path.display())),
            };
            match file.metadata() {
                Ok(m) if m.len() > max_size => return Outcome::Skipped,
                Ok(_) => {}
                Err(e) => return Outcome::Failed(format!("cannot read {}: {e}", path.display())),
            }
            // At most one byte more than allowed is read, even from a file that grows.
            let mut limited = std::io::Read::take(file, max_size.saturating_add(1));
            find::scan(formats, &mut limited, true, keep_keys, buf, progress)
        }
    };
    match scanned {
        Ok(Scanned::Hits(hits)) => Outcome::Hits(hits),
        Ok(Scanned::Binary) => Outcome::Skipped,
        Err(e) => Outcome::Failed(format!("cannot read {}: {e}", input.name())),
    }
}
