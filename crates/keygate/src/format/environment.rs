//! Live or test keys.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Whether a key is for production or for testing (`sk_live_` / `sk_test_`).
///
/// ```
/// use keygate::format::{Environment, KeyFormat};
///
/// let format = KeyFormat::builder("sk").environments("live", "test").build()?;
/// assert_eq!(format.prefix(Environment::Test), "sk_test_");
/// assert_eq!("test".parse::<Environment>()?, Environment::Test);
/// assert_eq!(Environment::Live.to_string(), "live");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Environment {
    /// Production keys, and keys of formats that have no environment segment.
    Live,
    /// Test keys.
    Test,
}

impl Environment {
    /// `"live"` or `"test"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Live => "live",
            Environment::Test => "test",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Environment {
    type Err = UnknownEnvironment;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "live" => Ok(Environment::Live),
            "test" => Ok(Environment::Test),
            _ => Err(UnknownEnvironment),
        }
    }
}

/// The text is neither `live` nor `test`.
///
/// ```
/// use keygate::format::{Environment, UnknownEnvironment};
///
/// assert_eq!("production".parse::<Environment>(), Err(UnknownEnvironment));
/// assert_eq!("Live".parse::<Environment>(), Err(UnknownEnvironment));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment must be `live` or `test`")]
pub struct UnknownEnvironment;
