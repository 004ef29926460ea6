//! A key's metadata: a small JSON object the service reads on every request.

use std::fmt;

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

/// The most bytes a key's metadata may take, written as compact JSON.
pub const MAX_METADATA_LEN: usize = 4096;

/// A JSON object of at most [`MAX_METADATA_LEN`] bytes (as compact JSON) carried by a key:
/// a customer id, a tier, feature flags. The service reads it from
/// [`Principal::metadata`](crate::Principal::metadata) on every request, without I/O.
///
/// ```
/// use keygate::store::Metadata;
///
/// let metadata = Metadata::parse(r#"{"customer": "cus_42", "beta": true}"#)?;
/// assert_eq!(metadata.get("customer").and_then(|v| v.as_str()), Some("cus_42"));
/// assert_eq!(metadata.as_json(), r#"{"beta":true,"customer":"cus_42"}"#);
/// assert!(Metadata::parse("[1, 2]").is_err()); // not an object
/// assert!(Metadata::parse(&format!(r#"{{"a":"{}"}}"#, "x".repeat(5000))).is_err()); // too big
/// # Ok::<(), keygate::store::MetadataError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Metadata {
    object: Map<String, Value>,
    json: Box<str>,
}

/// Why a value cannot be a key's metadata.
///
/// ```
/// use keygate::store::{Metadata, MetadataError};
///
/// assert_eq!(Metadata::parse("3"), Err(MetadataError::NotAnObject));
/// assert_eq!(Metadata::parse("{"), Err(MetadataError::NotJson));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// The text is not JSON.
    #[error("metadata is not valid JSON")]
    NotJson,
    /// The value is JSON, but not an object.
    #[error("metadata must be a JSON object")]
    NotAnObject,
    /// The object takes more than [`MAX_METADATA_LEN`] bytes as compact JSON.
    #[error("metadata must be at most {MAX_METADATA_LEN} bytes as compact JSON")]
    TooLarge,
}

impl Metadata {
    /// Metadata holding `object`.
    ///
    /// # Errors
    /// [`MetadataError::TooLarge`] past [`MAX_METADATA_LEN`] bytes.
    pub fn new(object: Map<String, Value>) -> Result<Self, MetadataError> {
        let json = serde_json::to_string(&object).map_err(|_| MetadataError::NotJson)?;
        if json.len() > MAX_METADATA_LEN {
            return Err(MetadataError::TooLarge);
        }
        Ok(Metadata { object, json: json.into_boxed_str() })
    }

    /// Metadata read from JSON text (as a store keeps it).
    ///
    /// # Errors
    /// [`MetadataError::NotJson`], [`MetadataError::NotAnObject`] or
    /// [`MetadataError::TooLarge`].
    pub fn parse(json: &str) -> Result<Self, MetadataError> {
        let value: Value = serde_json::from_str(json).map_err(|_| MetadataError::NotJson)?;
        Self::try_from(value)
    }

    /// The object.
    pub fn as_object(&self) -> &Map<String, Value> {
        &self.object
    }

    /// The value of one member.
    pub fn get(&self, member: &str) -> Option<&Value> {
        self.object.get(member)
    }

    /// The object as compact JSON, members in sorted order: what a store writes.
    pub fn as_json(&self) -> &str {
        &self.json
    }
}

impl TryFrom<Value> for Metadata {
    type Error = MetadataError;

    fn try_from(value: Value) -> Result<Self, MetadataError> {
        match value {
            Value::Object(object) => Metadata::new(object),
            _ => Err(MetadataError::NotAnObject),
        }
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.json)
    }
}

impl Serialize for Metadata {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.object.serialize(s)
    }
}
