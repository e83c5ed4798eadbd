//! Kubernetes quantities (`250m`, `12345n`, `64Mi`, `1.5Gi`, `1e3`) as plain numbers, for the
//! node's capacity, pod QoS and memory limits.
//!
//! The same parser as `kubently_executor::engine::quantity::parse`, kept here so the fake kubelet
//! stays a standalone program that does not link the executor. The harness's unit tests check that
//! the two agree.

/// A Kubernetes quantity (`500m`, `1.5Gi`, `2e3`, `128974848`) as a plain number.
pub fn parse(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .map_or(text.len(), |(i, _)| i);
    let (number, suffix) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0_f64.powi(2),
        "Gi" => 1024.0_f64.powi(3),
        "Ti" => 1024.0_f64.powi(4),
        "Pi" => 1024.0_f64.powi(5),
        "Ei" => 1024.0_f64.powi(6),
        exp if exp.starts_with(['e', 'E']) => 10f64.powi(exp[1..].parse::<i32>().ok()?),
        _ => return None,
    };
    Some(value * factor)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn quantities_parse_like_kubernetes() {
        assert_eq!(parse("500m"), Some(0.5));
        assert_eq!(parse("2"), Some(2.0));
        assert_eq!(parse("128Mi"), Some(134_217_728.0));
        assert_eq!(parse("1G"), Some(1e9));
        assert_eq!(parse("1e3"), Some(1000.0));
        assert_eq!(parse("1.5Gi"), Some(1.5 * 1024.0 * 1024.0 * 1024.0));
        assert!(parse("12345n").is_some_and(|v| (v - 12345e-9).abs() < 1e-15));
        assert_eq!(parse("x"), None);
        assert_eq!(parse("1Zi"), None);
    }
}
