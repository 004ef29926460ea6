//! The admin key: minted at start, or kept in a file (`--admin-key-file`) so that a persistent
//! store holds one admin key across starts instead of a new one per start.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use keygate::error::AuthError;
use keygate::manage::NewKey;
use keygate::store::{KeyKind, Owner};
use keygate::{Keygate, Secret};

use crate::DEMO_WORKSPACE;

/// A new key of the demo's workspace holding every scope of the preset.
pub(crate) async fn mint(gate: &Keygate) -> Result<Secret, String> {
    let admin = NewKey::new(Owner::workspace(DEMO_WORKSPACE), "demo admin")
        .scope_set(gate.preset().policy.full_access())
        .kind(KeyKind::Service);
    Ok(gate.mint(admin).await.map_err(|e| format!("cannot mint the admin key: {e}"))?.key)
}

/// The admin key kept in `path` while it still verifies as the demo's admin key; otherwise a
/// new one, written to `path` (mode 0600) before it is returned.
///
/// # Errors
/// The file cannot be read or written, or the store cannot say whether the key verifies (a
/// key is minted only when the old one is known to be unusable).
pub(crate) async fn load_or_mint(gate: &Keygate, path: &Path) -> Result<Secret, String> {
    let shown = path.display();
    match std::fs::read_to_string(path) {
        Ok(mut text) => {
            let end = text.trim_end().len();
            text.truncate(end);
            let key = Secret::new(text);
            if is_admin(gate, &key)
                .await
                .map_err(|e| format!("cannot check the admin key in {shown}: {e}"))?
            {
                warn_if_readable_by_others(path);
                tracing::info!(file = %shown, "reusing the admin key from its file");
                return Ok(key);
            }
            tracing::info!(file = %shown, "the admin key in its file no longer verifies; minting one");
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::info!(file = %shown, "no admin key file yet; minting one");
        }
        Err(e) => return Err(format!("cannot read the admin key file {shown}: {e}")),
    }
    // The file is opened before the key is minted, so that an unwritable place mints nothing.
    let (mut file, temporary) = create_private(path)
        .map_err(|e| format!("cannot write the admin key file {shown}: {e}"))?;
    let key = mint(gate).await?;
    let written = writeln!(file, "{}", key.expose_secret())
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&temporary, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(format!("cannot write the admin key file {shown}: {e}"));
    }
    Ok(key)
}

/// Whether `key` verifies as a key of the demo's workspace holding every scope of the preset.
/// A store that cannot answer is an error, not a no.
async fn is_admin(gate: &Keygate, key: &Secret) -> Result<bool, AuthError> {
    let principal = match gate.verify(key.expose_secret()).await {
        Ok(p) => p,
        Err(e @ AuthError::Unavailable(_)) => return Err(e),
        Err(_) => return Ok(false),
    };
    let policy = &gate.preset().policy;
    Ok(principal.workspace_id() == DEMO_WORKSPACE
        && policy.full_access().iter().all(|s| policy.grants(principal.scopes(), s)))
}

/// A new file beside `path`, readable by its owner only, to be renamed over `path` once
/// written: a reader of `path` never sees half a key.
fn create_private(path: &Path) -> std::io::Result<(File, PathBuf)> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.new"));
    // One left by a start that died is ours; removed, so that the file made now has our mode.
    let _ = std::fs::remove_file(&temporary);
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    Ok((options.open(&temporary)?, temporary))
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(
                file = %path.display(),
                "the admin key file can be read by other users; chmod 600 it"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}
