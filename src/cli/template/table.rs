//! Tables as Podman prints them: Go's `text/tabwriter` with Podman's
//! settings, and column titles made from field names.

/// Podman's tabwriter settings: minimum cell width and padding after each
/// cell (`tabwriter.NewWriter(w, 12, 2, 2, ' ', 0)`).
const MIN_WIDTH: usize = 12;
const PADDING: usize = 2;

/// Aligns tab-separated cells into columns as Podman's tables do: each
/// cell but a line's last is padded to its column's widest cell plus two
/// spaces, and to at least twelve characters. Every line ends in `\n`.
pub fn align(lines: &[String]) -> String {
    let mut text = lines.join("\n");
    text.push('\n');
    tabwrite(&text)
}

/// Runs `text` through Go's tabwriter: a column block is a run of
/// consecutive lines that have a tab-terminated cell in that column.
pub(super) fn tabwrite(text: &str) -> String {
    let segments: Vec<&str> = text.split('\n').collect();
    let lines: Vec<Vec<&str>> = segments
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if i + 1 == segments.len() && s.is_empty() {
                Vec::new()
            } else {
                s.split('\t').collect()
            }
        })
        .collect();
    let mut w = Writer {
        lines: &lines,
        widths: Vec::new(),
        out: String::new(),
    };
    w.format(0, lines.len());
    w.out
}

struct Writer<'a> {
    lines: &'a [Vec<&'a str>],
    widths: Vec<usize>,
    out: String,
}

impl Writer<'_> {
    fn has_cell(&self, line: usize, column: usize) -> bool {
        column + 1 < self.lines[line].len()
    }

    fn format(&mut self, mut line0: usize, line1: usize) {
        let column = self.widths.len();
        let mut this = line0;
        while this < line1 {
            if !self.has_cell(this, column) {
                this += 1;
                continue;
            }
            self.write_lines(line0, this);
            line0 = this;
            let mut width = MIN_WIDTH;
            while this < line1 && self.has_cell(this, column) {
                width = width.max(self.lines[this][column].chars().count() + PADDING);
                this += 1;
            }
            self.widths.push(width);
            self.format(line0, this);
            self.widths.pop();
            line0 = this;
        }
        self.write_lines(line0, line1);
    }

    fn write_lines(&mut self, line0: usize, line1: usize) {
        for i in line0..line1 {
            let line = &self.lines[i];
            for (j, cell) in line.iter().enumerate() {
                self.out.push_str(cell);
                if let Some(w) = self.widths.get(j) {
                    let pad = w.saturating_sub(cell.chars().count());
                    self.out.extend(std::iter::repeat_n(' ', pad));
                }
            }
            if i + 1 < self.lines.len() {
                self.out.push('\n');
            }
        }
    }
}

/// The column title Podman gives a field without an override: its name
/// split at case changes (containers/common's camelcase) and upper-cased,
/// so `CreatedAt` is `CREATED AT`.
pub fn field_header(field: &str) -> String {
    let class = |c: char| {
        if c.is_lowercase() {
            1
        } else if c.is_uppercase() {
            2
        } else if c.is_numeric() {
            3
        } else {
            4
        }
    };
    let mut runs: Vec<Vec<char>> = Vec::new();
    let mut last = 0;
    for c in field.chars() {
        let k = class(c);
        match runs.last_mut() {
            Some(run) if k == last => run.push(c),
            _ => runs.push(vec![c]),
        }
        last = k;
    }
    for i in 0..runs.len().saturating_sub(1) {
        if runs[i][0].is_uppercase() && runs[i + 1][0].is_lowercase() {
            if let Some(c) = runs[i].pop() {
                runs[i + 1].insert(0, c);
            }
        }
    }
    runs.iter()
        .filter(|r| !r.is_empty())
        .map(|r| r.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn align_pads_columns_like_podman() {
        let lines = [
            "CONTAINER ID\tIMAGE\tNAMES".to_string(),
            "0123456789ab\tlocalhost/busybox:latest\tweb".to_string(),
        ];
        assert_eq!(
            align(&lines),
            "CONTAINER ID  IMAGE                     NAMES\n\
             0123456789ab  localhost/busybox:latest  web\n"
        );
        assert_eq!(align(&["a\tb".to_string()]), "a           b\n");
        assert_eq!(align(&["no tabs".to_string()]), "no tabs\n");
    }

    #[test]
    fn tabwriter_blocks_end_where_a_column_does() {
        // A line without the column ends the block, as in Go's tabwriter.
        assert_eq!(
            tabwrite("a\tb\nlonger text here\tc\nx\nd\te"),
            "a                 b\nlonger text here  c\nx\nd           e"
        );
        assert_eq!(tabwrite("a\t\tb\n"), "a                       b\n");
        assert_eq!(tabwrite(""), "");
    }

    #[test]
    fn headers_split_camel_case_like_podman() {
        assert_eq!(field_header("CreatedAt"), "CREATED AT");
        assert_eq!(field_header("ID"), "ID");
        assert_eq!(field_header("MountCount"), "MOUNT COUNT");
        assert_eq!(field_header("PDFLoader"), "PDF LOADER");
        assert_eq!(field_header("Pid"), "PID");
    }
}
