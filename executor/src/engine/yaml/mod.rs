//! YAML as kubectl prints it. kubectl marshals through go-yaml v2 (YAML 1.1 rules, 80-column
//! folding), and agents — or the YAML 1.1 parsers they use — read strings such as `"300"`,
//! `"on"` or `"2024-01-01T00:00:00Z"` differently when unquoted, so this emitter follows
//! go-yaml's choices: plain where that reads back as the same string, single quotes where plain
//! is not allowed, double quotes where the text would resolve to another type or holds special
//! characters, literal blocks (`|`, `|-`, `|+`) for multi-line text, long plain and single-quoted
//! scalars folded at spaces after column 80, sequences not indented under their key, keys sorted.

use serde_json::{Map, Value};

mod scalar;

use scalar::{Analysis, Style, double_quoted, key_text, number, style};

const BEST_WIDTH: usize = 80;
const INDENT: usize = 2;

/// Serialises `value` as a YAML document (no `---`), ending in a newline.
pub fn to_string(value: &Value) -> String {
    let mut out = Emitter::default();
    match value {
        Value::Object(map) if !map.is_empty() => out.map(map, 0, false),
        Value::Array(items) if !items.is_empty() => out.seq(items, 0, false),
        other => {
            out.node_inline(other, 0);
        }
    }
    out.text
}

#[derive(Default)]
struct Emitter {
    text: String,
    /// Characters on the current line.
    column: usize,
}

impl Emitter {
    fn put(&mut self, s: &str) {
        match s.rfind('\n') {
            Some(i) => self.column = s[i + 1..].chars().count(),
            None => self.column += s.chars().count(),
        }
        self.text.push_str(s);
    }

    fn newline(&mut self) {
        self.text.push('\n');
        self.column = 0;
    }

    fn indent(&mut self, n: usize) {
        self.put(&" ".repeat(n));
    }

    /// A block mapping whose keys sit at `indent`; `started`: the first key follows a `- ` already written.
    fn map(&mut self, map: &Map<String, Value>, indent: usize, started: bool) {
        for (i, (key, value)) in map.iter().enumerate() {
            if i > 0 || !started {
                self.indent(indent);
            }
            self.put(&key_text(key));
            self.put(":");
            match value {
                Value::Object(m) if !m.is_empty() => {
                    self.newline();
                    self.map(m, indent + INDENT, false);
                }
                Value::Array(items) if !items.is_empty() => {
                    self.newline();
                    self.seq(items, indent, false);
                }
                other => {
                    self.put(" ");
                    self.node_inline(other, indent + INDENT);
                }
            }
        }
    }

    /// A block sequence with its dashes at `indent`.
    fn seq(&mut self, items: &[Value], indent: usize, started: bool) {
        for (i, item) in items.iter().enumerate() {
            if i > 0 || !started {
                self.indent(indent);
            }
            self.put("- ");
            match item {
                Value::Object(m) if !m.is_empty() => self.map(m, indent + INDENT, true),
                Value::Array(inner) if !inner.is_empty() => self.seq(inner, indent + INDENT, true),
                other => self.node_inline(other, indent + INDENT),
            }
        }
    }

    /// A scalar (or empty collection) after `key: ` or `- `, then the line break.
    /// `continuation` is where folded or literal lines start.
    fn node_inline(&mut self, value: &Value, continuation: usize) {
        match value {
            Value::Null => self.put("null"),
            Value::Bool(b) => self.put(if *b { "true" } else { "false" }),
            Value::Number(n) => self.put(&number(n)),
            Value::Object(_) => self.put("{}"),
            Value::Array(_) => self.put("[]"),
            Value::String(s) => self.string(s, continuation),
        }
        if !self.text.ends_with('\n') {
            self.newline();
        }
    }

    fn string(&mut self, s: &str, continuation: usize) {
        let a = Analysis::of(s);
        match style(s, &a) {
            Style::Literal => self.literal(s, continuation),
            Style::Plain => self.folded(s, continuation, false),
            Style::Single => {
                self.put("'");
                self.folded(s, continuation, true);
                self.put("'");
            }
            Style::Double => self.put(&double_quoted(s)),
        }
    }

    /// Plain or single-quoted text, folded at a single space once past column 80.
    fn folded(&mut self, s: &str, continuation: usize, quoted: bool) {
        let chars: Vec<char> = s.chars().collect();
        let mut after_space = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let next_is_space = chars.get(i + 1) == Some(&' ');
                let inner = !quoted || (i > 0 && i + 1 < chars.len());
                if !after_space
                    && self.column > BEST_WIDTH
                    && !next_is_space
                    && inner
                    && chars.get(i + 1).is_some()
                {
                    self.newline();
                    self.indent(continuation);
                } else {
                    self.put(" ");
                }
                after_space = true;
            } else {
                let mut buf = [0u8; 4];
                self.put(c.encode_utf8(&mut buf));
                if quoted && c == '\'' {
                    self.put("'");
                }
                after_space = false;
            }
        }
    }

    fn literal(&mut self, s: &str, continuation: usize) {
        self.put("|");
        if s.starts_with([' ', '\n']) {
            self.put(&INDENT.to_string());
        }
        let trailing = s.len() - s.trim_end_matches('\n').len();
        match trailing {
            0 => self.put("-"),
            1 if s.len() > 1 => {}
            _ => self.put("+"),
        }
        self.newline();
        let body = s.strip_suffix('\n').unwrap_or(s);
        for line in body.split('\n') {
            if !line.is_empty() {
                self.indent(continuation);
                self.put(line);
            }
            self.newline();
        }
    }
}

#[cfg(test)]
mod tests;
