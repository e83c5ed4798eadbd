//! Output sized for an agent's context: an output over its budget is cut at a line boundary (a
//! table keeps its header row, being the first line) and ends with a footer that says what was
//! left out, where the rest is, and how to narrow the query. The full output is kept under the
//! command id for paging (`GET /debug/result/{command_id}?offset=`).

/// Default budget per command: about 4 000 tokens.
pub const DEFAULT_BUDGET_BYTES: usize = 16 * 1024;
/// Smallest and largest budget a request may ask for.
pub const MIN_BUDGET_BYTES: usize = 1024;
pub const MAX_BUDGET_BYTES: usize = 1024 * 1024;
/// Largest full output kept for paging (NATS message size); beyond it the stored copy is cut too.
pub const MAX_STORED_BYTES: usize = 4 * 1024 * 1024;

/// The budget a command runs with: the one it asked for (clamped to what a request may ask
/// for), else the default.
pub fn effective(requested: Option<u64>) -> usize {
    requested
        .map_or(DEFAULT_BUDGET_BYTES, |b| usize::try_from(b).unwrap_or(MAX_BUDGET_BYTES))
        .clamp(MIN_BUDGET_BYTES, MAX_BUDGET_BYTES)
}

/// Rough tokens for `bytes` of mostly-ASCII text.
pub fn estimate_tokens(bytes: usize) -> u64 {
    bytes.div_ceil(4) as u64
}

/// The result of fitting an output into a budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fitted {
    /// The text to send (with the footer when cut).
    pub text: String,
    pub truncated: bool,
    pub total_bytes: usize,
    pub total_lines: usize,
    /// Bytes of the original output that `text` contains (= where paging continues).
    pub kept_bytes: usize,
    pub kept_lines: usize,
}

/// Fits `output` into `budget` bytes (the footer comes on top). `verb` picks the narrowing hint;
/// `command_id` goes into the paging pointer.
pub fn fit(output: &str, budget: usize, verb: &str, command_id: &str) -> Fitted {
    let total_lines = output.lines().count();
    if output.len() <= budget {
        return Fitted {
            text: output.to_string(),
            truncated: false,
            total_bytes: output.len(),
            total_lines,
            kept_bytes: output.len(),
            kept_lines: total_lines,
        };
    }
    // The last line end within the budget; a single over-long first line is cut at a char boundary.
    let mut cut = output[..floor_char_boundary(output, budget)].rfind('\n').map_or(0, |i| i + 1);
    if cut == 0 {
        cut = floor_char_boundary(output, budget);
    }
    let kept = &output[..cut];
    let kept_lines = kept.lines().count();
    let footer = format!(
        "{}[kubently: output truncated — showing {kept_lines} of {total_lines} lines ({cut} of {} bytes, budget {budget}). The full output is kept: GET /debug/result/{command_id}?offset={cut} for the rest. To narrow: {}]\n",
        if kept.ends_with('\n') || kept.is_empty() { "" } else { "\n" },
        output.len(),
        narrowing_hint(verb)
    );
    Fitted {
        text: format!("{kept}{footer}"),
        truncated: true,
        total_bytes: output.len(),
        total_lines,
        kept_bytes: cut,
        kept_lines,
    }
}

/// How to ask for less, per verb.
pub fn narrowing_hint(verb: &str) -> &'static str {
    match verb {
        "get" => {
            "a namespace (-n) instead of -A, a label selector (-l app=x), --field-selector (e.g. status.phase!=Running), -o name, or -o custom-columns with only the fields you need"
        }
        "logs" => "--tail=100, --since=10m, -c <container>, or --previous for the crashed run only",
        "describe" => "describe one object by name instead of a whole type, or --show-events=false",
        "events" => "--types=Warning, --for kind/name, or a namespace (-n) instead of -A",
        "top" => "a namespace (-n) or a label selector (-l)",
        "explain" => "a deeper field path (pods.spec.containers.resources) instead of --recursive",
        _ => "a namespace, a selector, or a narrower request",
    }
}

/// `str::floor_char_boundary` (stable only in newer Rust): the largest char boundary ≤ `index`.
fn floor_char_boundary(s: &str, index: usize) -> usize {
    if index >= s.len() {
        return s.len();
    }
    (0..=index).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0)
}

/// A page of `output` starting at byte `offset` (snapped to a char boundary), at most `limit`
/// bytes, ending at a line boundary when one is within the page. Returns (page, next offset).
pub fn page(output: &str, offset: usize, limit: usize) -> (&str, Option<usize>) {
    let start = floor_char_boundary(output, offset.min(output.len()));
    let rest = &output[start..];
    if rest.len() <= limit {
        return (rest, None);
    }
    let within = floor_char_boundary(rest, limit);
    let end = match rest[..within].rfind('\n') {
        Some(i) => i + 1,
        None if within > 0 => within,
        // A limit smaller than the first character: still make progress by one character.
        None => rest.char_indices().nth(1).map_or(rest.len(), |(i, _)| i),
    };
    (&rest[..end], Some(start + end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: usize) -> String {
        let mut s = String::from("NAME      STATUS\n");
        for i in 0..rows {
            s.push_str(&format!("pod-{i:04}  Running\n"));
        }
        s
    }

    #[test]
    fn small_outputs_pass_untouched() {
        let out = table(3);
        let f = fit(&out, 1024, "get", "id");
        assert_eq!((f.text.as_str(), f.truncated, f.kept_bytes), (out.as_str(), false, out.len()));
    }

    #[test]
    fn large_outputs_are_cut_at_a_row_with_header_and_a_footer_that_says_how_to_narrow() {
        let out = table(1000);
        let f = fit(&out, 2048, "get", "0190");
        assert!(f.truncated);
        assert!(f.text.starts_with("NAME      STATUS\n"), "the header survives");
        let body = &f.text[..f.kept_bytes];
        assert!(body.len() <= 2048 && body.ends_with('\n'), "cut at a row boundary within the budget");
        assert_eq!(&out[..f.kept_bytes], body);
        assert!(f.text.contains(&format!("showing {} of 1001 lines", f.kept_lines)), "{}", f.text);
        assert!(f.text.contains(&format!("/debug/result/0190?offset={}", f.kept_bytes)));
        assert!(f.text.contains("label selector"), "a hint for get");
        assert!(fit(&out, 2048, "logs", "x").text.contains("--tail"));
    }

    #[test]
    fn one_long_line_is_cut_at_a_char_boundary() {
        let out = "é".repeat(5000);
        let f = fit(&out, 1001, "get", "x");
        assert!(f.truncated && f.kept_bytes <= 1001 && out.is_char_boundary(f.kept_bytes));
    }

    #[test]
    fn pages_reassemble_the_whole_output() {
        let out = table(500);
        let (mut offset, mut joined) = (0, String::new());
        loop {
            let (chunk, next) = page(&out, offset, 700);
            assert!(chunk.len() <= 700 && !chunk.is_empty());
            joined.push_str(chunk);
            match next {
                Some(n) => offset = n,
                None => break,
            }
        }
        assert_eq!(joined, out);
        assert_eq!(page(&out, out.len() + 10, 100), ("", None));
    }

    #[test]
    fn tokens_are_about_a_quarter_of_the_bytes() {
        assert_eq!(estimate_tokens(16 * 1024), 4096);
        assert_eq!(estimate_tokens(1), 1);
    }
}
