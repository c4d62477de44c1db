//! FOCUS rows as a Parquet file, written a row group at a time so that
//! memory stays bounded by one group whatever the export holds. Money and
//! quantities are `DECIMAL(38, 18)` (exact, never a float), times are UTC
//! milliseconds, text is UTF-8; the FOCUS version is in the file's
//! key-value metadata ([`VERSION_KEY`]).

use std::io::Write;
use std::sync::Arc;

use parquet::basic::{Compression, LogicalType, Repetition, TimeUnit, Type as Physical};
use parquet::data_type::{
    ByteArray, ByteArrayType, FixedLenByteArray, FixedLenByteArrayType, Int64Type,
};
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;
use rust_decimal::Decimal;

use super::columns::{COLUMNS, ColumnType};
use super::rows::{Row, Value};
use super::{FOCUS_VERSION, VERSION_KEY};

/// Digits after the point of every decimal column: finer than any price
/// panoptic records (a book figure per token has 9).
pub const SCALE: u32 = 18;

/// Total digits of a decimal column: the most 16 bytes hold.
const PRECISION: i32 = 38;

/// Rows held before they are written as one row group.
const GROUP_ROWS: usize = 50_000;

/// Writes FOCUS rows to a Parquet file.
pub struct FocusParquet<W: Write + Send> {
    writer: SerializedFileWriter<W>,
    pending: Vec<Row>,
}

impl<W: Write + Send> FocusParquet<W> {
    /// A writer into `out` (a file, or any `Write`).
    pub fn new(out: W) -> Result<Self, ParquetError> {
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_key_value_metadata(Some(vec![KeyValue::new(
                VERSION_KEY.to_owned(),
                FOCUS_VERSION.to_owned(),
            )]))
            .build();
        Ok(FocusParquet {
            writer: SerializedFileWriter::new(out, schema()?, Arc::new(properties))?,
            pending: Vec::new(),
        })
    }

    /// Adds rows; a full group is written out.
    pub fn write(&mut self, rows: impl IntoIterator<Item = Row>) -> Result<(), ParquetError> {
        self.pending.extend(rows);
        if self.pending.len() >= GROUP_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes what is pending and the footer; the file is complete.
    pub fn close(mut self) -> Result<(), ParquetError> {
        self.flush()?;
        self.writer.close()?;
        Ok(())
    }

    /// The pending rows as one row group, column by column.
    fn flush(&mut self) -> Result<(), ParquetError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.pending);
        let mut group = self.writer.next_row_group()?;
        let mut index = 0;
        while let Some(mut column) = group.next_column()? {
            let kind = COLUMNS[index].kind;
            let values = rows.iter().map(|r| &r.values()[index]);
            // Definition level 1: a value; 0: null.
            let levels: Vec<i16> = values
                .clone()
                .map(|v| i16::from(*v != Value::Null))
                .collect();
            match kind {
                ColumnType::Decimal => {
                    let data: Vec<FixedLenByteArray> = values
                        .filter_map(|v| match v {
                            Value::Decimal(d) => Some(fixed(*d)),
                            _ => None,
                        })
                        .collect::<Result<_, _>>()?;
                    column.typed::<FixedLenByteArrayType>().write_batch(
                        &data,
                        Some(&levels),
                        None,
                    )?;
                }
                ColumnType::DateTime => {
                    let data: Vec<i64> = values
                        .filter_map(|v| match v {
                            Value::Time(t) => Some(t.timestamp_millis()),
                            _ => None,
                        })
                        .collect();
                    column
                        .typed::<Int64Type>()
                        .write_batch(&data, Some(&levels), None)?;
                }
                ColumnType::String | ColumnType::KeyValue => {
                    let data: Vec<ByteArray> = values
                        .filter_map(|v| match v {
                            Value::Text(t) => Some(ByteArray::from(t.as_str())),
                            _ => None,
                        })
                        .collect();
                    column
                        .typed::<ByteArrayType>()
                        .write_batch(&data, Some(&levels), None)?;
                }
            }
            column.close()?;
            index += 1;
        }
        group.close()?;
        Ok(())
    }
}

/// A decimal as `DECIMAL(38, 18)`: its unscaled value, 16 bytes, big-endian
/// two's complement.
fn fixed(value: Decimal) -> Result<FixedLenByteArray, ParquetError> {
    // Rounded to the column's scale, then widened in i128: a quantity of
    // bytes (10^12) fits, which a Decimal rescaled to 18 places would not.
    let rounded = value.round_dp(SCALE);
    let unscaled = 10i128
        .checked_pow(SCALE - rounded.scale())
        .and_then(|factor| rounded.mantissa().checked_mul(factor))
        .ok_or_else(|| {
            ParquetError::General(format!(
                "{value} does not fit DECIMAL({PRECISION}, {SCALE})"
            ))
        })?;
    Ok(FixedLenByteArray::from(unscaled.to_be_bytes().to_vec()))
}

/// One optional field per column, typed as FOCUS types it.
fn schema() -> Result<Arc<Type>, ParquetError> {
    let fields = COLUMNS
        .iter()
        .map(|column| {
            let field = match column.kind {
                ColumnType::Decimal => {
                    Type::primitive_type_builder(column.name, Physical::FIXED_LEN_BYTE_ARRAY)
                        .with_length(16)
                        .with_logical_type(Some(LogicalType::decimal(SCALE as i32, PRECISION)))
                        .with_precision(PRECISION)
                        .with_scale(SCALE as i32)
                }
                ColumnType::DateTime => Type::primitive_type_builder(column.name, Physical::INT64)
                    .with_logical_type(Some(LogicalType::timestamp(true, TimeUnit::MILLIS))),
                ColumnType::String | ColumnType::KeyValue => {
                    Type::primitive_type_builder(column.name, Physical::BYTE_ARRAY)
                        .with_logical_type(Some(LogicalType::String))
                }
            };
            field
                .with_repetition(Repetition::OPTIONAL)
                .build()
                .map(Arc::new)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Arc::new(
        Type::group_type_builder("focus")
            .with_fields(fields)
            .build()?,
    ))
}
