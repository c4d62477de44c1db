//! `panoptic reconcile`: panoptic's estimates beside the provider's bill.
//!
//! ```text
//! panoptic reconcile --provider openai --since 30d --by day --fail-over 5%
//! panoptic reconcile --provider aws --by day,service,resource --apply
//! panoptic reconcile --provider gcp --gcp-billing-table p.billing.gcp_billing_export_v1_X --by day,service,sku
//! panoptic reconcile --provider gcp --gcp-billing-table p.billing.gcp_billing_export_v1_X --by day,resource
//! panoptic reconcile --provider mongodb_atlas --atlas-tier M10 --since 7d --apply
//! ```

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Days, Utc};
use clap::{Args, ValueEnum};
use panoptic::Decimal;
use panoptic::bills::BillSource;
use panoptic::query::{CostQuery, GroupBy};
use panoptic::reconcile::{Basis, BillLine, Fallback, FixedCost, Reconciliation, Report, Share};

use crate::args::{Global, ReportFormat, parse_time};
use crate::output::csv_line;

/// `panoptic reconcile`.
#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// The provider whose bill is read: gcp, openai or aws.
    #[arg(long, value_enum)]
    pub provider: BillProvider,
    /// First day: `30d`, `2026-11-01`, … (whole days in the bill's zone).
    #[arg(long, default_value = "30d", value_parser = parse_time)]
    pub since: DateTime<Utc>,
    /// Day after the last (default: tomorrow, so today is included).
    #[arg(long, value_parser = parse_time)]
    pub until: Option<DateTime<Utc>>,
    /// Day and any of service, resource, user; `sku` adds the bill's SKUs
    /// or line items under each row.
    #[arg(long, value_delimiter = ',', default_value = "day,service")]
    pub by: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// Also write an HTML page of the rows to this file.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Relative difference that flags a row (`1%`, `0.01`).
    #[arg(long, default_value = "1%", value_parser = parse_fraction)]
    pub tolerance: Decimal,
    /// Exit non-zero when a row (its bill complete) differs by more than
    /// this (`5%`): for CI.
    #[arg(long, value_parser = parse_fraction)]
    pub fail_over: Option<Decimal>,
    /// Differences up to this amount never flag or fail.
    #[arg(long, default_value = "0.01")]
    pub min_difference: Decimal,
    /// Compare the estimate with the list amount or the net (after credits).
    #[arg(long, value_enum, default_value_t = BasisArg::List)]
    pub basis: BasisArg,
    /// Days back whose bill may still change.
    #[arg(long, default_value_t = 3)]
    pub late_days: u32,
    /// Only this environment's estimates.
    #[arg(long, env = "PANOPTIC_ENV")]
    pub env: Option<String>,
    /// Write `kind: "adjustment"` events that allocate each difference to
    /// the day's callers (rerunning replaces them, never adds).
    #[arg(long)]
    pub apply: bool,
    /// Username for adjustments of usage panoptic never saw.
    #[arg(long, default_value = "reconcile")]
    pub fallback_user: String,
    /// OpenAI admin key.
    #[arg(long, env = "OPENAI_ADMIN_KEY", hide_env_values = true)]
    pub openai_admin_key: Option<String>,
    /// OpenAI API address.
    #[arg(long, default_value = panoptic::bills::openai::DEFAULT_BASE_URL)]
    pub openai_base_url: String,
    /// Cost Explorer endpoint (keys from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).
    #[arg(long)]
    pub aws_endpoint: Option<String>,
    /// Cost-allocation tag naming the resource (`-` for none).
    #[arg(long, default_value = "panoptic_resource")]
    pub aws_tag: String,
    /// The billing export table, `project.dataset.gcp_billing_export_v1_…`.
    #[arg(long, env = "PANOPTIC_GCP_BILLING_TABLE")]
    pub gcp_billing_table: Option<String>,
    /// Project that runs the export query (default: the table's).
    #[arg(long)]
    pub gcp_project: Option<String>,
    /// BigQuery API address (`…/bigquery/v2/`).
    #[arg(long)]
    pub gcp_base_url: Option<String>,
    /// An OAuth access token instead of application default credentials.
    #[arg(long, env = "GOOGLE_OAUTH_ACCESS_TOKEN", hide_env_values = true)]
    pub gcp_access_token: Option<String>,
    /// MongoDB Atlas: the cluster tier (`M10`, `M30`, `Flex`) whose cost is
    /// spread over the callers (`--provider mongodb_atlas`).
    #[arg(long)]
    pub atlas_tier: Option<String>,
    /// MongoDB Atlas: when the cluster started running (default: the first
    /// day's start).
    #[arg(long, value_parser = parse_time)]
    pub atlas_from: Option<DateTime<Utc>>,
    /// MongoDB Atlas: when it stopped (default: the end of the last day,
    /// or now if sooner).
    #[arg(long, value_parser = parse_time)]
    pub atlas_to: Option<DateTime<Utc>>,
    /// What a caller's share of a difference is measured by: its
    /// estimate (default; calls for mongodb_atlas), calls or quantity.
    #[arg(long, value_enum)]
    pub share: Option<ShareArg>,
}

/// `--share`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ShareArg {
    /// The caller's estimated amount.
    Estimate,
    /// The caller's number of calls.
    Calls,
    /// The caller's summed quantity.
    Quantity,
}

/// Providers with a bill source.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BillProvider {
    /// Google Cloud billing export (build feature `gcp`).
    Gcp,
    /// OpenAI Costs API.
    Openai,
    /// AWS Cost Explorer (build feature `aws-bill`).
    Aws,
    /// A MongoDB Atlas cluster's fixed cost (`--atlas-tier`), spread over
    /// the calls that used it.
    #[value(name = "mongodb_atlas", alias = "atlas")]
    MongodbAtlas,
}

/// `--basis`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BasisArg {
    /// List price: what panoptic's amounts are.
    List,
    /// After credits.
    Net,
}

/// `5%` or `0.05`.
fn parse_fraction(text: &str) -> Result<Decimal, String> {
    let text = text.trim();
    let (number, scale) = match text.strip_suffix('%') {
        Some(n) => (n, Decimal::ONE_HUNDRED),
        None => (text, Decimal::ONE),
    };
    number
        .trim()
        .parse::<Decimal>()
        .map(|n| n / scale)
        .map_err(|_| format!("cannot read `{text}`: use 5% or 0.05"))
}

pub async fn run(global: &Global, args: &ReconcileArgs) -> Result<(), String> {
    let mut by = Vec::new();
    let mut show_details = false;
    for name in &args.by {
        match name.trim() {
            "sku" | "line_item" => show_details = true,
            other => by.push(GroupBy::parse(other).ok_or_else(|| {
                format!("unknown grouping `{other}`; use day, service, resource, user, sku")
            })?),
        }
    }
    let (provider, zone) = match args.provider {
        BillProvider::Gcp => ("gcp", panoptic::query::Tz::America__Los_Angeles),
        BillProvider::Openai => ("openai", panoptic::query::Tz::UTC),
        BillProvider::Aws => ("aws", panoptic::query::Tz::UTC),
        BillProvider::MongodbAtlas => ("mongodb_atlas", panoptic::query::Tz::UTC),
    };
    let today = Utc::now().with_timezone(&zone).date_naive();
    let start = args.since.with_timezone(&zone).date_naive();
    let end = args.until.map_or(today + Days::new(1), |u| {
        u.with_timezone(&zone).date_naive()
    });
    if end <= start {
        return Err(format!("nothing to reconcile from {start} to {end}"));
    }
    let by_label = by.contains(&GroupBy::Resource) || by.contains(&GroupBy::User);
    let share = match (args.share, args.provider) {
        (Some(ShareArg::Estimate), _) => Share::Estimate,
        (Some(ShareArg::Calls), _) => Share::Calls,
        (Some(ShareArg::Quantity), _) => Share::Quantity,
        // A cluster's cost is the same whatever the calls were priced at.
        (None, BillProvider::MongodbAtlas) => Share::Calls,
        (None, _) => Share::Estimate,
    };
    let recon = Reconciliation::new(provider, start, end)
        .time_zone(zone)
        .share_by(share)
        .by(by)?
        .tolerance(args.tolerance)
        .min_difference(args.min_difference)
        .basis(match args.basis {
            BasisArg::List => Basis::List,
            BasisArg::Net => Basis::Net,
        })
        .late_days(args.late_days)
        .today(today);
    // With --env, --apply touches that environment's adjustments only.
    let recon = match &args.env {
        Some(env) => recon.env(env.clone()),
        None => recon,
    };
    let bill = read_bill(args, &recon, by_label).await?;
    eprintln!(
        "panoptic: {} bill line(s) from {provider}, {start} to {end} ({})",
        bill.len(),
        zone.name()
    );
    let client = connect(global).await?;
    let mut base = CostQuery::new();
    if let Some(env) = &args.env {
        base = base.env(env);
    }
    let report = recon
        .run(&client, &base, &bill)
        .await
        .map_err(|e| e.to_string())?;
    let stdout = io::stdout();
    write_report(&report, args.format, show_details, &mut stdout.lock())
        .map_err(|e| e.to_string())?;
    if let Some(path) = &args.html {
        std::fs::write(path, html(&report))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("panoptic: wrote {}", path.display());
    }
    if args.apply {
        let shares = recon
            .shares(&client, &base)
            .await
            .map_err(|e| e.to_string())?;
        let fallback = Fallback {
            env: args.env.clone().unwrap_or_else(|| "prod".into()),
            username: args.fallback_user.clone(),
            ..Fallback::default()
        };
        let adjustments = recon.adjustments(&report, &shares, &fallback);
        let summary = recon
            .apply(&client, &adjustments)
            .await
            .map_err(|e| e.to_string())?;
        eprintln!(
            "panoptic: adjustments: {} written, {} unchanged, {} removed",
            summary.written, summary.unchanged, summary.removed
        );
    }
    if let Some(limit) = args.fail_over {
        let over = report.over(limit, args.min_difference);
        if !over.is_empty() {
            let keys: Vec<String> = over.iter().map(|r| r.key.join("/")).collect();
            return Err(format!(
                "{} row(s) differ from the bill by more than {}%: {}",
                over.len(),
                (limit * Decimal::ONE_HUNDRED).normalize(),
                keys.join(", ")
            ));
        }
    }
    Ok(())
}

async fn read_bill(
    args: &ReconcileArgs,
    recon: &Reconciliation,
    by_label: bool,
) -> Result<Vec<BillLine>, String> {
    let (start, end) = (recon.start(), recon.end());
    let text = |e: panoptic::bills::BillError| e.to_string();
    match args.provider {
        BillProvider::MongodbAtlas => atlas_bill(args, recon),
        BillProvider::Openai => {
            let key = args.openai_admin_key.clone().ok_or(
                "the OpenAI Costs API needs an admin key: OPENAI_ADMIN_KEY or --openai-admin-key",
            )?;
            let source = panoptic::bills::openai::OpenAiCosts::new(key)
                .and_then(|s| s.base_url(&args.openai_base_url))
                .map_err(text)?;
            source.lines(start, end).await.map_err(text)
        }
        BillProvider::Aws => aws_bill(args, start, end).await,
        BillProvider::Gcp => gcp_bill(args, start, end, by_label).await,
    }
}

/// The cluster's cost over its running time, as one bill line per day.
fn atlas_bill(args: &ReconcileArgs, recon: &Reconciliation) -> Result<Vec<BillLine>, String> {
    let tier = args
        .atlas_tier
        .as_deref()
        .ok_or("mongodb_atlas needs the cluster tier: --atlas-tier M10")?;
    let from = args
        .atlas_from
        .unwrap_or_else(|| recon.day_start(recon.start()));
    // A cluster has not cost the hours still to come.
    let to = args
        .atlas_to
        .unwrap_or_else(|| recon.day_start(recon.end()).min(Utc::now()));
    if from < recon.day_start(recon.start()) || to > recon.day_start(recon.end()) {
        return Err(format!(
            "the cluster's time {from} to {to} must lie within the days reconciled ({} to {})",
            recon.start(),
            recon.end()
        ));
    }
    let cost = FixedCost::atlas_cluster(tier, from, to).map_err(|e| e.to_string())?;
    eprintln!(
        "panoptic: {} from {from} to {to}: {} USD",
        cost.detail,
        cost.amount.normalize()
    );
    Ok(cost.bill_lines(panoptic::query::Tz::UTC))
}

#[cfg(feature = "aws-bill")]
async fn aws_bill(
    args: &ReconcileArgs,
    start: chrono::NaiveDate,
    end: chrono::NaiveDate,
) -> Result<Vec<BillLine>, String> {
    let text = |e: panoptic::bills::BillError| e.to_string();
    let mut source = panoptic::bills::aws::CostExplorer::from_env().map_err(text)?;
    if let Some(endpoint) = &args.aws_endpoint {
        source = source.endpoint(endpoint).map_err(text)?;
    }
    let tag = (args.aws_tag != "-").then(|| args.aws_tag.clone());
    source.tag(tag).lines(start, end).await.map_err(text)
}

#[cfg(not(feature = "aws-bill"))]
async fn aws_bill(
    _: &ReconcileArgs,
    _: chrono::NaiveDate,
    _: chrono::NaiveDate,
) -> Result<Vec<BillLine>, String> {
    Err("this panoptic was built without AWS Cost Explorer (feature aws-bill)".into())
}

#[cfg(feature = "gcp")]
async fn gcp_bill(
    args: &ReconcileArgs,
    start: chrono::NaiveDate,
    end: chrono::NaiveDate,
    by_label: bool,
) -> Result<Vec<BillLine>, String> {
    use panoptic::gcp::auth::{AuthOptions, Credentials, Secret, TokenSource};
    let table = args
        .gcp_billing_table
        .clone()
        .ok_or("GCP needs --gcp-billing-table project.dataset.gcp_billing_export_v1_…")?;
    let project = args
        .gcp_project
        .clone()
        .unwrap_or_else(|| table.split('.').next().unwrap_or_default().to_owned());
    let tokens = match &args.gcp_access_token {
        Some(token) => TokenSource::new(
            Credentials::AccessToken(Secret::new(token)),
            AuthOptions::default(),
        )
        .await
        .map_err(|e| e.to_string())?,
        None => TokenSource::application_default(AuthOptions::default())
            .await
            .map_err(|e| e.to_string())?,
    };
    let mut builder = panoptic::gcp::bigquery::BigQuery::builder(project).tokens(tokens);
    if let Some(url) = &args.gcp_base_url {
        builder = builder.base_url(url.clone());
    }
    let bq = builder.build().map_err(|e| e.to_string())?;
    // The late window read back is the one whose days are flagged late.
    let export = panoptic::gcp::billing::BillingExport::new(bq, table)
        .map_err(|e| e.to_string())?
        .late_days(args.late_days);
    // Per function or user: the job labels panoptic put on its queries.
    panoptic::bills::gcp::GcpBillingExport::new(export)
        .by_label(by_label)
        .lines(start, end)
        .await
        .map_err(|e| e.to_string())
}

#[cfg(not(feature = "gcp"))]
async fn gcp_bill(
    _: &ReconcileArgs,
    _: chrono::NaiveDate,
    _: chrono::NaiveDate,
    _: bool,
) -> Result<Vec<BillLine>, String> {
    Err("this panoptic was built without Google Cloud (feature gcp)".into())
}

/// Reconciliation needs MongoDB: the estimates, and where adjustments go.
async fn connect(global: &Global) -> Result<mongodb::Client, String> {
    let mut options = mongodb::options::ClientOptions::parse(&global.mongodb_uri)
        .await
        .map_err(|e| format!("invalid URI: {e}"))?;
    let timeout = Duration::from_secs(global.timeout.max(1));
    options.server_selection_timeout = Some(timeout);
    options.connect_timeout = Some(timeout);
    options.app_name = Some("panoptic-reconcile".into());
    mongodb::Client::with_options(options).map_err(|e| e.to_string())
}

const COLUMNS: [&str; 9] = [
    "estimate",
    "adjusted",
    "list",
    "credits",
    "net",
    "difference",
    "ratio",
    "flag",
    "reasons",
];

/// A row's cells and its SKU or line-item detail.
type Cells = (Vec<String>, Vec<(String, Decimal)>);

fn cells(report: &Report) -> (Vec<String>, Vec<Cells>) {
    let mut header: Vec<String> = report.by.iter().map(|g| g.as_str().to_owned()).collect();
    header.extend(COLUMNS.map(String::from));
    let rows = report
        .rows
        .iter()
        .chain([&report.total])
        .map(|row| {
            let mut cells = row.key.clone();
            cells.resize(report.by.len(), String::new());
            cells.extend([
                row.estimate.normalize().to_string(),
                row.adjusted.normalize().to_string(),
                row.list.normalize().to_string(),
                row.credits.normalize().to_string(),
                row.net.normalize().to_string(),
                row.difference.normalize().to_string(),
                row.ratio
                    .map(|r| r.normalize().to_string())
                    .unwrap_or_default(),
                if row.flagged { "!" } else { "" }.to_owned(),
                row.reasons
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            ]);
            let details = row.details.iter().map(|(k, v)| (k.clone(), *v)).collect();
            (cells, details)
        })
        .collect();
    (header, rows)
}

fn write_report(
    report: &Report,
    format: ReportFormat,
    details: bool,
    out: &mut impl Write,
) -> io::Result<()> {
    let (header, rows) = cells(report);
    match format {
        ReportFormat::Csv => {
            writeln!(out, "{}", csv_line(&header))?;
            for (cells, _) in &rows {
                writeln!(out, "{}", csv_line(cells))?;
            }
        }
        ReportFormat::Json => {
            let items: Vec<serde_json::Value> = report
                .rows
                .iter()
                .chain([&report.total])
                .map(|row| {
                    let mut object = serde_json::Map::new();
                    for (dimension, value) in report.by.iter().zip(&row.key) {
                        object.insert(dimension.as_str().into(), value.clone().into());
                    }
                    // Money as strings: JSON numbers are floats to most readers.
                    let money = |d: Decimal| serde_json::Value::from(d.normalize().to_string());
                    object.insert("estimate".into(), money(row.estimate));
                    object.insert("adjusted".into(), money(row.adjusted));
                    object.insert("list".into(), money(row.list));
                    object.insert("credits".into(), money(row.credits));
                    object.insert("net".into(), money(row.net));
                    object.insert("difference".into(), money(row.difference));
                    object.insert(
                        "ratio".into(),
                        row.ratio.map_or(serde_json::Value::Null, money),
                    );
                    object.insert("calls".into(), row.calls.into());
                    object.insert("unpriced".into(), row.unpriced.into());
                    object.insert("flagged".into(), row.flagged.into());
                    let reasons: Vec<serde_json::Value> = row
                        .reasons
                        .iter()
                        .map(|r| serde_json::json!({"code": r.code(), "text": r.to_string()}))
                        .collect();
                    object.insert("reasons".into(), reasons.into());
                    let details: serde_json::Map<String, serde_json::Value> = row
                        .details
                        .iter()
                        .map(|(k, v)| (k.clone(), money(*v)))
                        .collect();
                    object.insert("details".into(), details.into());
                    object.into()
                })
                .collect();
            serde_json::to_writer_pretty(&mut *out, &items).map_err(io::Error::other)?;
            writeln!(out)?;
        }
        ReportFormat::Table => {
            let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
            for (cells, _) in &rows {
                for (w, c) in widths.iter_mut().zip(cells) {
                    *w = (*w).max(c.chars().count());
                }
            }
            let last = header.len() - 1;
            let line = |cells: &[String]| {
                cells
                    .iter()
                    .zip(&widths)
                    .enumerate()
                    .map(|(i, (c, w))| {
                        if i >= report.by.len() && i < last {
                            format!("{c:>w$}")
                        } else {
                            format!("{c:<w$}")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("  ")
                    .trim_end()
                    .to_owned()
            };
            writeln!(out, "{}", line(&header))?;
            for (cells, detail) in &rows {
                writeln!(out, "{}", line(cells))?;
                if details {
                    for (name, amount) in detail {
                        writeln!(out, "    {name}: {}", amount.normalize())?;
                    }
                }
            }
        }
    }
    Ok(())
}

fn html(report: &Report) -> String {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let (header, rows) = cells(report);
    let mut page = format!(
        "<!doctype html><meta charset=\"utf-8\"><title>panoptic reconcile {}</title>\
         <style>td{{padding:2px 8px}}tr.flag{{background:#fdd}}</style>\
         <h1>panoptic reconcile: {} ({} basis)</h1><table><tr>",
        escape(&report.provider),
        escape(&report.provider),
        report.basis.as_str()
    );
    for h in &header {
        page.push_str(&format!("<th>{}</th>", escape(h)));
    }
    page.push_str("</tr>");
    for (cells, _) in &rows {
        let flagged = cells.get(header.len() - 2).is_some_and(|f| f == "!");
        page.push_str(if flagged {
            "<tr class=\"flag\">"
        } else {
            "<tr>"
        });
        for c in cells {
            page.push_str(&format!("<td>{}</td>", escape(c)));
        }
        page.push_str("</tr>");
    }
    page.push_str("</table>\n");
    page
}
