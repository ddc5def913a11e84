//! Declared columns and tables (`columns:` and `tables:` in sources).

use crate::decode::{Cx, Decode, KeyedMap, MapReader};
use crate::source::Spanned;
use crate::spec::values::TypeRef;
use crate::yaml::{Node, NodeKind};

/// A declared column: `id: integer` or `id: { type: integer, nullable: false, description: ... }`.
#[derive(Debug, Clone)]
pub struct ColumnDecl {
    pub ty: Spanned<TypeRef>,
    pub nullable: bool,
    pub description: Option<String>,
}

impl ColumnDecl {
    pub const KEYS: &'static [&'static str] = &["type", "nullable", "description"];
}

impl Decode for ColumnDecl {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        if let NodeKind::Scalar { .. } = node.kind {
            let ty = Spanned::<TypeRef>::decode(node, cx)?;
            return Some(ColumnDecl {
                ty,
                nullable: true,
                description: None,
            });
        }
        let mut m = MapReader::new(node, cx, "column", Self::KEYS)?;
        let ty = m.req(cx, "type");
        let nullable = m.opt(cx, "nullable").unwrap_or(true);
        let description = m.opt(cx, "description");
        m.finish(cx);
        Some(ColumnDecl {
            ty: ty?,
            nullable,
            description,
        })
    }
}

#[derive(schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct ColumnLong {
    #[schemars(rename = "type")]
    ty: TypeRef,
    /// Whether the column may hold nulls (default true).
    nullable: Option<bool>,
    description: Option<String>,
}

impl schemars::JsonSchema for ColumnDecl {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Column".into()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let short = g.subschema_for::<TypeRef>();
        let long = g.subschema_for::<ColumnLong>();
        schemars::json_schema!({ "anyOf": [short, long] })
    }
}

/// A declared table of a database or API source.
#[derive(Debug, Clone, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct TableDecl {
    pub description: Option<String>,
    /// Column name → type.
    pub columns: KeyedMap<ColumnDecl>,
}

impl TableDecl {
    pub const KEYS: &'static [&'static str] = &["description", "columns"];
}

impl Decode for TableDecl {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let mut m = MapReader::new(node, cx, "table", Self::KEYS)?;
        let description = m.opt(cx, "description");
        let columns = m.req(cx, "columns");
        m.finish(cx);
        Some(TableDecl {
            description,
            columns: columns?,
        })
    }
}
