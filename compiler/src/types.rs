//! Spec types ↔ Arrow types.

use std::sync::Arc;

use arrow_schema::{DataType, Field, IntervalUnit, TimeUnit};
use widgettdc_grammar::TypeExpr;

/// The Arrow type a declared type stands for.
pub fn to_arrow(t: &TypeExpr) -> DataType {
    match t {
        TypeExpr::String | TypeExpr::Json | TypeExpr::Uuid => DataType::Utf8,
        TypeExpr::Integer | TypeExpr::Int64 => DataType::Int64,
        TypeExpr::Number | TypeExpr::Float64 => DataType::Float64,
        TypeExpr::Boolean => DataType::Boolean,
        TypeExpr::Date => DataType::Date32,
        TypeExpr::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        TypeExpr::Int8 => DataType::Int8,
        TypeExpr::Int16 => DataType::Int16,
        TypeExpr::Int32 => DataType::Int32,
        TypeExpr::UInt8 => DataType::UInt8,
        TypeExpr::UInt16 => DataType::UInt16,
        TypeExpr::UInt32 => DataType::UInt32,
        TypeExpr::UInt64 => DataType::UInt64,
        TypeExpr::Float32 => DataType::Float32,
        TypeExpr::Decimal { precision, scale } => {
            if *precision <= 38 {
                DataType::Decimal128(*precision, *scale)
            } else {
                DataType::Decimal256(*precision, *scale)
            }
        }
        TypeExpr::Binary => DataType::Binary,
        TypeExpr::Time => DataType::Time64(TimeUnit::Microsecond),
        TypeExpr::Interval => DataType::Interval(IntervalUnit::MonthDayNano),
        TypeExpr::List(inner) => {
            DataType::List(Arc::new(Field::new("item", to_arrow(inner), true)))
        }
    }
}

/// The spec type closest to an Arrow type (for lock files written from live schemas).
pub fn from_arrow(t: &DataType) -> Option<TypeExpr> {
    Some(match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => TypeExpr::String,
        DataType::Int64 => TypeExpr::Int64,
        DataType::Int32 => TypeExpr::Int32,
        DataType::Int16 => TypeExpr::Int16,
        DataType::Int8 => TypeExpr::Int8,
        DataType::UInt64 => TypeExpr::UInt64,
        DataType::UInt32 => TypeExpr::UInt32,
        DataType::UInt16 => TypeExpr::UInt16,
        DataType::UInt8 => TypeExpr::UInt8,
        DataType::Float64 => TypeExpr::Float64,
        DataType::Float32 | DataType::Float16 => TypeExpr::Float32,
        DataType::Boolean => TypeExpr::Boolean,
        DataType::Date32 | DataType::Date64 => TypeExpr::Date,
        DataType::Timestamp(_, _) => TypeExpr::Timestamp,
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => TypeExpr::Decimal {
            precision: *p,
            scale: *s,
        },
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => TypeExpr::Binary,
        DataType::Time32(_) | DataType::Time64(_) => TypeExpr::Time,
        DataType::Interval(_) | DataType::Duration(_) => TypeExpr::Interval,
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            TypeExpr::List(Box::new(from_arrow(f.data_type())?))
        }
        DataType::Dictionary(_, v) => from_arrow(v)?,
        _ => return None,
    })
}

/// Whether a parameter declared as `declared` can be bound where the SQL planner inferred
/// `inferred`. `in_list` is set for a placeholder that is an item of `x IN (...)`, where a
/// list parameter expands to its items.
pub fn param_fits(declared: &TypeExpr, inferred: &DataType, in_list: bool) -> bool {
    use DataType as D;
    let inferred = match inferred {
        D::Dictionary(_, v) => v.as_ref(),
        other => other,
    };
    match declared {
        TypeExpr::List(inner) => match inferred {
            D::List(f) | D::LargeList(f) | D::FixedSizeList(f, _) => {
                param_fits(inner, f.data_type(), false)
            }
            other if in_list => param_fits(inner, other, false),
            _ => false,
        },
        TypeExpr::String => matches!(inferred, D::Utf8 | D::LargeUtf8 | D::Utf8View),
        TypeExpr::Integer => {
            inferred.is_integer()
                || inferred.is_floating()
                || matches!(inferred, D::Decimal128(..) | D::Decimal256(..))
        }
        TypeExpr::Number => {
            inferred.is_floating() || matches!(inferred, D::Decimal128(..) | D::Decimal256(..))
        }
        TypeExpr::Boolean => matches!(inferred, D::Boolean),
        TypeExpr::Date | TypeExpr::Timestamp => {
            matches!(inferred, D::Date32 | D::Date64 | D::Timestamp(..))
        }
        _ => false,
    }
}

/// A short human name for an Arrow type in messages.
pub fn describe_arrow(t: &DataType) -> String {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string".into(),
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
            format!("integer ({t})")
        }
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
            format!("integer ({t})")
        }
        DataType::Float16 | DataType::Float32 | DataType::Float64 => format!("number ({t})"),
        DataType::Boolean => "boolean".into(),
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Timestamp(..) => "timestamp".into(),
        other => other.to_string(),
    }
}
