//! The suite's table (markdown, as the README shows it) and the notes that explain each row.

use super::measure::Row;

/// `value` in bold when it meets its zero target, `**n ✗**` otherwise.
fn zero(value: usize) -> String {
    if value == 0 { "**0**".into() } else { format!("**{value} ✗**") }
}

fn recovery(r: &Row) -> String {
    match r.recovery {
        None => "never".to_string(),
        Some(s) if s < 1.0 => format!("{:.0} ms", s * 1000.0),
        Some(s) => format!("{s:.1} s"),
    }
}

/// The markdown table.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| scenario | accepted | success | explicit failure / timeout | lost | executed twice | false results | dropped callbacks | 5xx | terminal events missing / twice | recovery |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} / {} | {} | {} | {} | {} | {} | {} / {} | {} |\n",
            r.scenario,
            r.accepted,
            r.success,
            r.failure,
            r.timeout,
            zero(r.lost),
            zero(r.executed_twice),
            zero(r.false_results),
            zero(r.dropped_callbacks),
            zero(r.server_errors),
            zero(r.events_missing),
            zero(r.events_twice),
            recovery(r),
        ));
    }
    out.push_str("| **target** | | | | **0** | **0** | **0** | **0** | **0** | **0** / **0** | |\n");
    out
}

/// Each row's notes, as a markdown list per scenario.
pub fn notes(rows: &[Row]) -> String {
    let mut out = String::new();
    for r in rows {
        out.push_str(&format!("- **{}** ({} requests):\n", r.scenario, r.submitted));
        for n in &r.notes {
            out.push_str(&format!("  - {n}\n"));
        }
    }
    out
}

/// One line for the progress output.
pub fn summary(r: &Row) -> String {
    format!(
        "accepted {}, success {}, failure {}, timeout {}, lost {}, executed twice {}, false results {}, dropped callbacks {}, 5xx {}, terminal events missing {} / twice {}, recovery {} — {}",
        r.accepted,
        r.success,
        r.failure,
        r.timeout,
        r.lost,
        r.executed_twice,
        r.false_results,
        r.dropped_callbacks,
        r.server_errors,
        r.events_missing,
        r.events_twice,
        recovery(r),
        if r.targets_met() { "targets met" } else { "TARGET MISSED" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_marks_missed_targets() {
        let ok = Row {
            scenario: "a".into(),
            accepted: 10,
            success: 9,
            timeout: 1,
            recovery: Some(1.34),
            ..Row::default()
        };
        let bad = Row { scenario: "b".into(), accepted: 10, lost: 2, ..Row::default() };
        let t = table(&[ok.clone(), bad.clone()]);
        assert!(
            t.contains(
                "| a | 10 | 9 | 0 / 1 | **0** | **0** | **0** | **0** | **0** | **0** / **0** | 1.3 s |"
            ),
            "{t}"
        );
        assert!(t.contains("| b | 10 | 0 | 0 / 0 | **2 ✗** |"), "{t}");
        assert!(ok.targets_met());
        assert!(!bad.targets_met());
    }
}
