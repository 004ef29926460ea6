//! The checksum codec: CRC32 (IEEE) as 6 base62 digits, most significant first.

use super::{BASE62, CHECKSUM_LEN};

/// The checksum of `text`: CRC32 (IEEE) written as 6 base62 digits, most significant first.
///
/// ```
/// assert_eq!(keygate::format::checksum("sk_live_"), "2pFfUd");
/// ```
pub fn checksum(text: &str) -> String {
    let digits = encode_checksum(crc32fast::hash(text.as_bytes()));
    digits.iter().map(|&b| char::from(b)).collect()
}

pub(super) fn push_checksum(text: &mut String) {
    for b in encode_checksum(crc32fast::hash(text.as_bytes())) {
        text.push(char::from(b));
    }
}

pub(super) fn encode_checksum(mut crc: u32) -> [u8; CHECKSUM_LEN] {
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(crc % 62) as usize];
        crc /= 62;
    }
    out
}

/// The value of 6 base62 digits, if it fits in 32 bits. The digits are known to be base62.
pub(super) fn decode_checksum(digits: &[u8]) -> Option<u32> {
    let value = digits.iter().fold(0u64, |acc, &b| {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'A'..=b'Z' => b - b'A' + 10,
            _ => b.wrapping_sub(b'a').wrapping_add(36),
        };
        acc * 62 + u64::from(digit)
    });
    u32::try_from(value).ok()
}
