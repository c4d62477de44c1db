//! The one list of providers and services that panoptic knows.
//!
//! Both the runtime (`panoptic-core`) and the compile-time checks of
//! `#[billable]` (`panoptic-macros`) read this crate, so the list cannot drift
//! between what the macro accepts and what the runtime records. The kinds
//! of billing record live here for the same reason. It has no
//! dependencies so that the proc-macro crate stays quick to build.
//!
//! ```
//! use panoptic_catalog::{Category, Provider};
//!
//! let gcp = Provider::parse("gcp").unwrap();
//! assert_eq!(gcp.service("BigQuery").unwrap().category, Category::Infra);
//! assert_eq!(gcp.service("VertexAI").unwrap().category, Category::Ai);
//! assert!(gcp.service("BigQeury").is_none());
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod naming;

use std::fmt;

/// Whether a charge is infrastructure or AI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// Compute, storage, databases, networking.
    Infra,
    /// Model inference, training, embeddings.
    Ai,
}

impl Category {
    /// The name stored in the `category` field: `"INFRA"` or `"AI"`.
    ///
    /// ```
    /// assert_eq!(panoptic_catalog::Category::Ai.as_str(), "AI");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Category::Infra => "INFRA",
            Category::Ai => "AI",
        }
    }

    /// Parses `"INFRA"` or `"AI"` (any case).
    ///
    /// ```
    /// use panoptic_catalog::Category;
    /// assert_eq!(Category::parse("ai"), Some(Category::Ai));
    /// assert_eq!(Category::parse("cloud"), None);
    /// ```
    pub fn parse(name: &str) -> Option<Category> {
        if name.eq_ignore_ascii_case("INFRA") {
            Some(Category::Infra)
        } else if name.eq_ignore_ascii_case("AI") {
            Some(Category::Ai)
        } else {
            None
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A billing provider. The string form (`as_str`) is what attributes and
/// documents use.
///
/// ```
/// use panoptic_catalog::Provider;
/// let names: Vec<_> = Provider::ALL.iter().map(|p| p.as_str()).collect();
/// assert_eq!(names, ["gcp", "aws", "openai", "mongodb_atlas", "user_defined"]);
/// assert!(Provider::UserDefined.accepts_any_service());
/// assert!(Provider::Gcp.services().iter().any(|s| s.name == "BigQuery"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Provider {
    /// Google Cloud: `"gcp"`.
    Gcp,
    /// Amazon Web Services: `"aws"`.
    Aws,
    /// OpenAI: `"openai"`.
    OpenAi,
    /// MongoDB Atlas: `"mongodb_atlas"`.
    MongodbAtlas,
    /// Anything else; takes any service name: `"user_defined"`.
    UserDefined,
}

/// One service of a provider, with the category its charges fall in.
///
/// ```
/// use panoptic_catalog::{Category, Provider};
/// let bedrock = Provider::Aws.service("Bedrock").unwrap();
/// assert_eq!((bedrock.name, bedrock.category), ("Bedrock", Category::Ai));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    /// The name written in `service = "…"` and stored in documents.
    pub name: &'static str,
    /// INFRA or AI.
    pub category: Category,
}

const fn infra(name: &'static str) -> Service {
    Service {
        name,
        category: Category::Infra,
    }
}

const fn ai(name: &'static str) -> Service {
    Service {
        name,
        category: Category::Ai,
    }
}

const GCP_SERVICES: &[Service] = &[
    infra("BigQuery"),
    infra("CloudRun"),
    infra("CloudStorage"),
    infra("CloudFunctions"),
    infra("ComputeEngine"),
    infra("CloudSQL"),
    infra("Spanner"),
    infra("Firestore"),
    infra("Bigtable"),
    infra("PubSub"),
    infra("Dataflow"),
    infra("GKE"),
    infra("CloudBilling"),
    ai("VertexAI"),
    ai("Gemini"),
];

const AWS_SERVICES: &[Service] = &[
    infra("EC2"),
    infra("S3"),
    infra("Lambda"),
    infra("DynamoDB"),
    infra("RDS"),
    infra("SQS"),
    infra("SNS"),
    infra("ECS"),
    infra("EKS"),
    infra("CloudWatch"),
    infra("Athena"),
    ai("Bedrock"),
    ai("SageMaker"),
];

const OPENAI_SERVICES: &[Service] = &[
    ai("ChatCompletions"),
    ai("Responses"),
    ai("Embeddings"),
    ai("Images"),
    ai("TTS"),
    ai("Transcriptions"),
    ai("Moderations"),
    ai("FineTuning"),
    ai("Batch"),
];

const MONGODB_ATLAS_SERVICES: &[Service] = &[
    infra("Cluster"),
    infra("Serverless"),
    infra("Backup"),
    infra("DataTransfer"),
    infra("AtlasSearch"),
    infra("DataFederation"),
];

impl Provider {
    /// Every provider, in catalog order.
    pub const ALL: [Provider; 5] = [
        Provider::Gcp,
        Provider::Aws,
        Provider::OpenAi,
        Provider::MongodbAtlas,
        Provider::UserDefined,
    ];

    /// The name used in attributes, documents and collection names.
    ///
    /// ```
    /// assert_eq!(panoptic_catalog::Provider::MongodbAtlas.as_str(), "mongodb_atlas");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Provider::Gcp => "gcp",
            Provider::Aws => "aws",
            Provider::OpenAi => "openai",
            Provider::MongodbAtlas => "mongodb_atlas",
            Provider::UserDefined => "user_defined",
        }
    }

    /// The Rust variant name, for generated code.
    pub const fn variant_name(self) -> &'static str {
        match self {
            Provider::Gcp => "Gcp",
            Provider::Aws => "Aws",
            Provider::OpenAi => "OpenAi",
            Provider::MongodbAtlas => "MongodbAtlas",
            Provider::UserDefined => "UserDefined",
        }
    }

    /// Parses the exact name (`"gcp"`, `"openai"`, …).
    ///
    /// ```
    /// use panoptic_catalog::Provider;
    /// assert_eq!(Provider::parse("openai"), Some(Provider::OpenAi));
    /// assert_eq!(Provider::parse("gpc"), None);
    /// ```
    pub fn parse(name: &str) -> Option<Provider> {
        Provider::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// A small dense index (0..5), for per-provider tables.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The category of a service of this provider that the catalog does not
    /// list: AI for OpenAI, INFRA for the rest.
    pub const fn default_category(self) -> Category {
        match self {
            Provider::OpenAi => Category::Ai,
            _ => Category::Infra,
        }
    }

    /// The services the catalog knows for this provider. Empty for
    /// `UserDefined`, which accepts any service.
    pub const fn services(self) -> &'static [Service] {
        match self {
            Provider::Gcp => GCP_SERVICES,
            Provider::Aws => AWS_SERVICES,
            Provider::OpenAi => OPENAI_SERVICES,
            Provider::MongodbAtlas => MONGODB_ATLAS_SERVICES,
            Provider::UserDefined => &[],
        }
    }

    /// Whether any service name is accepted (only `UserDefined`).
    pub const fn accepts_any_service(self) -> bool {
        matches!(self, Provider::UserDefined)
    }

    /// Looks a service up by its exact name.
    pub fn service(self, name: &str) -> Option<&'static Service> {
        self.services().iter().find(|s| s.name == name)
    }

    /// The category of `service`: the catalog's when listed, else the
    /// provider's default.
    ///
    /// ```
    /// use panoptic_catalog::{Category, Provider};
    /// assert_eq!(Provider::Aws.category_of("Bedrock"), Category::Ai);
    /// assert_eq!(Provider::Aws.category_of("SomethingNew"), Category::Infra);
    /// ```
    pub fn category_of(self, service: &str) -> Category {
        self.service(service)
            .map_or(self.default_category(), |s| s.category)
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of record an event is: the seed's custom log levels.
///
/// ```
/// use panoptic_catalog::Kind;
/// assert_eq!(Kind::FOR_CALLS.map(Kind::as_str), ["invoice", "charge", "billing", "quota", "token_usage"]);
/// assert_eq!(Kind::parse("adjustment"), Some(Kind::Adjustment));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A completed billed call or an itemised charge; what `#[billable]` emits.
    Invoice,
    /// A charge decided by the application (e.g. a fixed fee).
    Charge,
    /// A billing-related notice (start of a billed operation, budget info).
    Billing,
    /// Quota consumption.
    Quota,
    /// Tokens consumed by an AI model.
    TokenUsage,
    /// Written by `panoptic reconcile --apply`: a share of the difference
    /// between the estimates and the provider's bill. Never emitted by a
    /// call; reports show it in a column of its own.
    Adjustment,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 6] = [
        Kind::Invoice,
        Kind::Charge,
        Kind::Billing,
        Kind::Quota,
        Kind::TokenUsage,
        Kind::Adjustment,
    ];

    /// The kinds a call or a record may carry (`kind = "…"`).
    pub const FOR_CALLS: [Kind; 5] = [
        Kind::Invoice,
        Kind::Charge,
        Kind::Billing,
        Kind::Quota,
        Kind::TokenUsage,
    ];

    /// The stored name, also the slog record tag.
    ///
    /// ```
    /// assert_eq!(panoptic_catalog::Kind::TokenUsage.as_str(), "token_usage");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Invoice => "invoice",
            Kind::Charge => "charge",
            Kind::Billing => "billing",
            Kind::Quota => "quota",
            Kind::TokenUsage => "token_usage",
            Kind::Adjustment => "adjustment",
        }
    }

    /// Parses a stored name.
    ///
    /// ```
    /// use panoptic_catalog::Kind;
    /// assert_eq!(Kind::parse("quota"), Some(Kind::Quota));
    /// assert_eq!(Kind::parse("info"), None);
    /// ```
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for provider in Provider::ALL {
            assert_eq!(Provider::parse(provider.as_str()), Some(provider));
            let mut names: Vec<_> = provider.services().iter().map(|s| s.name).collect();
            let before = names.len();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), before, "duplicate service in {provider}");
        }
    }

    #[test]
    fn index_is_dense() {
        for (i, provider) in Provider::ALL.into_iter().enumerate() {
            assert_eq!(provider.index(), i);
        }
    }
}
