//! kubectl's `duration.HumanDuration` (the AGE column's `8m35s`, `3h4m`, `12d`), for tables the
//! engine builds itself; server-side tables carry their own AGE cells.

/// kubectl's human-readable duration.
pub fn human_duration(d: time::Duration) -> String {
    let seconds = d.whole_seconds();
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 { format!("{minutes}m") } else { format!("{minutes}m{s}s") };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 { format!("{hours}h") } else { format!("{hours}h{m}m") };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 { format!("{}d", hours / 24) } else { format!("{}d{h}h", hours / 24) };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let days = (hours / 24) % 365;
        return if days == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{days}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

#[cfg(test)]
mod tests {
    use super::human_duration;
    use time::Duration;

    #[test]
    fn matches_kubectl() {
        for (d, want) in [
            (Duration::seconds(-5), "<invalid>"),
            (Duration::milliseconds(-1500), "0s"),
            (Duration::seconds(119), "119s"),
            (Duration::seconds(515), "8m35s"),
            (Duration::seconds(600), "10m"),
            (Duration::minutes(179), "179m"),
            (Duration::minutes(185), "3h5m"),
            (Duration::hours(5), "5h"),
            (Duration::hours(30), "30h"),
            (Duration::hours(75), "3d3h"),
            (Duration::days(30), "30d"),
            (Duration::days(800), "2y70d"),
            (Duration::days(365 * 9), "9y"),
        ] {
            assert_eq!(human_duration(d), want, "{d}");
        }
    }
}
