//! What the `json_path*` functions share: argument types, the constant path
//! argument, and running a path over a column of JSON text.
//!
//! Every `json_path*(json, path)` function:
//!
//! * takes `json` as text (`Utf8`, `LargeUtf8` or `Utf8View`; dictionary
//!   encoded text is cast to its values) and `path` as a **constant** string
//!   in the row selector syntax (`$.a.b[0]`, `$.items[*].id`, `$..name`);
//! * parses the path once per batch, checks a literal path while planning,
//!   and reports an invalid path as an error with the grammar's message;
//! * returns NULL for a NULL `json` or `path`, and for text that is not valid
//!   JSON (dashboards prefer an empty cell to a failed query);
//! * differs only in how the matched values become the result, which each
//!   function passes as a `convert` callback.

use std::marker::PhantomData;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, Field, FieldRef};
use datafusion_common::{exec_err, plan_err, DataFusionError, Result, ScalarValue};
use datafusion_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use serde_json::Value;
use widgettdc_grammar::{parse_selector, Selector};

use crate::select::{is_definite, select};

/// Argument coercion for `name(json, path)`.
pub(crate) fn coerce_types(name: &str, arg_types: &[DataType]) -> Result<Vec<DataType>> {
    let [json, path] = arg_types else {
        return plan_err!(
            "{name} takes 2 arguments (json, path), got {}; e.g. {name}(payload, '$.user.id')",
            arg_types.len()
        );
    };
    Ok(vec![
        text_type(name, "first argument (the JSON text)", json)?,
        text_type(name, "path", path)?,
    ])
}

fn text_type(name: &str, what: &str, t: &DataType) -> Result<DataType> {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Ok(t.clone()),
        DataType::Null => Ok(DataType::Utf8),
        DataType::Dictionary(_, values) if text_type(name, what, values).is_ok() => {
            Ok(values.as_ref().clone())
        }
        other => plan_err!(
            "{name}'s {what} must be text, got {other}; e.g. {name}(payload, '$.user.id')"
        ),
    }
}

/// The return field, after checking a literal path while planning.
pub(crate) fn return_field(
    name: &str,
    args: &ReturnFieldArgs,
    return_type: DataType,
) -> Result<FieldRef> {
    if let Some(Some(path)) = args.scalar_arguments.get(1) {
        parse_path(name, path).map_err(DataFusionError::Plan)?;
    }
    Ok(Arc::new(Field::new(name, return_type, true)))
}

/// Parses a constant path (`None` for NULL), or says why it is invalid.
fn parse_path(name: &str, value: &ScalarValue) -> std::result::Result<Option<Selector>, String> {
    match value.try_as_str() {
        Some(None) => Ok(None),
        Some(Some(text)) => parse_selector(text).map(Some).map_err(|e| {
            let mut message = format!("{name}: invalid path '{text}': {e}");
            if let Some(help) = &e.help {
                message.push_str(&format!(" ({help})"));
            }
            message
        }),
        None if value.is_null() => Ok(None),
        None => Err(format!(
            "{name}'s path must be text such as '$.user.id', got {}",
            value.data_type()
        )),
    }
}

/// Runs `name(json, path)`: `convert` turns the values the path matched in
/// one row (in document order; empty if none) into that row's result, given
/// whether the path is definite (can match at most one value).
pub(crate) fn evaluate<A, T>(
    name: &str,
    args: ScalarFunctionArgs,
    convert: impl Fn(&[&Value], bool) -> Option<T>,
) -> Result<ColumnarValue>
where
    A: Array + FromIterator<Option<T>> + 'static,
{
    let return_type = args.return_field.data_type().clone();
    let [json, path] = args.args.as_slice() else {
        return exec_err!(
            "{name} takes 2 arguments (json, path), got {}",
            args.args.len()
        );
    };
    let ColumnarValue::Scalar(path) = path else {
        return exec_err!(
            "{name}'s path must be a constant such as '$.user.id', not a column or expression"
        );
    };
    let Some(selector) = parse_path(name, path).map_err(DataFusionError::Execution)? else {
        return Ok(ColumnarValue::Scalar(ScalarValue::try_new_null(
            &return_type,
        )?));
    };
    let definite = is_definite(&selector);
    let row = |text: Option<&str>| -> Option<T> {
        let value: Value = serde_json::from_str(text?).ok()?;
        let matches = select(&selector, &value);
        convert(&matches, definite)
    };
    match json {
        ColumnarValue::Array(a) => Ok(ColumnarValue::Array(map_text::<A, T>(name, a, row)?)),
        ColumnarValue::Scalar(s) => {
            let out = map_text::<A, T>(name, &s.to_array()?, row)?;
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
        }
    }
}

/// Maps every row of a text array through `f`.
fn map_text<A, T>(
    name: &str,
    array: &ArrayRef,
    f: impl Fn(Option<&str>) -> Option<T>,
) -> Result<ArrayRef>
where
    A: Array + FromIterator<Option<T>> + 'static,
{
    let out: A = match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().iter().map(f).collect(),
        DataType::LargeUtf8 => array.as_string::<i64>().iter().map(f).collect(),
        DataType::Utf8View => array.as_string_view().iter().map(f).collect(),
        DataType::Null => (0..array.len()).map(|_| f(None)).collect(),
        other => return exec_err!("{name} expects JSON text, got {other}"),
    };
    Ok(Arc::new(out))
}

/// The one value a row matched, if it matched exactly one.
pub(crate) fn single<'a>(matches: &[&'a Value]) -> Option<&'a Value> {
    match matches {
        [one] => Some(one),
        _ => None,
    }
}

/// One JSON-path function: its name, its result type and how it evaluates (with [`evaluate`]).
/// The four `json_path*` functions share [`JsonPathUdf`] and differ only here.
pub trait Extract: 'static {
    const NAME: &'static str;
    fn return_type() -> DataType;
    fn invoke(args: ScalarFunctionArgs) -> Result<ColumnarValue>;
}

/// The DataFusion UDF of a JSON-path function `E`.
pub struct JsonPathUdf<E> {
    signature: Signature,
    extract: PhantomData<fn() -> E>,
}

impl<E: Extract> JsonPathUdf<E> {
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
            extract: PhantomData,
        }
    }
}

impl<E: Extract> Default for JsonPathUdf<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Extract> std::fmt::Debug for JsonPathUdf<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonPathUdf")
            .field("name", &E::NAME)
            .finish()
    }
}

impl<E: Extract> PartialEq for JsonPathUdf<E> {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl<E: Extract> Eq for JsonPathUdf<E> {}

impl<E: Extract> std::hash::Hash for JsonPathUdf<E> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        E::NAME.hash(state);
    }
}

impl<E: Extract> ScalarUDFImpl for JsonPathUdf<E> {
    fn name(&self) -> &str {
        E::NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_types(E::NAME, arg_types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(E::return_type())
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        return_field(E::NAME, &args, E::return_type())
    }

    fn is_strict(&self) -> bool {
        true
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        E::invoke(args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coercion() {
        assert_eq!(
            coerce_types("f", &[DataType::Utf8View, DataType::Null]).unwrap(),
            vec![DataType::Utf8View, DataType::Utf8]
        );
        let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::LargeUtf8));
        assert_eq!(
            coerce_types("f", &[dict, DataType::Utf8]).unwrap(),
            vec![DataType::LargeUtf8, DataType::Utf8]
        );
        let e = coerce_types("f", &[DataType::Int64, DataType::Utf8]).unwrap_err();
        assert!(e.to_string().contains("must be text, got Int64"), "{e}");
        assert!(coerce_types("f", &[DataType::Utf8]).is_err());
        let int_dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Int8));
        assert!(coerce_types("f", &[int_dict, DataType::Utf8]).is_err());
    }

    #[test]
    fn paths() {
        assert!(parse_path("f", &ScalarValue::Utf8(Some("$.a".into())))
            .unwrap()
            .is_some());
        assert_eq!(parse_path("f", &ScalarValue::Utf8(None)), Ok(None));
        assert_eq!(parse_path("f", &ScalarValue::Null), Ok(None));
        let e = parse_path("f", &ScalarValue::Utf8(Some("a.b".into()))).unwrap_err();
        assert!(e.contains("must start with `$`"), "{e}");
        assert!(e.contains("(e.g. `$.data.items[*]`)"), "{e}");
        assert!(parse_path("f", &ScalarValue::Int64(Some(1))).is_err());
    }
}
