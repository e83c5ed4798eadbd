//! Running a parsed template, as client-go's `JSONPath.FindResults` does: pieces are walked in
//! order; `{range …}` runs the following pieces once per result until the matching `{end}`.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::Value;

use super::gofmt;
use super::parser::{Node, Param, Piece};

type Values<'a> = Vec<Cow<'a, Value>>;

/// Values one template may produce in all its steps together. client-go has no limit, but a
/// template such as `{...*...*...*}` or nested ranges over `..` grows exponentially, and this
/// runs inside a shared executor.
pub(super) const MAX_WORK: usize = 2_000_000;

pub(super) struct Exec {
    allow_missing_keys: bool,
    begin_range: usize,
    in_range: usize,
    end_range: usize,
    /// Index of the `{end}` piece that closed the latest range.
    last_end: Option<usize>,
    /// Values produced so far (see [`MAX_WORK`]).
    work: usize,
}

impl Exec {
    pub fn new(allow_missing_keys: bool) -> Self {
        Self { allow_missing_keys, begin_range: 0, in_range: 0, end_range: 0, last_end: None, work: 0 }
    }

    /// The results of every piece (from `offset` on) for `data`: one group per piece run.
    pub fn find_results<'a>(
        &mut self,
        pieces: &[Piece],
        offset: usize,
        data: Cow<'a, Value>,
    ) -> Result<Vec<Values<'a>>, String> {
        let mut full = Vec::new();
        let mut i = offset;
        while i < pieces.len() {
            let results = self.walk_piece(vec![data.clone()], &pieces[i])?;
            if self.end_range > 0 && self.end_range <= self.in_range {
                self.end_range -= 1;
                self.last_end = Some(i);
                break;
            }
            if self.begin_range > 0 {
                self.begin_range -= 1;
                self.in_range += 1;
                if results.is_empty() {
                    // Still walk the body, so the matching `{end}` is found.
                    self.find_results(pieces, i + 1, Cow::Owned(Value::Null))?;
                } else {
                    for value in results {
                        let groups = match value {
                            Cow::Borrowed(v) => self.find_results(pieces, i + 1, Cow::Borrowed(v))?,
                            Cow::Owned(v) => owned(self.find_results(pieces, i + 1, Cow::Borrowed(&v))?),
                        };
                        full.extend(groups);
                    }
                }
                self.in_range -= 1;
                if let Some(end) = self.last_end.filter(|&e| e > i) {
                    i = end;
                }
                i += 1;
                continue;
            }
            full.push(results);
            i += 1;
        }
        Ok(full)
    }

    fn walk_piece<'a>(&mut self, input: Values<'a>, piece: &Piece) -> Result<Values<'a>, String> {
        match piece {
            Piece::Text(t) => Ok(vec![Cow::Owned(Value::String(t.clone()))]),
            Piece::Action(nodes) => self.walk_list(input, nodes),
        }
    }

    fn walk_list<'a>(&mut self, input: Values<'a>, nodes: &[Node]) -> Result<Values<'a>, String> {
        let mut cur = input;
        for node in nodes {
            cur = self.walk(cur, node)?;
            self.work += cur.len();
            if self.work > MAX_WORK {
                return Err(format!("the template produces more than {MAX_WORK} values; narrow it down"));
            }
        }
        Ok(cur)
    }

    fn walk<'a>(&mut self, input: Values<'a>, node: &Node) -> Result<Values<'a>, String> {
        match node {
            Node::Text(t) => Ok(vec![Cow::Owned(Value::String(t.clone()))]),
            Node::Int(n) => Ok(input.iter().map(|_| Cow::Owned(Value::from(*n))).collect()),
            Node::Float(f) => Ok(input.iter().map(|_| Cow::Owned(Value::from(*f))).collect()),
            Node::Bool(b) => Ok(input.iter().map(|_| Cow::Owned(Value::Bool(*b))).collect()),
            Node::Field(name) => self.field(input, name),
            Node::Array(params) => array(input, params),
            Node::Union(lists) => {
                let mut out = Vec::new();
                for list in lists {
                    out.extend(self.walk_list(input.clone(), list)?);
                }
                Ok(out)
            }
            Node::Filter { left, right, op } => self.filter(input, left, right, op),
            Node::Wildcard => Ok(input.iter().filter(|v| !v.is_null()).flat_map(children).collect()),
            Node::Recursive => {
                let mut out = Vec::new();
                recursive(input, &mut out, MAX_WORK.saturating_sub(self.work) + 1);
                Ok(out)
            }
            Node::Identifier(name) => match name.as_str() {
                "range" => {
                    self.begin_range += 1;
                    Ok(input)
                }
                "end" if self.in_range > 0 => {
                    self.end_range += 1;
                    Ok(Vec::new())
                }
                "end" => Err("not in range, nothing to end".into()),
                other => Err(format!("unrecognized identifier {other}")),
            },
        }
    }

    fn field<'a>(&self, input: Values<'a>, name: &str) -> Result<Values<'a>, String> {
        if input.is_empty() {
            return Ok(Vec::new());
        }
        let results: Values<'a> = input
            .iter()
            .filter_map(|v| match v {
                Cow::Borrowed(b) => b.as_object().and_then(|m| m.get(name)).map(Cow::Borrowed),
                Cow::Owned(o) => o.as_object().and_then(|m| m.get(name)).cloned().map(Cow::Owned),
            })
            .collect();
        if results.is_empty() && !self.allow_missing_keys {
            return Err(format!("{name} is not found"));
        }
        Ok(results)
    }

    fn filter<'a>(
        &mut self,
        input: Values<'a>,
        left: &[Node],
        right: &[Node],
        op: &str,
    ) -> Result<Values<'a>, String> {
        let mut out = Vec::new();
        for value in &input {
            if !value.is_array() {
                let mut shown = String::new();
                gofmt::go_v(value, &mut shown);
                return Err(format!("{shown} is not array or slice and cannot be filtered"));
            }
            for element in children(value) {
                let lefts = self.walk_list(vec![element.clone()], left);
                if op == "exists" {
                    if lefts.is_ok_and(|l| !l.is_empty()) {
                        out.push(element);
                    }
                    continue;
                }
                let lefts = lefts?;
                let l = match lefts.as_slice() {
                    [] => continue,
                    [one] => one.clone(),
                    _ => return Err("can only compare one element at a time".into()),
                };
                let rights = self.walk_list(vec![element.clone()], right)?;
                let r = match rights.as_slice() {
                    [] => continue,
                    [one] => one.clone(),
                    _ => return Err("can only compare one element at a time".into()),
                };
                if compare(&l, &r, op)? {
                    out.push(element);
                }
            }
        }
        Ok(out)
    }
}

fn owned(groups: Vec<Values<'_>>) -> Vec<Values<'static>> {
    groups.into_iter().map(|g| g.into_iter().map(|v| Cow::Owned(v.into_owned())).collect()).collect()
}

/// Map values (in key order), list elements, or a string's bytes.
fn children<'a>(value: &Cow<'a, Value>) -> Values<'a> {
    fn of(value: &Value) -> Vec<&Value> {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                keys.into_iter().filter_map(|k| map.get(k)).collect()
            }
            Value::Array(items) => items.iter().collect(),
            _ => Vec::new(),
        }
    }
    if let Value::String(s) = value.as_ref() {
        return s.bytes().map(|b| Cow::Owned(Value::from(b))).collect();
    }
    match value {
        Cow::Borrowed(b) => of(b).into_iter().map(Cow::Borrowed).collect(),
        Cow::Owned(o) => of(o).into_iter().map(|v| Cow::Owned(v.clone())).collect(),
    }
}

/// Every value with children, depth first, parents before children (at most `limit`).
fn recursive<'a>(input: Values<'a>, out: &mut Values<'a>, limit: usize) {
    for value in input {
        if out.len() >= limit {
            return;
        }
        if value.is_null() {
            continue;
        }
        let kids = children(&value);
        if !kids.is_empty() {
            out.push(value);
            recursive(kids, out, limit);
        }
    }
}

fn array<'a>(input: Values<'a>, params: &[Param; 3]) -> Result<Values<'a>, String> {
    let mut out = Vec::new();
    for value in &input {
        if value.is_null() {
            continue;
        }
        let Value::Array(items) = value.as_ref() else {
            return Err(format!("{} is not array or slice", gofmt::go_type(value)));
        };
        let len = items.len() as i64;
        let mut start = if params[0].known { params[0].value } else { 0 };
        if start < 0 {
            start += len;
        }
        let mut end = if params[1].known { params[1].value } else { len };
        if end < 0 || (end == 0 && params[1].derived) {
            end += len;
        }
        if start == end {
            // client-go returns here, skipping any further inputs.
            return Ok(out);
        }
        if start >= len || start < 0 {
            return Err(format!("array index out of bounds: index {start}, length {len}"));
        }
        if end > len || end < 0 {
            return Err(format!("array index out of bounds: index {}, length {len}", end - 1));
        }
        if start > end {
            return Err(format!("starting index {start} is greater than ending index {end}"));
        }
        let step = if params[2].known {
            if params[2].value <= 0 {
                return Err("step must be > 0".into());
            }
            params[2].value
        } else {
            1
        };
        let all = children(value);
        let mut i = start;
        while i < end {
            if let Some(v) = usize::try_from(i).ok().and_then(|i| all.get(i)) {
                out.push(v.clone());
            }
            i += step;
        }
    }
    Ok(out)
}

/// Go template comparison kinds.
enum Basic<'v> {
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(&'v str),
}

fn basic(v: &Value) -> Result<Basic<'_>, String> {
    match v {
        Value::Bool(b) => Ok(Basic::Bool(*b)),
        Value::Number(n) => Ok(match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Basic::Int(i128::from(i)),
            (_, Some(u)) => Basic::Int(i128::from(u)),
            _ => Basic::Float(n.as_f64().unwrap_or(0.0)),
        }),
        Value::String(s) => Ok(Basic::Str(s)),
        _ => Err("invalid type for comparison".into()),
    }
}

fn equal(a: &Value, b: &Value) -> Result<bool, String> {
    Ok(match (basic(a)?, basic(b)?) {
        (Basic::Bool(x), Basic::Bool(y)) => x == y,
        (Basic::Int(x), Basic::Int(y)) => x == y,
        (Basic::Float(x), Basic::Float(y)) => x == y,
        (Basic::Str(x), Basic::Str(y)) => x == y,
        _ => return Err("incompatible types for comparison".into()),
    })
}

fn less(a: &Value, b: &Value) -> Result<bool, String> {
    let order = match (basic(a)?, basic(b)?) {
        (Basic::Bool(_), Basic::Bool(_)) => return Err("invalid type for comparison".into()),
        (Basic::Int(x), Basic::Int(y)) => x.cmp(&y),
        (Basic::Float(x), Basic::Float(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        (Basic::Str(x), Basic::Str(y)) => x.cmp(y),
        _ => return Err("incompatible types for comparison".into()),
    };
    Ok(order == Ordering::Less)
}

fn compare(a: &Value, b: &Value, op: &str) -> Result<bool, String> {
    match op {
        "==" => equal(a, b),
        "!=" => equal(a, b).map(|e| !e),
        "<" => less(a, b),
        ">=" => less(a, b).map(|l| !l),
        "<=" => Ok(less(a, b)? || equal(a, b)?),
        ">" => Ok(!(less(a, b)? || equal(a, b)?)),
        other => Err(format!("unrecognized filter operator {other}")),
    }
}
