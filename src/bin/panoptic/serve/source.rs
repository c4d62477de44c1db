//! Where the dashboard reads: MongoDB when it answered at start, else the
//! spool, exactly as `panoptic report` chooses; one environment's events
//! alone with `serve --env`.

use std::path::PathBuf;

use bson::Document;
use panoptic::config::{redact_secrets, redact_uri};
use panoptic::naming::canonical_env;
use panoptic::query::{CostQuery, CostRow};
use panoptic::{BillingEvent, Spool, SummaryCache};

use crate::options::{Global, connect};

/// The store read by every request, and the environment it is limited to.
pub struct Source {
    store: Store,
    /// `serve --env`, canonical (`production` is `prod`).
    env: Option<String>,
}

/// MongoDB or the spool.
enum Store {
    Mongo {
        client: mongodb::Client,
        uri: String,
    },
    Spool {
        dir: PathBuf,
        /// Why MongoDB is not read (`None` with `--spool`).
        reason: Option<String>,
        /// The sealed segments' summaries, read once and kept between
        /// requests (each reads only what changed since).
        summaries: SummaryCache,
    },
}

impl Source {
    /// The store `global` points at, limited to `env` when given.
    pub async fn open(global: &Global, env: Option<&str>) -> Source {
        let store = Store::open(global).await;
        store.read_summaries();
        Source {
            store,
            env: env.map(canonical_env),
        }
    }

    /// One line for people: what is read.
    pub fn describe(&self) -> String {
        let store = match &self.store {
            Store::Mongo { uri, .. } => format!("MongoDB {uri}"),
            Store::Spool { dir, .. } => format!("spool {}", dir.display()),
        };
        match &self.env {
            Some(env) => format!("{store}, env {env} only"),
            None => store,
        }
    }

    /// `("mongodb" | "spool", description, why the spool)`.
    pub fn kind(&self) -> (&'static str, String, Option<String>) {
        match &self.store {
            Store::Mongo { .. } => ("mongodb", self.describe(), None),
            Store::Spool { reason, .. } => ("spool", self.describe(), reason.clone()),
        }
    }

    /// The MongoDB client, when that is the store (budgets live only there).
    pub fn client(&self) -> Option<&mongodb::Client> {
        match &self.store {
            Store::Mongo { client, .. } => Some(client),
            Store::Spool { .. } => None,
        }
    }

    /// `query` limited to `serve --env`: `None` when it asks for another
    /// environment, which the dashboard does not show.
    fn limited(&self, query: &CostQuery) -> Option<CostQuery> {
        let Some(env) = &self.env else {
            return Some(query.clone());
        };
        match query.filter().get_str("env") {
            Ok(asked) if asked != env => None,
            _ => Some(query.clone().env(env)),
        }
    }

    /// The cost rows of `query`, on whichever store this is.
    pub async fn rows(&self, query: &CostQuery) -> Result<Vec<CostRow>, String> {
        match self.limited(query) {
            Some(query) => self.store.rows(&query).await,
            None => Ok(Vec::new()),
        }
    }

    /// Events of `query`, newest first: page `page` (1-based) of `size`,
    /// and whether more follow.
    pub async fn events(
        &self,
        query: &CostQuery,
        page: u64,
        size: u64,
    ) -> Result<(Vec<BillingEvent>, bool), String> {
        match self.limited(query) {
            Some(query) => self.store.events(&query, page, size).await,
            None => Ok((Vec::new(), false)),
        }
    }
}

impl Store {
    async fn open(global: &Global) -> Store {
        let spool = |reason| Store::Spool {
            dir: global.spool_dir.clone(),
            reason,
            summaries: SummaryCache::new(),
        };
        if global.spool {
            return spool(None);
        }
        // Named apart from the one-shot commands in the server's logs: it
        // keeps its connection for as long as it serves.
        let answered = match connect::settings(global) {
            Ok(settings) => settings.app_name("panoptic-serve").ping().await,
            Err(reason) => Err(reason),
        };
        match answered {
            Ok(client) => Store::Mongo {
                client,
                uri: redact_uri(&global.mongodb_uri),
            },
            Err(line) => {
                // The same line as every command's, its password left out.
                let reason = redact_secrets(&global.mongodb_uri, &line);
                eprintln!("panoptic: {reason}; reading the spool");
                spool(Some(reason))
            }
        }
    }

    /// The cost rows of `query`, on whichever store this is.
    async fn rows(&self, query: &CostQuery) -> Result<Vec<CostRow>, String> {
        match self {
            Store::Mongo { client, .. } => query.run(client).await.map_err(|e| e.to_string()),
            Store::Spool { dir, summaries, .. } => query
                .run_on_spool_cached(&Spool::open(dir), summaries)
                .map_err(|e| format!("cannot read the spool: {e}")),
        }
    }

    /// On the spool, reads the summaries already written before the first
    /// request, so that none waits for them; says how long that took.
    fn read_summaries(&self) {
        let Store::Spool { dir, summaries, .. } = self else {
            return;
        };
        let started = std::time::Instant::now();
        // Said only when there was something to read; a failure is said by
        // the first request, which reads the spool again (one line each).
        if let Ok((segments, hours)) = summaries.refresh(&Spool::open(dir))
            && segments > 0
        {
            eprintln!(
                "panoptic: read the summaries of {segments} spool segment(s), {hours} hour(s), in {} ms",
                started.elapsed().as_millis()
            );
        }
    }

    /// Events of `query`, newest first: page `page` (1-based) of `size`,
    /// and whether more follow.
    async fn events(
        &self,
        query: &CostQuery,
        page: u64,
        size: u64,
    ) -> Result<(Vec<BillingEvent>, bool), String> {
        let wanted = page * size + 1;
        let events = match self {
            Store::Mongo { client, .. } => {
                let mut events = query
                    .events(client, Document::new(), Some(wanted))
                    .await
                    .map_err(|e| e.to_string())?;
                events.sort_by(|a, b| b.ts.cmp(&a.ts).then_with(|| b.id.cmp(&a.id)));
                events
            }
            // Newest first already, and no more than the page needs.
            Store::Spool { dir, .. } => query
                .newest_on_spool(
                    &Spool::open(dir),
                    usize::try_from(wanted).unwrap_or(usize::MAX),
                )
                .map_err(|e| format!("cannot read the spool: {e}"))?,
        };
        let more = events.len() as u64 > page * size;
        let start = ((page - 1) * size) as usize;
        let page: Vec<_> = events.into_iter().skip(start).take(size as usize).collect();
        Ok((page, more))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(env: Option<&str>) -> Source {
        Source {
            store: Store::Spool {
                dir: PathBuf::from("/nonexistent"),
                reason: None,
                summaries: SummaryCache::new(),
            },
            env: env.map(canonical_env),
        }
    }

    fn env_of(query: &CostQuery) -> Option<String> {
        query.filter().get_str("env").ok().map(str::to_owned)
    }

    #[test]
    fn serve_env_limits_every_query_to_its_environment() {
        let prod = source(Some("production"));
        assert_eq!(prod.describe(), "spool /nonexistent, env prod only");
        let all = prod.limited(&CostQuery::new()).unwrap();
        assert_eq!(env_of(&all).as_deref(), Some("prod"));
        let same = prod.limited(&CostQuery::new().env("prod")).unwrap();
        assert_eq!(env_of(&same).as_deref(), Some("prod"));
        // Another environment is not shown, not swapped for this one.
        assert!(prod.limited(&CostQuery::new().env("dev")).is_none());
        // Without --env, the page's filter stands.
        let every = source(None);
        assert_eq!(every.describe(), "spool /nonexistent");
        let dev = every.limited(&CostQuery::new().env("dev")).unwrap();
        assert_eq!(env_of(&dev).as_deref(), Some("dev"));
        assert_eq!(env_of(&every.limited(&CostQuery::new()).unwrap()), None);
    }
}
