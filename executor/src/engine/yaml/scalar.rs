//! Scalars the go-yaml v2 way: which style a string gets (libyaml's `analyze_scalar` and
//! go-yaml's YAML 1.1 `resolve`), double-quoted escapes, and Go's float formatting.

use serde_json::Number;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// go-yaml's `stringv` + `select_scalar_style` for a block-context value.
pub(super) fn style(s: &str, a: &Analysis) -> Style {
    if s.contains('\n') {
        return if a.block_allowed { Style::Literal } else { Style::Double };
    }
    if resolves_to_non_string(s) {
        return Style::Double;
    }
    if a.block_plain_allowed {
        Style::Plain
    } else if a.single_quoted_allowed {
        Style::Single
    } else {
        Style::Double
    }
}

/// A key: plain when allowed, else quoted; never folded or literal.
pub(super) fn key_text(key: &str) -> String {
    let a = Analysis::of(key);
    if key.is_empty() {
        return "\"\"".into();
    }
    match style(key, &a) {
        Style::Plain => key.to_string(),
        Style::Single => format!("'{}'", key.replace('\'', "''")),
        Style::Double | Style::Literal => double_quoted(key),
    }
}

/// libyaml's `analyze_scalar`, the parts that matter in block context.
#[derive(Debug, Clone, Copy)]
pub(super) struct Analysis {
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

impl Analysis {
    pub(super) fn of(s: &str) -> Self {
        if s.is_empty() {
            return Self { block_plain_allowed: true, single_quoted_allowed: true, block_allowed: false };
        }
        let chars: Vec<char> = s.chars().collect();
        let mut block_indicators = s.starts_with("---") || s.starts_with("...");
        let (mut line_breaks, mut special) = (false, false);
        let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
            (false, false, false, false);
        let (mut break_space, mut space_break) = (false, false);
        let (mut previous_space, mut previous_break) = (false, false);
        let mut preceded_by_whitespace = true;
        for (i, &c) in chars.iter().enumerate() {
            let followed_by_whitespace =
                chars.get(i + 1).is_none_or(|n| matches!(n, ' ' | '\t') || is_break(*n));
            if i == 0 {
                match c {
                    '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%'
                    | '@' | '`' => block_indicators = true,
                    '?' | ':' | '-' if followed_by_whitespace => block_indicators = true,
                    _ => {}
                }
            } else {
                match c {
                    ':' if followed_by_whitespace => block_indicators = true,
                    '#' if preceded_by_whitespace => block_indicators = true,
                    _ => {}
                }
            }
            if !is_printable(c) {
                special = true;
            }
            let last = i + 1 == chars.len();
            if c == ' ' {
                leading_space |= i == 0;
                trailing_space |= last;
                break_space |= previous_break;
                previous_space = true;
                previous_break = false;
            } else if is_break(c) {
                line_breaks = true;
                leading_break |= i == 0;
                trailing_break |= last;
                space_break |= previous_space;
                previous_space = false;
                previous_break = true;
            } else {
                previous_space = false;
                previous_break = false;
            }
            preceded_by_whitespace = matches!(c, ' ' | '\t') || is_break(c);
        }
        let mut a = Self { block_plain_allowed: true, single_quoted_allowed: true, block_allowed: true };
        if leading_space || leading_break || trailing_space || trailing_break {
            a.block_plain_allowed = false;
        }
        if trailing_space {
            a.block_allowed = false;
        }
        if break_space {
            a.block_plain_allowed = false;
            a.single_quoted_allowed = false;
        }
        if space_break || special {
            a = Self { block_plain_allowed: false, single_quoted_allowed: false, block_allowed: false };
        }
        if line_breaks || block_indicators {
            a.block_plain_allowed = false;
        }
        a
    }
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// go-yaml v2's `is_printable` (note: no tab, nothing beyond the BMP).
fn is_printable(c: char) -> bool {
    matches!(c, '\n' | '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
        && c != '\u{feff}'
}

/// Would go-yaml v2 read this unquoted as something other than a string (null, bool, number,
/// timestamp, merge key, base-60 float)?
fn resolves_to_non_string(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "", "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true",
        "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF", ".nan", ".NaN",
        ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", "<<",
    ];
    if WORDS.contains(&s) {
        return true;
    }
    match s.chars().next() {
        Some('.') => is_yaml_float(s),
        Some('0'..='9' | '+' | '-') => {
            let plain: String = s.chars().filter(|c| *c != '_').collect();
            is_timestamp(s) || is_go_int(&plain) || is_yaml_float(&plain) || is_base60_float(s)
        }
        _ => false,
    }
}

/// `strconv.ParseInt(s, 0, 64)` / `ParseUint` syntax (range aside: too-large digit strings are
/// floats to go-yaml anyway).
fn is_go_int(s: &str) -> bool {
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = unsigned.to_ascii_lowercase();
    let (digits, radix) = if let Some(d) = lower.strip_prefix("0x") {
        (d, 16)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (d, 8)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (d, 2)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (&lower[1..], 8)
    } else {
        (lower.as_str(), 10)
    };
    !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix))
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_float(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => digits(frac),
        Some((int, frac)) => digits(int) && (frac.is_empty() || digits(frac)),
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)));
    mantissa_ok && exponent_ok
}

/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$` (quoted by go-yaml for old parsers).
fn is_base60_float(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (main, frac) = match s.split_once('.') {
        Some((m, f)) => (m, Some(f)),
        None => (s, None),
    };
    let mut parts = main.split(':');
    let head = parts.next().unwrap_or_default();
    let head_ok = head.starts_with(|c: char| c.is_ascii_digit())
        && head.chars().all(|c| c.is_ascii_digit() || c == '_');
    let rest: Vec<&str> = parts.collect();
    let rest_ok = !rest.is_empty()
        && rest.iter().all(|p| {
            let b = p.as_bytes();
            match b.len() {
                1 => b[0].is_ascii_digit(),
                2 => (b'0'..=b'5').contains(&b[0]) && b[1].is_ascii_digit(),
                _ => false,
            }
        });
    head_ok && rest_ok && frac.is_none_or(|f| f.chars().all(|c| c.is_ascii_digit() || c == '_'))
}

/// go-yaml v2's timestamp forms: `2006-1-2`, `2006-1-2T15:4:5.999999999Z07:00` (also `t`),
/// `2006-1-2 15:4:5.999999999`.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 8 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let (date, time) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], Some((&s[i..i + 1], &s[i + 1..]))),
        None => (s, None),
    };
    let short = |t: &str| (1..=2).contains(&t.len()) && t.chars().all(|c| c.is_ascii_digit());
    let mut d = date.split('-');
    let date_ok = d.next().is_some_and(|y| y.len() == 4)
        && d.next().is_some_and(short)
        && d.next().is_some_and(short)
        && d.next().is_none();
    let Some((sep, time)) = time else { return date_ok };
    let (clock, zone) = if sep == " " {
        (time, None)
    } else {
        match time.find(['Z', '+', '-']) {
            Some(i) => (&time[..i], Some(&time[i..])),
            None => return false,
        }
    };
    let (hms, frac) = match clock.split_once('.') {
        Some((h, f)) => (h, Some(f)),
        None => (clock, None),
    };
    let mut t = hms.split(':');
    let clock_ok = t.next().is_some_and(short)
        && t.next().is_some_and(short)
        && t.next().is_some_and(short)
        && t.next().is_none();
    let frac_ok = frac.is_none_or(|f| !f.is_empty() && f.len() <= 9 && f.chars().all(|c| c.is_ascii_digit()));
    let zone_ok = zone.is_none_or(|z| {
        z == "Z" || {
            let zb = z.as_bytes();
            zb.len() == 6
                && zb[1..3].iter().all(u8::is_ascii_digit)
                && zb[3] == b':'
                && zb[4..].iter().all(u8::is_ascii_digit)
        }
    });
    date_ok && clock_ok && frac_ok && zone_ok
}

/// A double-quoted scalar with go-yaml's escapes.
pub(super) fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\0' => out.push_str("\\0"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if is_printable(c) => out.push(c),
            c if u32::from(c) <= 0xff => out.push_str(&format!("\\x{:02X}", u32::from(c))),
            c if u32::from(c) <= 0xffff => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push_str(&format!("\\U{:08X}", u32::from(c))),
        }
    }
    out.push('"');
    out
}

/// Integers as is; floats as Go's `strconv.FormatFloat(f, 'g', -1, 64)`.
pub(super) fn number(n: &Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    let Some(f) = n.as_f64() else { return n.to_string() };
    if f == 0.0 {
        return "0".into();
    }
    // Shortest round-trip digits and exponent, e.g. "1.234567e6".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    let count = i32::try_from(digits.len()).unwrap_or(i32::MAX);
    // With the shortest representation Go uses %e for exponents below -4 or from 6 up.
    if !(-4..6).contains(&exp) {
        let rest = &digits[1..];
        let frac = if rest.is_empty() { String::new() } else { format!(".{rest}") };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{}{frac}e{esign}{:02}", &digits[..1], exp.abs());
    }
    if exp >= count - 1 {
        let zeros = usize::try_from(exp - (count - 1)).unwrap_or(0);
        return format!("{sign}{digits}{}", "0".repeat(zeros));
    }
    if exp >= 0 {
        let point = usize::try_from(exp + 1).unwrap_or(0);
        return format!("{sign}{}.{}", &digits[..point], &digits[point..]);
    }
    let zeros = usize::try_from(-exp - 1).unwrap_or(0);
    format!("{sign}0.{}{digits}", "0".repeat(zeros))
}
