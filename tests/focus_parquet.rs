//! `panoptic export --format focus-parquet` (feature `parquet`): the
//! seeded ledger read back with the `parquet` crate's own reader — the
//! FOCUS version in the file's metadata, each column's physical and
//! logical type, and the values worked out here from what was seeded.

mod common;

use std::collections::HashMap;
use std::fs::File;

use common::cli::{run, succeed};
use common::finance::{self, ADJUSTMENT_AMOUNT, ADJUSTMENT_CREDIT, dec};
use panoptic::Decimal;
use parquet::basic::{LogicalType, TimeUnit, Type as Physical};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;

/// FOCUS 1.2's Mandatory columns, as the specification lists them.
const MANDATORY: [&str; 21] = [
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
];

/// A decimal column's value: the unscaled big-endian integer at its scale.
fn decimal(field: &Field) -> Option<Decimal> {
    match field {
        Field::Null => None,
        Field::Decimal(d) => {
            let bytes: [u8; 16] = d.data().try_into().expect("16 bytes");
            let (mut unscaled, mut scale) = (i128::from_be_bytes(bytes), d.scale());
            // Trailing zeros off first: 2 TiB at 18 places is more digits
            // than a Decimal holds.
            while scale > 0 && unscaled % 10 == 0 {
                unscaled /= 10;
                scale -= 1;
            }
            let scale = u32::try_from(scale).unwrap();
            Some(Decimal::try_from_i128_with_scale(unscaled, scale).unwrap())
        }
        other => panic!("not a decimal: {other:?}"),
    }
}

fn text(field: &Field) -> Option<String> {
    match field {
        Field::Null => None,
        Field::Str(s) => Some(s.clone()),
        other => panic!("not text: {other:?}"),
    }
}

fn millis(field: &Field) -> i64 {
    match field {
        Field::TimestampMillis(ms) => *ms,
        other => panic!("not a UTC time in ms: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_in_focus_parquet() {
    let ledger = finance::seed("focus_parquet", "2026-12-05T12:00:00Z".parse().unwrap()).await;
    let uri = common::mongodb_uri();
    let dir = common::temp_dir("focus-parquet");
    let file = dir.join("focus.parquet");
    let args = [
        "export",
        "--format",
        "focus-parquet",
        "--env",
        &ledger.env,
        "--since",
        "2026-12-01",
        "--until",
        "2026-12-08",
        "--output",
        file.to_str().unwrap(),
    ];
    succeed(run(&args, &uri, &dir.join("spool")));

    let reader = SerializedFileReader::new(File::open(&file).unwrap()).unwrap();
    let metadata = reader.metadata().file_metadata();
    let version = metadata
        .key_value_metadata()
        .unwrap()
        .iter()
        .find(|kv| kv.key == "FOCUS_Version")
        .and_then(|kv| kv.value.clone());
    assert_eq!(version.as_deref(), Some("1.2"));
    assert_eq!(metadata.num_rows(), 8);

    // Types: money and quantities exact decimals, periods UTC times.
    let schema = metadata.schema_descr();
    let columns: HashMap<String, _> = schema
        .columns()
        .iter()
        .map(|c| (c.name().to_owned(), c.clone()))
        .collect();
    for name in MANDATORY {
        assert!(columns.contains_key(name), "{name}");
    }
    for name in [
        "BilledCost",
        "ListCost",
        "EffectiveCost",
        "ContractedCost",
        "PricingQuantity",
    ] {
        let column = &columns[name];
        assert_eq!(column.physical_type(), Physical::FIXED_LEN_BYTE_ARRAY);
        assert!(
            column.logical_type_ref() == Some(&LogicalType::decimal(18, 38)),
            "{name}"
        );
    }
    for name in ["BillingPeriodStart", "ChargePeriodEnd"] {
        let column = &columns[name];
        assert_eq!(column.physical_type(), Physical::INT64);
        assert!(
            column.logical_type_ref() == Some(&LogicalType::timestamp(true, TimeUnit::MILLIS)),
            "{name}"
        );
    }
    assert!(matches!(
        columns["ChargeCategory"].logical_type_ref(),
        Some(LogicalType::String)
    ));

    let rows: Vec<HashMap<String, Field>> = reader
        .get_row_iter(None)
        .unwrap()
        .map(|row| {
            row.unwrap()
                .get_column_iter()
                .map(|(name, field)| (name.clone(), field.clone()))
                .collect()
        })
        .collect();
    let of = |event: &panoptic::BillingEvent| -> Vec<&HashMap<String, Field>> {
        let id = event.id.to_hex();
        rows.iter()
            .filter(|r| text(&r["x_EventId"]).as_deref() == Some(id.as_str()))
            .collect()
    };

    let chat = of(&ledger.chat);
    assert_eq!(chat.len(), 2);
    for (row, component) in chat.iter().zip(finance::chat_components()) {
        assert_eq!(decimal(&row["ListCost"]), Some(component.amount()));
        assert_eq!(decimal(&row["ListUnitPrice"]), Some(component.unit_price));
        assert_eq!(
            decimal(&row["PricingQuantity"]),
            Some((component.quantity / component.per).normalize())
        );
        assert_eq!(text(&row["ChargeCategory"]).as_deref(), Some("Usage"));
        assert_eq!(decimal(&row["x_DurationMs"]), Some(dec("0.003796")));
        // 2026-12-03T10:00:00Z, in milliseconds.
        assert_eq!(millis(&row["ChargePeriodStart"]), 1_796_292_000_000);
    }

    let bigquery = of(&ledger.bigquery);
    // 2026-11-01T07:00:00Z: Google's month starts at Pacific midnight.
    assert_eq!(
        millis(&bigquery[0]["BillingPeriodStart"]),
        1_793_516_400_000
    );
    assert_eq!(decimal(&bigquery[0]["BilledCost"]), Some(dec("12.5")));
    // 2 TiB in bytes, exactly: a quantity far above what 18 places of a
    // 28-digit decimal would hold.
    assert_eq!(
        decimal(&bigquery[0]["ConsumedQuantity"]),
        Some(dec("2199023255552"))
    );

    let adjustment = of(&ledger.adjustment);
    let by_category: HashMap<String, Option<Decimal>> = adjustment
        .iter()
        .map(|r| {
            (
                text(&r["ChargeCategory"]).unwrap(),
                decimal(&r["BilledCost"]),
            )
        })
        .collect();
    assert_eq!(by_category["Credit"], Some(dec(ADJUSTMENT_CREDIT)));
    assert_eq!(
        by_category["Adjustment"],
        Some(dec(ADJUSTMENT_AMOUNT) - dec(ADJUSTMENT_CREDIT))
    );

    let unpriced = of(&ledger.unpriced);
    assert!(matches!(unpriced[0]["BilledCost"], Field::Null));
    assert!(matches!(unpriced[0]["ListCost"], Field::Null));
    assert_eq!(
        text(&unpriced[0]["x_Unpriced"]).as_deref(),
        Some("no amount given, and the return value reports no usage")
    );

    let geocode = of(&ledger.geocode);
    assert_eq!(text(&geocode[0]["BillingCurrency"]).as_deref(), Some("EUR"));
    assert_eq!(decimal(&geocode[0]["BilledCost"]), Some(dec("0.004")));
}
