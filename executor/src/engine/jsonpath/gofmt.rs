//! How Go prints values, as kubectl's JSONPath printer does: `encoding/json` for maps and lists
//! (sorted keys, HTML-safe escaping), `fmt.Print` for scalars, `%v` for custom columns.

use serde_json::{Number, Value};

/// `json.Marshal`: compact, keys sorted, `<`, `>`, `&` escaped.
pub(super) fn json(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&json_number(n)),
        Value::String(s) => json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_string(key, out);
                out.push(':');
                if let Some(v) = map.get(key) {
                    json(v, out);
                }
            }
            out.push('}');
        }
    }
}

fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Shortest digits and decimal exponent of a finite float: `1.5e3` → (`"15"`, 3).
fn digits(f: f64) -> (String, i32) {
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    (mantissa.replace('.', ""), exp.parse().unwrap_or(0))
}

fn exponent_form(f: f64, min_exp_digits: usize) -> String {
    let (digits, exp) = digits(f);
    let sign = if f < 0.0 { "-" } else { "" };
    let (head, tail) = digits.split_at(1);
    let mantissa = if tail.is_empty() { head.to_string() } else { format!("{head}.{tail}") };
    let exp_sign = if exp < 0 { '-' } else { '+' };
    format!("{sign}{mantissa}e{exp_sign}{:0width$}", exp.abs(), width = min_exp_digits)
}

fn json_number(n: &Number) -> String {
    match n.as_f64() {
        Some(f) if !n.is_i64() && !n.is_u64() => {
            let abs = f.abs();
            if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
                // Go writes `1e-7`, `1e+21`.
                exponent_form(f, 1)
            } else {
                format!("{f}")
            }
        }
        _ => n.to_string(),
    }
}

/// `fmt.Print` of a float64 (`%v`: `%g` with the shortest digits).
fn go_float(f: f64) -> String {
    if f == 0.0 {
        return "0".into();
    }
    let (_, exp) = digits(f);
    if !(-4..6).contains(&exp) { exponent_form(f, 2) } else { format!("{f}") }
}

/// A number as `fmt.Print` writes it.
fn go_number(n: &Number) -> String {
    match n.as_f64() {
        Some(f) if !n.is_i64() && !n.is_u64() => go_float(f),
        _ => n.to_string(),
    }
}

/// What kubectl's JSONPath printer writes for one result: JSON for maps and lists, the raw
/// text of strings, `null` for null.
pub(super) fn text(value: &Value, out: &mut String) {
    match value {
        Value::Object(_) | Value::Array(_) => json(value, out),
        Value::String(s) => out.push_str(s),
        Value::Number(n) => out.push_str(&go_number(n)),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Null => out.push_str("null"),
    }
}

/// `fmt.Sprintf("%v", v)` of a decoded JSON value: `map[k:v k2:v2]`, `[a b]`, `<nil>`.
pub(super) fn go_v(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&go_number(n)),
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                go_v(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push_str("map[");
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(key);
                out.push(':');
                if let Some(v) = map.get(key) {
                    go_v(v, out);
                }
            }
            out.push(']');
        }
    }
}

/// The Go type kubectl names in "… is not array or slice".
pub(super) fn go_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_i64() || n.is_u64() => "int64",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// Go's `%q` of a string.
pub(super) fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn to_json(v: &Value) -> String {
        let mut s = String::new();
        json(v, &mut s);
        s
    }

    fn to_v(v: &Value) -> String {
        let mut s = String::new();
        go_v(v, &mut s);
        s
    }

    #[test]
    fn json_like_go() {
        assert_eq!(
            to_json(&json!({"b": [1, 2.5, null], "a": "<x> & \"y\"\n"})),
            r#"{"a":"\u003cx\u003e \u0026 \"y\"\n","b":[1,2.5,null]}"#
        );
        assert_eq!(to_json(&json!(1e-7)), "1e-7");
        assert_eq!(to_json(&json!(1e21)), "1e+21");
        assert_eq!(to_json(&json!(1234567.5)), "1234567.5");
    }

    #[test]
    fn print_like_go() {
        let mut s = String::new();
        for v in [
            json!(1.5),
            json!(1e6),
            json!(1234567.0),
            json!(0.00001),
            json!(47),
            json!("x"),
            json!(null),
            json!(true),
        ] {
            text(&v, &mut s);
            s.push('|');
        }
        assert_eq!(s, "1.5|1e+06|1.234567e+06|1e-05|47|x|null|true|");
        assert_eq!(to_v(&json!({"b": {"c": null}, "a": [1, "x"]})), "map[a:[1 x] b:map[c:<nil>]]");
        assert_eq!(go_quote("{.a==\"x\"}"), r#""{.a==\"x\"}""#);
    }
}
