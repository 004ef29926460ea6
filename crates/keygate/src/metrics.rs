//! [`MetricsSink`]: an [`EventSink`] that feeds the [`metrics`] crate (feature `metrics`).
//!
//! | metric | kind | labels | counts |
//! | --- | --- | --- | --- |
//! | `keygate_authentications_total` | counter | `outcome`, `code` | every authentication: `verified`/`ok`, `failed`/the reason (`missing`, `unknown_id`, `expired`…), `rate_limited`/`rate_limited`, `throttled`/`throttled` |
//! | `keygate_rate_limited_total` | counter | | requests refused by a key's rate plan |
//! | `keygate_throttled_total` | counter | | requests refused by the failed-authentication throttle |
//! | `keygate_verify_duration_seconds` | histogram | `verified` (`true`/`false`) | time to check a presented key |
//! | `keygate_store_errors_total` | counter | `operation` (`find`, `manage`) | the key store could not answer |
//! | `keygate_limiter_errors_total` | counter | `failed_open` (`true`/`false`) | the rate limiter could not decide |
//! | `keygate_keys_minted_total`, `keygate_keys_revoked_total`, `keygate_keys_rotated_total` | counter | | key management |
//! | `keygate_new_networks_total` | counter | | keys used from a network new to them |
//!
//! Labels never hold key ids, addresses or secrets, so their number stays small.
//!
//! The sink records into the process's global recorder, or into the one given to
//! [`MetricsSink::with_recorder`] (a process serving several gates, or a test).
//!
//! ```
//! use std::sync::Arc;
//! use keygate::{Keygate, metrics::MetricsSink, preset::Preset};
//!
//! // Install any `metrics` recorder (a Prometheus exporter, say) first.
//! let gate = Keygate::builder(Preset::livetest())
//!     .random_pepper()
//!     .events(Arc::new(MetricsSink::new()))
//!     .build()?;
//! # let _ = gate;
//! # Ok::<(), keygate::BuildError>(())
//! ```

use std::fmt;
use std::sync::Arc;

use ::metrics::{Recorder, counter, histogram};

use crate::event::{Event, EventSink};

/// Counts [`Event`]s as `metrics` counters and histograms (see the [module](self) for the
/// names).
#[derive(Clone, Default)]
pub struct MetricsSink {
    recorder: Option<Arc<dyn Recorder + Send + Sync>>,
    /// With an own recorder, the handles of what every verified request records, registered
    /// once: a lookup by name and labels per request is most of what a sink costs.
    hot: std::sync::OnceLock<Hot>,
}

/// The metrics every verified request records.
#[derive(Clone)]
struct Hot {
    verified: ::metrics::Counter,
    checked: [::metrics::Histogram; 2],
}

impl Hot {
    fn new() -> Self {
        Hot {
            verified: counter!(AUTHENTICATIONS, "outcome" => "verified", "code" => "ok"),
            checked: [
                histogram!(VERIFY_DURATION, "verified" => "false"),
                histogram!(VERIFY_DURATION, "verified" => "true"),
            ],
        }
    }
}

impl fmt::Debug for MetricsSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsSink").field("own_recorder", &self.recorder.is_some()).finish()
    }
}

impl MetricsSink {
    /// A sink recording into the global recorder (`metrics::set_global_recorder`).
    pub fn new() -> Self {
        MetricsSink { recorder: None, hot: std::sync::OnceLock::new() }
    }

    /// A sink recording into `recorder` instead of the global one.
    ///
    /// The metrics every verified request records (the `verified` count and the check-time
    /// histograms) are registered with `recorder` once, at the first such request, and the
    /// handles kept: a recorder that drops metrics left idle (a Prometheus exporter with an
    /// `idle_timeout`) would drop them for good. With such a recorder, install it globally and
    /// use [`MetricsSink::new`], which looks every metric up at each event.
    pub fn with_recorder(recorder: Arc<dyn Recorder + Send + Sync>) -> Self {
        MetricsSink { recorder: Some(recorder), hot: std::sync::OnceLock::new() }
    }
}

impl EventSink for MetricsSink {
    fn on_event(&self, event: &Event<'_>) {
        match &self.recorder {
            // The global recorder may be installed, or a local one set, after the sink is made:
            // its metrics are looked up at each event.
            None => record(event),
            Some(recorder) => {
                let hot = || {
                    self.hot
                        .get_or_init(|| ::metrics::with_local_recorder(recorder.as_ref(), Hot::new))
                };
                match event {
                    Event::Verified { .. } => hot().verified.increment(1),
                    Event::Checked { elapsed, verified } => {
                        hot().checked[usize::from(*verified)].record(elapsed.as_secs_f64());
                    }
                    _ => ::metrics::with_local_recorder(recorder.as_ref(), || record(event)),
                }
            }
        }
    }
}

const AUTHENTICATIONS: &str = "keygate_authentications_total";
const VERIFY_DURATION: &str = "keygate_verify_duration_seconds";

fn record(event: &Event<'_>) {
    match event {
        Event::Verified { .. } => {
            counter!(AUTHENTICATIONS, "outcome" => "verified", "code" => "ok").increment(1);
        }
        Event::Failed { reason, .. } => {
            counter!(AUTHENTICATIONS, "outcome" => "failed", "code" => *reason).increment(1);
        }
        Event::RateLimited { key_id: Some(_), .. } => {
            counter!(AUTHENTICATIONS, "outcome" => "rate_limited", "code" => "rate_limited")
                .increment(1);
            counter!("keygate_rate_limited_total").increment(1);
        }
        Event::RateLimited { key_id: None, .. } => {
            counter!(AUTHENTICATIONS, "outcome" => "throttled", "code" => "throttled").increment(1);
            counter!("keygate_throttled_total").increment(1);
        }
        Event::Checked { elapsed, verified } => {
            let verified = if *verified { "true" } else { "false" };
            histogram!(VERIFY_DURATION, "verified" => verified).record(elapsed.as_secs_f64());
        }
        Event::StoreUnavailable { operation } => {
            counter!("keygate_store_errors_total", "operation" => *operation).increment(1);
        }
        Event::LimiterUnavailable { failed_open, .. } => {
            let open = if *failed_open { "true" } else { "false" };
            counter!("keygate_limiter_errors_total", "failed_open" => open).increment(1);
        }
        Event::Minted { .. } => counter!("keygate_keys_minted_total").increment(1),
        Event::Revoked { .. } => counter!("keygate_keys_revoked_total").increment(1),
        Event::RevokedAll { count, .. } => counter!("keygate_keys_revoked_total").increment(*count),
        Event::Rotated { .. } => counter!("keygate_keys_rotated_total").increment(1),
        Event::NewNetwork { .. } => counter!("keygate_new_networks_total").increment(1),
        Event::UnknownPepperVersion { .. } | Event::ExpiringSoon { .. } => {}
    }
}
