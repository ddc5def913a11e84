//! Schemas of local sources, read for the compiler: a file or SQLite source without declared
//! columns or a lock entry is typed offline from the file itself (`check` and `compile` do this;
//! nothing leaves the machine). A source that cannot be read gets an `E503` warning, and its
//! tools stay untyped (`E501`), as for a remote source.

use std::path::Path;

use datafusion::execution::runtime_env::RuntimeEnv;
use widgettdc_compiler::catalog::{Catalog, ExternalSchemas};
use widgettdc_compiler::spec::sources::SourceConfig;
use widgettdc_compiler::{Code, Diagnostic, Project};

use crate::sources::{self, LazyTable, Registration, SourceCx};

/// Read the schemas of local sources whose tables are not declared or locked.
pub fn read_local(project: &Project) -> (ExternalSchemas, Vec<Diagnostic>) {
    let mut out = ExternalSchemas::new();
    let mut diags = Vec::new();
    let catalog = Catalog::build(project, &ExternalSchemas::new());
    let wanted: Vec<_> = project
        .sources
        .iter()
        .filter(|(name, src)| {
            let local = match &src.value {
                SourceConfig::Sqlite(_) => true,
                SourceConfig::File(f) => {
                    let p = f.path.value.to_ascii_lowercase();
                    !(p.starts_with("s3://")
                        || p.starts_with("http://")
                        || p.starts_with("https://"))
                }
                _ => false,
            };
            local
                && catalog
                    .sources
                    .get(*name)
                    .is_some_and(|c| c.tables.is_empty())
        })
        .collect();
    if wanted.is_empty() {
        return (out, diags);
    }
    let Ok(exec) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return (out, diags);
    };
    let env = std::sync::Arc::new(RuntimeEnv::default());
    let config = crate::engine::session_config(&crate::Options::default());
    for (name, src) in wanted {
        let file = project.file(&src.key_span);
        let base_dir = file
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| project.dir.clone());
        let cx = SourceCx {
            name,
            config: &src.value,
            base_dir: base_dir.clone(),
            catalog: None,
            session_config: config.clone(),
            env: std::sync::Arc::clone(&env),
        };
        let read = match &src.value {
            SourceConfig::Sqlite(s) => crate::sources::sqlite::open(
                name,
                base_dir.join(&s.path.value),
                s.path.value.clone(),
                std::time::Duration::from_secs(1),
                None,
            )
            .map(|db| db.tables.into_iter().collect()),
            _ => match sources::register(&cx) {
                Ok(Registration::Table(t)) => exec
                    .block_on(LazyTable::open(t.as_ref()))
                    .map(|p| [(name.clone(), p.schema())].into_iter().collect()),
                Ok(_) => continue,
                Err(e) => Err(e),
            },
        };
        match read {
            Ok(tables) => {
                out.insert(name.clone(), tables);
            }
            Err(e) => diags.push(
                Diagnostic::warning(
                    Code::SchemaRead,
                    src.key_span.clone(),
                    format!("cannot read the schema of source `{name}`: {}", e.message),
                )
                .label("schema not read")
                .help("check `path:`, or declare the columns (tables for a database) in the spec or schema.lock.yaml"),
            ),
        }
    }
    (out, diags)
}
