//! The columns of panoptic's FOCUS export: every column FOCUS 1.2 marks
//! Mandatory, the Conditional and Recommended ones panoptic can fill, and
//! panoptic's own as `x_…`, each with its FOCUS data type.

/// A column's FOCUS data type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// A decimal number, written exactly (money, quantities).
    Decimal,
    /// A UTC date and time (ISO 8601, `Z`).
    DateTime,
    /// Text.
    String,
    /// Text holding a JSON object (FOCUS's Key-Value Format).
    KeyValue,
}

/// How FOCUS 1.2 ranks a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Every FOCUS dataset has it.
    Mandatory,
    /// Present when the provider supports what it describes.
    Conditional,
    /// Recommended.
    Recommended,
    /// panoptic's own (`x_`-prefixed, as FOCUS asks of custom columns).
    Custom,
}

/// One column of the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The name as FOCUS spells it.
    pub name: &'static str,
    /// Its data type.
    pub kind: ColumnType,
    /// Mandatory, Conditional, Recommended, or panoptic's own.
    pub level: Level,
}

/// The column enum and the table, from one list, so that they cannot
/// disagree on an index.
macro_rules! columns {
    ($($variant:ident => $name:literal, $kind:ident, $level:ident;)*) => {
        /// A column, as an index into [`COLUMNS`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub enum Col {
            $($variant,)*
        }

        /// Every column, in the order of the file: FOCUS's alphabetically,
        /// then panoptic's.
        pub const COLUMNS: &[Column] = &[
            $(Column { name: $name, kind: ColumnType::$kind, level: Level::$level },)*
        ];
    };
}

columns! {
    BilledCost => "BilledCost", Decimal, Mandatory;
    BillingAccountId => "BillingAccountId", String, Mandatory;
    BillingAccountName => "BillingAccountName", String, Mandatory;
    BillingCurrency => "BillingCurrency", String, Mandatory;
    BillingPeriodEnd => "BillingPeriodEnd", DateTime, Mandatory;
    BillingPeriodStart => "BillingPeriodStart", DateTime, Mandatory;
    ChargeCategory => "ChargeCategory", String, Mandatory;
    ChargeClass => "ChargeClass", String, Mandatory;
    ChargeDescription => "ChargeDescription", String, Mandatory;
    ChargeFrequency => "ChargeFrequency", String, Recommended;
    ChargePeriodEnd => "ChargePeriodEnd", DateTime, Mandatory;
    ChargePeriodStart => "ChargePeriodStart", DateTime, Mandatory;
    ConsumedQuantity => "ConsumedQuantity", Decimal, Conditional;
    ConsumedUnit => "ConsumedUnit", String, Conditional;
    ContractedCost => "ContractedCost", Decimal, Mandatory;
    ContractedUnitPrice => "ContractedUnitPrice", Decimal, Conditional;
    EffectiveCost => "EffectiveCost", Decimal, Mandatory;
    InvoiceIssuerName => "InvoiceIssuerName", String, Mandatory;
    ListCost => "ListCost", Decimal, Mandatory;
    ListUnitPrice => "ListUnitPrice", Decimal, Conditional;
    PricingCategory => "PricingCategory", String, Conditional;
    PricingQuantity => "PricingQuantity", Decimal, Mandatory;
    PricingUnit => "PricingUnit", String, Mandatory;
    ProviderName => "ProviderName", String, Mandatory;
    PublisherName => "PublisherName", String, Mandatory;
    RegionId => "RegionId", String, Conditional;
    RegionName => "RegionName", String, Conditional;
    ResourceId => "ResourceId", String, Conditional;
    ResourceName => "ResourceName", String, Conditional;
    ServiceCategory => "ServiceCategory", String, Mandatory;
    ServiceName => "ServiceName", String, Mandatory;
    SkuId => "SkuId", String, Conditional;
    SkuPriceId => "SkuPriceId", String, Conditional;
    SubAccountId => "SubAccountId", String, Conditional;
    SubAccountName => "SubAccountName", String, Conditional;
    Tags => "Tags", KeyValue, Conditional;
    XEventId => "x_EventId", String, Custom;
    XKind => "x_Kind", String, Custom;
    XFunction => "x_Function", String, Custom;
    XUser => "x_User", String, Custom;
    XUsername => "x_Username", String, Custom;
    XEnvironment => "x_Environment", String, Custom;
    XOutcome => "x_Outcome", String, Custom;
    XCallId => "x_CallId", String, Custom;
    XRequestId => "x_RequestId", String, Custom;
    XUnpriced => "x_Unpriced", String, Custom;
    XPricedBy => "x_PricedBy", String, Custom;
    XPriceComponent => "x_PriceComponent", String, Custom;
    XDurationMs => "x_DurationMs", Decimal, Custom;
    XError => "x_Error", String, Custom;
}

impl Col {
    /// The column's entry in [`COLUMNS`].
    pub fn column(self) -> &'static Column {
        &COLUMNS[self as usize]
    }
}

/// The names of every column, in order: the header of a file.
pub fn names() -> impl Iterator<Item = &'static str> {
    COLUMNS.iter().map(|c| c.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_columns_and_only_they_start_with_x() {
        for column in COLUMNS {
            assert_eq!(
                column.name.starts_with("x_"),
                column.level == Level::Custom,
                "{}",
                column.name
            );
        }
        assert_eq!(Col::Tags.column().name, "Tags");
        assert_eq!(Col::XError.column().name, "x_Error");
    }
}
