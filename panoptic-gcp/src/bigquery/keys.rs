//! The metadata keys of a query's billing event that readers outside this
//! crate rely on (the ledger's free tier): one spelling for writer and
//! reader.

/// The Cloud Billing account the job's project bills to, when the client
/// was told it: Google's free tiers are per billing account.
pub const BILLING_ACCOUNT: &str = "billing_account";
/// Bytes the run billed (on demand).
pub const BYTES_BILLED: &str = "bytes_billed";
/// Where the job ran (`US`, `EU`, `us-central1`).
pub const LOCATION: &str = "location";
/// `on_demand` or `editions`.
pub const PRICING_MODEL: &str = "pricing_model";
/// The pricing model of runs billed by the bytes.
pub const ON_DEMAND: &str = "on_demand";
/// The environment variable naming the billing account when the builder
/// was not told (`01ABCD-234567-89EFGH`).
pub const BILLING_ACCOUNT_ENV: &str = "PANOPTIC_GCP_BILLING_ACCOUNT";

#[cfg(test)]
mod tests {
    use crate::pricing::PricingModel;

    #[test]
    fn the_on_demand_key_is_the_pricing_model_name() {
        assert_eq!(PricingModel::OnDemand.name(), super::ON_DEMAND);
    }
}
