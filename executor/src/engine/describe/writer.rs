//! kubectl's describe output machinery: a `PrefixWriter` over Go's `text/tabwriter` configured as
//! kubectl's describers do (`minwidth 0, tabwidth 8, padding 2, padchar ' '`), and the helpers
//! every describer shares (labels, annotations, tolerations, RFC 1123 times).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::engine::objects::LAST_APPLIED;

const PADDING: usize = 2;
/// kubectl's `maxAnnotationLen`.
const MAX_ANNOTATION_LEN: usize = 140;

/// Collects lines, then aligns them like Go's tabwriter: tab-terminated cells in contiguous lines
/// form a column; the last cell of a line is never padded.
#[derive(Debug, Default)]
pub struct Writer {
    text: String,
}

impl Writer {
    /// Writes `text` after `level` × two spaces of indentation (kubectl's `LEVEL_n`).
    pub fn write(&mut self, level: usize, text: &str) {
        for _ in 0..level {
            self.text.push_str("  ");
        }
        self.text.push_str(text);
    }

    /// `write` plus a newline.
    pub fn line(&mut self, level: usize, text: &str) {
        self.write(level, text);
        self.text.push('\n');
    }

    /// The aligned text.
    pub fn finish(self) -> String {
        align(&self.text)
    }
}

/// Go's `tabwriter` algorithm over complete text.
pub fn align(text: &str) -> String {
    let body = text.strip_suffix('\n').unwrap_or(text);
    if body.is_empty() {
        return text.to_string();
    }
    let lines: Vec<Vec<&str>> = body.split('\n').map(|l| l.split('\t').collect()).collect();
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    let mut widths = Vec::new();
    format(&lines, 0, lines.len(), &mut widths, &mut out);
    if !text.ends_with('\n') {
        out.pop();
    }
    out
}

fn width(cell: &str) -> usize {
    cell.chars().count()
}

fn format(lines: &[Vec<&str>], mut line0: usize, line1: usize, widths: &mut Vec<usize>, out: &mut String) {
    let column = widths.len();
    let mut this = line0;
    while this < line1 {
        if column >= lines[this].len().saturating_sub(1) {
            this += 1;
            continue;
        }
        write_lines(lines, line0, this, widths, out);
        line0 = this;
        let mut w = 0;
        while this < line1 && column < lines[this].len().saturating_sub(1) {
            w = w.max(width(lines[this][column]) + PADDING);
            this += 1;
        }
        widths.push(w);
        format(lines, line0, this, widths, out);
        widths.pop();
        line0 = this;
    }
    write_lines(lines, line0, line1, widths, out);
}

fn write_lines(lines: &[Vec<&str>], line0: usize, line1: usize, widths: &[usize], out: &mut String) {
    for line in &lines[line0..line1] {
        for (j, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if j + 1 < line.len() && j < widths.len() {
                out.extend(std::iter::repeat_n(' ', widths[j].saturating_sub(width(cell))));
            }
        }
        out.push('\n');
    }
}

/// A string field (`""` when absent).
pub fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

/// A field as Go's `%v` would print a scalar (`""` when absent).
pub fn scalar(v: &Value, pointer: &str) -> String {
    match v.pointer(pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

pub fn int(v: &Value, pointer: &str) -> i64 {
    v.pointer(pointer).and_then(Value::as_i64).unwrap_or_default()
}

pub fn boolean(v: &Value, pointer: &str) -> bool {
    v.pointer(pointer).and_then(Value::as_bool).unwrap_or_default()
}

pub fn array<'a>(v: &'a Value, pointer: &str) -> &'a [Value] {
    v.pointer(pointer).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default()
}

/// A `map[string]string` field, sorted.
pub fn string_map(v: &Value, pointer: &str) -> BTreeMap<String, String> {
    v.pointer(pointer)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// `True`/`False`, as kubectl's `printBool`.
pub fn title_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

pub fn or_none(text: &str) -> &str {
    if text.is_empty() { "<none>" } else { text }
}

/// An RFC 3339 timestamp as Go's `time.RFC1123Z` (`Sat, 21 Nov 2026 17:53:22 +0000`); a missing
/// one as Go's zero time.
pub fn rfc1123z(timestamp: &str) -> String {
    const FORMAT: &[time::format_description::FormatItem<'_>] = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] [offset_hour sign:mandatory][offset_minute]"
    );
    time::OffsetDateTime::parse(timestamp, &time::format_description::well_known::Rfc3339)
        .ok()
        .and_then(|t| t.format(FORMAT).ok())
        .unwrap_or_else(|| "Mon, 01 Jan 0001 00:00:00 +0000".to_string())
}

/// Time since an RFC 3339 timestamp as kubectl's `translateTimestampSince` (`<unknown>` if unset).
pub fn since(timestamp: &str, now: time::OffsetDateTime) -> String {
    match time::OffsetDateTime::parse(timestamp, &time::format_description::well_known::Rfc3339) {
        Ok(t) => crate::engine::age::human_duration(now - t),
        Err(_) => "<unknown>".into(),
    }
}

/// `printLabelsMultilineWithIndent`.
pub fn labels_multiline(w: &mut Writer, level: usize, title: &str, labels: &BTreeMap<String, String>) {
    w.write(level, &format!("{title}:\t"));
    if labels.is_empty() {
        w.line(0, "<none>");
        return;
    }
    for (i, (k, v)) in labels.iter().enumerate() {
        if i != 0 {
            w.write(0, "\t");
        }
        w.line(0, &format!("{k}={v}"));
    }
}

/// `printAnnotationsMultiline` (last-applied-configuration skipped).
pub fn annotations_multiline(
    w: &mut Writer,
    level: usize,
    title: &str,
    annotations: &BTreeMap<String, String>,
) {
    w.write(level, &format!("{title}:\t"));
    let keys: Vec<&String> = annotations.keys().filter(|k| k.as_str() != LAST_APPLIED).collect();
    if keys.is_empty() {
        w.line(0, "<none>");
        return;
    }
    for (i, key) in keys.into_iter().enumerate() {
        if i != 0 {
            w.write(0, "\t");
        }
        let value = annotations.get(key).map(String::as_str).unwrap_or_default();
        let value = value.strip_suffix('\n').unwrap_or(value);
        if value.len() + key.len() + 2 > MAX_ANNOTATION_LEN || value.contains('\n') {
            w.line(0, &format!("{key}:"));
            for part in value.split('\n') {
                w.line(0, &format!("\t  {}", shorten(part, MAX_ANNOTATION_LEN - 2)));
            }
        } else {
            w.line(0, &format!("{key}: {value}"));
        }
    }
}

fn shorten(text: &str, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &text[..end])
    } else {
        text.to_string()
    }
}

/// `printTolerationsMultilineWithIndent`.
pub fn tolerations_multiline(w: &mut Writer, level: usize, title: &str, tolerations: &[Value]) {
    w.write(level, &format!("{title}:\t"));
    if tolerations.is_empty() {
        w.line(0, "<none>");
        return;
    }
    let mut sorted: Vec<&Value> = tolerations.iter().collect();
    sorted.sort_by(|a, b| s(a, "/key").cmp(s(b, "/key")));
    for (i, t) in sorted.into_iter().enumerate() {
        if i != 0 {
            w.write(0, "\t");
        }
        let mut text = s(t, "/key").to_string();
        if !s(t, "/value").is_empty() {
            text.push_str(&format!("={}", s(t, "/value")));
        }
        if !s(t, "/effect").is_empty() {
            text.push_str(&format!(":{}", s(t, "/effect")));
        }
        if s(t, "/operator") == "Exists" && s(t, "/value").is_empty() {
            text.push_str(if s(t, "/key").is_empty() && s(t, "/effect").is_empty() {
                "op=Exists"
            } else {
                " op=Exists"
            });
        }
        if let Some(secs) = t.pointer("/tolerationSeconds").and_then(Value::as_i64) {
            text.push_str(&format!(" for {secs}s"));
        }
        w.line(0, &text);
    }
}

/// `Controlled By` text: `Kind/name` of the controller owner reference.
pub fn controller(object: &Value) -> Option<String> {
    array(object, "/metadata/ownerReferences")
        .iter()
        .find(|r| boolean(r, "/controller"))
        .map(|r| format!("{}/{}", s(r, "/kind"), s(r, "/name")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_like_go_tabwriter() {
        let text = "Name:\ta\nAnnotations:\tx\nIPs:\n  IP:\t1\nControlled By:\tRS/x\n";
        assert_eq!(
            align(text),
            "Name:         a\nAnnotations:  x\nIPs:\n  IP:           1\nControlled By:  RS/x\n"
        );
        assert_eq!(align("  Type\tStatus\n  Ready \tFalse \n"), "  Type    Status\n  Ready   False \n");
    }

    #[test]
    fn formats_times_like_go() {
        assert_eq!(rfc1123z("2026-11-21T17:53:22Z"), "Sat, 21 Nov 2026 17:53:22 +0000");
        assert_eq!(rfc1123z(""), "Mon, 01 Jan 0001 00:00:00 +0000");
    }
}
