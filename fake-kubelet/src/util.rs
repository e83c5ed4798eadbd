//! Small pure helpers: time formatting, deterministic hashing, Kubernetes quantities.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use time::{Duration, OffsetDateTime, UtcOffset};

/// `2026-11-21T17:00:00Z`: the wire format of `metav1.Time` (seconds precision).
pub(crate) fn k8s_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `2026-11-21T17:00:00.123456Z`: the wire format of `metav1.MicroTime`.
pub(crate) fn k8s_micro_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// `2026-11-21T17:00:00.123456789Z`: the kubelet's fixed-width RFC3339Nano log timestamp.
pub(crate) fn rfc3339_nano_fixed(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond()
    )
}

/// `21/Nov/2026:17:00:00 +0000`: nginx's `$time_local` (in UTC).
pub(crate) fn nginx_access_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    let month = t.month().to_string();
    format!(
        "{:02}/{}/{:04}:{:02}:{:02}:{:02} +0000",
        t.day(),
        month.get(..3).unwrap_or(&month),
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `2026/11/21 17:00:00`: nginx's error-log time.
pub(crate) fn nginx_error_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}/{:02}/{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// A `metav1.Time` as an [`OffsetDateTime`].
pub(crate) fn from_k8s_time(t: &Time) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(t.0.as_nanosecond()).ok()
}

/// Whole seconds, rounded down (what a `metav1.Time` round trip keeps).
pub(crate) fn truncate_to_second(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

/// `a` minus `b`, never negative.
pub(crate) fn elapsed(from: OffsetDateTime, to: OffsetDateTime) -> Duration {
    (to - from).max(Duration::ZERO)
}

/// FNV-1a over the parts (with a separator), finished with a splitmix64 round.
pub(crate) fn hash64(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    splitmix64(h)
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// `len` lowercase hex digits derived deterministically from `parts`.
pub(crate) fn hex_digest(parts: &[&str], len: usize) -> String {
    let mut state = hash64(parts);
    let mut out = String::with_capacity(len + 16);
    while out.len() < len {
        state = splitmix64(state);
        out.push_str(&format!("{state:016x}"));
    }
    out.truncate(len);
    out
}

/// A UUID-shaped deterministic id (`8-4-4-4-12` hex).
pub(crate) fn uuid_like(parts: &[&str]) -> String {
    let h = hex_digest(parts, 32);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn formats_times_like_kubernetes() {
        let t = datetime!(2026-11-21 17:00:00.123456789 UTC);
        assert_eq!(k8s_time(t), "2026-11-21T17:00:00Z");
        assert_eq!(k8s_micro_time(t), "2026-11-21T17:00:00.123456Z");
        assert_eq!(rfc3339_nano_fixed(t), "2026-11-21T17:00:00.123456789Z");
        assert_eq!(rfc3339_nano_fixed(datetime!(2026-11-21 17:00:00 UTC)), "2026-11-21T17:00:00.000000000Z");
        assert_eq!(nginx_access_time(t), "21/Nov/2026:17:00:00 +0000");
        assert_eq!(nginx_error_time(t), "2026/11/21 17:00:00");
    }

    #[test]
    fn digests_are_deterministic_and_sized() {
        let a = hex_digest(&["pod", "uid"], 64);
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(a, hex_digest(&["pod", "uid"], 64));
        assert_ne!(a, hex_digest(&["pod", "uid2"], 64));
        assert_ne!(hex_digest(&["ab", "c"], 16), hex_digest(&["a", "bc"], 16));
        assert_eq!(uuid_like(&["n"]).len(), 36);
    }
}
