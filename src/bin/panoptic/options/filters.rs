//! The filters `report` and `export` share, and the cost query they make.

use chrono::{DateTime, Utc};
use clap::Args;
use panoptic::query::CostQuery;

use super::parse_time;

/// Which events: a time range and equality filters.
#[derive(Debug, Args)]
pub struct Filters {
    /// Start of the range: `7d`, `12h`, `30m`, a date (`2026-11-01`) or RFC 3339.
    #[arg(long, default_value = "7d", value_parser = parse_time)]
    pub since: DateTime<Utc>,
    /// End of the range (exclusive), same forms; default now.
    #[arg(long, value_parser = parse_time)]
    pub until: Option<DateTime<Utc>>,
    /// Environment (`prod`, `dev`, `staging`, …); default every environment.
    #[arg(long, env = "PANOPTIC_ENV")]
    pub env: Option<String>,
    /// Provider (`gcp`, `aws`, `openai`, `mongodb_atlas`, `user_defined`).
    #[arg(long)]
    pub provider: Option<String>,
    /// Username, as given to panoptic.
    #[arg(long)]
    pub user: Option<String>,
    /// Service (`BigQuery`, …).
    #[arg(long)]
    pub service: Option<String>,
    /// Resource (function identifier or label).
    #[arg(long)]
    pub resource: Option<String>,
}

impl Filters {
    /// The cost query of these filters, not grouped yet.
    pub fn query(&self) -> CostQuery {
        let mut query = CostQuery::new().since(self.since);
        if let Some(until) = self.until {
            query = query.until(until);
        }
        if let Some(env) = &self.env {
            query = query.env(env);
        }
        if let Some(provider) = &self.provider {
            query = query.provider(provider);
        }
        if let Some(user) = &self.user {
            query = query.username(user);
        }
        if let Some(service) = &self.service {
            query = query.service(service);
        }
        if let Some(resource) = &self.resource {
            query = query.resource(resource);
        }
        query
    }
}
