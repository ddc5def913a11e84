//! A schema-only `ContextProvider` for DataFusion's SQL planner: tables from the [`Catalog`],
//! functions from DataFusion's function crates (the same registry the runtime uses).

use std::collections::HashMap;
use std::sync::Arc;

use arrow_schema::{DataType, FieldRef};
use datafusion_common::config::ConfigOptions;
use datafusion_common::{plan_err, Result, TableReference};
use datafusion_expr::logical_plan::builder::LogicalTableSource;
use datafusion_expr::planner::{ContextProvider, ExprPlanner};
use datafusion_expr::{AggregateUDF, HigherOrderUDF, ScalarUDF, TableSource, WindowUDF};

use crate::catalog::{Catalog, Resolution};

/// The functions SQL may call: DataFusion's built-ins plus any extra (the stdlib).
#[derive(Debug, Clone, Default)]
pub struct FunctionSet {
    pub scalar: HashMap<String, Arc<ScalarUDF>>,
    pub higher_order: HashMap<String, Arc<HigherOrderUDF>>,
    pub aggregate: HashMap<String, Arc<AggregateUDF>>,
    pub window: HashMap<String, Arc<WindowUDF>>,
    pub expr_planners: Vec<Arc<dyn ExprPlanner>>,
}

impl FunctionSet {
    /// DataFusion's default functions and expression planners.
    pub fn datafusion_defaults() -> Self {
        let mut f = FunctionSet::default();
        for udf in datafusion_functions::all_default_functions()
            .into_iter()
            .chain(datafusion_functions_nested::all_default_nested_functions())
        {
            f.add_scalar(udf);
        }
        for h in datafusion_functions_nested::all_default_higher_order_functions() {
            for name in std::iter::once(h.name().to_string()).chain(h.aliases().iter().cloned()) {
                f.higher_order.insert(name, Arc::clone(&h));
            }
        }
        for udaf in datafusion_functions_aggregate::all_default_aggregate_functions() {
            for name in
                std::iter::once(udaf.name().to_string()).chain(udaf.aliases().iter().cloned())
            {
                f.aggregate.insert(name, Arc::clone(&udaf));
            }
        }
        for udwf in datafusion_functions_window::all_default_window_functions() {
            for name in
                std::iter::once(udwf.name().to_string()).chain(udwf.aliases().iter().cloned())
            {
                f.window.insert(name, Arc::clone(&udwf));
            }
        }
        f.expr_planners = vec![
            Arc::new(datafusion_functions::core::planner::CoreFunctionPlanner::default()),
            Arc::new(datafusion_functions_nested::planner::NestedFunctionPlanner),
            Arc::new(datafusion_functions_nested::planner::FieldAccessPlanner),
            Arc::new(datafusion_functions::datetime::planner::DatetimeFunctionPlanner),
            Arc::new(datafusion_functions::unicode::planner::UnicodeFunctionPlanner),
            Arc::new(datafusion_functions_aggregate::planner::AggregateFunctionPlanner),
            Arc::new(datafusion_functions_window::planner::WindowFunctionPlanner),
        ];
        f
    }

    /// What widgettdc plans with: DataFusion's functions and the stdlib's.
    pub fn standard() -> Self {
        let mut f = Self::datafusion_defaults();
        for udf in widgettdc_stdlib::scalar_functions() {
            f.add_scalar(udf);
        }
        f
    }

    pub fn add_scalar(&mut self, udf: Arc<ScalarUDF>) {
        for name in std::iter::once(udf.name().to_string()).chain(udf.aliases().iter().cloned()) {
            self.scalar.insert(name, Arc::clone(&udf));
        }
    }
}

/// The configuration both the compiler and the runtime plan with, so they agree on types.
pub fn config_options() -> ConfigOptions {
    let mut c = ConfigOptions::default();
    c.sql_parser.collect_spans = true;
    c.sql_parser.enable_ident_normalization = true;
    c
}

pub struct SchemaProvider<'a> {
    pub catalog: &'a Catalog,
    pub functions: &'a FunctionSet,
    pub options: ConfigOptions,
}

impl ContextProvider for SchemaProvider<'_> {
    fn get_table_source(&self, name: TableReference) -> Result<Arc<dyn TableSource>> {
        let parts: Vec<String> = match &name {
            TableReference::Bare { table } => vec![table.to_string()],
            TableReference::Partial { schema, table } => {
                vec![schema.to_string(), table.to_string()]
            }
            TableReference::Full {
                catalog,
                schema,
                table,
            } => vec![catalog.to_string(), schema.to_string(), table.to_string()],
        };
        match self.catalog.resolve(&parts) {
            Resolution::Table { table, .. } => Ok(Arc::new(LogicalTableSource::new(table.schema))),
            _ => plan_err!("table '{name}' not found"),
        }
    }

    fn get_function_meta(&self, name: &str) -> Option<Arc<ScalarUDF>> {
        self.functions.scalar.get(name).cloned()
    }

    fn get_higher_order_meta(&self, name: &str) -> Option<Arc<HigherOrderUDF>> {
        self.functions.higher_order.get(name).cloned()
    }

    fn get_aggregate_meta(&self, name: &str) -> Option<Arc<AggregateUDF>> {
        self.functions.aggregate.get(name).cloned()
    }

    fn get_window_meta(&self, name: &str) -> Option<Arc<WindowUDF>> {
        self.functions.window.get(name).cloned()
    }

    fn get_variable_type(&self, _variable_names: &[String]) -> Option<DataType> {
        None
    }

    fn get_variable_field(&self, _variable_names: &[String]) -> Option<FieldRef> {
        None
    }

    fn get_expr_planners(&self) -> &[Arc<dyn ExprPlanner>] {
        &self.functions.expr_planners
    }

    fn options(&self) -> &ConfigOptions {
        &self.options
    }

    // Sorted, so DataFusion's "did you mean" for an unknown function is deterministic.
    fn udf_names(&self) -> Vec<String> {
        sorted(self.functions.scalar.keys())
    }

    fn higher_order_function_names(&self) -> Vec<String> {
        sorted(self.functions.higher_order.keys())
    }

    fn udaf_names(&self) -> Vec<String> {
        sorted(self.functions.aggregate.keys())
    }

    fn udwf_names(&self) -> Vec<String> {
        sorted(self.functions.window.keys())
    }
}

fn sorted<'a>(names: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut v: Vec<String> = names.cloned().collect();
    v.sort();
    v
}
