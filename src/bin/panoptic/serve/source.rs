//! Where the dashboard reads: MongoDB when it answered at start, else the
//! spool, exactly as `panoptic report` chooses.

use std::path::PathBuf;

use bson::Document;
use panoptic::config::{redact_secrets, redact_uri};
use panoptic::query::{CostQuery, CostRow};
use panoptic::{BillingEvent, Spool};

use crate::options::{Global, connect};

/// The store read by every request.
pub enum Source {
    Mongo {
        client: mongodb::Client,
        uri: String,
    },
    Spool {
        dir: PathBuf,
        /// Why MongoDB is not read (`None` with `--spool`).
        reason: Option<String>,
    },
}

impl Source {
    pub async fn open(global: &Global) -> Source {
        let spool = |reason| Source::Spool {
            dir: global.spool_dir.clone(),
            reason,
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
            Ok(client) => Source::Mongo {
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

    /// One line for people: what is read.
    pub fn describe(&self) -> String {
        match self {
            Source::Mongo { uri, .. } => format!("MongoDB {uri}"),
            Source::Spool { dir, .. } => format!("spool {}", dir.display()),
        }
    }

    /// `("mongodb" | "spool", description, why the spool)`.
    pub fn kind(&self) -> (&'static str, String, Option<String>) {
        match self {
            Source::Mongo { .. } => ("mongodb", self.describe(), None),
            Source::Spool { reason, .. } => ("spool", self.describe(), reason.clone()),
        }
    }

    /// The MongoDB client, when that is the store (budgets live only there).
    pub fn client(&self) -> Option<&mongodb::Client> {
        match self {
            Source::Mongo { client, .. } => Some(client),
            Source::Spool { .. } => None,
        }
    }

    /// The cost rows of `query`, on whichever store this is.
    pub async fn rows(&self, query: &CostQuery) -> Result<Vec<CostRow>, String> {
        match self {
            Source::Mongo { client, .. } => query.run(client).await.map_err(|e| e.to_string()),
            Source::Spool { dir, .. } => query
                .run_on_spool(&Spool::open(dir))
                .map_err(|e| format!("cannot read the spool: {e}")),
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
        let wanted = page * size + 1;
        let mut events = match self {
            Source::Mongo { client, .. } => query
                .events(client, Document::new(), Some(wanted))
                .await
                .map_err(|e| e.to_string())?,
            Source::Spool { dir, .. } => Spool::open(dir)
                .events()
                .map_err(|e| format!("cannot read the spool: {e}"))?
                .iter()
                .filter_map(|spooled| panoptic::BillingEvent::try_from(spooled).ok())
                .filter(|event| query.matches(event))
                .collect(),
        };
        events.sort_by(|a, b| b.ts.cmp(&a.ts).then_with(|| b.id.cmp(&a.id)));
        let more = events.len() as u64 > page * size;
        let start = ((page - 1) * size) as usize;
        let page: Vec<_> = events.into_iter().skip(start).take(size as usize).collect();
        Ok((page, more))
    }
}
