//! kubectl's column alignment: Go's `text/tabwriter` as kubectl configures it (minimum width 6,
//! padding 3, pad with spaces). Every cell but a line's last is padded to its column's width;
//! the last cell is written as is.

const MIN_WIDTH: usize = 6;
const PADDING: usize = 3;

/// Aligns `lines` (cells per line) and returns them joined, each ending in `\n`.
pub fn align(lines: &[Vec<String>]) -> String {
    let columns = lines.iter().map(|l| l.len().saturating_sub(1)).max().unwrap_or(0);
    let mut widths = vec![MIN_WIDTH; columns];
    for line in lines {
        for (i, cell) in line.iter().take(line.len().saturating_sub(1)).enumerate() {
            widths[i] = widths[i].max(cell.chars().count() + PADDING);
        }
    }
    let mut out = String::new();
    for line in lines {
        let last = line.len().saturating_sub(1);
        for (i, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if i < last {
                out.extend(std::iter::repeat_n(' ', widths[i].saturating_sub(cell.chars().count())));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn pads_like_go_tabwriter_in_kubectl() {
        let text =
            align(&[line(&["NAME", "READY", "AGE"]), line(&["orders-api-8676c9c87b-5kdtf", "0/1", "8m"])]);
        assert_eq!(
            text,
            "NAME                          READY   AGE\norders-api-8676c9c87b-5kdtf   0/1     8m\n"
        );
    }

    #[test]
    fn short_columns_get_the_minimum_width_and_the_last_cell_is_not_padded() {
        let text = align(&[line(&["a", "b", ""]), line(&["cc", "", "x"])]);
        assert_eq!(text, "a     b     \ncc          x\n");
    }

    #[test]
    fn widths_count_characters_not_bytes() {
        let text = align(&[line(&["é", "x"]), line(&["ab", "y"])]);
        assert_eq!(text, "é     x\nab    y\n");
    }
}
