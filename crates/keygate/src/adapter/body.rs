//! A request body read up to a cap.

/// Largest request body the management API reads.
pub const MAX_BODY_LEN: usize = 64 * 1024;

/// A request body read up to one byte past [`MAX_BODY_LEN`]: enough for
/// [`Keygate::handle_api`](crate::Keygate::handle_api) to answer 413, without reading a huge body to the end. Adapters feed
/// it the chunks their framework yields until [`push`](Self::push) says it is full.
///
/// ```
/// use keygate::adapter::{CappedBody, MAX_BODY_LEN};
///
/// let mut body = CappedBody::new();
/// assert!(body.push(br#"{"name":"#));
/// assert!(body.push(br#""ci"}"#));
/// assert_eq!(body.as_bytes(), br#"{"name":"ci"}"#);
/// // Past the cap, reading can stop: one byte more than the cap is kept, for the 413.
/// assert!(!body.push(&vec![b' '; MAX_BODY_LEN]));
/// assert_eq!(body.as_bytes().len(), MAX_BODY_LEN + 1);
/// ```
#[derive(Debug, Default)]
pub struct CappedBody(Vec<u8>);

impl CappedBody {
    /// An empty body.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends what fits of `chunk`; returns `false` once the body is over the cap and
    /// reading can stop.
    pub fn push(&mut self, chunk: &[u8]) -> bool {
        let room = (MAX_BODY_LEN + 1).saturating_sub(self.0.len());
        self.0.extend_from_slice(&chunk[..chunk.len().min(room)]);
        self.0.len() <= MAX_BODY_LEN
    }

    /// The bytes read.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}
