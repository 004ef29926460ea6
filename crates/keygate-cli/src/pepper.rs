//! The pepper: read from `KEYGATE_PEPPER` or `--pepper-file`, or made by `init`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use keygate::Secret;
use keygate::format::BASE62;
use keygate::hash::Pepper;
use rand::TryRng;
use rand::rngs::SysRng;

use crate::output::Failure;

/// Characters of a new pepper: 43 base62 characters carry 256 bits.
const PEPPER_CHARS: usize = 43;

/// The pepper text from `KEYGATE_PEPPER`, else from `file`; `None` when neither is given.
///
/// # Errors
/// Both are given, the file cannot be read, other users can read it, or the text is not a
/// pepper.
pub(crate) fn read(file: Option<&Path>) -> Result<Option<Secret>, Failure> {
    let env = match std::env::var("KEYGATE_PEPPER") {
        Ok(text) => Some(text),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(Failure::msg("KEYGATE_PEPPER is not valid UTF-8"));
        }
    };
    let text = match (env, file) {
        (Some(_), Some(_)) => {
            return Err(Failure::msg("both KEYGATE_PEPPER and --pepper-file are set; use one"));
        }
        (Some(text), None) => Secret::new(text),
        (None, Some(path)) => read_file(path)?,
        (None, None) => return Ok(None),
    };
    if let Err(e) = Pepper::new(text.expose_secret().as_bytes().to_vec()) {
        return Err(Failure::msg(format!("the pepper is not usable: {e}")));
    }
    Ok(Some(text))
}

/// The pepper, required: for commands that hash keys.
pub(crate) fn require(file: Option<&Path>, what: &str) -> Result<Pepper, Failure> {
    let text = read(file)?.ok_or_else(|| {
        Failure::msg(format!(
            "{what} needs the pepper the service uses: set KEYGATE_PEPPER or --pepper-file"
        ))
    })?;
    to_pepper(&text)
}

pub(crate) fn to_pepper(text: &Secret) -> Result<Pepper, Failure> {
    Pepper::new(text.expose_secret().as_bytes().to_vec())
        .map_err(|e| Failure::msg(format!("the pepper is not usable: {e}")))
}

fn read_file(path: &Path) -> Result<Secret, Failure> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::msg(format!("cannot read the pepper file {shown}: {e}")))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| Failure::msg(format!("cannot read the pepper file {shown}: {e}")))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(Failure::msg(format!(
                "the pepper file {shown} can be read by other users (mode {:o}); chmod 600 it",
                mode & 0o777
            )));
        }
    }
    let line = text.strip_suffix('\n').unwrap_or(&text);
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.contains('\n') {
        return Err(Failure::msg(format!("the pepper file {shown} holds more than one line")));
    }
    Ok(Secret::new(line.to_owned()))
}

/// A new pepper: 256 bits from the OS CSPRNG, as base62 text.
pub(crate) fn generate() -> Result<Secret, Failure> {
    let mut text = String::with_capacity(PEPPER_CHARS);
    let mut buf = [0u8; 64];
    while text.len() < PEPPER_CHARS {
        SysRng
            .try_fill_bytes(&mut buf)
            .map_err(|e| Failure::msg(format!("the OS random number generator failed: {e}")))?;
        // Rejection sampling: 248 = 4 * 62, so every accepted byte maps to a uniform digit.
        for &b in buf.iter().filter(|&&b| b < 248).take(PEPPER_CHARS - text.len()) {
            text.push(char::from(BASE62[usize::from(b % 62)]));
        }
    }
    buf.fill(0);
    Ok(Secret::new(text))
}

/// Creates `path` readable by its owner only; an existing file is never replaced.
pub(crate) fn create_private(path: &Path) -> Result<File, Failure> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(|e| {
        let shown = path.display();
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Failure::msg(format!("{shown} already exists; keygate never overwrites it"))
        } else {
            Failure::msg(format!("cannot create {shown}: {e}"))
        }
    })
}

/// Writes `line` and a newline into `file`, made by [`create_private`] for `path`.
pub(crate) fn write_line(mut file: File, path: &Path, line: &str) -> Result<(), Failure> {
    writeln!(file, "{line}")
        .and_then(|()| file.sync_all())
        .map_err(|e| Failure::msg(format!("cannot write {}: {e}", path.display())))
}
