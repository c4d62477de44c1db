//! AWS Cost Explorer's `GetCostAndUsage`: daily cost per service and per
//! value of a cost-allocation tag (`panoptic_resource` by default), list
//! (`UnblendedCost`) and net (`NetUnblendedCost`), in UTC days. Days the
//! answer marks `Estimated` (a month not yet closed) come back as
//! estimated lines: late data, which `--apply` leaves alone.
//!
//! Requests are JSON 1.1 POSTs signed with SigV4 by the official
//! `aws-sigv4` signer; no signing code of our own.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use chrono::NaiveDate;
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;

use crate::bills::http::{Endpoint, send_json};
use crate::bills::{BillError, BillLine, BillSource};

/// Cost Explorer's only endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://ce.us-east-1.amazonaws.com/";
/// The tag that names the panoptic resource, once activated as a
/// cost-allocation tag in the billing console.
pub const DEFAULT_TAG: &str = "panoptic_resource";
const SOURCE: &str = "AWS Cost Explorer";
const TARGET: &str = "AWSInsightsIndexService.GetCostAndUsage";

/// Cost Explorer as a bill source.
#[derive(Clone)]
pub struct CostExplorer {
    endpoint: Endpoint,
    identity: Identity,
    region: String,
    tag: Option<String>,
}

impl std::fmt::Debug for CostExplorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys stay out of logs.
        f.debug_struct("CostExplorer")
            .field("endpoint", &self.endpoint.url.as_str())
            .field("tag", &self.tag)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Reply {
    #[serde(default)]
    results_by_time: Vec<ByTime>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ByTime {
    time_period: Period,
    #[serde(default)]
    groups: Vec<Group>,
    /// The day's amounts may still change (a month not yet closed).
    #[serde(default)]
    estimated: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Period {
    start: NaiveDate,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Group {
    keys: Vec<String>,
    metrics: std::collections::HashMap<String, Metric>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Metric {
    amount: String,
    unit: String,
}

impl CostExplorer {
    /// Cost Explorer with these keys (a session token for temporary ones).
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: Option<String>,
    ) -> Result<CostExplorer, BillError> {
        let credentials = Credentials::new(
            access_key_id,
            secret_access_key,
            session_token,
            None,
            "panoptic",
        );
        Ok(CostExplorer {
            endpoint: Endpoint::new(DEFAULT_ENDPOINT)?,
            identity: credentials.into(),
            region: "us-east-1".into(),
            tag: Some(DEFAULT_TAG.into()),
        })
    }

    /// Keys from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
    /// `AWS_SESSION_TOKEN`.
    pub fn from_env() -> Result<CostExplorer, BillError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        match (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
            (Some(id), Some(secret)) => CostExplorer::new(id, secret, var("AWS_SESSION_TOKEN")),
            _ => Err(BillError::Config(
                "AWS Cost Explorer needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into(),
            )),
        }
    }

    /// Another endpoint (a proxy, a local fake).
    pub fn endpoint(mut self, url: &str) -> Result<CostExplorer, BillError> {
        self.endpoint = Endpoint::new(url)?;
        Ok(self)
    }

    /// The cost-allocation tag naming the resource; `None` groups by
    /// service only.
    pub fn tag(mut self, tag: Option<String>) -> CostExplorer {
        self.tag = tag;
        self
    }

    fn body(&self, start: NaiveDate, end: NaiveDate, token: Option<&str>) -> serde_json::Value {
        let mut group_by = vec![json!({"Type": "DIMENSION", "Key": "SERVICE"})];
        if let Some(tag) = &self.tag {
            group_by.push(json!({"Type": "TAG", "Key": tag}));
        }
        let mut body = json!({
            "TimePeriod": {"Start": start.to_string(), "End": end.to_string()},
            "Granularity": "DAILY",
            "Metrics": ["UnblendedCost", "NetUnblendedCost"],
            "GroupBy": group_by,
        });
        if let Some(token) = token {
            body["NextPageToken"] = token.into();
        }
        body
    }

    async fn call(&self, body: &serde_json::Value) -> Result<Reply, BillError> {
        let body = serde_json::to_vec(body).map_err(|e| BillError::decode(SOURCE, e))?;
        let headers = [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", TARGET),
        ];
        let params = v4::SigningParams::builder()
            .identity(&self.identity)
            .region(&self.region)
            .name("ce")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| BillError::Config(format!("signing: {e}")))?
            .into();
        let signable = SignableRequest::new(
            "POST",
            self.endpoint.url.as_str(),
            headers.iter().copied(),
            SignableBody::Bytes(&body),
        )
        .map_err(|e| BillError::Config(format!("signing: {e}")))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| BillError::Config(format!("signing: {e}")))?
            .into_parts();
        let mut request = self.endpoint.client.post(self.endpoint.url.clone());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        for (name, value) in instructions.headers() {
            request = request.header(name, value);
        }
        send_json(SOURCE, request.body(body)).await
    }
}

/// panoptic's name for an AWS service as Cost Explorer spells it.
pub fn service_name(cost_explorer: &str) -> &str {
    match cost_explorer {
        "Amazon Simple Storage Service" => "S3",
        "Amazon DynamoDB" => "DynamoDB",
        "AWS Lambda" => "Lambda",
        "Amazon Elastic Compute Cloud - Compute" => "EC2",
        "Amazon Simple Queue Service" => "SQS",
        "Amazon Simple Notification Service" => "SNS",
        "Amazon Bedrock" => "Bedrock",
        "Amazon Relational Database Service" => "RDS",
        "Amazon CloudFront" => "CloudFront",
        other => other,
    }
}

impl BillSource for CostExplorer {
    fn provider(&self) -> &str {
        "aws"
    }

    fn time_zone(&self) -> Tz {
        Tz::UTC
    }

    async fn lines(&self, start: NaiveDate, end: NaiveDate) -> Result<Vec<BillLine>, BillError> {
        let mut lines = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let reply = self.call(&self.body(start, end, token.as_deref())).await?;
            for by_time in reply.results_by_time {
                for group in by_time.groups {
                    let amount = |name: &str| -> Result<(Decimal, String), BillError> {
                        let metric = group.metrics.get(name).ok_or_else(|| {
                            BillError::decode(SOURCE, format!("no {name} in a group"))
                        })?;
                        let value = metric.amount.parse::<Decimal>().or_else(|_| {
                            Decimal::from_scientific(&metric.amount)
                                .map_err(|e| BillError::decode(SOURCE, e))
                        })?;
                        Ok((value, metric.unit.clone()))
                    };
                    let (list, unit) = amount("UnblendedCost")?;
                    let (net, _) = amount("NetUnblendedCost")?;
                    let mut line = BillLine::new("aws", by_time.time_period.start, list, net);
                    line.currency = unit;
                    line.estimated = by_time.estimated;
                    line.service = group.keys.first().map(|s| service_name(s).to_owned());
                    // A tag key reads `tag$value`; `tag$` is untagged usage.
                    line.resource = group
                        .keys
                        .get(1)
                        .and_then(|k| k.split_once('$'))
                        .map(|(_, v)| v.to_owned())
                        .filter(|v| !v.is_empty());
                    if !line.credits.is_zero() {
                        line.credits_by_type = vec![("NET_DISCOUNTS".into(), line.credits)];
                    }
                    lines.push(line);
                }
            }
            match reply.next_page_token {
                Some(next) if !next.is_empty() => token = Some(next),
                _ => break,
            }
        }
        Ok(lines)
    }
}
