//! The filters in a dashboard URL, parsed into typed values before any
//! query is built: a value is only ever compared for equality, never
//! pasted into a query.

use chrono::{DateTime, Utc};
use panoptic::query::CostQuery;

/// Longest filter value accepted; names are far shorter.
const MAX_VALUE: usize = 256;

/// The period when the URL names none.
pub const DEFAULT_SINCE: &str = "7d";

/// Filters of one view.
#[derive(Debug, Clone)]
pub struct Filters {
    pub since: DateTime<Utc>,
    pub until: Option<DateTime<Utc>>,
    pub env: Option<String>,
    pub provider: Option<String>,
    pub service: Option<String>,
    pub user: Option<String>,
    pub resource: Option<String>,
    pub tag: Option<String>,
}

/// How the overview's bars are stacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stack {
    Service,
    Provider,
}

impl Filters {
    /// The period alone, with no other filter.
    pub fn period(since: DateTime<Utc>, until: Option<DateTime<Utc>>) -> Filters {
        Filters {
            since,
            until,
            env: None,
            provider: None,
            service: None,
            user: None,
            resource: None,
            tag: None,
        }
    }

    /// Reads `since`, `until`, `env`, `provider`, `service`, `user`,
    /// `resource`, `tag`; other keys (`token`, `page`, `stack`, `sort`)
    /// belong to others. An empty value is no filter.
    pub fn parse(pairs: &[(String, String)]) -> Result<Filters, String> {
        let mut since = None;
        let mut filters = Filters::period(Utc::now(), None);
        for (key, value) in pairs {
            if value.is_empty() {
                continue;
            }
            let slot = match key.as_str() {
                "since" => {
                    since = Some(crate::options::parse_time(value)?);
                    continue;
                }
                "until" => {
                    filters.until = Some(crate::options::parse_time(value)?);
                    continue;
                }
                "env" => &mut filters.env,
                "provider" => &mut filters.provider,
                "service" => &mut filters.service,
                "user" => &mut filters.user,
                "resource" => &mut filters.resource,
                "tag" => &mut filters.tag,
                _ => continue,
            };
            *slot = Some(text(key, value)?);
        }
        filters.since = match since {
            Some(since) => since,
            None => crate::options::parse_time(DEFAULT_SINCE)?,
        };
        if filters.until.is_some_and(|until| until <= filters.since) {
            return Err("`until` must be after `since`".to_owned());
        }
        Ok(filters)
    }

    /// The end of the period: `until`, else now.
    pub fn end(&self) -> DateTime<Utc> {
        self.until.unwrap_or_else(Utc::now)
    }

    /// The query `report` runs for the same filters, and the tag.
    pub fn query(&self) -> CostQuery {
        let shared = crate::options::Filters {
            since: self.since,
            until: self.until,
            env: self.env.clone(),
            provider: self.provider.clone(),
            user: self.user.clone(),
            service: self.service.clone(),
            resource: self.resource.clone(),
        };
        match &self.tag {
            Some(tag) => shared.query().tag(tag),
            None => shared.query(),
        }
    }
}

impl Stack {
    pub fn parse(pairs: &[(String, String)]) -> Result<Stack, String> {
        match pairs
            .iter()
            .find(|(k, _)| k == "stack")
            .map(|(_, v)| v.as_str())
        {
            None | Some("" | "service") => Ok(Stack::Service),
            Some("provider") => Ok(Stack::Provider),
            Some(other) => Err(format!(
                "cannot stack by `{}`: use service or provider",
                other.escape_debug()
            )),
        }
    }
}

/// The 1-based page number of `page=N`.
pub fn page(pairs: &[(String, String)]) -> Result<u64, String> {
    match pairs
        .iter()
        .find(|(k, _)| k == "page")
        .map(|(_, v)| v.as_str())
    {
        None | Some("") => Ok(1),
        Some(text) => text
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=100_000).contains(n))
            .ok_or_else(|| "`page` must be a number from 1".to_owned()),
    }
}

fn text(key: &str, value: &str) -> Result<String, String> {
    if value.chars().count() > MAX_VALUE || value.chars().any(char::is_control) {
        return Err(format!(
            "`{key}` must be at most {MAX_VALUE} characters, without control characters"
        ));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn values_stay_plain_strings() {
        let filters = Filters::parse(&pairs(&[
            ("service", "{\"$ne\": 1}"),
            ("since", "30d"),
            ("env", ""),
        ]))
        .unwrap();
        assert_eq!(filters.service.as_deref(), Some("{\"$ne\": 1}"));
        assert_eq!(filters.env, None);
        let filter = filters.query().filter();
        assert_eq!(filter.get_str("service").unwrap(), "{\"$ne\": 1}");
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(Filters::parse(&pairs(&[("since", "yesterday-ish")])).is_err());
        assert!(Filters::parse(&pairs(&[("user", "a\u{0}b")])).is_err());
        assert!(Filters::parse(&pairs(&[("since", "1d"), ("until", "2d")])).is_err());
        assert!(page(&pairs(&[("page", "0")])).is_err());
        assert_eq!(page(&pairs(&[("page", "3")])), Ok(3));
        assert!(Stack::parse(&pairs(&[("stack", "resource")])).is_err());
    }
}
