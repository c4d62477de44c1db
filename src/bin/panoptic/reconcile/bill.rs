//! The provider's bill: OpenAI's Costs API, AWS Cost Explorer (feature
//! `aws-bill`), the GCP billing export (feature `gcp`), MongoDB Atlas
//! invoices, or a MongoDB Atlas cluster's fixed cost from the price book.

use chrono::Utc;
use panoptic::bills::BillSource;
use panoptic::reconcile::{BillLine, FixedCost, Reconciliation};

use super::{BillProvider, ReconcileArgs};

/// The provider's bill for the days reconciled.
pub(super) async fn read(
    args: &ReconcileArgs,
    recon: &Reconciliation,
    by_label: bool,
) -> Result<Vec<BillLine>, String> {
    let (start, end) = (recon.start(), recon.end());
    let text = |e: panoptic::bills::BillError| e.to_string();
    match args.provider {
        BillProvider::MongodbAtlas => match &args.atlas_org {
            Some(org) => {
                let mut source =
                    panoptic::bills::atlas::AtlasInvoices::from_env(org.clone()).map_err(text)?;
                if let Some(endpoint) = &args.atlas_endpoint {
                    source = source.endpoint(endpoint).map_err(text)?;
                }
                source.lines(start, end).await.map_err(text)
            }
            None => atlas_bill(args, recon),
        },
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
        .ok_or("mongodb_atlas needs its invoices (--atlas-org ORG_ID) or the cluster tier (--atlas-tier M10)")?;
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
