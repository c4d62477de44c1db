//! How the Catalog is reached: an API key from the environment, else
//! Google's application default credentials.

use super::RefreshError;
use crate::auth::{AuthOptions, Secret, TokenSource};
use crate::billing_catalog::Catalog;

/// The environment variable holding a Cloud Billing API key.
pub const API_KEY_ENV: &str = "PANOPTIC_GCP_API_KEY";

/// A Catalog client at `base_url`: with the API key in
/// [`API_KEY_ENV`] if set, else with application default credentials
/// (`GOOGLE_APPLICATION_CREDENTIALS`, gcloud's file, the metadata server).
pub async fn catalog_from_env(base_url: &str) -> Result<Catalog, RefreshError> {
    let builder = Catalog::builder().base_url(base_url.to_owned());
    let builder = match std::env::var(API_KEY_ENV) {
        Ok(key) if !key.trim().is_empty() => builder.api_key(Secret::new(key.trim())),
        _ => builder.tokens(
            TokenSource::application_default(AuthOptions::default())
                .await
                .map_err(RefreshError::Credentials)?,
        ),
    };
    builder
        .build()
        .map_err(|e| RefreshError::Client(Box::new(e)))
}
