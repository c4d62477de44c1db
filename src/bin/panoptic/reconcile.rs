//! `panoptic reconcile`: panoptic's estimates beside the provider's bill.
//!
//! ```text
//! panoptic reconcile --provider openai --since 30d --by day --fail-over 5%
//! panoptic reconcile --provider aws --by day,service,resource --apply
//! panoptic reconcile --provider gcp --gcp-billing-table p.billing.gcp_billing_export_v1_X --by day,service,sku
//! panoptic reconcile --provider gcp --gcp-billing-table p.billing.gcp_billing_export_v1_X --by day,resource
//! panoptic reconcile --provider mongodb_atlas --atlas-tier M10 --since 7d --apply
//! ```

mod bill;
mod output;

use std::io;
use std::path::PathBuf;

use chrono::{DateTime, Days, Utc};
use clap::{Args, ValueEnum};
use panoptic::Decimal;
use panoptic::prices::rates::Rates;
use panoptic::query::{CostQuery, GroupBy};
use panoptic::reconcile::{Basis, Fallback, Reconciliation, Share};

use crate::options::{Global, connect, parse_time};
use crate::render::Format;

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
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
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
    /// Exchange rates (TOML) for estimates in another currency than the
    /// bill's; without one such estimates are listed apart, not compared.
    #[arg(long, env = "PANOPTIC_RATES")]
    pub rates: Option<PathBuf>,
    /// Only this environment's estimates.
    #[arg(long, env = "PANOPTIC_ENV")]
    pub env: Option<String>,
    /// Write `kind: "adjustment"` events that allocate each difference to
    /// the day's callers (rerunning replaces them, never adds).
    #[arg(long)]
    pub apply: bool,
    /// With --apply, book the late days too (their bill may still change:
    /// estimate + adjustment would read the partial bill until a rerun).
    #[arg(long, requires = "apply")]
    pub include_late: bool,
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
    /// spread over the callers (`--provider mongodb_atlas`), from the price
    /// book, when the invoices are not read (`--atlas-org`).
    #[arg(long)]
    pub atlas_tier: Option<String>,
    /// MongoDB Atlas: the organization whose invoices are the bill (keys
    /// from MONGODB_ATLAS_PUBLIC_KEY and MONGODB_ATLAS_PRIVATE_KEY).
    #[arg(long, env = "MONGODB_ATLAS_ORG_ID", conflicts_with = "atlas_tier")]
    pub atlas_org: Option<String>,
    /// MongoDB Atlas Administration API address (a proxy, a local fake).
    #[arg(long)]
    pub atlas_endpoint: Option<String>,
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

/// Runs `panoptic reconcile`.
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
        .include_late(args.include_late)
        .today(today);
    let recon = match &args.rates {
        Some(path) => recon.rates(Rates::load(path).map_err(|e| e.to_string())?),
        None => recon,
    };
    // With --env, --apply touches that environment's adjustments only.
    let recon = match &args.env {
        Some(env) => recon.env(env.clone()),
        None => recon,
    };
    // The estimates are in MongoDB, and adjustments go there: asked first,
    // so that a bill (Cost Explorer charges per request) is not read for
    // nothing.
    let client = connect::ping(global).await?;
    let bill = bill::read(args, &recon, by_label).await?;
    let recon = recon.estimated_in(&bill);
    eprintln!(
        "panoptic: {} bill line(s) from {provider}, {start} to {end} ({})",
        bill.len(),
        zone.name()
    );
    let mut base = CostQuery::new();
    if let Some(env) = &args.env {
        base = base.env(env);
    }
    let report = recon
        .run(&client, &base, &bill)
        .await
        .map_err(|e| e.to_string())?;
    output::write(&report, args.format, show_details, &mut io::stdout().lock())
        .map_err(|e| e.to_string())?;
    if let Some(path) = &args.html {
        std::fs::write(path, output::page(&report))
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
        let late = report
            .rows
            .iter()
            .filter(|r| r.is_late() && !r.difference.is_zero())
            .count();
        if late > 0 && !args.include_late {
            eprintln!(
                "panoptic: {late} row(s) from {} on left alone: their bill may still change \
                 (--include-late books them)",
                recon.late_from()
            );
        }
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
