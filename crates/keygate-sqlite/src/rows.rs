//! A row of `keygate_keys` and a [`KeyRecord`], each made from the other.

use ipnet::IpNet;
use keygate::clock::Timestamp;
use keygate::format::{Environment, KeyId};
use keygate::hash::KeyHash;
use keygate::limit::{RatePlan, windows_from_text, windows_to_text};
use keygate::scope::ScopeSet;
use keygate::store::{Credits, KeyKind, KeyRecord, Metadata, Owner, StoreError, Usage};
use sqlx::Sqlite;
use sqlx::query::Query;
use sqlx::sqlite::SqliteArguments;

/// The columns of a record, in the order [`KeyRow::bind`] binds them.
pub(crate) const COLUMNS: &str = "id, hash, pepper_version, preview, workspace_id, user_id, kind, environment, \
    scopes, name, description, created_at, expires_at, revoked_at, disabled, last_used, rate_plan, \
    usage_day, usage_today, usage_month, usage_this_month, metadata, allowed_ips, \
    credits_remaining, credits_refill, credits_refills_at, rate_limits";

/// One row of `keygate_keys`, as SQLite holds it: times in milliseconds since the epoch, counts
/// as `INTEGER`, kinds and environments by name, scopes as a JSON array of strings.
#[derive(sqlx::FromRow)]
pub(crate) struct KeyRow {
    id: String,
    hash: Vec<u8>,
    pepper_version: i64,
    preview: String,
    workspace_id: String,
    user_id: Option<String>,
    kind: String,
    environment: String,
    scopes: String,
    name: String,
    description: Option<String>,
    created_at: i64,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
    disabled: bool,
    last_used: Option<i64>,
    rate_plan: Option<String>,
    usage_day: i64,
    usage_today: i64,
    usage_month: i64,
    usage_this_month: i64,
    metadata: Option<String>,
    allowed_ips: String,
    credits_remaining: Option<i64>,
    credits_refill: Option<String>,
    credits_refills_at: Option<i64>,
    rate_limits: Option<String>,
}

impl KeyRow {
    /// The row that stores `r`.
    pub(crate) fn of(r: &KeyRecord) -> KeyRow {
        let scopes: Vec<&str> = r.scopes.iter().map(|s| s.as_str()).collect();
        KeyRow {
            id: r.id.as_str().to_owned(),
            hash: r.hash.as_bytes().to_vec(),
            pepper_version: i64::from(r.pepper_version),
            preview: r.preview.clone(),
            workspace_id: r.owner.workspace_id.clone(),
            user_id: r.owner.user_id.clone(),
            kind: r.kind.as_str().to_owned(),
            environment: r.environment.as_str().to_owned(),
            // A list of strings always serializes.
            scopes: serde_json::to_string(&scopes).unwrap_or_else(|_| "[]".to_owned()),
            name: r.name.clone(),
            description: r.description.clone(),
            created_at: r.created_at.unix_millis(),
            expires_at: r.expires_at.map(Timestamp::unix_millis),
            revoked_at: r.revoked_at.map(Timestamp::unix_millis),
            disabled: r.disabled,
            last_used: r.last_used.map(Timestamp::unix_millis),
            rate_plan: r.rate_plan.clone(),
            usage_day: r.usage.day,
            usage_today: count_to_db(r.usage.today),
            usage_month: r.usage.month,
            usage_this_month: count_to_db(r.usage.this_month),
            metadata: r.metadata.as_ref().map(|m| m.as_json().to_owned()),
            // A list of strings always serializes.
            allowed_ips: serde_json::to_string(
                &r.allowed_ips.iter().map(ToString::to_string).collect::<Vec<_>>(),
            )
            .unwrap_or_else(|_| "[]".to_owned()),
            credits_remaining: r.credits.map(|c| count_to_db(c.remaining)),
            credits_refill: r.credits.and_then(|c| c.refill).map(|f| f.to_string()),
            credits_refills_at: r.credits.and_then(|c| c.refills_at).map(Timestamp::unix_millis),
            rate_limits: r.rate_limits.as_ref().map(|p| windows_to_text(p.windows())),
        }
    }

    /// Binds the row's values to `query` as `?1` to `?27`, in the order of [`COLUMNS`].
    pub(crate) fn bind<'q>(
        self,
        query: Query<'q, Sqlite, SqliteArguments<'q>>,
    ) -> Query<'q, Sqlite, SqliteArguments<'q>> {
        query
            .bind(self.id)
            .bind(self.hash)
            .bind(self.pepper_version)
            .bind(self.preview)
            .bind(self.workspace_id)
            .bind(self.user_id)
            .bind(self.kind)
            .bind(self.environment)
            .bind(self.scopes)
            .bind(self.name)
            .bind(self.description)
            .bind(self.created_at)
            .bind(self.expires_at)
            .bind(self.revoked_at)
            .bind(self.disabled)
            .bind(self.last_used)
            .bind(self.rate_plan)
            .bind(self.usage_day)
            .bind(self.usage_today)
            .bind(self.usage_month)
            .bind(self.usage_this_month)
            .bind(self.metadata)
            .bind(self.allowed_ips)
            .bind(self.credits_remaining)
            .bind(self.credits_refill)
            .bind(self.credits_refills_at)
            .bind(self.rate_limits)
    }

    /// The record this row stores. A value no record can hold (a row changed behind the
    /// store's back) is an error naming the column, never a panic, and never the row's values.
    pub(crate) fn into_record(self) -> Result<KeyRecord, StoreError> {
        let hash: [u8; 32] = self.hash.try_into().map_err(|_| corrupt("hash"))?;
        let scopes: Vec<String> =
            serde_json::from_str(&self.scopes).map_err(|_| corrupt("scope list"))?;
        let mut record = KeyRecord::new(
            KeyId::from_raw(&self.id).map_err(|_| corrupt("id"))?,
            KeyHash::from_bytes(hash),
            u16::try_from(self.pepper_version).map_err(|_| corrupt("pepper version"))?,
            self.preview,
            Owner { workspace_id: self.workspace_id, user_id: self.user_id },
            self.environment.parse::<Environment>().map_err(|_| corrupt("environment"))?,
            Timestamp::from_unix_millis(self.created_at),
        );
        record.kind = self.kind.parse::<KeyKind>().map_err(|_| corrupt("kind"))?;
        record.scopes = ScopeSet::parse(scopes).map_err(|_| corrupt("scope"))?;
        record.name = self.name;
        record.description = self.description;
        record.expires_at = self.expires_at.map(Timestamp::from_unix_millis);
        record.revoked_at = self.revoked_at.map(Timestamp::from_unix_millis);
        record.disabled = self.disabled;
        record.last_used = self.last_used.map(Timestamp::from_unix_millis);
        record.rate_plan = self.rate_plan;
        record.rate_limits = self
            .rate_limits
            .as_deref()
            .map(windows_from_text)
            .transpose()
            .map_err(|_| corrupt("rate-limit window"))?
            .filter(|w| !w.is_empty())
            .map(RatePlan::of_key);
        record.usage = Usage {
            day: self.usage_day,
            today: count_from_db(self.usage_today),
            month: self.usage_month,
            this_month: count_from_db(self.usage_this_month),
        };
        record.metadata = self
            .metadata
            .as_deref()
            .map(Metadata::parse)
            .transpose()
            .map_err(|_| corrupt("metadata"))?;
        record.allowed_ips = serde_json::from_str::<Vec<String>>(&self.allowed_ips)
            .map_err(|_| corrupt("network list"))?
            .iter()
            .map(|n| n.parse::<IpNet>())
            .collect::<Result<_, _>>()
            .map_err(|_| corrupt("network"))?;
        record.credits = credits_from_db(
            self.credits_remaining,
            self.credits_refill.as_deref(),
            self.credits_refills_at,
        )?;
        Ok(record)
    }
}

/// A key's credits from their three columns; `None` for an unlimited key.
pub(crate) fn credits_from_db(
    remaining: Option<i64>,
    refill: Option<&str>,
    refills_at: Option<i64>,
) -> Result<Option<Credits>, StoreError> {
    let Some(remaining) = remaining else { return Ok(None) };
    let remaining = u64::try_from(remaining).map_err(|_| corrupt("credit balance"))?;
    let refill = refill.map(str::parse).transpose().map_err(|_| corrupt("refill"))?;
    Ok(Some(Credits { remaining, refill, refills_at: refills_at.map(Timestamp::from_unix_millis) }))
}

/// A count as an `INTEGER`; past `i64::MAX` it stays there.
pub(crate) fn count_to_db(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// An `INTEGER` count; a negative one (never written by the store) is 0.
pub(crate) fn count_from_db(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Other(format!("a key row has an invalid {what}").into())
}
