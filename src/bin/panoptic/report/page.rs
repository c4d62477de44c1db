//! `panoptic report --html FILE`: one self-contained page (inline SVG and
//! CSS, no script, nothing fetched): per currency, a total with the calls
//! it leaves out as unpriced and cost per day per service as stacked bars;
//! then the top resources. Two currencies are two charts, never one bar.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use panoptic::Decimal;
use panoptic::query::{ConvertedRow, CurrencyTotal, totals};

use super::conversion::{self, Conversion};
use super::figures::{self, UNPRICED};
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
.unpriced, .rates { color: #666; }
";

/// Rows of the top-resources table.
const TOP: usize = 20;

/// The rows a page is drawn from.
pub(super) struct Page<'a> {
    /// The page's title.
    pub title: &'a str,
    /// Rows keyed `[day, service]`.
    pub by_day_service: &'a [ConvertedRow],
    /// Rows keyed `[resource, service]`, largest first.
    pub by_resource: &'a [ConvertedRow],
    /// `--currency`, if asked: the rates go under the total.
    pub conversion: Option<&'a Conversion>,
}

/// What one service spent on one day (or in all), and what it left unpriced.
#[derive(Default, Clone, Copy)]
struct Spend {
    amount: Decimal,
    unpriced: u64,
    count: u64,
}

impl Spend {
    /// `1.25 USD`, with `(2 calls unpriced)` when some were;
    /// `unpriced: 2 calls` when all were (never a bare 0).
    fn label(&self, currency: &str, converted: bool) -> String {
        if self.count > 0 && self.unpriced == self.count && self.amount.is_zero() {
            return match self.count {
                1 => format!("{UNPRICED}: 1 call"),
                n => format!("{UNPRICED}: {n} calls"),
            };
        }
        let mut label = format!("{} {currency}", figures::amount(self.amount, converted));
        match self.unpriced {
            0 => {}
            1 => label.push_str(" (1 call unpriced)"),
            n => {
                let _ = write!(label, " ({n} calls unpriced)");
            }
        }
        label
    }
}

impl Page<'_> {
    /// The whole page.
    pub(super) fn html(&self) -> String {
        let rows: Vec<_> = self.by_day_service.iter().map(|r| r.row.clone()).collect();
        let mut body = format!("<h1>{}</h1>\n", escape(self.title));
        let totals = totals(&rows);
        if totals.is_empty() {
            body.push_str("<p>No events in this range.</p>\n");
        }
        for total in &totals {
            body.push_str(&self.currency_section(total));
        }
        body.push_str("<h2>Top resources</h2>\n");
        body.push_str(&self.top_resources());
        html::document(self.title, STYLE, &body)
    }

    /// One currency's total (and the rates behind it), chart and legend.
    fn currency_section(&self, total: &CurrencyTotal) -> String {
        let currency = total.currency.as_str();
        let converted = self.conversion.is_some();
        let mut days: BTreeMap<&str, BTreeMap<&str, Spend>> = BTreeMap::new();
        let mut services: BTreeMap<&str, Spend> = BTreeMap::new();
        for row in self
            .by_day_service
            .iter()
            .map(|r| &r.row)
            .filter(|r| r.currency == currency)
        {
            let (day, service) = (row.key[0].as_str(), row.key[1].as_str());
            for spend in [
                days.entry(day).or_default().entry(service).or_default(),
                services.entry(service).or_default(),
            ] {
                spend.amount += row.amount;
                spend.unpriced += row.unpriced;
                spend.count += row.count;
            }
        }
        let mut order: Vec<&str> = services.keys().copied().collect();
        order.sort_by(|a, b| services[b].amount.cmp(&services[a].amount).then(a.cmp(b)));
        let color = |service: &str| {
            let index = order.iter().position(|s| *s == service).unwrap_or(0);
            COLORS[index % COLORS.len()]
        };
        let shown = format!(
            "{} {currency}",
            figures::amount_or_unpriced(total.amount, total.all_unpriced(), converted)
        );
        let mut section = format!(
            "<p class=\"total\" data-currency=\"{c}\">Total: <strong>{}</strong> \
             <span class=\"unpriced\">({})</span> across {} day(s) and {} service(s).</p>\n",
            escape(&shown),
            escape(&figures::unpriced_note(total.unpriced, total.count)),
            days.len(),
            order.len(),
            c = escape(currency),
        );
        if let Some(conversion) = self.conversion {
            let rates = figures::rates(&conversion::applied(self.by_day_service));
            let note = if rates.is_empty() {
                format!("Every amount was in {currency}: nothing converted.")
            } else {
                format!(
                    "Converted at {rates}: the rates in effect on {}, the range's last day.",
                    conversion.on
                )
            };
            let _ = writeln!(section, "<p class=\"rates\">{}</p>", escape(&note));
        }
        section.push_str(&chart(currency, &days, &color, converted));
        let _ = write!(
            section,
            "<p class=\"legend\" data-currency=\"{}\">",
            escape(currency)
        );
        for service in &order {
            let _ = write!(
                section,
                "<span><i style=\"background:{}\"></i>{} ({})</span>",
                color(service),
                escape(service),
                escape(&services[service].label(currency, converted))
            );
        }
        section.push_str("</p>\n");
        section
    }

    /// The largest resources, each with its currency and unpriced calls.
    fn top_resources(&self) -> String {
        let columns = header(&[
            "resource", "service", "currency", "amount", "unpriced", "calls", "errors", "p95 ms",
        ]);
        let converted = self.conversion.is_some();
        let rows: Vec<Vec<String>> = self
            .by_resource
            .iter()
            .take(TOP)
            .map(|r| {
                let row = &r.row;
                vec![
                    row.key[0].clone(),
                    row.key[1].clone(),
                    row.currency.clone(),
                    figures::amount_or_unpriced(row.amount, row.all_unpriced(), converted),
                    row.unpriced.to_string(),
                    row.count.to_string(),
                    row.errors.to_string(),
                    row.p95_ms.map(|p| format!("{p:.1}")).unwrap_or_default(),
                ]
            })
            .collect();
        let table = html::Table {
            id: Some("top-resources"),
            header: &columns,
            numeric: 3..columns.len(),
        };
        table.to_html(&rows, |_| None)
    }
}

/// Stacked bars of one currency, one per day; each segment has a
/// `<title>` tooltip with its amount, currency and unpriced calls.
fn chart(
    currency: &str,
    days: &BTreeMap<&str, BTreeMap<&str, Spend>>,
    color: &dyn Fn(&str) -> &'static str,
    converted: bool,
) -> String {
    const HEIGHT: f64 = 240.0;
    const BAR: f64 = 28.0;
    const GAP: f64 = 12.0;
    const LEFT: f64 = 70.0;
    const BOTTOM: f64 = 80.0;
    let max = days
        .values()
        .map(|services| services.values().map(|s| s.amount).sum::<Decimal>())
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
    let code = escape(currency);
    let mut svg = format!(
        "<svg id=\"cost-per-day-{code}\" class=\"cost-per-day\" data-currency=\"{code}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{}\" role=\"img\" aria-label=\"cost per day per service in {code}\">\n",
        HEIGHT + BOTTOM + 10.0
    );
    let _ = writeln!(
        svg,
        "<line x1=\"{LEFT}\" y1=\"10\" x2=\"{LEFT}\" y2=\"{y}\" stroke=\"#999\"/><text x=\"{x}\" y=\"16\" text-anchor=\"end\" font-size=\"11\">{} {code}</text><text x=\"{x}\" y=\"{y}\" text-anchor=\"end\" font-size=\"11\">0</text>",
        figures::amount(max, converted),
        x = LEFT - 6.0,
        y = HEIGHT + 10.0
    );
    for (i, (day, services)) in days.iter().enumerate() {
        let x = LEFT + GAP + i as f64 * (BAR + GAP);
        let mut top = HEIGHT + 10.0;
        for (service, spend) in services {
            let height = scale(spend.amount);
            top -= height;
            let _ = writeln!(
                svg,
                "<rect class=\"bar\" data-day=\"{day}\" data-service=\"{s}\" data-currency=\"{code}\" x=\"{x}\" y=\"{top:.2}\" width=\"{BAR}\" height=\"{height:.2}\" fill=\"{c}\"><title>{day} · {s}: {a}</title></rect>",
                day = escape(day),
                s = escape(service),
                c = color(service),
                a = escape(&spend.label(currency, converted))
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
