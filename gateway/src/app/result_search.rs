//! Searching a stored result instead of running its command again: the lines that match a
//! regular expression, with context lines around them, or only how many match. The `regex`
//! crate matches in time linear in the output (no backtracking), and the pattern's size and its
//! compiled size are capped, so a search costs at most one pass over the stored output (≤ 4 MiB).
//!
//! The filtered text reads like `grep -n -C <context>`: `12:` before a matching line, `11-`
//! before a context line, `--` between groups that are not adjacent (with context only).

use std::fmt::Write as _;

use regex::{Regex, RegexBuilder};
use serde_json::json;

use crate::error::{AppError, AppResult};

/// Longest pattern, in bytes.
pub const MAX_PATTERN_BYTES: usize = 512;
/// Most context lines before and after each match.
pub const MAX_CONTEXT: u32 = 20;
/// The compiled program's size limit (the `regex` default is 10 MiB; a search needs far less).
const COMPILED_SIZE_LIMIT: usize = 1 << 20;

/// What to look for, as a caller asks for it.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub grep: Option<String>,
    pub context: Option<u32>,
    pub count: Option<bool>,
}

/// A checked search.
#[derive(Debug, Clone)]
pub struct Search {
    pattern: Regex,
    context: usize,
    count_only: bool,
}

/// What a search found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The matching lines with their context (empty when only counting).
    pub text: String,
    /// How many lines match.
    pub matches: u64,
    /// How many lines the output has.
    pub lines: u64,
}

impl SearchRequest {
    /// The checked search, `None` without `grep`, or a 422 naming the query field, why, and what
    /// is allowed. `loc` is where the fields live (`["query"]` for REST, `["arguments"]` for MCP).
    pub fn check(&self, loc: &str) -> AppResult<Option<Search>> {
        let Some(grep) = &self.grep else {
            for (field, given) in [("context", self.context.is_some()), ("count", self.count.is_some())] {
                if given {
                    return Err(AppError::field(
                        &[loc, field],
                        "missing_grep",
                        format!("{field} needs grep: give the regular expression to search for"),
                        serde_json::Value::Null,
                    ));
                }
            }
            return Ok(None);
        };
        if grep.is_empty() || grep.len() > MAX_PATTERN_BYTES {
            return Err(AppError::field(
                &[loc, "grep"],
                "length",
                format!("grep must be a regular expression of 1 to {MAX_PATTERN_BYTES} bytes"),
                json!(grep.len()),
            ));
        }
        let pattern = RegexBuilder::new(grep).size_limit(COMPILED_SIZE_LIMIT).build().map_err(|e| {
            AppError::field(
                &[loc, "grep"],
                "regex",
                format!(
                    "grep is not a regular expression this server accepts (Rust regex syntax: no look-around or back-references; (?i) for case-insensitive): {}",
                    first_line(&e.to_string())
                ),
                json!(grep),
            )
        })?;
        let context = self.context.unwrap_or(0);
        if context > MAX_CONTEXT {
            return Err(AppError::field(
                &[loc, "context"],
                "range",
                format!("context must be between 0 and {MAX_CONTEXT} lines"),
                json!(context),
            ));
        }
        Ok(Some(Search { pattern, context: context as usize, count_only: self.count.unwrap_or(false) }))
    }
}

/// The regex crate's message is several lines (the pattern, a caret, the error): the error.
fn first_line(message: &str) -> String {
    message.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or(message).trim().to_string()
}

impl Search {
    pub fn count_only(&self) -> bool {
        self.count_only
    }

    /// The lines of `output` that match, with their context.
    pub fn run(&self, output: &str) -> Found {
        let lines: Vec<&str> = output.lines().collect();
        let hits: Vec<usize> =
            lines.iter().enumerate().filter(|(_, l)| self.pattern.is_match(l)).map(|(i, _)| i).collect();
        let mut text = String::new();
        if !self.count_only {
            let mut shown = vec![false; lines.len()];
            for &hit in &hits {
                let last = (hit + self.context).min(lines.len() - 1);
                shown[hit.saturating_sub(self.context)..=last].fill(true);
            }
            let mut previous: Option<usize> = None;
            for (i, line) in lines.iter().enumerate().filter(|(i, _)| shown[*i]) {
                if self.context > 0 && previous.is_some_and(|p| i > p + 1) {
                    text.push_str("--\n");
                }
                let mark = if hits.binary_search(&i).is_ok() { ':' } else { '-' };
                let _ = writeln!(text, "{}{mark}{line}", i + 1);
                previous = Some(i);
            }
        }
        Found { text, matches: hits.len() as u64, lines: lines.len() as u64 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search(grep: &str, context: Option<u32>, count: Option<bool>) -> Search {
        SearchRequest { grep: Some(grep.into()), context, count }
            .check("query")
            .expect("valid")
            .expect("a search")
    }

    const LOG: &str = "start\nok 1\nERROR one\nok 2\nok 3\nok 4\nok 5\nERROR two\nERROR three\nok 6\nend\n";

    #[test]
    fn matching_lines_are_numbered_like_grep() {
        let found = search("ERROR", None, None).run(LOG);
        assert_eq!(found.text, "3:ERROR one\n8:ERROR two\n9:ERROR three\n");
        assert_eq!((found.matches, found.lines), (3, 11));
    }

    #[test]
    fn context_windows_join_and_gaps_are_marked() {
        let found = search("ERROR", Some(1), None).run(LOG);
        assert_eq!(
            found.text,
            "2-ok 1\n3:ERROR one\n4-ok 2\n--\n7-ok 5\n8:ERROR two\n9:ERROR three\n10-ok 6\n"
        );
        // Windows that touch are one group.
        let found = search("ERROR", Some(2), None).run(LOG);
        assert_eq!(
            found.text,
            "1-start\n2-ok 1\n3:ERROR one\n4-ok 2\n5-ok 3\n6-ok 4\n7-ok 5\n8:ERROR two\n9:ERROR three\n10-ok 6\n11-end\n"
        );
    }

    #[test]
    fn count_only_says_how_many() {
        let found = search("(?i)error", None, Some(true)).run(LOG);
        assert_eq!((found.text.as_str(), found.matches), ("", 3));
        assert_eq!(search("nothing", None, None).run(LOG).matches, 0);
    }

    #[test]
    fn bad_searches_name_the_field() {
        let check = |r: SearchRequest| match r.check("query") {
            Err(AppError::Validation(errors)) => (errors[0].loc.join("."), errors[0].msg.clone()),
            other => panic!("{other:?}"),
        };
        let (loc, msg) = check(SearchRequest { grep: Some("(unclosed".into()), ..Default::default() });
        assert_eq!(loc, "query.grep");
        assert!(msg.contains("unclosed"), "{msg}");
        let (loc, _) = check(SearchRequest { grep: Some("(?=look)ahead".into()), ..Default::default() });
        assert_eq!(loc, "query.grep");
        let (loc, _) =
            check(SearchRequest { grep: Some("x".repeat(MAX_PATTERN_BYTES + 1)), ..Default::default() });
        assert_eq!(loc, "query.grep");
        let (loc, msg) = check(SearchRequest { grep: Some(r"\w{1000}{1000}".into()), ..Default::default() });
        assert_eq!(loc, "query.grep", "a pattern too big to compile: {msg}");
        let (loc, _) = check(SearchRequest { grep: Some("x".into()), context: Some(21), count: None });
        assert_eq!(loc, "query.context");
        let (loc, msg) = check(SearchRequest { grep: None, context: Some(2), count: None });
        assert_eq!((loc.as_str(), msg.contains("needs grep")), ("query.context", true));
        let (loc, _) = check(SearchRequest { grep: None, context: None, count: Some(true) });
        assert_eq!(loc, "query.count");
        assert!(SearchRequest::default().check("query").expect("no search").is_none());
    }
}
