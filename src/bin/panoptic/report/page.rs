//! `panoptic report --html FILE`: one self-contained page (inline SVG and
//! CSS, no script, nothing fetched) with cost per day per service as
//! stacked bars, and the top resources.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use panoptic::Decimal;
use panoptic::query::CostRow;

use crate::render::header;
use crate::render::html::{self, escape};

/// Distinct, readable on white; cycled when there are more services.
const COLORS: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];

const STYLE: &str = "\
body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #222; }
h1 { font-size: 1.4rem; }
table { border-collapse: collapse; margin-top: 1rem; }
th, td { padding: .25rem .75rem; border-bottom: 1px solid #ddd; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.legend span { display: inline-block; margin-right: 1rem; }
.legend i { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: middle; }
";

/// Rows of the top-resources table.
const TOP: usize = 20;

/// `by_day_service` rows are keyed `[day, service]`; `by_resource` rows
/// `[resource, service]`, largest first.
pub(super) fn page(title: &str, by_day_service: &[CostRow], by_resource: &[CostRow]) -> String {
    let mut days: BTreeMap<&str, BTreeMap<&str, Decimal>> = BTreeMap::new();
    let mut service_totals: BTreeMap<&str, Decimal> = BTreeMap::new();
    for row in by_day_service {
        let (day, service) = (row.key[0].as_str(), row.key[1].as_str());
        *days.entry(day).or_default().entry(service).or_default() += row.amount;
        *service_totals.entry(service).or_default() += row.amount;
    }
    let mut services: Vec<&str> = service_totals.keys().copied().collect();
    services.sort_by(|a, b| service_totals[b].cmp(&service_totals[a]).then(a.cmp(b)));
    let color = |service: &str| {
        let index = services.iter().position(|s| *s == service).unwrap_or(0);
        COLORS[index % COLORS.len()]
    };
    let total: Decimal = service_totals.values().copied().sum();

    let mut body = format!(
        "<h1>{}</h1>\n<p>Total: <strong id=\"total\">{}</strong> across {} day(s) and {} service(s).</p>\n",
        escape(title),
        total.normalize(),
        days.len(),
        services.len()
    );
    body.push_str(&chart(&days, &color));
    body.push_str("<p class=\"legend\">");
    for service in &services {
        let _ = write!(
            body,
            "<span><i style=\"background:{}\"></i>{} ({})</span>",
            color(service),
            escape(service),
            service_totals[service].normalize()
        );
    }
    body.push_str("</p>\n<h2>Top resources</h2>\n");
    let columns = header(&["resource", "service", "amount", "calls", "errors", "p95 ms"]);
    let rows: Vec<Vec<String>> = by_resource
        .iter()
        .take(TOP)
        .map(|row| {
            vec![
                row.key[0].clone(),
                row.key[1].clone(),
                row.amount.normalize().to_string(),
                row.count.to_string(),
                row.errors.to_string(),
                row.p95_ms.map(|p| format!("{p:.1}")).unwrap_or_default(),
            ]
        })
        .collect();
    let table = html::Table {
        id: Some("top-resources"),
        header: &columns,
        numeric: 2..columns.len(),
    };
    body.push_str(&table.to_html(&rows, |_| None));
    html::document(title, STYLE, &body)
}

/// Stacked bars, one per day; each segment has a `<title>` tooltip.
fn chart<'a>(
    days: &BTreeMap<&'a str, BTreeMap<&'a str, Decimal>>,
    color: &dyn Fn(&str) -> &'static str,
) -> String {
    const HEIGHT: f64 = 240.0;
    const BAR: f64 = 28.0;
    const GAP: f64 = 12.0;
    const LEFT: f64 = 70.0;
    const BOTTOM: f64 = 80.0;
    let max = days
        .values()
        .map(|services| services.values().copied().sum::<Decimal>())
        .max()
        .unwrap_or_default();
    // Heights only: drawing needs floats, the figures printed stay decimal.
    let scale = |amount: Decimal| -> f64 {
        let max: f64 = max.try_into().unwrap_or(0.0);
        let amount: f64 = amount.try_into().unwrap_or(0.0);
        if max > 0.0 {
            amount / max * HEIGHT
        } else {
            0.0
        }
    };
    let width = LEFT + days.len() as f64 * (BAR + GAP) + GAP;
    let mut svg = format!(
        "<svg id=\"cost-per-day\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{}\" role=\"img\" aria-label=\"cost per day per service\">\n",
        HEIGHT + BOTTOM + 10.0
    );
    let _ = writeln!(
        svg,
        "<line x1=\"{LEFT}\" y1=\"10\" x2=\"{LEFT}\" y2=\"{y}\" stroke=\"#999\"/><text x=\"{x}\" y=\"16\" text-anchor=\"end\" font-size=\"11\">{}</text><text x=\"{x}\" y=\"{y}\" text-anchor=\"end\" font-size=\"11\">0</text>",
        max.normalize(),
        x = LEFT - 6.0,
        y = HEIGHT + 10.0
    );
    for (i, (day, services)) in days.iter().enumerate() {
        let x = LEFT + GAP + i as f64 * (BAR + GAP);
        let mut top = HEIGHT + 10.0;
        for (service, amount) in services {
            let height = scale(*amount);
            top -= height;
            let _ = writeln!(
                svg,
                "<rect class=\"bar\" data-day=\"{day}\" data-service=\"{s}\" x=\"{x}\" y=\"{top:.2}\" width=\"{BAR}\" height=\"{height:.2}\" fill=\"{c}\"><title>{day} · {s}: {a}</title></rect>",
                day = escape(day),
                s = escape(service),
                c = color(service),
                a = amount.normalize()
            );
        }
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\" transform=\"rotate(-45 {0} {1})\">{}</text>",
            x + BAR / 2.0,
            HEIGHT + 24.0,
            escape(day)
        );
    }
    svg.push_str("</svg>\n");
    svg
}
