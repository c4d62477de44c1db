//! `panoptic prices` and `panoptic prices update`, running the real binary
//! against local fakes of the AWS Price List and the Cloud Billing Catalog
//! (no MongoDB needed).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output};

use chrono::{NaiveDate, Utc};
use panoptic::prices::{Figure, PriceBook};
use serde_json::Value;

/// Runs `panoptic args…` with no price overrides or credentials but `env`.
fn panoptic(args: &[&str], env: &[(&str, &str)], home: &Path) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_panoptic"));
    command.args(args);
    for name in [
        "PANOPTIC_PRICES",
        "PANOPTIC_GCP_PRICES",
        "PANOPTIC_GCP_API_KEY",
        "PANOPTIC_AWS_PRICING_URL",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "GCE_METADATA_HOST",
        "CLOUDSDK_CONFIG",
        "RUST_BACKTRACE",
    ] {
        command.env_remove(name);
    }
    // No gcloud file of the machine's user may be picked up.
    command.env("HOME", home);
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

/// The same, off the async runtime so that the fake server keeps answering.
async fn panoptic_async(args: &[&str], env: &[(&str, &str)], home: &Path) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let home = home.to_owned();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        panoptic(&args, &env, &home)
    })
    .await
    .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn succeed(output: &Output) -> String {
    assert!(
        output.status.success(),
        "stdout:\n{}\nstderr:\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// Fails with one line on stderr, which is returned.
fn fail(output: &Output) -> String {
    assert!(!output.status.success(), "{}", text(&output.stdout));
    let stderr = text(&output.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("panoptic: "), "{stderr}");
    stderr
}

/// `prices --provider aws --figures --format json` with `file` as the
/// override (`PANOPTIC_PRICES`), as rows.
async fn aws_figures_with(file: &Path, home: &Path) -> Vec<serde_json::Value> {
    let env = [("PANOPTIC_PRICES", file.to_str().unwrap())];
    let args = [
        "prices",
        "--provider",
        "aws",
        "--figures",
        "--format",
        "json",
    ];
    json_rows(&panoptic_async(&args, &env, home).await)
}

fn json_rows(output: &Output) -> Vec<Value> {
    serde_json::from_str::<Value>(&succeed(output))
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// A figure's identity in the listing: provider, entry, component,
/// region, effective date.
type Key = (String, String, String, Option<String>, String);

fn key_of_row(row: &Value) -> Key {
    (
        row["provider"].as_str().unwrap().to_owned(),
        row["entry"].as_str().unwrap().to_owned(),
        row["component"].as_str().unwrap().to_owned(),
        row["region"].as_str().map(str::to_owned),
        row["effective"].as_str().unwrap().to_owned(),
    )
}

fn key_of_figure(f: &Figure) -> Key {
    (
        f.provider.clone(),
        f.entry.clone(),
        f.component.clone(),
        f.region.clone(),
        f.effective.to_string(),
    )
}

#[cfg(feature = "gcp")]
/// Google Cloud's shipped table as the listing shows it: one figure per
/// service, SKU, price list and region, with its `checked` day.
fn gcp_figures(table: &panoptic::gcp::pricing::PriceTable) -> Vec<(Key, NaiveDate)> {
    let mut out = Vec::new();
    for (service, prices) in &table.services {
        for (sku, entry) in &prices.skus {
            for price in &entry.prices {
                for region in &price.regions {
                    out.push((
                        (
                            "gcp".to_owned(),
                            service.clone(),
                            sku.clone(),
                            Some(region.clone()),
                            price.effective.to_string(),
                        ),
                        price.checked,
                    ));
                }
            }
        }
    }
    out
}

/// An override of OpenAI's `gpt-4o-mini`, checked long ago.
const OPENAI_OVERRIDE: &str = r#"
provider = "openai"
currency = "USD"

[[entry]]
name = "gpt-4o-mini"

[[entry.list]]
effective = "2024-07-18"
source = "https://example.test/pricing"
checked = "2025-01-02"
figures = [
  { component = "input", price = "0.99", per = "1000000", unit = "tokens" },
  { component = "output", price = "1.98", per = "1000000", unit = "tokens" },
]
"#;

#[test]
fn every_table_is_listed_with_its_figures_and_stale_ones_flagged() {
    let home = tempfile::tempdir().unwrap();
    let shipped = PriceBook::shipped().figures();
    #[cfg(feature = "gcp")]
    let gcp = gcp_figures(panoptic::gcp::pricing::PriceTable::embedded());
    #[cfg(not(feature = "gcp"))]
    let gcp: Vec<(Key, NaiveDate)> = Vec::new();

    // One line per table, counts from the tables themselves.
    let rows = json_rows(&panoptic(&["prices", "--format", "json"], &[], home.path()));
    let mut expected: BTreeMap<String, usize> = BTreeMap::new();
    for f in &shipped {
        *expected.entry(f.provider.clone()).or_default() += 1;
    }
    if cfg!(feature = "gcp") {
        expected.insert("gcp".to_owned(), gcp.len());
    }
    let listed: BTreeMap<String, usize> = rows
        .iter()
        .map(|r| {
            (
                r["provider"].as_str().unwrap().to_owned(),
                r["figures"].as_u64().unwrap() as usize,
            )
        })
        .collect();
    assert_eq!(listed, expected);
    let mut providers = vec!["aws", "mongodb_atlas", "openai"];
    if cfg!(feature = "gcp") {
        providers.insert(1, "gcp");
    }
    assert_eq!(listed.keys().collect::<Vec<_>>(), providers);

    // With an old override, a threshold that splits the figures: stale is
    // exactly "checked more than N days ago".
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openai.toml");
    std::fs::write(&file, OPENAI_OVERRIDE).unwrap();
    let mut book = PriceBook::shipped().clone();
    book.merge(PriceBook::from_file(&file).unwrap());
    let mut all: Vec<(Key, NaiveDate)> = book
        .figures()
        .iter()
        .map(|f| (key_of_figure(f), f.checked))
        .collect();
    all.extend(gcp);
    let old = (today() - NaiveDate::from_ymd_opt(2025, 1, 2).unwrap()).num_days();
    for threshold in [old - 1, old, 0] {
        let output = panoptic(
            &[
                "prices",
                "--figures",
                "--format",
                "json",
                "--stale-after",
                &format!("{threshold}d"),
            ],
            &[("PANOPTIC_PRICES", file.to_str().unwrap())],
            home.path(),
        );
        let rows = json_rows(&output);
        assert_eq!(rows.len(), all.len());
        let flagged: BTreeSet<Key> = rows
            .iter()
            .filter(|r| r["stale"].as_bool().unwrap())
            .map(key_of_row)
            .collect();
        let expected: BTreeSet<Key> = all
            .iter()
            .filter(|(_, checked)| (today() - *checked).num_days() > threshold)
            .map(|(k, _)| k.clone())
            .collect();
        assert_eq!(flagged, expected, "--stale-after {threshold}d");
        let stderr = text(&output.stderr);
        assert!(
            stderr.contains(&format!(
                "{} figure{} older than {threshold} days",
                expected.len(),
                if expected.len() == 1 { "" } else { "s" }
            )),
            "{stderr}"
        );
    }
    // The first threshold flags the override and nothing shipped today.
    let split = all
        .iter()
        .filter(|(_, c)| (today() - *c).num_days() > old - 1)
        .count();
    assert!(split > 0 && split < all.len());

    // The default threshold is stated; the table format says the same.
    let output = panoptic(&["prices"], &[], home.path());
    let table = succeed(&output);
    assert!(table.lines().next().unwrap().contains("stale"), "{table}");
    assert!(
        text(&output.stderr).contains("older than 180 days"),
        "{}",
        text(&output.stderr)
    );
    let err = fail(&panoptic(
        &["prices", "--provider", "azure"],
        &[],
        home.path(),
    ));
    assert!(err.contains("unknown provider `azure`"), "{err}");
}

#[test]
fn an_override_file_replaces_the_shipped_entry() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openai.toml");
    std::fs::write(&file, OPENAI_OVERRIDE).unwrap();
    let env = [("PANOPTIC_PRICES", file.to_str().unwrap())];

    let rows = json_rows(&panoptic(
        &[
            "prices",
            "--provider",
            "openai",
            "--figures",
            "--format",
            "json",
        ],
        &env,
        home.path(),
    ));
    let mini: Vec<&Value> = rows
        .iter()
        .filter(|r| r["entry"] == "gpt-4o-mini")
        .collect();
    let prices: BTreeMap<&str, &str> = mini
        .iter()
        .map(|r| {
            (
                r["component"].as_str().unwrap(),
                r["price"].as_str().unwrap(),
            )
        })
        .collect();
    // The whole entry is the override's: no shipped list of it is left.
    assert_eq!(
        prices,
        BTreeMap::from([("input", "0.99"), ("output", "1.98")])
    );
    assert!(mini.iter().all(|r| r["checked"] == "2025-01-02"));
    let shipped = PriceBook::shipped().figures();
    let others = shipped
        .iter()
        .filter(|f| f.provider == "openai" && f.entry != "gpt-4o-mini")
        .count();
    assert_eq!(rows.len(), others + 2);
    assert!(rows.iter().all(|r| r["provider"] == "openai"));

    // The summary names the file it was read from.
    let rows = json_rows(&panoptic(
        &["prices", "--provider", "openai", "--format", "json"],
        &env,
        home.path(),
    ));
    assert!(
        rows[0]["file"]
            .as_str()
            .unwrap()
            .contains(file.to_str().unwrap())
    );

    // A broken override is one clear line.
    std::fs::write(
        &file,
        "provider = \"openai\"\ncurrency = \"USD\"\n[[entry]]\nname = 3\n",
    )
    .unwrap();
    let err = fail(&panoptic(&["prices"], &env, home.path()));
    assert!(
        err.contains("PANOPTIC_PRICES") && err.contains("line 4"),
        "{err}"
    );
}

/// `prices update`: AWS through the price book's refresh (every build of
/// the command), Google Cloud through panoptic-gcp's (the `gcp` feature).
mod update {
    use super::*;
    use serde_json::json;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    // --- AWS -------------------------------------------------------------------------

    /// One product and its OnDemand term, in the Price List's shape.
    struct OfferSku {
        sku: &'static str,
        usagetype: &'static str,
        unit: &'static str,
        /// `(beginRange, endRange, USD)`.
        tiers: Vec<(&'static str, &'static str, &'static str)>,
    }

    /// An offer file of `offer_code` for `region`, as the bulk API serves it.
    fn offer(offer_code: &str, region: &str, skus: &[OfferSku]) -> Value {
        let mut products = serde_json::Map::new();
        let mut on_demand = serde_json::Map::new();
        for s in skus {
            products.insert(
                s.sku.to_owned(),
                json!({
                    "sku": s.sku,
                    "productFamily": "Serverless",
                    "attributes": {
                        "servicecode": offer_code,
                        "location": "US East (N. Virginia)",
                        "locationType": "AWS Region",
                        "group": "AWS-Lambda-Requests",
                        "usagetype": s.usagetype,
                        "operation": "Invoke",
                        "regionCode": region,
                        "servicename": "AWS Lambda"
                    }
                }),
            );
            let term = "JRTCKXETXF";
            let mut dims = serde_json::Map::new();
            for (i, (begin, end, usd)) in s.tiers.iter().enumerate() {
                let rate = format!("{}.{term}.RATE{i}", s.sku);
                dims.insert(
                    rate.clone(),
                    json!({
                        "rateCode": rate,
                        "description": format!("{} {begin}-{end}", s.usagetype),
                        "beginRange": begin,
                        "endRange": end,
                        "unit": s.unit,
                        "pricePerUnit": { "USD": usd },
                        "appliesTo": []
                    }),
                );
            }
            on_demand.insert(
                s.sku.to_owned(),
                json!({
                    format!("{}.{term}", s.sku): {
                        "offerTermCode": term,
                        "sku": s.sku,
                        "effectiveDate": "2026-11-01T00:00:00Z",
                        "priceDimensions": dims,
                        "termAttributes": {}
                    }
                }),
            );
        }
        json!({
            "formatVersion": "v1.0",
            "disclaimer": "test fixture",
            "offerCode": offer_code,
            "version": "20261101000000",
            "publicationDate": "2026-11-01T00:00:00Z",
            "products": products,
            "terms": { "OnDemand": on_demand }
        })
    }

    /// Lambda in us-east-1: x86 requests at `requests` per request, x86
    /// GB-seconds at `gb_rate` per `gb_unit`, Arm unchanged.
    fn lambda_offer(requests: &'static str, gb_unit: &'static str, gb_rate: &'static str) -> Value {
        offer(
            "AWSLambda",
            "us-east-1",
            &[
                OfferSku {
                    sku: "GU2ZS9HVP6QTQ7KE",
                    usagetype: "Request",
                    unit: "Requests",
                    tiers: vec![("0", "Inf", requests)],
                },
                OfferSku {
                    sku: "TG3M4CAGBA3NYQBH",
                    usagetype: "Lambda-GB-Second",
                    unit: gb_unit,
                    tiers: vec![
                        ("0", "6000000000", gb_rate),
                        ("6000000000", "15000000000", "0.0000150000"),
                        ("15000000000", "Inf", "0.0000133334"),
                    ],
                },
                OfferSku {
                    sku: "6SSJYVBU4S6GR6A8",
                    usagetype: "Request-ARM",
                    unit: "Requests",
                    tiers: vec![("0", "Inf", "0.0000002000")],
                },
                OfferSku {
                    sku: "FEG9MGRJXHF4Q5WA",
                    usagetype: "Lambda-GB-Second-ARM",
                    unit: "Lambda-GB-Second",
                    tiers: vec![
                        ("0", "7500000000", "0.0000133334"),
                        ("7500000000", "Inf", "0.0000120001"),
                    ],
                },
            ],
        )
    }

    const LAMBDA_US: &str = "/offers/v1.0/aws/AWSLambda/current/us-east-1/index.json";

    /// A fake bulk API: `lambda` for Lambda in us-east-1, and an offer file
    /// without the book's usage types for every other service and region.
    async fn fake_price_list(lambda: Value) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(LAMBDA_US))
            .respond_with(ResponseTemplate::new(200).set_body_json(lambda))
            .expect(1..)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_json(offer(
                "AmazonS3",
                "us-east-1",
                &[OfferSku {
                    sku: "OTHER0000000001",
                    usagetype: "SomethingElse",
                    unit: "Requests",
                    tiers: vec![("0", "Inf", "1")],
                }],
            )))
            .with_priority(10)
            .mount(&server)
            .await;
        server
    }

    fn aws_figure<'a>(rows: &'a [Value], entry: &str, component: &str, region: &str) -> &'a Value {
        rows.iter()
            .find(|r| r["entry"] == entry && r["component"] == component && r["region"] == region)
            .unwrap_or_else(|| panic!("{entry} {component} {region} not listed"))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn aws_update_shows_changes_and_writes_only_when_asked() {
        let home = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        // x86 requests: 0.20 → 0.25 per million; everything else as shipped.
        let server = fake_price_list(lambda_offer(
            "0.0000002500",
            "Lambda-GB-Second",
            "0.0000166667",
        ))
        .await;
        let root = server.uri();
        let update = [
            "prices",
            "update",
            "--provider",
            "aws",
            "--aws-pricing-url",
            &root,
        ];

        // Shown, not written.
        let shown = succeed(&panoptic_async(&update, &[], home.path()).await);
        let line = shown
            .lines()
            .find(|l| l.starts_with("aws/lambda-x86_64") && l.contains("requests"))
            .unwrap_or_else(|| panic!("{shown}"));
        assert!(
            line.contains("us-east-1") && line.contains("0.2 ") && line.contains("0.25"),
            "{line}"
        );
        assert!(line.contains("unit ok"), "{line}");
        assert_eq!(
            shown.lines().filter(|l| l.starts_with("aws/")).count(),
            1,
            "{shown}"
        );
        assert!(shown.contains("nothing written"), "{shown}");
        assert!(shown.contains("PANOPTIC_PRICES"), "{shown}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

        // Written with --write; named in PANOPTIC_PRICES, the listing has it.
        let file = dir.path().join("aws-prices.toml");
        let mut args = update.to_vec();
        args.extend(["--write", file.to_str().unwrap()]);
        let written = succeed(&panoptic_async(&args, &[], home.path()).await);
        assert!(written.contains("wrote 1 price"), "{written}");
        let rows = aws_figures_with(&file, home.path()).await;
        let env = [("PANOPTIC_PRICES", file.to_str().unwrap())];
        let requests = aws_figure(&rows, "lambda-x86_64", "requests", "us-east-1");
        assert_eq!(requests["price"], "0.25");
        assert_eq!(requests["checked"], today().to_string());
        assert_eq!(
            aws_figure(&rows, "lambda-x86_64", "requests", "eu-west-1")["price"],
            "0.2"
        );
        let shipped_aws = PriceBook::shipped()
            .figures()
            .iter()
            .filter(|f| f.provider == "aws")
            .count();
        assert_eq!(rows.len(), shipped_aws);

        // Against the new file, nothing is left to change.
        let again = succeed(&panoptic_async(&update, &env, home.path()).await);
        assert!(again.contains("up to date"), "{again}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn aws_unit_mismatch_is_shown_and_never_written() {
        let home = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        // GB-seconds now quoted per GB-hour: not comparable, whatever the price.
        let server = fake_price_list(lambda_offer("0.0000002500", "Lambda-GB-Hour", "0.06")).await;
        let root = server.uri();
        let file = dir.path().join("aws-prices.toml");
        let args = [
            "prices",
            "update",
            "--provider",
            "aws",
            "--aws-pricing-url",
            &root,
            "--write",
            file.to_str().unwrap(),
        ];
        let out = succeed(&panoptic_async(&args, &[], home.path()).await);
        let line = out
            .lines()
            .find(|l| l.starts_with("aws/lambda-x86_64") && l.contains("gb_seconds"))
            .unwrap_or_else(|| panic!("{out}"));
        assert!(
            line.contains("UNIT MISMATCH") && line.contains("Lambda-GB-Hour"),
            "{line}"
        );
        assert!(out.contains("1 with a unit mismatch not written"), "{out}");

        let rows = aws_figures_with(&file, home.path()).await;
        assert_eq!(
            aws_figure(&rows, "lambda-x86_64", "requests", "us-east-1")["price"],
            "0.25"
        );
        let gb = aws_figure(&rows, "lambda-x86_64", "gb_seconds", "us-east-1");
        assert_eq!(gb["price"], "0.0000166667");
        // Untouched, `checked` included.
        let shipped = PriceBook::shipped().figures();
        let shipped_gb = shipped
            .iter()
            .find(|f| {
                f.entry == "lambda-x86_64"
                    && f.component == "gb_seconds"
                    && f.region.as_deref() == Some("us-east-1")
            })
            .unwrap();
        assert_eq!(gb["checked"], shipped_gb.checked.to_string());
        assert!(!std::fs::read_to_string(&file).unwrap().contains("0.06"));

        // Only mismatches: no file at all.
        let server = fake_price_list(lambda_offer("0.0000002000", "Lambda-GB-Hour", "0.06")).await;
        let root = server.uri();
        let only = dir.path().join("only-mismatch.toml");
        let out = succeed(
            &panoptic_async(
                &[
                    "prices",
                    "update",
                    "--provider",
                    "aws",
                    "--aws-pricing-url",
                    &root,
                    "--write",
                    only.to_str().unwrap(),
                ],
                &[],
                home.path(),
            )
            .await,
        );
        assert!(out.contains("nothing written"), "{out}");
        assert!(!only.exists());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn update_errors_are_one_clear_line() {
        let home = tempfile::tempdir().unwrap();
        let err = fail(
            &panoptic_async(
                &["prices", "update", "--provider", "openai"],
                &[],
                home.path(),
            )
            .await,
        );
        assert!(
            err.contains("OpenAI publishes no price API: its table is data, dated 20"),
            "{err}"
        );
        let err = fail(
            &panoptic_async(
                &["prices", "update", "--provider", "azure"],
                &[],
                home.path(),
            )
            .await,
        );
        assert!(err.contains("unknown provider `azure`"), "{err}");

        // Not JSON where an offer file should be.
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_string("<html>moved</html>"))
            .mount(&server)
            .await;
        let root = server.uri();
        let err = fail(
            &panoptic_async(
                &[
                    "prices",
                    "update",
                    "--provider",
                    "aws",
                    "--aws-pricing-url",
                    &root,
                ],
                &[],
                home.path(),
            )
            .await,
        );
        assert!(
            err.contains("AWS offer file") && err.contains(&root),
            "{err}"
        );

        // Nobody listening.
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}", l.local_addr().unwrap())
        };
        let err = fail(
            &panoptic_async(
                &[
                    "prices",
                    "update",
                    "--provider",
                    "aws",
                    "--aws-pricing-url",
                    &closed,
                ],
                &[],
                home.path(),
            )
            .await,
        );
        assert!(err.contains("failed") && err.contains(&closed), "{err}");
    }

    // --- Google Cloud ------------------------------------------------------------------

    #[cfg(feature = "gcp")]
    mod gcp {
        use super::*;
        use wiremock::matchers::{header, query_param, query_param_is_missing};

        const BIGQUERY: &str = "24E6-581D-38E5";
        const SKU_ID: &str = "AAAA-1111-BBBB";

        /// BigQuery on-demand analysis, naming its (test) Catalog SKU id.
        fn gcp_override() -> String {
            format!(
                r#"
currency = "USD"

[services.bigquery]
name = "BigQuery"
catalog_id = "{BIGQUERY}"

[services.bigquery.skus.analysis]
description = "On-demand analysis"
unit = "TiBy"
catalog_sku_id = "{SKU_ID}"

[[services.bigquery.skus.analysis.prices]]
regions = ["us", "eu"]
effective = "2023-07-05"
free_per_month = "1"
tiers = [{{ from = "0", rate = "6.25" }}]
source = "https://cloud.google.com/bigquery/pricing"
checked = "2026-11-26"
"#
            )
        }

        /// A Catalog SKU as `services.skus.list` returns it.
        fn catalog_sku(
            id: &str,
            description: &str,
            region: &str,
            units: &str,
            nanos: i64,
        ) -> Value {
            json!({
                "name": format!("services/{BIGQUERY}/skus/{id}"),
                "skuId": id,
                "description": description,
                "category": {
                    "serviceDisplayName": "BigQuery",
                    "resourceFamily": "ApplicationServices",
                    "resourceGroup": "Analysis",
                    "usageType": "OnDemand"
                },
                "serviceRegions": [region],
                "pricingInfo": [{
                    "summary": "",
                    "pricingExpression": {
                        "usageUnit": "TiBy",
                        "usageUnitDescription": "tebibyte",
                        "baseUnit": "By",
                        "baseUnitDescription": "byte",
                        "baseUnitConversionFactor": 1099511627776u64,
                        "displayQuantity": 1,
                        "tieredRates": [
                            { "startUsageAmount": 0, "unitPrice": { "currencyCode": "USD", "units": "0", "nanos": 0 } },
                            { "startUsageAmount": 1, "unitPrice": { "currencyCode": "USD", "units": units, "nanos": nanos } }
                        ]
                    },
                    "currencyConversionRate": 1,
                    "effectiveTime": "2026-11-01T00:00:00Z"
                }],
                "serviceProviderName": "Google",
                "geoTaxonomy": { "type": "MULTI_REGIONAL", "regions": [] }
            })
        }

        /// A fake Catalog (two pages of BigQuery SKUs, the price in `us` now 7.5)
        /// and token endpoint; `auth` matches how requests must be authorized.
        async fn fake_catalog(auth: Option<(&str, &str)>, token: bool) -> MockServer {
            let server = MockServer::start().await;
            if token {
                Mock::given(method("POST"))
                    .and(path("/token"))
                    .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                        "access_token": "fake-token", "expires_in": 3600, "token_type": "Bearer"
                    })))
                    .expect(1..)
                    .mount(&server)
                    .await;
            }
            let skus = format!("/v1/services/{BIGQUERY}/skus");
            let mut first = Mock::given(method("GET"))
                .and(path(skus.clone()))
                .and(query_param_is_missing("pageToken"));
            let mut second = Mock::given(method("GET"))
                .and(path(skus))
                .and(query_param("pageToken", "page-2"));
            match auth {
                Some(("header", value)) => {
                    first = first.and(header("authorization", value));
                    second = second.and(header("authorization", value));
                }
                Some((key, value)) => {
                    first = first.and(query_param(key, value));
                    second = second.and(query_param(key, value));
                }
                None => {}
            }
            first
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "skus": [catalog_sku("CCCC-2222-DDDD", "Analysis (asia-east1)", "asia-east1", "7", 0)],
                "nextPageToken": "page-2"
            })))
            .expect(1)
        .mount(&server)
        .await;
            second
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "skus": [catalog_sku(SKU_ID, "Analysis (US)", "us", "7", 500_000_000)],
                    "nextPageToken": ""
                })))
                .expect(1)
                .mount(&server)
                .await;
            // The shipped table names Catalog SKUs of other services too
            // (Cloud Run, Cloud Storage, Cloud Functions): listed empty here.
            Mock::given(method("GET"))
                .and(wiremock::matchers::path_regex(r"^/v1/services/[^/]+/skus$"))
                .respond_with(
                    ResponseTemplate::new(200)
                        .set_body_json(json!({"skus": [], "nextPageToken": ""})),
                )
                .with_priority(10)
                .mount(&server)
                .await;
            server
        }

        /// A service-account key whose token endpoint is the fake's.
        fn service_account(dir: &Path, token_uri: &str) -> std::path::PathBuf {
            let key = json!({
                "type": "service_account",
                "project_id": "test-project",
                "private_key_id": "0123456789abcdef",
                "private_key": include_str!("../panoptic-gcp/tests/fixtures/test-key.pem"),
                "client_email": "panoptic-test@test-project.iam.gserviceaccount.com",
                "client_id": "100000000000000000001",
                "auth_uri": "https://accounts.google.com/o/oauth2/auth",
                "token_uri": token_uri,
            });
            let file = dir.join("key.json");
            std::fs::write(&file, key.to_string()).unwrap();
            file
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn gcp_update_shows_the_catalog_change_with_a_service_account() {
            let home = tempfile::tempdir().unwrap();
            let dir = tempfile::tempdir().unwrap();
            let prices = dir.path().join("gcp-override.toml");
            std::fs::write(&prices, gcp_override()).unwrap();

            let server = fake_catalog(Some(("header", "Bearer fake-token")), true).await;
            let key = service_account(dir.path(), &format!("{}/token", server.uri()));
            let endpoint = format!("{}/v1/", server.uri());
            let env = [
                ("PANOPTIC_GCP_PRICES", prices.to_str().unwrap()),
                ("GOOGLE_APPLICATION_CREDENTIALS", key.to_str().unwrap()),
            ];
            let update = [
                "prices",
                "update",
                "--provider",
                "gcp",
                "--catalog-endpoint",
                &endpoint,
            ];
            let out = succeed(&panoptic_async(&update, &env, home.path()).await);
            let line = out
                .lines()
                .find(|l| l.contains("gcp/bigquery/analysis"))
                .unwrap_or_else(|| panic!("{out}"));
            // Only `us` changes (the Catalog SKU names it), from the Catalog's date.
            assert!(
                line.contains("[us]") && line.contains(SKU_ID) && line.contains("2026-11-01"),
                "{line}"
            );
            assert!(line.contains("6.25") && line.contains("7.5"), "{line}");
            assert!(out.contains("nothing written"), "{out}");

            // Written, then used through PANOPTIC_GCP_PRICES (a new fake: each
            // page is expected once per run).
            drop(server);
            let written = dir.path().join("gcp-refreshed.toml");
            let server = fake_catalog(Some(("header", "Bearer fake-token")), true).await;
            let key = service_account(dir.path(), &format!("{}/token", server.uri()));
            let endpoint = format!("{}/v1/", server.uri());
            let args = [
                "prices",
                "update",
                "--provider",
                "gcp",
                "--catalog-endpoint",
                &endpoint,
                "--write",
                written.to_str().unwrap(),
            ];
            let env = [
                ("PANOPTIC_GCP_PRICES", prices.to_str().unwrap()),
                ("GOOGLE_APPLICATION_CREDENTIALS", key.to_str().unwrap()),
            ];
            let out = succeed(&panoptic_async(&args, &env, home.path()).await);
            assert!(out.contains("wrote 1 price"), "{out}");
            let rows = json_rows(
                &panoptic_async(
                    &[
                        "prices",
                        "--provider",
                        "gcp",
                        "--figures",
                        "--format",
                        "json",
                    ],
                    &[("PANOPTIC_GCP_PRICES", written.to_str().unwrap())],
                    home.path(),
                )
                .await,
            );
            let analysis = |region: &str, effective: &str| {
                rows.iter()
                    .find(|r| {
                        r["entry"] == "bigquery"
                            && r["component"] == "analysis"
                            && r["region"] == region
                            && r["effective"] == effective
                    })
                    .unwrap_or_else(|| panic!("bigquery analysis {region} {effective} not listed"))
            };
            assert_eq!(analysis("us", "2026-11-01")["price"], "7.5");
            assert_eq!(analysis("us", "2026-11-01")["checked"], today().to_string());
            assert_eq!(analysis("us", "2023-07-05")["price"], "6.25");
            assert!(
                !rows
                    .iter()
                    .any(|r| r["region"] == "eu" && r["effective"] == "2026-11-01")
            );
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn gcp_update_with_an_api_key_and_up_to_date() {
            let home = tempfile::tempdir().unwrap();
            let dir = tempfile::tempdir().unwrap();
            let prices = dir.path().join("gcp-override.toml");
            // Already at the Catalog's price: nothing to change.
            let current = gcp_override().replace(
                r#"tiers = [{ from = "0", rate = "6.25" }]"#,
                r#"tiers = [{ from = "0", rate = "7.5" }]"#,
            );
            assert_ne!(current, gcp_override());
            std::fs::write(&prices, current).unwrap();
            let server = fake_catalog(Some(("key", "test-api-key")), false).await;
            let endpoint = format!("{}/v1/", server.uri());
            let update = [
                "prices",
                "update",
                "--provider",
                "gcp",
                "--catalog-endpoint",
                &endpoint,
            ];
            let out = succeed(
                &panoptic_async(
                    &update,
                    &[
                        ("PANOPTIC_GCP_PRICES", prices.to_str().unwrap()),
                        ("PANOPTIC_GCP_API_KEY", "test-api-key"),
                    ],
                    home.path(),
                )
                .await,
            );
            assert!(out.contains("Google Cloud prices are up to date"), "{out}");

            // The shipped table names Catalog SKUs (BigQuery storage, other
            // services) the fake does not list: said, never written.
            assert!(
                out.contains("not in the Catalog's answer"),
                "the shipped ids the fake does not list are said: {out}"
            );
        }
    }
}
