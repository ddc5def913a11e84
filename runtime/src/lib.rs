//! widgettdc's runtime: compiled plans executed on Apache DataFusion.
//!
//! - [`engine::Runtime`]: a loaded, compiled project and a DataFusion session whose catalog
//!   holds every source (opened on first use). Ad-hoc SQL ([`engine::Runtime::query`]) and
//!   tools with validated, typed arguments ([`engine::Runtime::tool_frame`]).
//! - [`sources`]: one module per source kind, registered in [`sources::SOURCE_KINDS`].
//! - [`params`]: tool arguments → typed values.
//! - [`output`]: streaming result writers (table, JSON, NDJSON, CSV, Parquet, Arrow IPC).
//! - [`explain`]: plans, with what each source is asked to do.
//! - [`discover`]: every source with its health, tables and (MCP) tools.
//!
//! Only this crate (and the CLI) does IO and runs async code; the compiler stays pure.

pub mod aggregate_keys;
pub mod direct;
pub mod discover;
pub mod engine;
pub mod error;
pub mod explain;
pub mod federation;
pub mod join_groups;
pub mod output;
pub mod params;
pub mod schemas;
pub mod shared_subplans;
pub mod sources;

pub use engine::{DirectRun, Options, Runtime};
pub use error::{Result, RuntimeError};

/// The SQL functions the compiler plans with and the runtime executes: DataFusion's own plus
/// the stdlib's.
pub fn functions() -> widgettdc_compiler::FunctionSet {
    widgettdc_compiler::FunctionSet::standard()
}
