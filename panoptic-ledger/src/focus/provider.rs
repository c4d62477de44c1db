//! What FOCUS calls each provider, the category of each service, and the
//! zone each provider cuts its billing month in.

use chrono_tz::Tz;
use panoptic_catalog::{Category, Provider};

/// `ProviderName`, `PublisherName` and `InvoiceIssuerName`: the company
/// that sells the service and sends the invoice. A user-defined provider
/// keeps the name it was recorded under.
pub fn provider_name(provider: &str) -> String {
    match Provider::parse(provider) {
        Some(Provider::Gcp) => "Google Cloud".to_owned(),
        Some(Provider::Aws) => "AWS".to_owned(),
        Some(Provider::OpenAi) => "OpenAI".to_owned(),
        Some(Provider::MongodbAtlas) => "MongoDB Atlas".to_owned(),
        _ => provider.to_owned(),
    }
}

/// The zone of the provider's billing month: Google Cloud invoices by the
/// Pacific-time month (its billing export's days are Pacific days); AWS,
/// OpenAI and MongoDB Atlas by the UTC month, as is a user-defined
/// provider.
pub fn billing_zone(provider: &str) -> Tz {
    match Provider::parse(provider) {
        Some(Provider::Gcp) => Tz::America__Los_Angeles,
        _ => Tz::UTC,
    }
}

/// `ServiceCategory`, one of FOCUS 1.2's allowed values, for a service of
/// the catalog; an AI service the catalog does not list is `AI and
/// Machine Learning`, anything else `Other`.
pub fn service_category(provider: &str, service: &str, category: Category) -> &'static str {
    const AI: &str = "AI and Machine Learning";
    let known = match (provider, service) {
        (_, _) if category == Category::Ai => Some(AI),
        ("gcp", "CloudRun" | "CloudFunctions" | "ComputeEngine" | "GKE")
        | ("aws", "EC2" | "Lambda" | "ECS" | "EKS") => Some("Compute"),
        ("gcp", "BigQuery" | "Dataflow")
        | ("aws", "Athena")
        | ("mongodb_atlas", "DataFederation") => Some("Analytics"),
        ("gcp", "CloudStorage") | ("aws", "S3") | ("mongodb_atlas", "Backup") => Some("Storage"),
        ("gcp", "CloudSQL" | "Spanner" | "Firestore" | "Bigtable")
        | ("aws", "DynamoDB" | "RDS")
        | ("mongodb_atlas", "Cluster" | "Serverless" | "AtlasSearch") => Some("Databases"),
        ("gcp", "PubSub") | ("aws", "SQS" | "SNS") => Some("Integration"),
        ("gcp", "CloudBilling") | ("aws", "CloudWatch") => Some("Management and Governance"),
        ("mongodb_atlas", "DataTransfer") => Some("Networking"),
        _ => None,
    };
    known.unwrap_or("Other")
}

/// FOCUS 1.2's allowed values of `ServiceCategory`.
pub const SERVICE_CATEGORIES: [&str; 19] = [
    "AI and Machine Learning",
    "Analytics",
    "Business Applications",
    "Compute",
    "Databases",
    "Developer Tools",
    "Multicloud",
    "Identity",
    "Integration",
    "Internet of Things",
    "Management and Governance",
    "Media",
    "Migration",
    "Mobile",
    "Networking",
    "Security",
    "Storage",
    "Web",
    "Other",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_service_has_an_allowed_category() {
        for provider in Provider::ALL {
            for service in provider.services() {
                let category = service_category(provider.as_str(), service.name, service.category);
                assert!(SERVICE_CATEGORIES.contains(&category), "{category}");
                assert_ne!(category, "Other", "{}/{}", provider.as_str(), service.name);
            }
        }
        assert_eq!(
            service_category("user_defined", "Geocoding", Category::Infra),
            "Other"
        );
    }
}
