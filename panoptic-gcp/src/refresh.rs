//! Refreshing the Google Cloud price table from the Cloud Billing Catalog
//! (feature `refresh`): read the SKUs of every service whose prices name a
//! Catalog SKU id, show what changed, and write the changed SKUs to an
//! override file once someone has seen them. The shipped table is compiled
//! in and never changes. Built on [`billing_catalog`](crate::billing_catalog),
//! which reads and compares.
//!
//! ```no_run
//! # async fn run() -> Result<(), panoptic_gcp::refresh::RefreshError> {
//! use panoptic_gcp::billing_catalog::DEFAULT_BASE_URL;
//! use panoptic_gcp::pricing::PriceTable;
//! use panoptic_gcp::refresh::{CatalogRefresh, catalog_from_env};
//!
//! let today = chrono::Utc::now().date_naive();
//! let mut refresh = CatalogRefresh::new(PriceTable::from_env()?, today);
//! let catalog = catalog_from_env(DEFAULT_BASE_URL).await?;
//! for target in refresh.targets()?.to_vec() {
//!     refresh.read(&catalog, &target).await?;
//! }
//! for change in refresh.changes() {
//!     println!("{change}");
//! }
//! refresh.write_override("gcp-prices.toml".as_ref(), DEFAULT_BASE_URL)?;
//! # Ok(()) }
//! ```

mod credentials;
mod table;

use std::path::PathBuf;

pub use credentials::{API_KEY_ENV, catalog_from_env};
pub use table::{CatalogRefresh, Target};

use crate::pricing::PricingError;

/// Why a refresh failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RefreshError {
    /// No price of the table names a Catalog SKU, so nothing can be
    /// compared.
    #[error(
        "no Google Cloud price names a Cloud Billing Catalog SKU (`catalog_sku_id`), so nothing can be \
         compared: add the ids in an override file named in PANOPTIC_GCP_PRICES"
    )]
    NoCatalogSkuIds,
    /// Neither an API key nor application default credentials.
    #[error(
        "Google credentials: {0} (set GOOGLE_APPLICATION_CREDENTIALS to a service-account key \
         file, or PANOPTIC_GCP_API_KEY to an API key)"
    )]
    Credentials(crate::auth::AuthError),
    /// The Catalog client could not be made.
    #[error("Cloud Billing Catalog: {0}")]
    Client(Box<crate::rest::Error>),
    /// A service's SKUs could not be read or compared.
    #[error("Cloud Billing Catalog, service {service_id}: {error}")]
    Service {
        /// The Catalog service id.
        service_id: String,
        /// What went wrong.
        error: Box<crate::rest::Error>,
    },
    /// A price table (the override file) could not be read or rendered.
    #[error(transparent)]
    Table(#[from] PricingError),
    /// The override file is in another currency than the table.
    #[error("{} is in {file}, the table in {table}", path.display())]
    Currency {
        /// The override file.
        path: PathBuf,
        /// Its currency.
        file: String,
        /// The table's.
        table: String,
    },
    /// The override file could not be written.
    #[error(transparent)]
    Write(#[from] panoptic_prices::refresh::RefreshError),
}

#[cfg(test)]
mod tests;
