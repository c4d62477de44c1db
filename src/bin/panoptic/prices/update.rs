//! `panoptic prices update`: a provider's machine-readable prices beside
//! the table, shown before anything is written, and written only to an
//! override file (the shipped tables are compiled in).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, Utc};
use clap::Args;
use panoptic::prices::PriceBook;
use panoptic::prices::aws_offer::{self, OfferFile, PriceChange};

use crate::args::Global;

/// The AWS Price List bulk API.
const AWS_PRICING_URL: &str = "https://pricing.us-east-1.amazonaws.com";

/// `panoptic prices update`.
#[derive(Debug, Args)]
#[command(after_help = "\
aws: fetches one AWS Price List offer file per service and region the book
covers (<root>/offers/v1.0/aws/<Offer>/current/<region>/index.json; needs a
build with the `gcp` feature, which brings the HTTP client), or reads the
files given with --offer-url / --offer-file. Figures are matched by usage
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

pub async fn run(_global: &Global, args: &UpdateArgs) -> Result<(), String> {
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
        other => Err(super::unknown_provider(
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

// --- AWS -------------------------------------------------------------------------

/// The offer file (service) of a book entry, by its name's first word.
fn offer_code(entry: &str) -> Option<&'static str> {
    match entry.split('-').next()? {
        "lambda" => Some("AWSLambda"),
        "s3" => Some("AmazonS3"),
        "dynamodb" => Some("AmazonDynamoDB"),
        _ => None,
    }
}

async fn aws(args: &UpdateArgs) -> Result<(), String> {
    let book = PriceBook::with_overrides_from_env()
        .map_err(|e| format!("{}: {e}", panoptic::prices::OVERRIDES_ENV))?;
    let today = Utc::now().date_naive();
    let figures: Vec<_> = book
        .figures()
        .into_iter()
        .filter(|f| f.provider == "aws" && f.usagetype.is_some())
        .collect();

    // What to read: the files named, else one per service and region.
    let mut sources: Vec<Source> = args
        .offer_url
        .iter()
        .map(|u| Source::Url(u.clone()))
        .chain(args.offer_file.iter().map(|p| Source::File(p.clone())))
        .collect();
    if sources.is_empty() {
        let mut wanted = BTreeSet::new();
        for f in &figures {
            match offer_code(&f.entry) {
                Some(code) => {
                    let region = f.region.clone().unwrap_or_else(|| "us-east-1".to_owned());
                    wanted.insert((code, region));
                }
                None => eprintln!(
                    "aws/{}: no AWS offer file is known for this entry; not compared",
                    f.entry
                ),
            }
        }
        let root = args.aws_pricing_url.trim_end_matches('/');
        sources = wanted
            .into_iter()
            .map(|(code, region)| {
                Source::Url(format!(
                    "{root}/offers/v1.0/aws/{code}/current/{region}/index.json"
                ))
            })
            .collect();
    }

    let mut offers = Vec::with_capacity(sources.len());
    for source in &sources {
        let text = source.read().await?;
        let offer = OfferFile::from_json(&text).map_err(|e| format!("{source}: {e}"))?;
        println!(
            "read {} {} (version {}, published {})",
            offer.offer_code, source, offer.version, offer.publication_date
        );
        offers.push(offer);
    }

    let mut changes: Vec<PriceChange> = Vec::new();
    for offer in &offers {
        for c in aws_offer::changes(&book, offer, today) {
            let seen = changes
                .iter()
                .any(|d| d.entry == c.entry && d.component == c.component && d.region == c.region);
            if !seen {
                changes.push(c);
            }
        }
    }
    let compared: BTreeSet<_> = figures
        .iter()
        .filter(|f| {
            let usagetype = f.usagetype.as_deref().unwrap_or_default();
            offers.iter().any(|o| {
                o.base_rate(usagetype, f.sku.as_deref(), f.region.as_deref())
                    .is_some()
            })
        })
        .map(|f| (&f.entry, &f.component, &f.region))
        .collect();
    if compared.is_empty() {
        return Err(
            "none of the book's AWS figures is in the offer files read (no usage type matched): nothing compared"
                .to_owned(),
        );
    }
    println!(
        "compared {} AWS figures with {} offer file{}",
        compared.len(),
        offers.len(),
        if offers.len() == 1 { "" } else { "s" }
    );
    if changes.is_empty() {
        println!("AWS prices are up to date");
        return Ok(());
    }

    let header = [
        "entry",
        "component",
        "region",
        "old",
        "new",
        "per",
        "unit",
        "check",
    ];
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
    super::table(&header, &rows, &mut std::io::stdout().lock())
        .map_err(|e| format!("cannot write: {e}"))?;

    let writable: Vec<PriceChange> = changes.iter().filter(|c| c.unit_matches).cloned().collect();
    let mismatched = changes.len() - writable.len();
    let Some(path) = &args.write else {
        println!(
            "{} change{}; nothing written. The shipped tables are compiled into panoptic: \
             run again with --write FILE and name FILE in PANOPTIC_PRICES to use the new prices.",
            changes.len(),
            if changes.len() == 1 { "" } else { "s" }
        );
        return Ok(());
    };
    if writable.is_empty() {
        println!("nothing written: every change has a unit mismatch");
        return Ok(());
    }
    let base = if path.exists() {
        std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?
    } else {
        let shipped = PriceBook::shipped_toml("aws").unwrap_or_default();
        format!(
            "# AWS prices refreshed by `panoptic prices update --provider aws` on {today},\n\
             # from the AWS Price List offer files. An override file: name it in\n\
             # PANOPTIC_PRICES; its entries replace the shipped ones.\n\
             provider = \"aws\"\n\n{shipped}"
        )
    };
    let text = aws_offer::apply_changes_checked(&base, &writable, today)
        .map_err(|e| format!("{}: {}", path.display(), e.message()))?;
    write_checked(path, &text, |tmp| {
        PriceBook::from_file(tmp)
            .map(drop)
            .map_err(|e| e.to_string())
    })?;
    println!(
        "wrote {} price{} to {} (checked {today}){}. The shipped tables are compiled in and unchanged: \
         set PANOPTIC_PRICES={} to use it.",
        writable.len(),
        if writable.len() == 1 { "" } else { "s" },
        path.display(),
        if mismatched > 0 {
            format!("; {mismatched} with a unit mismatch not written")
        } else {
            String::new()
        },
        path.display()
    );
    Ok(())
}

/// Where an offer file comes from.
enum Source {
    Url(String),
    File(PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Url(u) => f.write_str(u),
            Source::File(p) => write!(f, "{}", p.display()),
        }
    }
}

impl Source {
    async fn read(&self) -> Result<String, String> {
        match self {
            Source::File(p) => {
                std::fs::read_to_string(p).map_err(|e| format!("{}: cannot read: {e}", p.display()))
            }
            Source::Url(url) => fetch(url).await,
        }
    }
}

#[cfg(feature = "gcp")]
async fn fetch(url: &str) -> Result<String, String> {
    use std::time::Duration;

    use panoptic::gcp::http::Timeouts;
    // Some offer files (S3) run to tens of megabytes.
    let timeouts = Timeouts {
        request: Duration::from_secs(300),
        connect: Duration::from_secs(20),
    };
    panoptic::gcp::billing_catalog::fetch_public_text(url, timeouts)
        .await
        .map_err(|e| e.to_string())
}

#[cfg(not(feature = "gcp"))]
async fn fetch(url: &str) -> Result<String, String> {
    Err(format!(
        "cannot fetch {url}: this panoptic was built without the `gcp` feature, which brings its \
         HTTP client; download the file and pass --offer-file PATH, or build with --features cli,gcp"
    ))
}

/// Writes `text` beside `path`, lets `check` read it back as the table it
/// must be, then moves it into place: a bad file never replaces a good one.
fn write_checked(
    path: &Path,
    text: &str,
    check: impl Fn(&Path) -> Result<(), String>,
) -> Result<(), String> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, text).map_err(|e| format!("{}: cannot write: {e}", tmp.display()))?;
    if let Err(e) = check(&tmp) {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("the file written does not read back: {e}"));
    }
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: cannot write: {e}", path.display()))
}

// --- Google Cloud ------------------------------------------------------------------

#[cfg(not(feature = "gcp"))]
async fn gcp(_args: &UpdateArgs) -> Result<(), String> {
    Err(
        "this panoptic was built without the `gcp` feature: build with --features cli,gcp"
            .to_owned(),
    )
}

#[cfg(feature = "gcp")]
async fn gcp(args: &UpdateArgs) -> Result<(), String> {
    use std::collections::BTreeMap;

    use panoptic::gcp::auth::{AuthOptions, Secret, TokenSource};
    use panoptic::gcp::billing_catalog::{self, Catalog, DEFAULT_BASE_URL};
    use panoptic::gcp::pricing::{PriceTable, ServicePrices, Sku};

    let table = PriceTable::from_env().map_err(|e| format!("PANOPTIC_GCP_PRICES: {e}"))?;
    let today: NaiveDate = Utc::now().date_naive();
    let has_id =
        |s: &Sku| s.catalog_sku_id.is_some() || s.prices.iter().any(|p| p.catalog_sku_id.is_some());
    let mut targets: Vec<(&String, &String)> = Vec::new();
    let mut without = 0usize;
    for (key, service) in &table.services {
        without += service.skus.values().filter(|s| !has_id(s)).count();
        if service.skus.values().any(has_id) {
            match &service.catalog_id {
                Some(id) => targets.push((key, id)),
                None => eprintln!("gcp/{key}: no Catalog service id (`catalog_id`); not compared"),
            }
        }
    }
    if targets.is_empty() {
        return Err(
            "no Google Cloud price names a Cloud Billing Catalog SKU (`catalog_sku_id`), so nothing can be \
             compared: add the ids in an override file named in PANOPTIC_GCP_PRICES"
                .to_owned(),
        );
    }

    let base = args
        .catalog_endpoint
        .clone()
        .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
    let mut builder = Catalog::builder().base_url(base.clone());
    match std::env::var("PANOPTIC_GCP_API_KEY") {
        Ok(key) if !key.trim().is_empty() => builder = builder.api_key(Secret::new(key.trim())),
        _ => {
            let tokens = TokenSource::application_default(AuthOptions::default())
                .await
                .map_err(|e| {
                    format!(
                        "Google credentials: {e} (set GOOGLE_APPLICATION_CREDENTIALS to a \
                         service-account key file, or PANOPTIC_GCP_API_KEY to an API key)"
                    )
                })?;
            builder = builder.tokens(tokens);
        }
    }
    let catalog = builder
        .build()
        .map_err(|e| format!("Cloud Billing Catalog: {e}"))?;

    let mut plans = Vec::new();
    for (key, id) in &targets {
        let skus = catalog
            .skus(id)
            .await
            .map_err(|e| format!("Cloud Billing Catalog, service {id}: {e}"))?;
        println!("read {} Catalog SKUs of {key} ({id})", skus.len());
        let plan = billing_catalog::plan_refresh(&table, key, &skus, today)
            .map_err(|e| format!("Cloud Billing Catalog, service {id}: {e}"))?;
        plans.push((*id, plan));
    }
    if without > 0 {
        println!(
            "{without} SKU{} of the table name no Catalog SKU id and were not compared",
            if without == 1 { "" } else { "s" }
        );
    }
    for (_, plan) in &plans {
        for (name, reason) in &plan.skipped {
            // A unit or currency the table does not use: shown, never written.
            println!("not updated: gcp/{name}: {reason}");
        }
    }
    let count: usize = plans.iter().map(|(_, p)| p.changes.len()).sum();
    if count == 0 {
        println!("Google Cloud prices are up to date");
        return Ok(());
    }
    println!("changed (old -> new, per unit):");
    for (_, plan) in &plans {
        for change in &plan.changes {
            println!("  gcp/{change}");
        }
    }
    let Some(path) = &args.write else {
        println!(
            "{count} change{}; nothing written. The shipped table is compiled into panoptic: \
             run again with --write FILE and set PANOPTIC_GCP_PRICES=FILE to use the new prices.",
            if count == 1 { "" } else { "s" }
        );
        return Ok(());
    };

    let mut updated = table.clone();
    let root = format!("{}/", base.trim_end_matches('/'));
    for (id, plan) in &plans {
        plan.apply(&mut updated, &format!("{root}services/{id}/skus"), today);
    }
    // The file keeps what it held and gains each changed SKU whole (an
    // override replaces a SKU, history included).
    let mut out = if path.exists() {
        PriceTable::from_path(path).map_err(|e| e.to_string())?
    } else {
        PriceTable {
            currency: table.currency.clone(),
            services: BTreeMap::new(),
        }
    };
    if out.currency != table.currency {
        return Err(format!(
            "{} is in {}, the table in {}",
            path.display(),
            out.currency,
            table.currency
        ));
    }
    for change in plans.iter().flat_map(|(_, p)| &p.changes) {
        let Some(service) = updated.services.get(&change.service) else {
            continue;
        };
        let Some(sku) = service.skus.get(&change.sku) else {
            continue;
        };
        out.services
            .entry(change.service.clone())
            .or_insert_with(|| ServicePrices {
                name: service.name.clone(),
                catalog_id: service.catalog_id.clone(),
                skus: BTreeMap::new(),
            })
            .skus
            .insert(change.sku.clone(), sku.clone());
    }
    let body = out.to_toml().map_err(|e| e.to_string())?;
    let text = format!(
        "# Google Cloud prices refreshed by `panoptic prices update --provider gcp` on {today},\n\
         # from the Cloud Billing Catalog. An override file: name it in\n\
         # PANOPTIC_GCP_PRICES; its SKUs replace the shipped ones.\n\n{body}"
    );
    write_checked(path, &text, |tmp| {
        PriceTable::from_path(tmp)
            .map(drop)
            .map_err(|e| e.to_string())
    })?;
    println!(
        "wrote {count} price{} to {} (checked {today}). The shipped table is compiled in and unchanged: \
         set PANOPTIC_GCP_PRICES={} to use it.",
        if count == 1 { "" } else { "s" },
        path.display(),
        path.display()
    );
    Ok(())
}
