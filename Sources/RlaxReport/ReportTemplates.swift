/// The report's Mustache templates. The page is self-contained: styles inline, plots inline
/// SVG, no script or font from the network. Its one script only counts the plots that drew
/// (for the browser test and for a reader who wonders whether one failed).
enum ReportTemplates {
  static let html = #"""
    <!DOCTYPE html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <title>{{title}}</title>
    <style>
    body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto; max-width: 1120px; color: #222; padding: 0 16px; }
    h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; }
    table { border-collapse: collapse; margin: 8px 0 16px; font-variant-numeric: tabular-nums; }
    th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; } th { background: #f4f4f4; }
    .charts { display: flex; flex-wrap: wrap; gap: 12px; }
    svg.chart { background: #fff; border: 1px solid #eee; }
    svg .grid { stroke: #eee; } svg .axis { stroke: #888; } svg .zero { stroke: #444; stroke-dasharray: 3 3; }
    svg .tick, svg .legend { font-size: 11px; fill: #444; } svg .label { font-size: 12px; fill: #222; }
    svg .chart-title { font-size: 13px; font-weight: 600; fill: #222; }
    .summary { color: #444; }
    </style>
    </head>
    <body data-charts="{{chartCount}}">
    <h1>{{title}}</h1>
    {{#summary}}<p class="summary">{{line}}</p>
    {{/summary}}
    {{#sections}}
    <section>
    <h2>{{heading}}</h2>
    {{#text}}<p>{{line}}</p>
    {{/text}}
    {{#tables}}
    <table><thead><tr>{{#headers}}<th>{{cell}}</th>{{/headers}}</tr></thead>
    <tbody>{{#rows}}<tr>{{#cells}}<td>{{cell}}</td>{{/cells}}</tr>
    {{/rows}}</tbody></table>
    {{/tables}}
    <div class="charts">{{#charts}}{{{svg}}}
    {{/charts}}</div>
    </section>
    {{/sections}}
    <script>
    // Counts the plots the browser laid out with a non-empty box and drawn marks.
    window.addEventListener("load", function () {
      var drawn = 0;
      document.querySelectorAll("svg.chart").forEach(function (svg) {
        var box = svg.getBBox();
        if (box.width > 0 && box.height > 0 && svg.querySelectorAll("polyline, rect, circle").length > 0) drawn += 1;
      });
      document.body.setAttribute("data-charts-drawn", String(drawn));
    });
    </script>
    </body>
    </html>

    """#

  static let markdown = #"""
    {{% CONTENT_TYPE: TEXT}}
    # {{title}}

    {{#summary}}{{line}}

    {{/summary}}
    {{#sections}}
    ## {{heading}}

    {{#text}}{{line}}

    {{/text}}
    {{#tables}}
    |{{#headers}} {{cell}} |{{/headers}}
    |{{#headers}}---|{{/headers}}
    {{#rows}}|{{#cells}} {{cell}} |{{/cells}}
    {{/rows}}

    {{/tables}}
    {{/sections}}
    """#
}
