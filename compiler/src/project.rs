//! Stage 1: find a project's spec files, parse and decode them, merge them into a [`Project`].

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use crate::codes::Code;
use crate::decode::{Cx, Decode, Env, Keyed, Unresolved};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::error::LoadError;
use crate::lock::{LockFile, LOCK_FILE};
use crate::source::{SourceFile, SourceMap, Span, Spanned};
use crate::spec::sources::SourceConfig;
use crate::spec::{SpecFile, Tool, Widget};
use crate::yaml;

/// The secrets file in the project directory (git-ignored), a flat mapping of names to values.
pub const SECRETS_FILE: &str = "secrets.yaml";
/// Subfolders that hold spec files, besides the project directory itself.
pub const SPEC_SUBDIRS: &[&str] = &["sources", "tools", "widgets"];

/// A merged project.
#[derive(Debug, Default)]
pub struct Project {
    pub dir: PathBuf,
    pub files: SourceMap,
    pub sources: IndexMap<String, Keyed<SourceConfig>>,
    pub tools: IndexMap<String, Keyed<Tool>>,
    pub toolsets: IndexMap<String, Keyed<Vec<Spanned<String>>>>,
    pub widgets: IndexMap<String, Keyed<Widget>>,
    pub lock: Option<LockFile>,
    /// Interpolations left unresolved (unset variables): a value that is needed must not be one.
    pub unresolved: Vec<Unresolved>,
    /// Values that came from secrets.
    pub secret_spans: Vec<Span>,
}

impl Project {
    /// Whether a value's span holds an unresolved interpolation.
    pub fn unresolved_in(&self, span: &Span) -> Option<&Unresolved> {
        self.unresolved.iter().find(|u| {
            u.span.file == span.file
                && u.span.range.start >= span.range.start
                && u.span.range.end <= span.range.end
        })
    }

    /// The file a span is in.
    pub fn file(&self, span: &Span) -> &SourceFile {
        self.files.get(span.file)
    }
}

/// The spec files of a project directory, sorted.
pub fn spec_files(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    if !dir.is_dir() {
        return Err(LoadError::NotADirectory(dir.to_path_buf()));
    }
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    dirs.extend(
        SPEC_SUBDIRS
            .iter()
            .map(|s| dir.join(s))
            .filter(|d| d.is_dir()),
    );
    for d in dirs {
        let entries = std::fs::read_dir(&d).map_err(|e| LoadError::Io(d.clone(), e))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                d != dir || (name != SECRETS_FILE && name != "secrets.yml" && name != LOCK_FILE)
            })
            .collect();
        files.sort();
        out.extend(files);
    }
    if out.is_empty() {
        return Err(LoadError::NoSpecFiles(dir.to_path_buf()));
    }
    Ok(out)
}

fn display_path(p: &Path) -> String {
    let cwd = std::env::current_dir().ok();
    let shown = cwd
        .as_deref()
        .and_then(|c| p.strip_prefix(c).ok())
        .unwrap_or(p);
    shown.to_string_lossy().replace('\\', "/")
}

/// Stage 1: load, decode and merge a project. IO errors (missing directory, unreadable file)
/// are `Err`; everything wrong with the content is a diagnostic.
pub fn load(dir: &Path, env: &Env, diags: &mut Diagnostics) -> Result<Project, LoadError> {
    let paths = spec_files(dir)?;
    let mut texts = Vec::new();
    for p in &paths {
        let text = std::fs::read_to_string(p).map_err(|e| LoadError::Io(p.clone(), e))?;
        texts.push((p.clone(), text));
    }
    let lock_path = dir.join(LOCK_FILE);
    let lock_text = if lock_path.is_file() {
        Some(std::fs::read_to_string(&lock_path).map_err(|e| LoadError::Io(lock_path.clone(), e))?)
    } else {
        None
    };
    let secrets_path = [SECRETS_FILE, "secrets.yml"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file());
    let secrets_text = match &secrets_path {
        Some(p) => Some((
            p.clone(),
            std::fs::read_to_string(p).map_err(|e| LoadError::Io(p.clone(), e))?,
        )),
        None => None,
    };
    Ok(load_texts(
        dir,
        texts,
        lock_text.map(|t| (lock_path, t)),
        secrets_text,
        env,
        diags,
    ))
}

/// Like [`load`], from texts already read (used by tests and benchmarks).
pub fn load_texts(
    dir: &Path,
    texts: Vec<(PathBuf, String)>,
    lock: Option<(PathBuf, String)>,
    secrets: Option<(PathBuf, String)>,
    env: &Env,
    diags: &mut Diagnostics,
) -> Project {
    let mut project = Project {
        dir: dir.to_path_buf(),
        ..Project::default()
    };
    let mut env = env.clone();
    if let Some((path, text)) = secrets {
        let id = project
            .files
            .add(SourceFile::new(path.clone(), display_path(&path), text));
        let (node, ds) = yaml::load(id, project.files.get(id));
        diags.extend(ds);
        if let Some(node) = node {
            read_secrets(&node, &mut env, diags);
        }
    }
    let mut cx = Cx::new(&env);
    for (path, text) in texts {
        let id = project
            .files
            .add(SourceFile::new(path.clone(), display_path(&path), text));
        let (node, ds) = yaml::load(id, project.files.get(id));
        cx.diags.extend(ds);
        let Some(node) = node else { continue };
        if matches!(node.kind, yaml::NodeKind::Null) {
            continue;
        }
        let Some(spec) = SpecFile::decode(&node, &mut cx) else {
            continue;
        };
        if let Some(v) = &spec.version {
            if v.value != 1 {
                cx.diags.push(
                    Diagnostic::error(
                        Code::UnsupportedVersion,
                        v.span.clone(),
                        format!("spec version {} is not supported", v.value),
                    )
                    .label("unsupported version")
                    .help("this widgettdc reads `version: 1`"),
                );
            }
        }
        merge(
            &mut project.sources,
            spec.sources.0,
            "source",
            &mut cx.diags,
            true,
        );
        merge(
            &mut project.tools,
            spec.tools.0,
            "tool",
            &mut cx.diags,
            false,
        );
        merge(
            &mut project.toolsets,
            spec.toolsets.0,
            "toolset",
            &mut cx.diags,
            false,
        );
        merge(
            &mut project.widgets,
            spec.widgets.0,
            "widget",
            &mut cx.diags,
            false,
        );
    }
    if let Some((path, text)) = lock {
        let id = project
            .files
            .add(SourceFile::new(path.clone(), display_path(&path), text));
        let (node, ds) = yaml::load(id, project.files.get(id));
        cx.diags.extend(ds.into_iter().map(|mut d| {
            d.code = Code::LockFile;
            d.help = Some("regenerate it with `widgettdc schema pull`".into());
            d
        }));
        if let Some(node) = node {
            project.lock = LockFile::decode(&node, &mut cx);
        }
    }
    diags.extend(cx.diags);
    project.unresolved = cx.unresolved;
    project.secret_spans = cx.secret_spans;
    project
}

fn read_secrets(node: &yaml::Node, env: &mut Env, diags: &mut Diagnostics) {
    match &node.kind {
        yaml::NodeKind::Null => {}
        yaml::NodeKind::Map(entries) => {
            for (k, v) in entries {
                match (k.scalar_text(), v.scalar_text()) {
                    (Some(k), Some(v)) => {
                        env.secrets.insert(k.to_string(), v.to_string());
                    }
                    _ => diags.push(
                        Diagnostic::error(
                            Code::WrongType,
                            v.span.clone(),
                            "a secret must be a plain string",
                        )
                        .label("not a string")
                        .help("secrets.yaml is a flat mapping: `NAME: value`"),
                    ),
                }
            }
        }
        _ => diags.push(
            Diagnostic::error(
                Code::WrongType,
                node.span.clone(),
                "secrets.yaml must be a mapping of names to values",
            )
            .label("not a mapping")
            .help("write `NAME: value` lines"),
        ),
    }
}

/// Names of sources must be SQL identifiers; tool, toolset and widget names may also hold `-`.
fn valid_name(name: &str, sql_identifier: bool) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first_ok
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (!sql_identifier && c == '-'))
}

fn merge<T>(
    into: &mut IndexMap<String, Keyed<T>>,
    from: IndexMap<String, Keyed<T>>,
    what: &str,
    diags: &mut Vec<Diagnostic>,
    sql_identifier: bool,
) {
    for (name, item) in from {
        if !valid_name(&name, sql_identifier) {
            let rule = if sql_identifier {
                "letters, digits and `_`, not starting with a digit (it is used as a SQL name)"
            } else {
                "letters, digits, `_` and `-`, starting with a letter or `_`"
            };
            diags.push(
                Diagnostic::error(
                    Code::InvalidName,
                    item.key_span.clone(),
                    format!("`{name}` is not a valid {what} name"),
                )
                .label("invalid name")
                .help(format!("a {what} name uses {rule}")),
            );
        }
        if let Some(first) = into.get(&name) {
            diags.push(
                Diagnostic::error(
                    Code::DuplicateName,
                    item.key_span.clone(),
                    format!("{what} `{name}` is defined twice"),
                )
                .label("defined again here")
                .with_secondary(first.key_span.clone(), "first defined here")
                .help(format!(
                    "rename one of them; {what} names are global across the project's files"
                )),
            );
            continue;
        }
        into.insert(name, item);
    }
}
