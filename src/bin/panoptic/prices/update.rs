//! `panoptic prices update`: a provider's machine-readable prices beside
//! the table, shown before anything is written, and written only to an
//! override file (the shipped tables are compiled in). The libraries that
//! own the tables fetch and compare; this shows and asks.

use std::path::PathBuf;

use chrono::Utc;
use clap::Args;
use panoptic::prices::PriceBook;
use panoptic::prices::aws_offer::PriceChange;
use panoptic::prices::refresh::{AWS_PRICING_URL, AwsRefresh, OfferSource};

use super::unknown_provider;
use crate::render::{header, table::Table};

/// `panoptic prices update`.
#[derive(Debug, Args)]
#[command(after_help = "\
aws: fetches one AWS Price List offer file per service and region the book
covers (<root>/offers/v1.0/aws/<Offer>/current/<region>/index.json), or reads
the files given with --offer-url / --offer-file. Figures are matched by usage
type; a changed unit is shown and never written.

gcp: reads every SKU of the services whose prices name a Cloud Billing
Catalog SKU id (`catalog_sku_id`). Credentials: PANOPTIC_GCP_API_KEY (an API
key) if set, else Google's application default credentials
(GOOGLE_APPLICATION_CREDENTIALS naming a service-account key file, gcloud's
file, the metadata server).

Changes are shown first. --write FILE writes an override file (the shipped
tables are compiled in and never change): name it in PANOPTIC_PRICES (aws)
or PANOPTIC_GCP_PRICES (gcp). If FILE exists it is updated in place.

openai and mongodb_atlas publish no price API: edit an override file.")]
pub struct UpdateArgs {
    /// aws or gcp.
    #[arg(long)]
    pub provider: String,
    /// Write the new prices to this override file.
    #[arg(long, value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// aws: compare with this offer file URL only (repeatable), instead of
    /// fetching every file the book covers.
    #[arg(long, value_name = "URL")]
    pub offer_url: Vec<String>,
    /// aws: compare with this offer file on disk (repeatable), instead of
    /// fetching.
    #[arg(long, value_name = "PATH")]
    pub offer_file: Vec<PathBuf>,
    /// aws: root of the Price List bulk API.
    #[arg(long, value_name = "URL", env = "PANOPTIC_AWS_PRICING_URL", default_value = AWS_PRICING_URL)]
    pub aws_pricing_url: String,
    /// gcp: root of the Cloud Billing Catalog API (default Google's).
    #[arg(long, value_name = "URL")]
    pub catalog_endpoint: Option<String>,
}

/// Runs `panoptic prices update`.
pub(super) async fn run(args: &UpdateArgs) -> Result<(), String> {
    let aws_only = !args.offer_url.is_empty()
        || !args.offer_file.is_empty()
        || args.aws_pricing_url != AWS_PRICING_URL;
    match args.provider.as_str() {
        "aws" if args.catalog_endpoint.is_some() => {
            Err("--catalog-endpoint is for --provider gcp".to_owned())
        }
        "aws" => aws(args).await,
        "gcp" if aws_only => {
            Err("--offer-url, --offer-file and --aws-pricing-url are for --provider aws".to_owned())
        }
        "gcp" => gcp(args).await,
        "openai" => Err(no_api("openai", "OpenAI")),
        "mongodb_atlas" => Err(no_api("mongodb_atlas", "MongoDB Atlas")),
        other => Err(unknown_provider(
            other,
            &["aws", "gcp", "openai", "mongodb_atlas"],
        )),
    }
}

fn no_api(provider: &str, name: &str) -> String {
    let book =
        PriceBook::with_overrides_from_env().unwrap_or_else(|_| PriceBook::shipped().clone());
    let dated = book
        .tables()
        .into_iter()
        .find(|t| t.provider == provider)
        .and_then(|t| t.newest_checked)
        .map_or_else(|| "unknown".to_owned(), |d| d.to_string());
    format!(
        "{name} publishes no price API: its table is data, dated {dated}; edit an override file named in {}",
        panoptic::prices::OVERRIDES_ENV
    )
}

/// `s` when `n` is not one.
fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

async fn aws(args: &UpdateArgs) -> Result<(), String> {
    let book = PriceBook::with_overrides_from_env()
        .map_err(|e| format!("{}: {e}", panoptic::prices::OVERRIDES_ENV))?;
    let today = Utc::now().date_naive();
    let mut refresh = AwsRefresh::new(book, today);
    // What to read: the files named, else one per service and region.
    let mut sources: Vec<OfferSource> = args
        .offer_url
        .iter()
        .map(|u| OfferSource::Url(u.clone()))
        .chain(args.offer_file.iter().map(|p| OfferSource::File(p.clone())))
        .collect();
    if sources.is_empty() {
        let plan = refresh.offer_plan(&args.aws_pricing_url);
        for entry in &plan.not_covered {
            eprintln!("aws/{entry}: no AWS offer file is known for this entry; not compared");
        }
        sources = plan.sources;
    }
    for source in &sources {
        let offer = refresh.read(source).await.map_err(|e| e.to_string())?;
        println!(
            "read {} {} (version {}, published {})",
            offer.offer_code, source, offer.version, offer.publication_date
        );
    }
    let changes = refresh.changes().map_err(|e| e.to_string())?;
    println!(
        "compared {} AWS figures with {} offer file{}",
        refresh.compared(),
        sources.len(),
        plural(sources.len())
    );
    if changes.is_empty() {
        println!("AWS prices are up to date");
        return Ok(());
    }
    show_aws(&changes)?;
    let Some(path) = &args.write else {
        println!(
            "{} change{}; nothing written. The shipped tables are compiled into panoptic: \
             run again with --write FILE and name FILE in PANOPTIC_PRICES to use the new prices.",
            changes.len(),
            plural(changes.len())
        );
        return Ok(());
    };
    let written = refresh
        .write_override(path, &changes)
        .map_err(|e| e.to_string())?;
    if written.prices == 0 {
        println!("nothing written: every change has a unit mismatch");
        return Ok(());
    }
    println!(
        "wrote {} price{} to {} (checked {today}){}. The shipped tables are compiled in and unchanged: \
         set PANOPTIC_PRICES={} to use it.",
        written.prices,
        plural(written.prices),
        path.display(),
        if written.mismatched > 0 {
            format!("; {} with a unit mismatch not written", written.mismatched)
        } else {
            String::new()
        },
        path.display()
    );
    Ok(())
}

/// The AWS changes as a table; a changed unit is flagged, never written.
fn show_aws(changes: &[PriceChange]) -> Result<(), String> {
    let columns = header(&[
        "entry",
        "component",
        "region",
        "old",
        "new",
        "per",
        "unit",
        "check",
    ]);
    let rows: Vec<Vec<String>> = changes
        .iter()
        .map(|c| {
            vec![
                c.entry.clone(),
                c.component.clone(),
                c.region.clone().unwrap_or_else(|| "*".to_owned()),
                c.old.normalize().to_string(),
                c.new.normalize().to_string(),
                c.per.normalize().to_string(),
                c.unit.clone(),
                if c.unit_matches {
                    format!("unit ok ({})", c.offer_unit)
                } else {
                    format!(
                        "UNIT MISMATCH: the offer prices per `{}`; not written, fix by hand",
                        c.offer_unit
                    )
                },
            ]
        })
        .collect();
    Table::new(&columns, &rows)
        .write(&rows, true, &mut std::io::stdout().lock())
        .map_err(|e| format!("cannot write: {e}"))
}

#[cfg(not(feature = "gcp"))]
async fn gcp(_args: &UpdateArgs) -> Result<(), String> {
    Err(
        "this panoptic was built without the `gcp` feature: build with --features cli,gcp"
            .to_owned(),
    )
}

#[cfg(feature = "gcp")]
async fn gcp(args: &UpdateArgs) -> Result<(), String> {
    use panoptic::gcp::billing_catalog::DEFAULT_BASE_URL;
    use panoptic::gcp::pricing::PriceTable;
    use panoptic::gcp::refresh::{CatalogRefresh, catalog_from_env};

    let text = |e: panoptic::gcp::refresh::RefreshError| e.to_string();
    let table = PriceTable::from_env().map_err(|e| format!("PANOPTIC_GCP_PRICES: {e}"))?;
    let today = Utc::now().date_naive();
    let mut refresh = CatalogRefresh::new(table, today);
    for key in refresh.services_without_id() {
        eprintln!("gcp/{key}: no Catalog service id (`catalog_id`); not compared");
    }
    let targets = refresh.targets().map_err(text)?.to_vec();
    let base = args.catalog_endpoint.as_deref().unwrap_or(DEFAULT_BASE_URL);
    let catalog = catalog_from_env(base).await.map_err(text)?;
    for target in &targets {
        let count = refresh.read(&catalog, target).await.map_err(text)?;
        println!(
            "read {count} Catalog SKUs of {} ({})",
            target.service, target.catalog_id
        );
    }
    let without = refresh.skus_without_id();
    if without > 0 {
        println!(
            "{without} SKU{} of the table name no Catalog SKU id and were not compared",
            plural(without)
        );
    }
    for (name, reason) in refresh.skipped() {
        // A unit or currency the table does not use: shown, never written.
        println!("not updated: gcp/{name}: {reason}");
    }
    for (name, note) in refresh.notes() {
        println!("note: gcp/{name}: {note}");
    }
    let count = refresh.changes().count();
    if count == 0 {
        println!("Google Cloud prices are up to date");
        return Ok(());
    }
    println!("changed (old -> new, per unit):");
    for change in refresh.changes() {
        println!("  gcp/{change}");
    }
    let Some(path) = &args.write else {
        println!(
            "{count} change{}; nothing written. The shipped table is compiled into panoptic: \
             run again with --write FILE and set PANOPTIC_GCP_PRICES=FILE to use the new prices.",
            plural(count)
        );
        return Ok(());
    };
    let count = refresh.write_override(path, base).map_err(text)?;
    println!(
        "wrote {count} price{} to {} (checked {today}). The shipped table is compiled in and unchanged: \
         set PANOPTIC_GCP_PRICES={} to use it.",
        plural(count),
        path.display(),
        path.display()
    );
    Ok(())
}
