//! Test helpers: call a UDF the way DataFusion's physical plan does.

use std::sync::Arc;

use arrow_array::ArrayRef;
use arrow_schema::{Field, FieldRef};
use datafusion_common::config::ConfigOptions;
use datafusion_common::{Result, ScalarValue};
use datafusion_expr::{ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF};

/// An array argument.
pub fn array(a: ArrayRef) -> ColumnarValue {
    ColumnarValue::Array(a)
}

/// A scalar (constant) argument.
pub fn scalar(s: ScalarValue) -> ColumnarValue {
    ColumnarValue::Scalar(s)
}

/// A `Utf8` scalar argument.
pub fn text(s: &str) -> ColumnarValue {
    ColumnarValue::Scalar(ScalarValue::Utf8(Some(s.to_string())))
}

/// The return field DataFusion would plan for `args` (scalar arguments are
/// passed as constants, as the planner does for literals).
pub fn return_field(udf: &ScalarUDF, args: &[ColumnarValue]) -> Result<FieldRef> {
    let arg_fields = arg_fields(args);
    let scalars: Vec<Option<&ScalarValue>> = args
        .iter()
        .map(|a| match a {
            ColumnarValue::Scalar(s) => Some(s),
            ColumnarValue::Array(_) => None,
        })
        .collect();
    udf.return_field_from_args(ReturnFieldArgs {
        arg_fields: &arg_fields,
        scalar_arguments: &scalars,
    })
}

fn arg_fields(args: &[ColumnarValue]) -> Vec<FieldRef> {
    args.iter()
        .enumerate()
        .map(|(i, a)| Arc::new(Field::new(format!("arg{i}"), a.data_type(), true)))
        .collect()
}

/// Plans (return field) then invokes `udf` on `args` over `rows` rows.
pub fn invoke(udf: &ScalarUDF, args: Vec<ColumnarValue>, rows: usize) -> Result<ColumnarValue> {
    let return_field = return_field(udf, &args)?;
    invoke_unplanned(udf, args, rows, return_field)
}

/// Invokes `udf` with a given return field, skipping planning-time checks
/// (to reach the execution-time checks).
pub fn invoke_unplanned(
    udf: &ScalarUDF,
    args: Vec<ColumnarValue>,
    rows: usize,
    return_field: FieldRef,
) -> Result<ColumnarValue> {
    let arg_fields = arg_fields(&args);
    udf.invoke_with_args(ScalarFunctionArgs {
        args,
        arg_fields,
        number_rows: rows,
        return_field,
        config_options: Arc::new(ConfigOptions::default()),
    })
}

/// Invokes and expects an array result.
pub fn invoke_array(udf: &ScalarUDF, args: Vec<ColumnarValue>, rows: usize) -> ArrayRef {
    match invoke(udf, args, rows).expect("invoke succeeds") {
        ColumnarValue::Array(a) => a,
        ColumnarValue::Scalar(s) => s.to_array_of_size(rows).expect("scalar to array"),
    }
}

/// Invokes with scalar arguments only and expects a scalar result.
pub fn invoke_scalar(udf: &ScalarUDF, args: Vec<ColumnarValue>) -> ScalarValue {
    match invoke(udf, args, 1).expect("invoke succeeds") {
        ColumnarValue::Scalar(s) => s,
        ColumnarValue::Array(a) => panic!("expected a scalar result, got {a:?}"),
    }
}

/// The message of a failed call.
pub fn error(result: Result<ColumnarValue>) -> String {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.to_string(),
    }
}
