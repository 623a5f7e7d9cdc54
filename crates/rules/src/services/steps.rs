//! The agent's steps on a task: kept as a JSON list on the row, rewritten
//! by the claim holder as the run goes, so that a client polling a RUNNING task sees them.

use entity::tasks;
use sea_orm::{ColumnTrait, EntityTrait, ExprTrait, QueryFilter, TransactionTrait, sea_query::Expr};
use serde::{Deserialize, Serialize};

use super::ServiceResult;
use crate::state::Core;
pub use domain::analysis::StepKind;

/// Longest `detail` kept: a step is a line, not a document.
const MAX_DETAIL_CHARS: usize = 300;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub kind: StepKind,
    pub detail: String,
    /// Unix microseconds.
    pub at: i64,
}

/// The steps stored on a task row (none for a row that has not run).
pub fn of(row: &tasks::Model) -> Vec<Step> {
    serde_json::from_str(&row.steps).unwrap_or_default()
}

/// The steps of one run, written through to the row as they happen.
pub struct StepLog<'a> {
    state: &'a Core,
    task: &'a tasks::Model,
    steps: Vec<Step>,
}

impl<'a> StepLog<'a> {
    pub fn new(state: &'a Core, task: &'a tasks::Model) -> Self {
        Self { state, task, steps: vec![] }
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Records a step. A write that fails is logged, not fatal: the steps are a window on
    /// the run, and the run's result does not depend on them.
    pub async fn add(&mut self, kind: StepKind, detail: impl Into<String>) {
        let detail: String = detail.into().chars().take(MAX_DETAIL_CHARS).collect();
        self.steps.push(Step { kind, detail, at: self.state.clock.now_micros() });
        if let Err(err) = self.save().await {
            tracing::warn!(task_id = %self.task.id, %err, "recording an agent step failed");
        }
    }

    /// Rewrites the row's list and appends the newest step to the task's event stream, in
    /// one transaction (nothing when the claim was lost).
    async fn save(&self) -> ServiceResult<()> {
        let json = serde_json::to_string(&self.steps).unwrap_or_else(|_| "[]".into());
        let txn = self.state.db.begin().await?;
        let updated = tasks::Entity::update_many()
            .col_expr(tasks::Column::Steps, Expr::value(json))
            .filter(tasks::Column::Id.eq(self.task.id.as_str()))
            .filter(tasks::Column::ClaimId.eq(self.task.claim_id.as_deref().unwrap_or_default()))
            .exec(&txn)
            .await?;
        if updated.rows_affected != 1 {
            return Ok(());
        }
        if let Some(step) = self.steps.last() {
            let data = super::task_events::step_data(step);
            super::task_events::append(&txn, step.at, &self.task.id, super::task_events::STEP, data).await?;
        }
        txn.commit().await?;
        self.state.task_events.wake(&self.task.id);
        Ok(())
    }
}

/// Adds the provider's token counts for one call to the task's totals.
pub async fn add_usage(state: &Core, task: &tasks::Model, prompt: i64, completion: i64) -> ServiceResult<()> {
    if prompt == 0 && completion == 0 {
        return Ok(());
    }
    tasks::Entity::update_many()
        .col_expr(tasks::Column::PromptTokens, Expr::col(tasks::Column::PromptTokens).add(prompt))
        .col_expr(tasks::Column::CompletionTokens, Expr::col(tasks::Column::CompletionTokens).add(completion))
        .filter(tasks::Column::Id.eq(task.id.as_str()))
        .exec(&state.db)
        .await?;
    Ok(())
}
