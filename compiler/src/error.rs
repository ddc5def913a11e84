//! Errors that are not diagnostics: the project could not be read at all (exit code 2).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("project directory `{}` does not exist or is not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("no spec files (*.yaml, *.yml) in `{}` or its sources/, tools/, widgets/ folders", .0.display())]
    NoSpecFiles(PathBuf),
    #[error("cannot read `{}`: {}", .0.display(), .1)]
    Io(PathBuf, #[source] std::io::Error),
}

/// An internal error: a bug in widgettdc, never the user's input.
#[derive(Debug, thiserror::Error)]
#[error("internal error (a bug in widgettdc, please report it): {0}")]
pub struct InternalError(pub String);
