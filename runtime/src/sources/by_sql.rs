//! What a database executor remembers of each statement's last run, by its SQL, for `explain
//! --analyze`: kept in a DataFusion custom metric of the sub-plan, so explain finds it in the
//! plan's metrics (`find`). Used for the conditions and rows of Postgres statements
//! (`pg_learnt.rs`) and the page ranges they were read in (`pg_fetch.rs`).

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use datafusion::physical_plan::metrics::{CustomMetricValue, Metric, MetricValue, MetricsSet};

/// Statements remembered at most (the map is emptied when full).
const REMEMBERED: usize = 256;

/// The last run of each statement, by SQL.
#[derive(Debug)]
pub struct BySql<T>(Mutex<HashMap<String, T>>);

impl<T> Default for BySql<T> {
    fn default() -> Self {
        BySql(Mutex::new(HashMap::new()))
    }
}

impl<T: Clone + fmt::Debug + Send + Sync + 'static> BySql<T> {
    pub fn remember(&self, sql: &str, run: T) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() >= REMEMBERED && !m.contains_key(sql) {
            m.clear();
        }
        m.insert(sql.to_string(), run);
    }

    /// The last run of `sql`, if it ran.
    pub fn get(&self, sql: &str) -> Option<T> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(sql)
            .cloned()
    }

    fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// A metric named `name` that shows this.
    pub fn metric(self: &Arc<Self>, name: &str) -> Arc<Metric> {
        Arc::new(Metric::new(
            MetricValue::Custom {
                name: name.to_string().into(),
                value: Arc::clone(self) as Arc<dyn CustomMetricValue>,
            },
            None,
        ))
    }
}

/// The last run of `sql`, from the metric `name` of a sub-plan's metrics.
pub fn find<T: Clone + fmt::Debug + Send + Sync + 'static>(
    metrics: Option<&MetricsSet>,
    name: &str,
    sql: &str,
) -> Option<T> {
    metrics?.iter().find_map(|m| match m.value() {
        MetricValue::Custom { name: n, value } if n == name => value
            .as_any()
            .downcast_ref::<BySql<T>>()
            .and_then(|r| r.get(sql)),
        _ => None,
    })
}

impl<T: Clone + fmt::Debug + Send + Sync + 'static> fmt::Display for BySql<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.len())
    }
}

impl<T: Clone + fmt::Debug + Send + Sync + 'static> CustomMetricValue for BySql<T> {
    fn new_empty(&self) -> Arc<dyn CustomMetricValue> {
        Arc::new(BySql::<T>::default())
    }

    fn aggregate(&self, other: Arc<dyn CustomMetricValue>) {
        let Some(other) = other.as_any().downcast_ref::<BySql<T>>() else {
            return;
        };
        if std::ptr::eq(self, other) {
            return;
        }
        let theirs = other.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for (sql, run) in theirs {
            self.remember(&sql, run);
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_usize(&self) -> usize {
        self.len()
    }

    fn is_eq(&self, other: &Arc<dyn CustomMetricValue>) -> bool {
        other
            .as_any()
            .downcast_ref::<BySql<T>>()
            .is_some_and(|o| std::ptr::eq(self, o))
    }
}
