//! The stable diagnostic codes. Every user-facing diagnostic has one.
//!
//! How to add a code: add a variant below with the next free number in its group, give it a
//! kebab-case name and a one-line summary in [`Code::info`], and document it in
//! `docs/diagnostics.md` (a test checks that every code appears there). Codes are never reused.

/// A stable diagnostic code such as `E003`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Code {
    // --- YAML and spec structure (E0xx)
    YamlSyntax,
    DuplicateKey,
    UnknownKey,
    MissingField,
    WrongType,
    InvalidValue,
    UnsupportedVersion,
    DuplicateName,
    UnknownSourceKind,
    ExpressionSyntax,
    UndefinedEnv,
    UndefinedSecret,
    InvalidName,
    // --- references (E1xx)
    UnknownTool,
    EmptyToolset,
    // --- SQL (E2xx)
    SqlSyntax,
    UnknownTable,
    UnknownColumn,
    SqlPlan,
    WriteInReadOnly,
    MultipleStatements,
    UnsupportedStatement,
    ToolArgument,
    // --- parameters (E3xx)
    UndeclaredParameter,
    UnusedParameter,
    ParameterTypeMismatch,
    InvalidDefault,
    InvalidEnumValue,
    InvalidConstraint,
    OptionalParameterMisplaced,
    PositionalParameter,
    ReservedParameter,
    // --- widgets (E4xx)
    WidgetUnknownParam,
    WidgetMissingParam,
    WidgetParamValue,
    // --- schemas (E5xx)
    SchemaUnavailable,
    LockFile,
    SchemaRead,
    SchemaDrift,
    WholeRemoteTable,
    // --- runtime (E6xx)
    SourceUnavailable,
    SourceRead,
    SourceKindUnsupported,
    ToolNotFound,
    ParameterType,
    ParameterConstraint,
    ParameterMissing,
    ParameterUnknown,
    QueryPlan,
    QueryExecution,
    Output,
    QueryNotReadOnly,
    ProjectInvalid,
    ApiFilterRequired,
}

impl Code {
    /// `(code, name, summary)`.
    pub fn info(self) -> (&'static str, &'static str, &'static str) {
        use Code::*;
        match self {
            YamlSyntax => ("E001", "yaml-syntax", "the file is not valid YAML"),
            DuplicateKey => ("E002", "duplicate-key", "a mapping has the same key twice"),
            UnknownKey => ("E003", "unknown-key", "a key the spec format does not know (often a typo)"),
            MissingField => ("E004", "missing-field", "a required field is missing"),
            WrongType => ("E005", "wrong-type", "a value has the wrong YAML shape or scalar type"),
            InvalidValue => ("E006", "invalid-value", "a value is not one of the allowed ones"),
            UnsupportedVersion => ("E007", "unsupported-version", "the spec `version` is not supported"),
            DuplicateName => ("E008", "duplicate-name", "a source, tool, toolset or widget is defined twice"),
            UnknownSourceKind => ("E009", "unknown-source-kind", "a source `kind` that widgettdc does not know"),
            ExpressionSyntax => ("E010", "expression-syntax", "an interpolation, type, duration or selector does not parse"),
            UndefinedEnv => ("E011", "undefined-env", "an environment variable is unset and has no default"),
            UndefinedSecret => ("E012", "undefined-secret", "a secret is in neither the environment nor secrets.yaml"),
            InvalidName => ("E013", "invalid-name", "a name is not a valid identifier"),
            UnknownTool => ("E101", "unknown-tool", "a toolset or widget names a tool that does not exist"),
            EmptyToolset => ("E102", "empty-toolset", "a toolset lists no tools"),
            SqlSyntax => ("E201", "sql-syntax", "the SQL does not parse"),
            UnknownTable => ("E202", "unknown-table", "the SQL names a table no source provides"),
            UnknownColumn => ("E203", "unknown-column", "the SQL names a column the table does not have"),
            SqlPlan => ("E204", "sql-plan", "the SQL parses but cannot be planned (types, functions, grouping)"),
            WriteInReadOnly => ("E205", "write-in-read-only", "INSERT/UPDATE/DELETE/DDL in a tool without `mode: write`"),
            MultipleStatements => ("E206", "multiple-statements", "a tool's `sql` holds more than one statement"),
            UnsupportedStatement => ("E207", "unsupported-statement", "a statement kind tools cannot run"),
            ToolArgument => ("E208", "tool-argument", "an MCP tool call's arguments do not fit the tool's `inputSchema` (unknown, missing, wrong type)"),
            UndeclaredParameter => ("E301", "undeclared-parameter", "the SQL uses a parameter the tool does not declare"),
            UnusedParameter => ("E302", "unused-parameter", "a declared parameter is never used by the SQL"),
            ParameterTypeMismatch => ("E303", "parameter-type-mismatch", "a parameter's declared type cannot fit its use in the SQL"),
            InvalidDefault => ("E304", "invalid-default", "a default is not of the declared type or breaks a constraint"),
            InvalidEnumValue => ("E305", "invalid-enum-value", "an enum value is not of the declared type"),
            InvalidConstraint => ("E306", "invalid-constraint", "a constraint does not fit the parameter type or is contradictory"),
            OptionalParameterMisplaced => ("E307", "optional-parameter-misplaced", "an optional parameter without default is used where its predicate cannot be dropped"),
            PositionalParameter => ("E308", "positional-parameter", "the SQL uses `$1` or `?` instead of a named parameter"),
            ReservedParameter => ("E309", "reserved-parameter", "a parameter is named `cursor`, the paging argument of served tools"),
            WidgetUnknownParam => ("E401", "widget-unknown-param", "a widget passes a parameter its tool does not have"),
            WidgetMissingParam => ("E402", "widget-missing-param", "a widget omits a required parameter of its tool"),
            WidgetParamValue => ("E403", "widget-param-value", "a widget passes a value that does not fit the parameter"),
            SchemaUnavailable => ("E501", "schema-unavailable", "a source's schema is not known offline, so SQL over it is not type-checked"),
            LockFile => ("E502", "lock-file", "the schema lock file is malformed"),
            SchemaRead => ("E503", "schema-read", "a source's schema could not be read"),
            SchemaDrift => ("E504", "schema-drift", "schema.lock.yaml and the live source differ (`check --live`)"),
            WholeRemoteTable => ("E505", "whole-remote-table", "a tool reads a whole database table: no filter or limit reaches the source"),
            SourceUnavailable => ("E601", "source-unavailable", "a source cannot be reached or opened (missing file, locked or unreadable database)"),
            SourceRead => ("E602", "source-read", "a source's data cannot be read (corrupt file, a value that does not fit its column type)"),
            SourceKindUnsupported => ("E603", "source-kind-unsupported", "the runtime cannot execute this source kind yet"),
            ToolNotFound => ("E604", "tool-not-found", "`run`/`explain` names a tool the project does not define"),
            ParameterType => ("E605", "parameter-type", "a parameter value given to a tool has the wrong type"),
            ParameterConstraint => ("E606", "parameter-constraint", "a parameter value breaks a declared rule (enum, minimum, maximum, pattern)"),
            ParameterMissing => ("E607", "parameter-missing", "a required parameter was not given"),
            ParameterUnknown => ("E608", "parameter-unknown", "a parameter the tool does not declare was given"),
            QueryPlan => ("E609", "query-plan", "ad-hoc SQL (or a tool's SQL against the live sources) cannot be planned"),
            QueryExecution => ("E610", "query-execution", "a query failed while running"),
            Output => ("E611", "output", "the result cannot be written (output file, format)"),
            QueryNotReadOnly => ("E612", "query-not-read-only", "`query` runs read-only SQL; this statement writes or changes state"),
            ProjectInvalid => ("E613", "project-invalid", "the project has errors, so its tools cannot run (see the diagnostics above)"),
            ApiFilterRequired => ("E614", "api-filter-required", "an API table's path needs a value (`{name}`) that the query's WHERE does not give as `name = value`"),
        }
    }

    pub fn as_str(self) -> &'static str {
        self.info().0
    }

    pub fn name(self) -> &'static str {
        self.info().1
    }

    /// Every code, in order.
    pub const ALL: &'static [Code] = &[
        Code::YamlSyntax,
        Code::DuplicateKey,
        Code::UnknownKey,
        Code::MissingField,
        Code::WrongType,
        Code::InvalidValue,
        Code::UnsupportedVersion,
        Code::DuplicateName,
        Code::UnknownSourceKind,
        Code::ExpressionSyntax,
        Code::UndefinedEnv,
        Code::UndefinedSecret,
        Code::InvalidName,
        Code::UnknownTool,
        Code::EmptyToolset,
        Code::SqlSyntax,
        Code::UnknownTable,
        Code::UnknownColumn,
        Code::SqlPlan,
        Code::WriteInReadOnly,
        Code::MultipleStatements,
        Code::UnsupportedStatement,
        Code::ToolArgument,
        Code::UndeclaredParameter,
        Code::UnusedParameter,
        Code::ParameterTypeMismatch,
        Code::InvalidDefault,
        Code::InvalidEnumValue,
        Code::InvalidConstraint,
        Code::OptionalParameterMisplaced,
        Code::PositionalParameter,
        Code::ReservedParameter,
        Code::WidgetUnknownParam,
        Code::WidgetMissingParam,
        Code::WidgetParamValue,
        Code::SchemaUnavailable,
        Code::LockFile,
        Code::SchemaRead,
        Code::SchemaDrift,
        Code::WholeRemoteTable,
        Code::SourceUnavailable,
        Code::SourceRead,
        Code::SourceKindUnsupported,
        Code::ToolNotFound,
        Code::ParameterType,
        Code::ParameterConstraint,
        Code::ParameterMissing,
        Code::ParameterUnknown,
        Code::QueryPlan,
        Code::QueryExecution,
        Code::Output,
        Code::QueryNotReadOnly,
        Code::ProjectInvalid,
        Code::ApiFilterRequired,
    ];
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
