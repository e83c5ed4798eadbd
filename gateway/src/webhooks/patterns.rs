//! Which events a subscription wants: type patterns (`command.*`, `cluster.disconnected`, `*`)
//! and optional clusters, turned into the filter subjects of its consumer on the events stream
//! (`kubently.events.<category>.<name>.<cluster>`), so the server only hands it what it wants.

use std::collections::BTreeSet;

use kubently_shared::names::{Names, validate_cluster_id};
use kubently_shared::protocol::EventType;

/// Most filter subjects one subscription may have (patterns × clusters).
pub const MAX_FILTERS: usize = 256;

/// Every pattern a subscription may use, for error messages and docs.
pub fn allowed_patterns() -> Vec<String> {
    let mut all = vec!["*".to_string()];
    let categories: BTreeSet<&str> =
        EventType::ALL.iter().filter_map(|t| t.as_str().split_once('.').map(|(c, _)| c)).collect();
    all.extend(categories.into_iter().map(|c| format!("{c}.*")));
    all.extend(EventType::ALL.iter().map(|t| t.as_str().to_string()));
    all
}

/// Checks and normalises patterns: unknown ones are refused with the allowed list; patterns
/// another one covers are dropped (the server refuses overlapping filters).
pub fn normalise(patterns: &[String]) -> Result<Vec<String>, (usize, String)> {
    if patterns.is_empty() {
        return Err((
            0,
            format!("at least one event pattern is required; allowed: {}", allowed_patterns().join(", ")),
        ));
    }
    let allowed = allowed_patterns();
    for (i, p) in patterns.iter().enumerate() {
        if !allowed.contains(p) {
            return Err((i, format!("unknown event pattern `{p}`; allowed: {}", allowed.join(", "))));
        }
    }
    if patterns.iter().any(|p| p == "*") {
        return Ok(vec!["*".into()]);
    }
    let wildcards: BTreeSet<&str> = patterns.iter().filter_map(|p| p.strip_suffix(".*")).collect();
    let kept: BTreeSet<String> = patterns
        .iter()
        .filter(|p| p.ends_with(".*") || !p.split_once('.').is_some_and(|(c, _)| wildcards.contains(c)))
        .cloned()
        .collect();
    Ok(kept.into_iter().collect())
}

/// Checks and de-duplicates cluster ids (empty = every cluster).
pub fn normalise_clusters(clusters: &[String]) -> Result<Vec<String>, (usize, String)> {
    for (i, c) in clusters.iter().enumerate() {
        validate_cluster_id(c).map_err(|e| (i, e))?;
    }
    Ok(clusters.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect())
}

/// A subscription that would need more consumer filters than NATS allows.
#[derive(Debug, thiserror::Error)]
#[error(
    "{patterns} patterns × {clusters} clusters is more than {MAX_FILTERS} filters; subscribe with a wildcard pattern or fewer clusters"
)]
pub struct TooManyFilters {
    pub patterns: usize,
    pub clusters: usize,
}

/// The consumer's filter subjects for normalised `patterns` and `clusters`.
pub fn filter_subjects(
    names: &Names,
    patterns: &[String],
    clusters: &[String],
) -> Result<Vec<String>, TooManyFilters> {
    let types: Vec<String> =
        patterns.iter().map(|p| if p == "*" { "*.*".to_string() } else { p.clone() }).collect();
    let clusters: Vec<&str> =
        if clusters.is_empty() { vec!["*"] } else { clusters.iter().map(String::as_str).collect() };
    if types.len() * clusters.len() > MAX_FILTERS {
        return Err(TooManyFilters { patterns: types.len(), clusters: clusters.len() });
    }
    Ok(types.iter().flat_map(|t| clusters.iter().map(move |c| names.event_filter(t, c))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn patterns_are_checked_and_covered_ones_dropped() {
        assert_eq!(
            normalise(&strings(&["command.*", "command.failed", "cluster.disconnected"])).expect("ok"),
            strings(&["cluster.disconnected", "command.*"])
        );
        assert_eq!(normalise(&strings(&["session.created", "*"])).expect("ok"), strings(&["*"]));
        let (i, msg) = normalise(&strings(&["command.*", "command.exploded"])).expect_err("unknown");
        assert_eq!(i, 1);
        assert!(msg.contains("command.exploded") && msg.contains("cluster.connected"), "{msg}");
        assert!(normalise(&[]).is_err());
    }

    #[test]
    fn filters_cross_types_and_clusters() {
        let names = Names::with_prefix("P").expect("prefix");
        assert_eq!(
            filter_subjects(&names, &strings(&["*"]), &[]).expect("ok"),
            strings(&["P.kubently.events.*.*.*"])
        );
        assert_eq!(
            filter_subjects(
                &Names::default(),
                &strings(&["command.*", "cluster.disconnected"]),
                &strings(&["a", "b"])
            )
            .expect("ok"),
            strings(&[
                "kubently.events.command.*.a",
                "kubently.events.command.*.b",
                "kubently.events.cluster.disconnected.a",
                "kubently.events.cluster.disconnected.b"
            ])
        );
        let many: Vec<String> = (0..300).map(|i| format!("c{i}")).collect();
        assert!(
            filter_subjects(&names, &strings(&["*"]), &many)
                .expect_err("too many")
                .to_string()
                .contains("256")
        );
    }

    #[test]
    fn clusters_are_validated() {
        assert_eq!(normalise_clusters(&strings(&["b", "a", "b"])).expect("ok"), strings(&["a", "b"]));
        assert_eq!(normalise_clusters(&strings(&["ok", "Not_OK"])).expect_err("bad").0, 1);
    }
}
