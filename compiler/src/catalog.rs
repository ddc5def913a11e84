//! The schema-only catalog the SQL planner sees: for each source, its tables and their Arrow
//! schemas, from declared `columns:`/`tables:`, the lock file, or schemas the runtime read
//! (passed in as [`ExternalSchemas`]). No IO happens here.
//!
//! Naming: a file source is one table named after the source (`sales`); a database or API
//! source's tables are `<source>.<table>` in its default schema and `<source>.<schema>.<table>`.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_schema::{Field, Schema, SchemaRef};
use indexmap::IndexMap;

use crate::decode::KeyedMap;
use crate::mcp::ToolSignature;
use crate::project::Project;
use crate::spec::columns::{ColumnDecl, TableDecl};
use crate::spec::sources::rest::RestColumn;
use crate::spec::sources::SourceConfig;
use crate::types::to_arrow;

/// Where a table's schema came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SchemaOrigin {
    Declared,
    Locked,
    Read,
}

#[derive(Debug, Clone)]
pub struct CatalogTable {
    pub schema: SchemaRef,
    pub origin: SchemaOrigin,
}

/// Schemas read by the runtime (or given by a test).
#[derive(Debug, Clone, Default)]
pub struct ExternalSchemas {
    /// Source → table key → schema. The table key is the table name (default schema),
    /// `schema.table`, or, for file sources, the source name.
    pub tables: BTreeMap<String, BTreeMap<String, SchemaRef>>,
    /// MCP source → tool (or resource template) → signature.
    pub tools: BTreeMap<String, BTreeMap<String, ToolSignature>>,
}

impl ExternalSchemas {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add `other`'s entries (its sources replace this one's).
    pub fn extend(&mut self, other: ExternalSchemas) {
        self.tables.extend(other.tables);
        self.tools.extend(other.tools);
    }
}

/// An MCP tool as SQL sees it: a table function `<source>.<tool>(name => value, ...)`.
#[derive(Debug, Clone)]
pub struct CatalogTool {
    pub signature: ToolSignature,
    /// The result's schema, when the server declares it.
    pub schema: Option<SchemaRef>,
    pub origin: SchemaOrigin,
}

impl CatalogTool {
    fn new(signature: ToolSignature, origin: SchemaOrigin) -> Self {
        let schema = signature.columns.as_ref().map(|cols| {
            Arc::new(Schema::new(
                cols.iter()
                    .map(|(n, t)| Field::new(n, to_arrow(t), true))
                    .collect::<Vec<_>>(),
            ))
        });
        CatalogTool {
            signature,
            schema,
            origin,
        }
    }
}

/// The schema of an MCP source's `resources` table.
pub fn mcp_resources_schema() -> SchemaRef {
    Arc::new(Schema::new(
        ["uri", "name", "title", "mime_type", "description", "text"]
            .iter()
            .map(|n| {
                Field::new(
                    *n,
                    arrow_schema::DataType::Utf8,
                    *n != "uri" && *n != "name",
                )
            })
            .collect::<Vec<_>>(),
    ))
}

#[derive(Debug, Clone)]
pub struct CatalogSource {
    pub kind: &'static str,
    /// The schema that two-part names refer to (`public` for postgres).
    pub default_schema: Option<String>,
    /// `(schema, table)` → table; `schema` is `None` for the default schema.
    pub tables: IndexMap<(Option<String>, String), CatalogTable>,
    /// False when nothing is known about the source's tables offline.
    pub known: bool,
    /// An MCP source's tools, from the lock file or read live.
    pub tools: IndexMap<String, CatalogTool>,
}

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub sources: IndexMap<String, CatalogSource>,
}

/// What a SQL table name resolves to.
#[derive(Debug, Clone)]
pub enum Resolution {
    Table {
        source: String,
        table: CatalogTable,
    },
    /// The source exists but its schema is unknown offline.
    Unavailable {
        source: String,
    },
    UnknownSource {
        suggestion: Option<String>,
    },
    UnknownTable {
        source: String,
        suggestion: Option<String>,
    },
}

fn schema_of(columns: &KeyedMap<ColumnDecl>) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|(name, c)| Field::new(name, to_arrow(&c.ty.value.0), c.nullable))
            .collect::<Vec<_>>(),
    ))
}

/// A declared table of an API source (columns with per-column selectors).
fn api_table(columns: &KeyedMap<RestColumn>) -> CatalogTable {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(c, col)| Field::new(c, to_arrow(&col.ty.value.0), col.nullable.unwrap_or(true)))
        .collect();
    CatalogTable {
        schema: Arc::new(Schema::new(fields)),
        origin: SchemaOrigin::Declared,
    }
}

fn split_key(key: &str) -> (Option<String>, String) {
    match key.split_once('.') {
        Some((s, t)) => (Some(s.to_string()), t.to_string()),
        None => (None, key.to_string()),
    }
}

impl Catalog {
    /// Build the catalog from declarations, the lock file and external schemas (in that order
    /// of precedence: a declaration wins over the lock, the lock over a read schema).
    pub fn build(project: &Project, external: &ExternalSchemas) -> Catalog {
        let mut cat = Catalog::default();
        for (name, src) in project.sources.iter() {
            let (default_schema, declared): (Option<String>, Option<&KeyedMap<TableDecl>>) =
                match &src.value {
                    SourceConfig::Postgres(p) => (
                        Some(p.schema.clone().unwrap_or_else(|| "public".into())),
                        Some(&p.tables),
                    ),
                    SourceConfig::Mysql(m) => (m.connection.database.clone(), Some(&m.tables)),
                    SourceConfig::Sqlite(s) => (Some("main".into()), Some(&s.tables)),
                    _ => (None, None),
                };
            let mut tables: IndexMap<(Option<String>, String), CatalogTable> = IndexMap::new();
            let mut put = |key: (Option<String>, String), t: CatalogTable| {
                let key = match (&key.0, &default_schema) {
                    (Some(s), Some(d)) if s == d => (None, key.1),
                    _ => key,
                };
                tables.entry(key).or_insert(t);
            };
            // declared
            match &src.value {
                SourceConfig::File(f) => {
                    if let Some(cols) = &f.columns {
                        put(
                            (None, name.clone()),
                            CatalogTable {
                                schema: schema_of(cols),
                                origin: SchemaOrigin::Declared,
                            },
                        );
                    }
                }
                SourceConfig::Rest(r) => {
                    for (t, decl) in r.tables.iter() {
                        put((None, t.clone()), api_table(&decl.columns));
                    }
                }
                SourceConfig::Graphql(g) => {
                    for (t, decl) in g.tables.iter() {
                        put((None, t.clone()), api_table(&decl.columns));
                    }
                }
                _ => {}
            }
            if let Some(decl) = declared {
                for (key, t) in decl.iter() {
                    put(
                        split_key(key),
                        CatalogTable {
                            schema: schema_of(&t.columns),
                            origin: SchemaOrigin::Declared,
                        },
                    );
                }
            }
            // locked
            if let Some(lock) = project.lock.as_ref().and_then(|l| l.sources.get(name)) {
                for (key, t) in lock.tables.iter() {
                    put(
                        split_key(key),
                        CatalogTable {
                            schema: schema_of(&t.columns),
                            origin: SchemaOrigin::Locked,
                        },
                    );
                }
            }
            // read by the runtime
            if let Some(ext) = external.tables.get(name) {
                for (key, schema) in ext {
                    put(
                        split_key(key),
                        CatalogTable {
                            schema: schema.clone(),
                            origin: SchemaOrigin::Read,
                        },
                    );
                }
            }
            let mut tools: IndexMap<String, CatalogTool> = IndexMap::new();
            if matches!(src.value, SourceConfig::Mcp(_)) {
                put(
                    (None, "resources".into()),
                    CatalogTable {
                        schema: mcp_resources_schema(),
                        origin: SchemaOrigin::Declared,
                    },
                );
                if let Some(lock) = project.lock.as_ref().and_then(|l| l.sources.get(name)) {
                    for (tool, t) in lock.tools.iter() {
                        tools.insert(
                            tool.clone(),
                            CatalogTool::new(t.signature(), SchemaOrigin::Locked),
                        );
                    }
                }
                for (tool, sig) in external.tools.get(name).into_iter().flatten() {
                    tools
                        .entry(tool.clone())
                        .or_insert_with(|| CatalogTool::new(sig.clone(), SchemaOrigin::Read));
                }
            }
            let known = !tables.is_empty()
                || matches!(src.value, SourceConfig::Rest(_) | SourceConfig::Graphql(_));
            cat.sources.insert(
                name.clone(),
                CatalogSource {
                    kind: src.value.kind(),
                    default_schema,
                    tables,
                    known,
                    tools,
                },
            );
        }
        cat
    }

    /// Every table's SQL name, for suggestions.
    pub fn table_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (src_name, src) in &self.sources {
            for (schema, table) in src.tables.keys() {
                out.push(match (src.kind, schema) {
                    ("file", _) => table.clone(),
                    (_, None) => format!("{src_name}.{table}"),
                    (_, Some(s)) => format!("{src_name}.{s}.{table}"),
                });
            }
        }
        out
    }

    /// Resolve a (normalised) table name: one, two or three parts.
    pub fn resolve(&self, parts: &[String]) -> Resolution {
        // only a miss needs suggestions: build the list of names then
        let suggestion = || {
            let names = self.table_names();
            crate::diagnostic::suggest(&parts.join("."), names.iter().map(String::as_str))
                .map(str::to_string)
        };
        let (source, schema, table) = match parts {
            [t] => {
                // a file source, named after the source
                match self.sources.get(t) {
                    Some(src) if src.kind == "file" => (t.clone(), None, t.clone()),
                    Some(src) if !src.known => {
                        return Resolution::Unavailable { source: t.clone() }
                    }
                    _ => {
                        return Resolution::UnknownSource {
                            suggestion: suggestion(),
                        }
                    }
                }
            }
            [s, t] => (s.clone(), None, t.clone()),
            [c, s, t] if c == "datafusion" => (s.clone(), None, t.clone()),
            [c, s, t] => (c.clone(), Some(s.clone()), t.clone()),
            _ => return Resolution::UnknownSource { suggestion: None },
        };
        let Some(src) = self.sources.get(&source) else {
            return Resolution::UnknownSource {
                suggestion: suggestion(),
            };
        };
        if !src.known {
            return Resolution::Unavailable { source };
        }
        if src.kind == "mcp" && schema.is_none() && table != "resources" {
            return match src.tools.get(&table) {
                Some(CatalogTool {
                    schema: Some(s),
                    origin,
                    ..
                }) => Resolution::Table {
                    source,
                    table: CatalogTable {
                        schema: Arc::clone(s),
                        origin: *origin,
                    },
                },
                Some(_) => Resolution::Unavailable { source },
                // nothing locked: the server's tools are not known offline
                None if src.tools.is_empty() => Resolution::Unavailable { source },
                None => Resolution::UnknownTable {
                    source,
                    suggestion: crate::diagnostic::suggest(
                        &table,
                        src.tools.keys().map(String::as_str),
                    )
                    .map(|t| format!("{}.{t}", parts[0])),
                },
            };
        }
        let schema = match (&schema, &src.default_schema) {
            (Some(s), Some(d)) if s == d => None,
            _ => schema,
        };
        match src.tables.get(&(schema, table)) {
            Some(t) => Resolution::Table {
                source,
                table: t.clone(),
            },
            None => Resolution::UnknownTable {
                source,
                suggestion: suggestion(),
            },
        }
    }
}
