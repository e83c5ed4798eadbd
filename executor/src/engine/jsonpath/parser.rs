//! The template parser, following client-go's `util/jsonpath/parser.go` rule by rule (including
//! its quirks: `['a.b']` is re-parsed as `.a.b`, only single quotes make a dict key, unions are
//! split at every comma), with the same error texts.

/// One slice bound of `[start:end:step]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Param {
    pub value: i64,
    pub known: bool,
    /// `end` of a plain `[n]`: `n + 1`, with `[-1]`'s `0` meaning "to the end".
    pub derived: bool,
}

/// A step of an action.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Node {
    /// A string literal (inside an action) or literal template text (outside).
    Text(String),
    Field(String),
    Wildcard,
    Array([Param; 3]),
    Union(Vec<Vec<Node>>),
    Filter {
        left: Vec<Node>,
        right: Vec<Node>,
        op: String,
    },
    Int(i64),
    Float(f64),
    Bool(bool),
    Recursive,
    /// `range`, `end`, or anything else that starts with a letter (an error when run).
    Identifier(String),
}

/// A piece of the template: literal text or one `{…}` action.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Piece {
    Text(String),
    Action(Vec<Node>),
}

pub(super) fn parse(text: &str) -> Result<Vec<Piece>, String> {
    let mut p = Parser { input: text, pos: 0, pieces: Vec::new() };
    p.parse_text()?;
    Ok(p.pieces)
}

/// Parses `{text}` and returns its action (client-go's `parseAction`).
fn parse_action(text: &str) -> Result<Vec<Node>, String> {
    let pieces = parse(&format!("{{{text}}}"))?;
    Ok(match pieces.into_iter().next() {
        Some(Piece::Action(nodes)) => nodes,
        _ => Vec::new(),
    })
}

struct Parser<'a> {
    input: &'a str,
    pos: usize,
    pieces: Vec<Piece>,
}

fn is_terminator(c: Option<char>) -> bool {
    matches!(c, None | Some(' ' | '\t' | '\r' | '\n' | '.' | ',' | '[' | ']' | '$' | '@' | '{' | '}'))
}

fn is_alphanumeric(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric()
}

/// Go's `%#U`: `U+0023 '#'`.
fn go_unicode(c: char) -> String {
    if c.is_control() { format!("U+{:04X}", c as u32) } else { format!("U+{:04X} '{c}'", c as u32) }
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.input[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn parse_text(&mut self) -> Result<(), String> {
        loop {
            let start = self.pos;
            match self.rest().find('{') {
                Some(at) => {
                    if at > 0 {
                        self.pieces.push(Piece::Text(self.input[start..start + at].to_string()));
                    }
                    self.pos = start + at + 1;
                    let nodes = self.parse_inside_action()?;
                    self.pieces.push(Piece::Action(nodes));
                }
                None => {
                    if start < self.input.len() {
                        self.pieces.push(Piece::Text(self.input[start..].to_string()));
                    }
                    self.pos = self.input.len();
                    return Ok(());
                }
            }
        }
    }

    /// The nodes of one action, up to and including its `}`.
    fn parse_inside_action(&mut self) -> Result<Vec<Node>, String> {
        let mut cur = Vec::new();
        loop {
            if self.rest().starts_with('}') {
                self.pos += 1;
                return Ok(cur);
            }
            if self.rest().starts_with("[?(") {
                self.pos += 3;
                cur.push(self.parse_filter()?);
                continue;
            }
            if self.rest().starts_with("..") {
                if matches!(cur.last(), Some(Node::Recursive)) {
                    return Err("invalid multiple recursive descent".into());
                }
                self.pos += 2;
                cur.push(Node::Recursive);
                if self.peek().is_some_and(is_alphanumeric) {
                    cur.push(self.parse_field());
                }
                continue;
            }
            let start = self.pos;
            match self.next() {
                None | Some('\r' | '\n') => return Err("unclosed action".into()),
                Some(' ' | '@' | '$') => {}
                Some('[') => cur.extend(self.parse_array()?),
                Some(q @ ('"' | '\'')) => cur.push(self.parse_quote(start, q)?),
                Some('.') => cur.push(self.parse_field()),
                Some(c) if c == '+' || c == '-' || c.is_numeric() => {
                    self.pos = start;
                    cur.push(self.parse_number()?);
                }
                Some(c) if is_alphanumeric(c) => {
                    self.pos = start;
                    let word = self.scan_word();
                    cur.push(match word {
                        "true" => Node::Bool(true),
                        "false" => Node::Bool(false),
                        w => Node::Identifier(w.to_string()),
                    });
                }
                Some(c) => return Err(format!("unrecognized character in action: {}", go_unicode(c))),
            }
        }
    }

    /// Up to the next terminator.
    fn scan_word(&mut self) -> &str {
        let start = self.pos;
        while !is_terminator(self.peek()) {
            self.next();
        }
        &self.input[start..self.pos]
    }

    fn parse_field(&mut self) -> Node {
        let start = self.pos;
        loop {
            match self.peek() {
                Some('\\') => {
                    self.next();
                    self.next();
                }
                c if is_terminator(c) => break,
                _ => {
                    self.next();
                }
            }
        }
        let value = &self.input[start..self.pos];
        if value == "*" { Node::Wildcard } else { Node::Field(value.replace('\\', "")) }
    }

    fn parse_number(&mut self) -> Result<Node, String> {
        let start = self.pos;
        if matches!(self.peek(), Some('+' | '-')) {
            self.next();
        }
        while self.peek().is_some_and(|c| c == '.' || c.is_numeric()) {
            self.next();
        }
        let text = &self.input[start..self.pos];
        if let Ok(i) = text.parse::<i64>() {
            return Ok(Node::Int(i));
        }
        match text.parse::<f64>() {
            Ok(f) if text.bytes().any(|b| b.is_ascii_digit()) => Ok(Node::Float(f)),
            _ => Err(format!("cannot parse number {text}")),
        }
    }

    /// After `[`: an index, slice, union or `'key'`; may expand to several nodes.
    fn parse_array(&mut self) -> Result<Vec<Node>, String> {
        let start = self.pos;
        loop {
            match self.next() {
                None | Some('\n') => return Err("unterminated array".into()),
                Some(']') => break,
                _ => {}
            }
        }
        let mut text = &self.input[start..self.pos - 1];
        if text == "*" {
            text = ":";
        }
        if text.contains(',') {
            let union = text
                .split(',')
                .map(|part| parse_action(&format!("[{}]", part.trim_matches(' '))))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(vec![Node::Union(union)]);
        }
        if let Some(key) =
            text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')).filter(|k| !k.contains('\''))
        {
            return parse_action(&format!(".{key}"));
        }
        let parts: Vec<&str> = text.split(':').collect();
        let valid = |s: &str| s.strip_prefix('-').unwrap_or(s).bytes().all(|b| b.is_ascii_digit());
        if parts.len() > 3 || !parts.iter().all(|p| valid(p)) {
            return Err(format!("invalid array index {text}"));
        }
        let mut params = [Param::default(); 3];
        for i in 0..3 {
            match parts.get(i) {
                // `[n]`: the end is derived from the start.
                None if i == 1 => {
                    params[1] = Param { value: params[0].value + 1, known: true, derived: true }
                }
                None | Some(&"") => {}
                Some(s) => {
                    let value = s.parse::<i64>().map_err(|_| format!("array index {s} is not a number"))?;
                    params[i] = Param { value, known: true, derived: false };
                }
            }
        }
        Ok(vec![Node::Array(params)])
    }

    /// After `[?(`: `left op right` or an existence test, up to `)]`.
    fn parse_filter(&mut self) -> Result<Node, String> {
        let start = self.pos;
        let (mut begin, mut end, mut pair) = (false, false, '"');
        loop {
            let c = self.next();
            match c {
                None | Some('\n') => return Err("unterminated filter".into()),
                Some(q @ ('"' | '\'')) => {
                    if !begin {
                        begin = true;
                        pair = q;
                        continue;
                    }
                    if self.input.as_bytes().get(self.pos.wrapping_sub(2)) != Some(&b'\\') && q == pair {
                        end = true;
                    }
                }
                Some(')') if begin == end => break,
                _ => {}
            }
        }
        if self.next() != Some(']') {
            return Err("unclosed array expect ]".into());
        }
        let text = &self.input[start..self.pos - 2];
        match split_comparison(text) {
            None => Ok(Node::Filter { left: parse_action(text)?, right: Vec::new(), op: "exists".into() }),
            Some((left, op, right)) => Ok(Node::Filter {
                left: parse_action(left)?,
                right: parse_action(right)?,
                op: op.to_string(),
            }),
        }
    }

    /// After the opening quote at `start`: the unquoted string literal.
    fn parse_quote(&mut self, start: usize, quote: char) -> Result<Node, String> {
        loop {
            match self.next() {
                None | Some('\n') => return Err("unterminated quoted string".into()),
                Some(c)
                    if c == quote && self.input.as_bytes().get(self.pos.wrapping_sub(2)) != Some(&b'\\') =>
                {
                    break;
                }
                _ => {}
            }
        }
        let value = &self.input[start..self.pos];
        unquote(value, quote)
            .map(Node::Text)
            .map_err(|_| format!("unquote string {value} error invalid syntax"))
    }
}

/// client-go's filter regexp `^([^!<>=]+)([!<>=]+)(.+?)$`.
fn split_comparison(text: &str) -> Option<(&str, &str, &str)> {
    let is_op = |b: &u8| b"!<>=".contains(b);
    let bytes = text.as_bytes();
    let left_end = bytes.iter().position(is_op).filter(|&p| p > 0)?;
    let mut op_end = left_end + bytes[left_end..].iter().take_while(|b| is_op(b)).count();
    if op_end == bytes.len() {
        // The right side needs at least one character.
        op_end -= 1;
    }
    (op_end > left_end).then(|| (&text[..left_end], &text[left_end..op_end], &text[op_end..]))
}

/// Go's `strconv.Unquote`, extended to single-quoted strings.
fn unquote(s: &str, quote: char) -> Result<String, ()> {
    let inner = s.strip_prefix(quote).and_then(|s| s.strip_suffix(quote)).ok_or(())?;
    if !inner.contains('\\') && !inner.contains(quote) {
        return Ok(inner.to_string());
    }
    let mut out: Vec<u8> = Vec::new();
    let mut chars = inner.chars();
    let hex = |chars: &mut std::str::Chars<'_>, n: usize| -> Result<u32, ()> {
        let mut v = 0u32;
        for _ in 0..n {
            v = v * 16 + chars.next().and_then(|c| c.to_digit(16)).ok_or(())?;
        }
        Ok(v)
    };
    while let Some(c) = chars.next() {
        if c == quote {
            return Err(());
        }
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let e = chars.next().ok_or(())?;
        let byte = match e {
            'a' => 7,
            'b' => 8,
            'f' => 12,
            'n' => b'\n',
            'r' => b'\r',
            't' => b'\t',
            'v' => 11,
            '\\' => b'\\',
            '\'' | '"' if e == quote => e as u8,
            'x' => u8::try_from(hex(&mut chars, 2)?).map_err(|_| ())?,
            '0'..='7' => {
                let mut v = e.to_digit(8).ok_or(())?;
                for _ in 0..2 {
                    v = v * 8 + chars.next().and_then(|c| c.to_digit(8)).ok_or(())?;
                }
                u8::try_from(v).map_err(|_| ())?
            }
            'u' | 'U' => {
                let r = char::from_u32(hex(&mut chars, if e == 'u' { 4 } else { 8 })?).ok_or(())?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(r.encode_utf8(&mut buf).as_bytes());
                continue;
            }
            _ => return Err(()),
        };
        out.push(byte);
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}
