/// The content of a report, as the templates see it: sections of prose, tables and charts.
struct ReportPage {
  struct Table {
    var headers: [String]
    var rows: [[String]]
  }

  struct Section {
    var heading: String
    var text: [String] = []
    var tables: [Table] = []
    /// Inline SVG documents.
    var charts: [String] = []
  }

  var title: String
  var summary: [String]
  var sections: [Section]
  /// The markdown summary, when the run wrote one (comparison.md).
  var markdown: String?

  /// The Mustache context: dictionaries and arrays only.
  var context: [String: Any] {
    [
      "title": title,
      "summary": summary.map { ["line": $0] },
      "sections": sections.map { s in
        [
          "heading": s.heading,
          "text": s.text.map { ["line": $0] },
          "tables": s.tables.map { t in
            ["headers": t.headers.map { ["cell": $0] }, "rows": t.rows.map { ["cells": $0.map { ["cell": $0] }] }] as [String: Any]
          },
          "charts": s.charts.map { ["svg": $0] },
          "chartCount": s.charts.count,
        ] as [String: Any]
      },
      "chartCount": sections.reduce(0) { $0 + $1.charts.count },
    ]
  }
}
