//! HTML pages written to a file: the one escaping rule, a self-contained
//! document, and tables.

use std::fmt::Write as _;
use std::ops::Range;

/// Text safe inside an element or a double-quoted attribute.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A whole page: `title` (escaped here), inline `style`, and `body`
/// (already HTML). Nothing is fetched from elsewhere.
pub fn document(title: &str, style: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{}</title>\n<style>\n{style}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        escape(title)
    )
}

/// A table of text cells (escaped here).
pub struct Table<'a> {
    /// The `id` attribute, if any.
    pub id: Option<&'a str>,
    /// Column names.
    pub header: &'a [String],
    /// Columns whose cells get `class="n"` (numbers, right-aligned by the
    /// page's style).
    pub numeric: Range<usize>,
}

impl Table<'_> {
    /// The table's HTML, one line per row; `class_of` may give a row a
    /// class (`flag`).
    pub fn to_html(
        &self,
        rows: &[Vec<String>],
        class_of: impl Fn(&[String]) -> Option<&'static str>,
    ) -> String {
        let mut html = String::from("<table");
        if let Some(id) = self.id {
            let _ = write!(html, " id=\"{}\"", escape(id));
        }
        html.push_str(">\n<tr>");
        for name in self.header {
            let _ = write!(html, "<th>{}</th>", escape(name));
        }
        html.push_str("</tr>\n");
        for row in rows {
            match class_of(row) {
                Some(class) => {
                    let _ = write!(html, "<tr class=\"{class}\">");
                }
                None => html.push_str("<tr>"),
            }
            for (i, cell) in row.iter().enumerate() {
                let class = if self.numeric.contains(&i) {
                    " class=\"n\""
                } else {
                    ""
                };
                let _ = write!(html, "<td{class}>{}</td>", escape(cell));
            }
            html.push_str("</tr>\n");
        }
        html.push_str("</table>\n");
        html
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::header;

    #[test]
    fn markup_in_text_stays_text() {
        assert_eq!(
            escape("<a href=\"x\">&</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn tables_escape_every_cell_and_mark_numbers() {
        let header = header(&["name", "amount"]);
        let table = Table {
            id: Some("t"),
            header: &header,
            numeric: 1..2,
        };
        let rows = vec![vec!["<b>".to_owned(), "5".to_owned()]];
        let html = table.to_html(&rows, |row| (row[1] == "5").then_some("flag"));
        assert_eq!(
            html,
            "<table id=\"t\">\n<tr><th>name</th><th>amount</th></tr>\n\
             <tr class=\"flag\"><td>&lt;b&gt;</td><td class=\"n\">5</td></tr>\n</table>\n"
        );
        let page = document("a & b", "", &html);
        assert!(page.contains("<title>a &amp; b</title>"), "{page}");
    }
}
