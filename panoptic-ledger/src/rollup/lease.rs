//! One rollup worker per database at a time, across hosts: a lease stored
//! in MongoDB (`panoptic_rollups.leases`, one document per database) that
//! expires when its holder stops renewing it — a killed worker's lease is
//! taken over once it runs out.
//!
//! The lease saves work, not exactness: windows are replaced only if
//! their marks did not move (see [`crate::rollup`]), so a worker that
//! lost its lease while paused cannot double-count anything.

use std::time::Duration;

use bson::{Document, doc};
use chrono::Utc;

use super::DATABASE;

/// The collection of leases.
pub const LEASES: &str = "leases";

/// How long a lease lasts without renewal, unless
/// `PANOPTIC_ROLLUP_LEASE_SECONDS` says otherwise.
pub const TERM: Duration = Duration::from_secs(60);

/// The term in force: [`TERM`], or `PANOPTIC_ROLLUP_LEASE_SECONDS`.
pub fn term() -> Duration {
    std::env::var("PANOPTIC_ROLLUP_LEASE_SECONDS")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(TERM)
}

/// A held lease on one database.
#[derive(Debug, Clone)]
pub struct Lease {
    client: mongodb::Client,
    database: String,
    holder: String,
}

/// Who holds a lease, when it is not us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldBy {
    /// The holder's name (`host:pid:…`).
    pub holder: String,
    /// When its term runs out unless renewed.
    pub until: chrono::DateTime<Utc>,
}

impl Lease {
    /// Takes the lease on `database` for `holder`, unless another holder's
    /// term is running.
    pub async fn acquire(
        client: &mongodb::Client,
        database: &str,
        holder: &str,
    ) -> mongodb::error::Result<Result<Lease, HeldBy>> {
        let lease = Lease {
            client: client.clone(),
            database: database.to_owned(),
            holder: holder.to_owned(),
        };
        if lease.renew().await? {
            return Ok(Ok(lease));
        }
        let current = leases(client)
            .find_one(doc! { "_id": database })
            .await?
            .unwrap_or_default();
        Ok(Err(HeldBy {
            holder: current.get_str("holder").unwrap_or_default().to_owned(),
            until: current
                .get_datetime("until")
                .map(|d| d.to_chrono())
                .unwrap_or_else(|_| Utc::now()),
        }))
    }

    /// Extends the term; false when the lease was lost (it ran out and
    /// another holder took it).
    pub async fn renew(&self) -> mongodb::error::Result<bool> {
        let now = Utc::now();
        let until = now + chrono::Duration::from_std(term()).unwrap_or_default();
        let taken = leases(&self.client)
            .update_one(
                doc! {
                    "_id": &self.database,
                    "$or": [
                        { "holder": &self.holder },
                        { "until": { "$lt": bson::DateTime::from_chrono(now) } },
                    ],
                },
                doc! { "$set": {
                    "holder": &self.holder,
                    "until": bson::DateTime::from_chrono(until),
                } },
            )
            .upsert(true)
            .await;
        match taken {
            Ok(_) => Ok(true),
            // The upsert found another holder's live lease and tried to
            // insert a second document with its `_id`.
            Err(error) if is_duplicate_key(&error) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Gives the lease up.
    pub async fn release(self) -> mongodb::error::Result<()> {
        leases(&self.client)
            .delete_one(doc! { "_id": &self.database, "holder": &self.holder })
            .await?;
        Ok(())
    }

    /// This holder's name.
    pub fn holder(&self) -> &str {
        &self.holder
    }
}

/// A name for this process as a holder: host, pid and a random part.
pub fn holder_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".to_owned());
    format!(
        "{host}:{}:{}",
        std::process::id(),
        bson::oid::ObjectId::new().to_hex()
    )
}

fn leases(client: &mongodb::Client) -> mongodb::Collection<Document> {
    client.database(DATABASE).collection(LEASES)
}

fn is_duplicate_key(error: &mongodb::error::Error) -> bool {
    use mongodb::error::{ErrorKind, WriteFailure};
    match error.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(e)) => e.code == 11000,
        ErrorKind::Command(e) => e.code == 11000,
        _ => error.to_string().contains("E11000"),
    }
}
