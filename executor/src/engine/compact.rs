//! Compact logs (`logs --compact`, and the log excerpts of `diagnose`): runs of identical or
//! near-identical lines folded into one with a count, and, when only a few lines may be shown,
//! the window around the last error lines kept along with the end of the log.
//!
//! Two lines are near-identical when they are equal once numbers, hexadecimal ids and the
//! digits of timestamps are replaced by `#` ([`shape`]): `2024-05-01T10:00:01Z GET /x 200 3ms`
//! and `2024-05-01T10:00:02Z GET /x 200 5ms` fold; `GET /x 200` and `GET /y 200` do not.

/// Lines kept on each side of an error line when lines are dropped.
const ERROR_WINDOW: usize = 2;
/// A run is folded from this many lines on (two lines are shown as they are).
const MIN_RUN: usize = 3;

/// Words that make a line an error line (matched case-insensitively).
const ERROR_WORDS: &[&str] = &[
    "error",
    "exception",
    "traceback",
    "fatal",
    "panic",
    "fail",
    "refused",
    "denied",
    "killed",
    "out of memory",
    "oom",
    "timeout",
    "timed out",
    "unreachable",
    "cannot",
    "can't",
    "unable",
    "invalid",
    "not found",
    "segmentation fault",
    "exit code",
    "exited",
];

/// Whether `line` reads like an error.
pub fn is_error_line(line: &str) -> bool {
    let lower = line.to_lowercase();
    ERROR_WORDS.iter().any(|w| lower.contains(w))
}

/// `line` with every digit run, and every hexadecimal word of 6+ characters that has a digit,
/// replaced by `#`: the comparison key of near-identical lines.
pub fn shape(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.is_empty() {
            return;
        }
        let hex_id = word.len() >= 6
            && word.bytes().all(|b| b.is_ascii_hexdigit())
            && word.bytes().any(|b| b.is_ascii_digit());
        if hex_id {
            out.push('#');
        } else {
            let mut in_digits = false;
            for c in word.chars() {
                if c.is_ascii_digit() {
                    if !in_digits {
                        out.push('#');
                    }
                    in_digits = true;
                } else {
                    out.push(c);
                    in_digits = false;
                }
            }
        }
        word.clear();
    };
    for c in line.chars() {
        if c.is_ascii_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// One line of compacted output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A line of the log, as it was.
    Line(String),
    /// `count` more lines like the line before were folded (the run's last line follows).
    Folded { count: usize },
    /// `count` lines were left out to stay within the line limit.
    Omitted { count: usize },
}

impl Entry {
    fn is_error(&self) -> bool {
        matches!(self, Self::Line(l) if is_error_line(l))
    }
}

/// Folds runs of near-identical lines: a run of `n ≥ 3` lines becomes its first line, a
/// `Folded { n - 2 }` marker and its last line (so the run's time span stays visible).
pub fn fold(text: &str) -> Vec<Entry> {
    let lines: Vec<&str> = text.lines().collect();
    let shapes: Vec<String> = lines.iter().map(|l| shape(l)).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let mut end = i + 1;
        while end < lines.len() && shapes[end] == shapes[i] {
            end += 1;
        }
        let run = end - i;
        if run >= MIN_RUN {
            out.push(Entry::Line(lines[i].to_string()));
            out.push(Entry::Folded { count: run - 2 });
            out.push(Entry::Line(lines[end - 1].to_string()));
        } else {
            out.extend(lines[i..end].iter().map(|l| Entry::Line(l.to_string())));
        }
        i = end;
    }
    out
}

/// At most `max` entries of `entries` (plus `Omitted` markers): the last lines, and the window
/// around the latest error lines before them, newest first, while room is left.
pub fn select(entries: Vec<Entry>, max: usize) -> Vec<Entry> {
    if entries.len() <= max || max == 0 {
        return entries;
    }
    let mut keep = vec![false; entries.len()];
    // The end of the log: where a crash says why, half of the room.
    let tail = max.div_ceil(2);
    for k in keep.iter_mut().rev().take(tail) {
        *k = true;
    }
    let mut used = tail;
    for e in (0..entries.len()).rev() {
        if used >= max {
            break;
        }
        if keep[e] || !entries[e].is_error() {
            continue;
        }
        let from = e.saturating_sub(ERROR_WINDOW);
        let to = (e + ERROR_WINDOW).min(entries.len() - 1);
        for k in keep.iter_mut().take(to + 1).skip(from) {
            if used < max && !*k {
                *k = true;
                used += 1;
            }
        }
    }
    // Room left (no errors): more of the end.
    for k in keep.iter_mut().rev() {
        if used >= max {
            break;
        }
        if !*k {
            *k = true;
            used += 1;
        }
    }
    let mut out = Vec::new();
    let mut omitted = 0;
    for (entry, kept) in entries.into_iter().zip(keep) {
        if kept {
            if omitted > 0 {
                out.push(Entry::Omitted { count: omitted });
                omitted = 0;
            }
            out.push(entry);
        } else {
            omitted += match entry {
                Entry::Folded { count } | Entry::Omitted { count } => count,
                Entry::Line(_) => 1,
            };
        }
    }
    if omitted > 0 {
        out.push(Entry::Omitted { count: omitted });
    }
    out
}

/// The entries as text, one per line; markers in Kubently's bracketed note form.
pub fn render(entries: &[Entry]) -> String {
    let mut out = String::new();
    for entry in entries {
        match entry {
            Entry::Line(l) => out.push_str(l),
            Entry::Folded { count } => {
                out.push_str(&format!("[kubently: … {count} more like the line above and below]"))
            }
            Entry::Omitted { count } => out.push_str(&format!("[kubently: … {count} lines omitted]")),
        }
        out.push('\n');
    }
    out
}

/// `logs --compact`: the whole log, folded.
pub fn compact(text: &str) -> String {
    render(&fold(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_ignore_numbers_ids_and_timestamps() {
        assert_eq!(
            shape("2024-05-01T10:00:01.123Z GET /x 200 3ms"),
            shape("2024-05-02T11:59:59.999Z GET /x 200 12ms")
        );
        assert_eq!(shape("pod web-8676c9c87b-5kdtf ready"), "pod web-#-#kdtf ready");
        assert_eq!(shape("id=deadbeef01 done"), shape("id=0123abcdef done"));
        assert_ne!(shape("GET /x 200"), shape("GET /y 200"));
        assert_ne!(shape("added"), shape("deadbe"), "hex-looking words need a digit");
    }

    #[test]
    fn runs_fold_with_their_count_and_last_line() {
        let mut log = String::from("starting\n");
        for i in 0..50 {
            log.push_str(&format!("2024-05-01T10:00:{i:02}Z GET /healthz 200 {i}ms\n"));
        }
        log.push_str("shutting down\n");
        let out = compact(&log);
        assert_eq!(
            out,
            "starting\n2024-05-01T10:00:00Z GET /healthz 200 0ms\n\
             [kubently: … 48 more like the line above and below]\n\
             2024-05-01T10:00:49Z GET /healthz 200 49ms\nshutting down\n"
        );
        assert_eq!(compact("a\na\nb\n"), "a\na\nb\n", "two lines stay as they are");
        assert_eq!(compact(""), "");
    }

    #[test]
    fn different_lines_are_never_folded() {
        let log = "GET /a 200\nGET /b 200\nGET /c 200\n";
        assert_eq!(compact(log), log);
    }

    #[test]
    fn selection_keeps_the_end_and_the_window_around_errors() {
        let mut log = String::new();
        let verbs = ["loaded", "parsed", "checked", "wrote"];
        for i in 0..30 {
            log.push_str(&format!("step {i}: {} the batch\n", verbs[i % 4]));
            if i == 10 {
                log.push_str("ERROR connection refused to postgres:5432\n");
            }
        }
        let entries = fold(&log);
        let picked = select(entries.clone(), 8);
        let text = render(&picked);
        let lines: Vec<&str> = text.lines().collect();
        let kept = picked.iter().filter(|e| matches!(e, Entry::Line(_) | Entry::Folded { .. })).count();
        assert!(kept <= 8, "{text}");
        assert!(text.contains("ERROR connection refused"), "{text}");
        assert!(text.contains("step 10: ") && text.contains("step 11: "), "{text}");
        assert_eq!(lines.last().copied(), Some("step 29: parsed the batch"), "{text}");
        assert!(lines.first().is_some_and(|l| l.contains("lines omitted")), "{text}");
        assert_eq!(select(entries.clone(), 100), entries, "within the limit: everything");
    }

    #[test]
    fn error_lines_are_recognised() {
        assert!(is_error_line("psycopg2.OperationalError: connection refused"));
        assert!(is_error_line("Traceback (most recent call last):"));
        assert!(is_error_line("FATAL: out of memory"));
        assert!(!is_error_line("GET /healthz 200"));
    }
}
