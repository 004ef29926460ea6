//! The bodies of management requests, read by serde types: unknown and repeated fields are
//! refused, and every error names the field at fault.

use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;

use serde::{Deserialize, Deserializer};

use crate::caller::Caller;
use crate::clock::Timestamp;
use crate::limit::{RatePlan, Window};
use crate::manage::NewKey;
use crate::response::RequestProblem;
use crate::scope::ScopeSet;
use crate::store::{Cursor, KeyUpdate, Metadata, Owner, Refill, RefillInterval};

use super::MAX_GRACE;
use super::handlers::sentence;

/// `POST /v1/api-keys`. The scope list is read as `scopes` or `permissions`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = NewApiKey))]
pub(super) struct MintBody {
    /// Required: 1 to 200 characters.
    #[cfg_attr(feature = "openapi", schema(required, value_type = String))]
    name: Option<String>,
    #[serde(alias = "permissions")]
    scopes: Option<Vec<String>>,
    /// At most 2000 characters.
    description: Option<String>,
    /// RFC 3339, in the future.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    expires_at: Option<String>,
    /// `live` or `test`.
    environment: Option<String>,
    /// `user` or `service`.
    kind: Option<String>,
    /// The operator's to set, unless the deployment lets tenants set it.
    rate_plan: Option<String>,
    /// Windows of the key's own, such as `10/s` and `1000/h`, which limit it instead of its
    /// plan's: always the operator's to set (403 `field_not_allowed` for a tenant).
    rate_limits: Option<Vec<String>>,
    /// A JSON object of at most 4096 bytes, returned with the key.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    metadata: Option<serde_json::Value>,
    /// CIDRs such as `203.0.113.0/24`: the key is refused from any other address.
    allowed_ips: Option<Vec<String>>,
    /// Credits: each request spends one; absent for unlimited.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    remaining: Option<u64>,
    /// Sets the balance to `amount` every day, or every month on `day` (1 to 28, default 1).
    refill: Option<RefillBody>,
}

/// `PATCH /v1/api-keys/{id}`: an absent field is left as it is, `null` clears it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ApiKeyChanges))]
pub(super) struct PatchBody {
    #[serde(default, deserialize_with = "present")]
    name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    description: Option<Option<String>>,
    #[serde(alias = "permissions")]
    scopes: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    expires_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    disabled: Option<Option<bool>>,
    #[serde(default, deserialize_with = "present")]
    rate_plan: Option<Option<String>>,
    /// Windows of the key's own; `null` or `[]` returns it to its plan's.
    #[serde(default, deserialize_with = "present")]
    rate_limits: Option<Option<Vec<String>>>,
    /// A JSON object of at most 4096 bytes; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    metadata: Option<Option<serde_json::Value>>,
    /// CIDRs; `null` or `[]` allows every address.
    #[serde(default, deserialize_with = "present")]
    allowed_ips: Option<Option<Vec<String>>>,
    /// A new balance of credits; `null` makes the key unlimited.
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    remaining: Option<Option<u64>>,
    /// A new refill; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    refill: Option<Option<RefillBody>>,
}

/// A refill of a key's credits: `{"interval": "daily" | "monthly", "amount": N}`, with `day`
/// (1 to 28, default 1) for a monthly one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Refill))]
pub(super) struct RefillBody {
    /// `daily` or `monthly`.
    interval: String,
    /// The balance after each refill.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    amount: u64,
    /// The day of the month of a monthly refill: 1 to 28.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 28))]
    day: Option<u8>,
}

/// `POST /v1/api-keys/{id}/rotate`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Rotation))]
pub(super) struct RotateBody {
    /// How long the old key keeps working: 0 (the default) to 2592000 (30 days).
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 2_592_000))]
    grace_period_seconds: Option<u64>,
}

/// A field that is present, `null` or not: `Some(None)` for `null`.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// What a field of the wrong type is told.
fn expected(field: &str) -> String {
    match field {
        "scopes" | "permissions" => format!("{field} must be a list of strings."),
        "disabled" => "disabled must be true or false.".into(),
        "grace_period_seconds" => GRACE_RANGE.into(),
        "expires_at" => EXPIRES_AT_FORMAT.into(),
        "allowed_ips" => "allowed_ips must be a list of CIDRs such as 203.0.113.0/24.".into(),
        "rate_limits" => WINDOWS_SHAPE.into(),
        "remaining" => REMAINING_SHAPE.into(),
        "refill" => REFILL_SHAPE.into(),
        f => format!("{f} must be a string."),
    }
}

const GRACE_RANGE: &str =
    "grace_period_seconds must be a whole number from 0 to 2592000 (30 days).";
const EXPIRES_AT_FORMAT: &str = "expires_at must be an RFC 3339 time such as 2026-10-14T00:00:00Z.";

/// The body read as `T`; a 400 naming the field at fault otherwise.
pub(super) fn body<'de, T: Deserialize<'de>>(
    bytes: &'de [u8],
    scopes_field: &str,
) -> Result<T, RequestProblem> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(RequestProblem::bad_body("The body must be a JSON object."));
    }
    let not_json = |e: serde_json::Error| {
        RequestProblem::bad_body(format!("The body is not valid JSON: {e}."))
    };
    let mut json = serde_json::Deserializer::from_slice(bytes);
    let value: Result<T, _> = serde_path_to_error::deserialize(&mut json);
    if value.is_ok() {
        json.end().map_err(not_json)?;
    }
    value.map_err(|e| {
        let field = match e.path().iter().next() {
            Some(serde_path_to_error::Segment::Map { key }) => Some(key.clone()),
            _ => None,
        };
        let inner = e.into_inner();
        if !inner.is_data() {
            return not_json(inner);
        }
        let text = inner.to_string();
        // serde's own wording: "unknown field `x`, expected …", "duplicate field `x`".
        let quoted = text.split('`').nth(1).map(|f| f.chars().take(64).collect::<String>());
        if text.starts_with("unknown field")
            && let Some(f) = quoted
        {
            return RequestProblem::invalid(&f, format!("Unknown field `{f}`."));
        }
        if text.starts_with("duplicate field")
            && let Some(f) = quoted
        {
            let f = if f == "scopes" { scopes_field.to_owned() } else { f };
            return RequestProblem::invalid(&f, format!("The field `{f}` appears more than once."));
        }
        match field {
            Some(f) => {
                let f: String = f.chars().take(64).collect();
                let message = expected(&f);
                RequestProblem::invalid(&f, message)
            }
            None => RequestProblem::bad_body("The body must be a JSON object."),
        }
    })
}

/// [`body`], with an empty body read as `{}`.
pub(super) fn body_or_empty<'de, T: Deserialize<'de> + Default>(
    bytes: &'de [u8],
    scopes_field: &str,
) -> Result<T, RequestProblem> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    body(bytes, scopes_field)
}

const REMAINING_SHAPE: &str = "remaining must be a whole number of credits, 0 or more.";
const REFILL_SHAPE: &str = "refill must be {\"interval\": \"daily\" or \"monthly\", \"amount\": a whole number, \"day\": 1 to 28 (monthly only)}.";

fn refill_field(body: RefillBody) -> Result<Refill, RequestProblem> {
    let interval = match (body.interval.as_str(), body.day) {
        ("daily", None) => Some(RefillInterval::Daily),
        ("monthly", day) => RefillInterval::monthly(day.unwrap_or(1)),
        _ => None,
    };
    let interval = interval.ok_or_else(|| RequestProblem::invalid("refill", REFILL_SHAPE))?;
    Ok(Refill { interval, amount: body.amount })
}

const METADATA_SHAPE: &str = "metadata must be a JSON object of at most 4096 bytes.";

fn metadata_field(value: serde_json::Value) -> Result<Metadata, RequestProblem> {
    Metadata::try_from(value).map_err(|_| RequestProblem::invalid("metadata", METADATA_SHAPE))
}

/// The most networks a key may name.
const MAX_ALLOWED_IPS: usize = 100;

/// CIDRs (`203.0.113.0/24`, `2001:db8::/32`) or single addresses, each kept as its network.
fn networks_field(texts: &[String]) -> Result<Vec<IpNet>, RequestProblem> {
    if texts.len() > MAX_ALLOWED_IPS {
        let message = format!("allowed_ips holds at most {MAX_ALLOWED_IPS} networks.");
        return Err(RequestProblem::invalid("allowed_ips", message));
    }
    texts
        .iter()
        .map(|text| {
            let net = text.parse::<IpNet>().or_else(|_| text.parse::<IpAddr>().map(IpNet::from));
            net.map(|n| n.trunc()).map_err(|_| {
                let shown: String = text.chars().take(64).collect();
                let shown = serde_json::Value::from(shown);
                RequestProblem::invalid(
                    "allowed_ips",
                    format!("{shown} is not a CIDR such as 203.0.113.0/24."),
                )
            })
        })
        .collect()
}

const WINDOWS_SHAPE: &str = "rate_limits must be a list of windows such as 10/s or 1000/h.";

/// The most windows of its own a key may carry.
const MAX_KEY_WINDOWS: usize = 4;

/// The longest window of a key's own: 366 days.
const MAX_KEY_WINDOW: Duration = Duration::from_secs(366 * 86_400);

/// A key's own windows (`10/s`, `1000/h`); none for its plan's.
fn windows_field(texts: &[String]) -> Result<Option<RatePlan>, RequestProblem> {
    if texts.len() > MAX_KEY_WINDOWS {
        let message = format!("rate_limits holds at most {MAX_KEY_WINDOWS} windows.");
        return Err(RequestProblem::invalid("rate_limits", message));
    }
    let windows = texts
        .iter()
        .map(|text| {
            text.parse::<Window>().ok().filter(|w| w.period() <= MAX_KEY_WINDOW).ok_or_else(|| {
                let shown: String = text.chars().take(64).collect();
                let shown = serde_json::Value::from(shown);
                let message =
                    format!("{shown} is not a window such as 10/s or 1000/h (at most 366 days).");
                RequestProblem::invalid("rate_limits", message)
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((!windows.is_empty()).then(|| RatePlan::of_key(windows)))
}

fn time_field(field: &str, text: &str) -> Result<Timestamp, RequestProblem> {
    Timestamp::parse_rfc3339(text).map_err(|_| RequestProblem::invalid(field, EXPIRES_AT_FORMAT))
}

fn parsed<T: std::str::FromStr>(
    field: &str,
    text: &str,
    message: &str,
) -> Result<T, RequestProblem> {
    text.parse().map_err(|_| RequestProblem::invalid(field, message))
}

fn scope_set(field: &str, texts: &[String]) -> Result<ScopeSet, RequestProblem> {
    ScopeSet::parse(texts).map_err(|e| RequestProblem::invalid(field, sentence(&e)))
}

pub(super) fn grace_from(body: RotateBody) -> Result<Duration, RequestProblem> {
    let grace = Duration::from_secs(body.grace_period_seconds.unwrap_or(0));
    if grace > MAX_GRACE {
        return Err(RequestProblem::invalid("grace_period_seconds", GRACE_RANGE));
    }
    Ok(grace)
}

pub(super) fn parse_cursor(text: &str) -> Option<Cursor> {
    let (ms, id) = text.split_once('.')?;
    Some(Cursor { created_at: Timestamp::from_unix_millis(ms.parse().ok()?), id: id.parse().ok()? })
}

pub(super) fn new_key(
    body: MintBody,
    caller: &Caller,
    field: &str,
) -> Result<NewKey, RequestProblem> {
    let name = body.name.ok_or_else(|| RequestProblem::invalid("name", "name is required."))?;
    let scopes = body.scopes.map(|s| scope_set(field, &s)).transpose()?.unwrap_or_default();
    let owner = Owner {
        workspace_id: caller.workspace_id().to_owned(),
        user_id: caller.user_id().map(str::to_owned),
    };
    let mut new = NewKey::new(owner, name).scope_set(scopes);
    if let Some(d) = body.description {
        new = new.description(d);
    }
    if let Some(t) = body.expires_at.as_deref().map(|t| time_field("expires_at", t)) {
        new = new.expires_at(t?);
    }
    if let Some(env) = body.environment {
        new =
            new.environment(parsed("environment", &env, "environment must be `live` or `test`.")?);
    }
    if let Some(kind) = body.kind {
        new = new.kind(parsed("kind", &kind, "kind must be `user` or `service`.")?);
    }
    if let Some(plan) = body.rate_plan {
        new = new.rate_plan(plan);
    }
    if let Some(plan) = body.rate_limits.map(|w| windows_field(&w)).transpose()?.flatten() {
        new = new.rate_limits(plan.windows().iter().copied());
    }
    if let Some(nets) = body.allowed_ips {
        new = new.allowed_ips(networks_field(&nets)?);
    }
    if let Some(metadata) = body.metadata {
        new = new.metadata(metadata_field(metadata)?);
    }
    if let Some(remaining) = body.remaining {
        new = new.remaining(remaining);
    }
    if let Some(refill) = body.refill {
        new = new.refill(refill_field(refill)?);
    }
    Ok(new)
}

pub(super) fn changes(body: PatchBody, field: &str) -> Result<KeyUpdate, RequestProblem> {
    let name = body
        .name
        .map(|n| n.ok_or_else(|| RequestProblem::invalid("name", "name must be a string.")))
        .transpose()?;
    let expires_at =
        body.expires_at.map(|t| t.map(|t| time_field("expires_at", &t)).transpose()).transpose()?;
    let disabled = body
        .disabled
        .map(|d| {
            d.ok_or_else(|| RequestProblem::invalid("disabled", "disabled must be true or false."))
        })
        .transpose()?;
    Ok(KeyUpdate {
        name,
        description: body.description,
        scopes: body.scopes.map(|s| scope_set(field, &s)).transpose()?,
        expires_at,
        disabled,
        rate_plan: body.rate_plan,
        rate_limits: body.rate_limits.map(|w| windows_field(&w.unwrap_or_default())).transpose()?,
        metadata: body.metadata.map(|m| m.map(metadata_field).transpose()).transpose()?,
        allowed_ips: body
            .allowed_ips
            .map(|nets| networks_field(&nets.unwrap_or_default()))
            .transpose()?,
        remaining: body.remaining,
        refill: body.refill.map(|r| r.map(refill_field).transpose()).transpose()?,
        ..KeyUpdate::default()
    })
}
