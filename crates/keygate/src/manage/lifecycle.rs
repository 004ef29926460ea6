//! The lifecycle operations of [`Keygate`]: the operator's, acting on any key.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::Timestamp;
use crate::event::Event;
use crate::format::{Environment, KeyId};
use crate::gate::Keygate;
use crate::secret::Secret;
use crate::store::{Credits, Cursor, KeyRecord, KeyUpdate, ListQuery, Rotation, StoreError, Usage};

use super::{
    KeyInfo, KeyPage, MAX_DESCRIPTION_LEN, MAX_NAME_LEN, ManageError, MintedKey, NewKey, UsageInfo,
};

/// How many fresh ids to try when one collides (71 random bits: practically never).
const MINT_ATTEMPTS: usize = 3;

impl Keygate {
    /// Mints a key: checks the settings, stores the record and returns the full key once.
    ///
    /// The operator's mint: any owner, scopes and plan, and no cap on the workspace's keys.
    /// A tenant mints through [`acting_for`](Self::acting_for).
    ///
    /// # Errors
    /// A [`ManageError`] naming the setting that is wrong, or the store's failure.
    pub async fn mint(&self, new: NewKey) -> Result<MintedKey, ManageError> {
        self.mint_within(new, None).await
    }

    /// [`mint`](Self::mint), refused at `cap` keys in force in the workspace.
    pub(crate) async fn mint_within(
        &self,
        new: NewKey,
        cap: Option<u64>,
    ) -> Result<MintedKey, ManageError> {
        let preset = self.preset();
        let now = self.now();
        check_name(&new.name)?;
        if let Some(d) = &new.description {
            check_description(d)?;
        }
        preset.policy.validate(&new.scopes)?;
        if new.expires_at.is_some_and(|t| t <= now) {
            return Err(ManageError::ExpiryInPast);
        }
        if let Some(plan) = &new.rate_plan
            && preset.plans.get(plan).is_none()
        {
            return Err(ManageError::UnknownPlan(plan.clone()));
        }
        let environment = new.environment_or(Environment::Live);
        if environment == Environment::Test && !preset.format.has_environments() {
            return Err(ManageError::Environment(Environment::Test));
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (key, record) = self.new_record(&new, environment, now)?;
            let stored = match cap {
                None => self.store().insert(record.clone()).await,
                Some(cap) => self.store().insert_within(record.clone(), cap).await,
            };
            match stored {
                Ok(()) => {
                    tracing::info!(key_id = %record.id, workspace_id = %record.owner.workspace_id, "key minted");
                    self.emit(Event::Minted {
                        key_id: record.id,
                        workspace_id: &record.owner.workspace_id,
                    });
                    return Ok(MintedKey { key, record: Arc::new(record) });
                }
                Err(StoreError::Conflict(_)) if attempt < MINT_ATTEMPTS => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl Keygate {
    /// A fresh key of `environment`: the key, its id, hash and preview.
    fn fresh_key(&self, environment: Environment) -> Result<(Secret, FreshKey), ManageError> {
        let format = &self.preset().format;
        let key = format.generate(environment)?;
        let fresh = match format.parse(key.expose_secret()) {
            Ok(parsed) => {
                let (pepper_version, hash) = self.hasher().hash(parsed.secret());
                let preview = format.preview_of(environment, &parsed.id());
                FreshKey { id: parsed.id(), hash, pepper_version, preview }
            }
            Err(e) => unreachable!("a generated key parses: {e}"),
        };
        Ok((key, fresh))
    }

    /// A fresh key and its record, with the settings of `new`, minted at `now`.
    fn new_record(
        &self,
        new: &NewKey,
        environment: Environment,
        now: Timestamp,
    ) -> Result<(Secret, KeyRecord), ManageError> {
        let (key, fresh) = self.fresh_key(environment)?;
        let record = KeyRecord {
            id: fresh.id,
            hash: fresh.hash,
            pepper_version: fresh.pepper_version,
            preview: fresh.preview,
            owner: new.owner.clone(),
            kind: new.kind,
            environment,
            scopes: new.scopes.clone(),
            name: new.name.clone(),
            description: new.description.clone(),
            created_at: now,
            expires_at: new.expires_at,
            revoked_at: None,
            disabled: false,
            last_used: None,
            rate_plan: new.rate_plan.clone(),
            rate_limits: new.rate_limits.clone(),
            usage: Usage::default(),
            metadata: new.metadata.clone(),
            allowed_ips: new.allowed_ips.clone(),
            credits: new.credits_asked().map(|(remaining, refill)| {
                let start = remaining.or(refill.map(|r| r.amount)).unwrap_or(0);
                match refill {
                    Some(refill) => Credits::new(start).refill(refill, now),
                    None => Credits::new(start),
                }
            }),
        };
        Ok((key, record))
    }
}

/// What a fresh key contributes to its record.
struct FreshKey {
    id: KeyId,
    hash: crate::hash::KeyHash,
    pepper_version: crate::hash::PepperVersion,
    preview: String,
}

fn check_name(name: &str) -> Result<(), ManageError> {
    let len = name.chars().count();
    if len == 0 || len > MAX_NAME_LEN || name.trim().is_empty() {
        return Err(ManageError::Name);
    }
    check_text("name", name)
}

fn check_description(description: &str) -> Result<(), ManageError> {
    if description.chars().count() > MAX_DESCRIPTION_LEN {
        return Err(ManageError::Description);
    }
    check_text("description", description)
}

/// Refuses control characters (C0, DEL, C1) and the Unicode bidirectional controls
/// (Trojan Source, CVE-2021-42574), which would hide or reorder text where people read it.
fn check_text(field: &'static str, text: &str) -> Result<(), ManageError> {
    let bidi = |c: char| matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    if text.chars().any(|c| c.is_control() || bidi(c)) {
        return Err(ManageError::ControlCharacter(field));
    }
    Ok(())
}

impl Keygate {
    pub(crate) fn info(&self, record: &KeyRecord, now: Timestamp) -> KeyInfo {
        let mut usage = record.usage;
        let mut last_used = record.last_used;
        if let Some((count, at)) = self.usage().pending(&record.id) {
            usage.add(count, at);
            last_used = Some(last_used.map_or(at, |t| t.max(at)));
        }
        KeyInfo {
            id: record.id,
            prefix: record.preview.clone(),
            name: record.name.clone(),
            description: record.description.clone(),
            workspace_id: record.owner.workspace_id.clone(),
            user_id: record.owner.user_id.clone(),
            kind: record.kind,
            environment: record.environment,
            scopes: record.scopes.clone(),
            is_active: !record.is_revoked_at(now) && !record.disabled && !record.is_expired_at(now),
            disabled: record.disabled,
            created_at: record.created_at,
            expires_at: record.expires_at,
            revoked_at: record.revoked_at,
            last_used,
            rate_plan: record.rate_plan.clone(),
            rate_limits: record
                .rate_limits
                .as_ref()
                .map(|p| p.windows().to_vec())
                .unwrap_or_default(),
            metadata: record.metadata.clone(),
            allowed_ips: record.allowed_ips.clone(),
            remaining: record.credits.map(|c| c.balance_at(now)),
            refill: record.credits.and_then(|c| c.refill),
            refills_at: record.credits.and_then(|c| c.next_refill_at(now)),
            usage: UsageInfo {
                requests_today: usage.requests_today(now),
                requests_this_month: usage.requests_this_month(now),
            },
            recent_networks: None,
        }
    }

    /// A page of a workspace's keys (or one user's), oldest first, previews only.
    ///
    /// # Errors
    /// The store's failure.
    pub async fn list_keys(
        &self,
        workspace_id: &str,
        user_id: Option<&str>,
        after: Option<Cursor>,
        limit: usize,
    ) -> Result<KeyPage, ManageError> {
        let query = ListQuery {
            workspace_id: workspace_id.to_owned(),
            user_id: user_id.map(str::to_owned),
            environment: None,
            after,
            limit,
        };
        self.list_page(&query).await
    }

    pub(crate) async fn list_page(&self, query: &ListQuery) -> Result<KeyPage, ManageError> {
        let page = self.store().list(query).await?;
        let now = self.now();
        Ok(KeyPage {
            keys: page.records.iter().map(|r| self.info(r, now)).collect(),
            next: page.next,
        })
    }

    /// One key, with its usage and `last_used`.
    ///
    /// # Errors
    /// [`ManageError::NotFound`] for an unknown id; the store's failure.
    pub async fn get_key(&self, id: &KeyId) -> Result<KeyInfo, ManageError> {
        let record = self.store().find(id).await?.ok_or(ManageError::NotFound(*id))?;
        let mut info = self.info(&record, self.now());
        info.recent_networks = Some(self.store().recent_networks(id).await?);
        Ok(info)
    }

    /// Changes a key's name, description, scopes, expiry, disabled flag or plan. Takes effect
    /// on the next verify.
    ///
    /// # Errors
    /// As [`mint`](Self::mint) for bad values; [`ManageError::NotFound`] for an unknown or
    /// revoked key; [`ManageError::KeyExpired`] for an expired one.
    pub async fn update_key(
        &self,
        id: &KeyId,
        mut changes: KeyUpdate,
    ) -> Result<KeyInfo, ManageError> {
        let preset = self.preset();
        let now = self.now();
        if let Some(name) = &changes.name {
            check_name(name)?;
        }
        if let Some(Some(d)) = &changes.description {
            check_description(d)?;
        }
        if let Some(scopes) = &changes.scopes {
            preset.policy.validate(scopes)?;
        }
        if let Some(Some(t)) = changes.expires_at
            && t <= now
        {
            return Err(ManageError::ExpiryInPast);
        }
        if let Some(Some(plan)) = &changes.rate_plan
            && preset.plans.get(plan).is_none()
        {
            return Err(ManageError::UnknownPlan(plan.clone()));
        }
        // The lifecycle rules are checked as of now, in the store's atomic step.
        changes.at = Some(now);
        let record = self.store().update(id, &changes).await?;
        tracing::info!(key_id = %id, "key updated");
        Ok(self.info(&record, now))
    }

    /// Revokes a key now: its next verify fails. A key in a rotation's grace period stops at
    /// once.
    ///
    /// # Errors
    /// [`ManageError::NotFound`] for an unknown or already revoked key; the store's failure.
    pub async fn revoke_key(&self, id: &KeyId) -> Result<KeyInfo, ManageError> {
        let now = self.now();
        let update = KeyUpdate { revoke_at: Some(now), at: Some(now), ..KeyUpdate::default() };
        let record = self.store().update(id, &update).await?;
        tracing::info!(key_id = %id, "key revoked");
        self.emit(Event::Revoked { key_id: *id });
        Ok(self.info(&record, now))
    }

    /// Revokes every key of a workspace, or of one user in it, now. Returns how many changed.
    ///
    /// # Errors
    /// The store's failure.
    pub async fn revoke_all(
        &self,
        workspace_id: &str,
        user_id: Option<&str>,
    ) -> Result<u64, ManageError> {
        let now = self.now();
        let count = self.store().revoke_all(workspace_id, user_id, now).await?;
        tracing::info!(workspace_id, user_id, count, "keys revoked");
        self.emit(Event::RevokedAll { workspace_id, user_id, count });
        Ok(count)
    }

    /// Replaces a key with a new one of the same settings. The old key keeps working for
    /// `grace`, then fails (with a zero grace, at once). Atomic: the settings are copied in the
    /// same store step that retires the old key, there is no moment at which neither key
    /// works, and a key can be rotated only once.
    ///
    /// # Errors
    /// [`ManageError::NotFound`] for an unknown, revoked or already rotated key;
    /// [`ManageError::KeyDisabled`] / [`ManageError::KeyExpired`] for a disabled or expired one;
    /// the store's failure; [`ManageError::Random`] if the OS random number generator fails.
    pub async fn rotate_key(&self, id: &KeyId, grace: Duration) -> Result<MintedKey, ManageError> {
        self.rotate_checked(id, grace, None, |_| Ok(())).await
    }

    /// [`rotate_key`](Self::rotate_key), after `allow` accepts the key as it is read; the
    /// store refuses the rotation if the key's scopes change between that read and the
    /// rotation, and the read and `allow` are tried again.
    pub(crate) async fn rotate_checked(
        &self,
        id: &KeyId,
        grace: Duration,
        cap: Option<u64>,
        allow: impl Fn(&KeyRecord) -> Result<(), ManageError>,
    ) -> Result<MintedKey, ManageError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let old = self.store().find(id).await?.ok_or(ManageError::NotFound(*id))?;
            allow(&old)?;
            let now = self.now();
            let (key, fresh) = self.fresh_key(old.environment)?;
            let rotation = Rotation {
                id: fresh.id,
                hash: fresh.hash,
                pepper_version: fresh.pepper_version,
                preview: fresh.preview,
                environment: old.environment,
                at: now,
                old_revoke_at: now.saturating_add(grace),
                expect_scopes: Some(old.scopes.clone()),
                cap,
            };
            match self.store().rotate(id, &rotation).await {
                Ok(rotated) => {
                    tracing::info!(old = %id, new = %rotation.id, grace_secs = grace.as_secs(), "key rotated");
                    self.emit(Event::Rotated {
                        old: *id,
                        new: rotation.id,
                        old_revoked_at: rotation.old_revoke_at,
                    });
                    return Ok(MintedKey { key, record: rotated.new });
                }
                Err(StoreError::Conflict(_) | StoreError::Changed(_))
                    if attempt < MINT_ATTEMPTS =>
                {
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Keys of any workspace that expire within `within` from now and still work, soonest
    /// first, at most `limit`. Emits an [`Event::ExpiringSoon`] for each, for warnings.
    ///
    /// # Errors
    /// The store's failure.
    pub async fn expiring_soon(
        &self,
        within: Duration,
        limit: usize,
    ) -> Result<Vec<KeyInfo>, ManageError> {
        let now = self.now();
        let records = self.store().expiring(now, now.saturating_add(within), limit).await?;
        let mut keys = Vec::with_capacity(records.len());
        for r in records.iter().filter(|r| !r.disabled) {
            if let Some(expires_at) = r.expires_at {
                tracing::warn!(key_id = %r.id, %expires_at, "key expires soon");
                self.emit(Event::ExpiringSoon {
                    key_id: r.id,
                    workspace_id: &r.owner.workspace_id,
                    expires_at,
                });
            }
            keys.push(self.info(r, now));
        }
        Ok(keys)
    }
}
