//! The small JSONPath subset `--sort-by` needs (`.metadata.name`, `{.status.startTime}`,
//! `.spec.containers[0].image`, `.metadata.labels['app.kubernetes.io/name']`) and kubectl's
//! ordering of the values it finds (numbers numerically, strings in natural order). The full
//! template language of `-o jsonpath` is a separate piece.

use std::cmp::Ordering;

use serde_json::Value;

use super::EngineError;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Field(String),
    Index(usize),
}

/// A parsed field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    steps: Vec<Step>,
}

impl FieldPath {
    /// Parses kubectl's relaxed form: optional `{…}`, optional leading dot.
    pub fn parse(text: &str) -> Result<Self, EngineError> {
        let invalid = |why: &str| EngineError::Invalid(format!("couldn't parse --sort-by {text:?}: {why}"));
        let trimmed = text.trim();
        let inner = trimmed.strip_prefix('{').map(|t| t.strip_suffix('}').unwrap_or(t)).unwrap_or(trimmed);
        let inner = inner.strip_prefix('.').unwrap_or(inner);
        if inner.is_empty() {
            return Err(invalid("empty path"));
        }
        let mut steps = Vec::new();
        let mut chars = inner.chars().peekable();
        let mut field = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => field.push(chars.next().ok_or_else(|| invalid("dangling escape"))?),
                '.' => {
                    if !field.is_empty() {
                        steps.push(Step::Field(std::mem::take(&mut field)));
                    }
                }
                '[' => {
                    if !field.is_empty() {
                        steps.push(Step::Field(std::mem::take(&mut field)));
                    }
                    let mut inside = String::new();
                    for c in chars.by_ref() {
                        if c == ']' {
                            break;
                        }
                        inside.push(c);
                    }
                    let inside = inside.trim();
                    let quoted = inside
                        .strip_prefix('\'')
                        .and_then(|s| s.strip_suffix('\''))
                        .or_else(|| inside.strip_prefix('"').and_then(|s| s.strip_suffix('"')));
                    match quoted {
                        Some(key) => steps.push(Step::Field(key.to_string())),
                        None => steps.push(Step::Index(
                            inside
                                .parse()
                                .map_err(|_| invalid("only [N] and ['key'] subscripts are supported"))?,
                        )),
                    }
                }
                '{' | '}' | '*' | '?' | '@' | '$' => {
                    return Err(invalid("only plain field paths are supported"));
                }
                c => field.push(c),
            }
        }
        if !field.is_empty() {
            steps.push(Step::Field(field));
        }
        Ok(Self { steps })
    }

    /// The first field name (`data` in `.data.password`).
    pub fn first_field(&self) -> Option<&str> {
        match self.steps.first() {
            Some(Step::Field(f)) => Some(f),
            _ => None,
        }
    }

    /// The value at this path, if present.
    pub fn find<'a>(&self, value: &'a Value) -> Option<&'a Value> {
        self.steps.iter().try_fold(value, |v, step| match step {
            Step::Field(f) => v.get(f.as_str()),
            Step::Index(i) => v.get(*i),
        })
    }
}

/// kubectl's `isLess` ordering: missing values first, then numbers numerically, strings in
/// natural order (`pod-2` before `pod-10`), booleans false first.
pub fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (None | Some(Value::Null), None | Some(Value::Null)) => Ordering::Equal,
        (None | Some(Value::Null), _) => Ordering::Less,
        (_, None | Some(Value::Null)) => Ordering::Greater,
        (Some(Value::Number(x)), Some(Value::Number(y))) => {
            x.as_f64().unwrap_or(0.0).total_cmp(&y.as_f64().unwrap_or(0.0))
        }
        (Some(Value::String(x)), Some(Value::String(y))) => natural(x, y),
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        (Some(x), Some(y)) => natural(&x.to_string(), &y.to_string()),
    }
}

/// Natural order: runs of digits compare by value.
fn natural(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        match (a.chars().next(), b.chars().next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.len() - a.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                let db = b.len() - b.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                let (na, nb) = (a[..da].trim_start_matches('0'), b[..db].trim_start_matches('0'));
                let order = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb)).then_with(|| da.cmp(&db));
                if order != Ordering::Equal {
                    return order;
                }
                a = &a[da..];
                b = &b[db..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(&y);
                }
                a = &a[x.len_utf8()..];
                b = &b[y.len_utf8()..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_kubectl_forms() {
        let obj = json!({"metadata": {"name": "a", "labels": {"app.kubernetes.io/name": "x"}}, "spec": {"containers": [{"image": "nginx"}]}});
        for (path, want) in [
            (".metadata.name", json!("a")),
            ("{.metadata.name}", json!("a")),
            ("metadata.name", json!("a")),
            (".spec.containers[0].image", json!("nginx")),
            (".metadata.labels['app.kubernetes.io/name']", json!("x")),
            (".metadata.labels.app\\.kubernetes\\.io/name", json!("x")),
        ] {
            let p = FieldPath::parse(path).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!(p.find(&obj), Some(&want), "{path}");
        }
        assert_eq!(FieldPath::parse(".status.phase").ok().and_then(|p| p.find(&obj).cloned()), None);
        assert!(FieldPath::parse("{.items[*].name}").is_err());
        assert!(FieldPath::parse("").is_err());
    }

    #[test]
    fn orders_like_kubectl() {
        let (two, ten) = (json!("pod-2"), json!("pod-10"));
        assert_eq!(compare(Some(&two), Some(&ten)), Ordering::Less);
        assert_eq!(compare(Some(&json!(3)), Some(&json!(20))), Ordering::Less);
        assert_eq!(compare(None, Some(&json!("a"))), Ordering::Less);
        assert_eq!(
            compare(Some(&json!("2024-01-02T00:00:00Z")), Some(&json!("2024-01-10T00:00:00Z"))),
            Ordering::Less
        );
        assert_eq!(compare(Some(&json!("b")), Some(&json!("a"))), Ordering::Greater);
    }
}
