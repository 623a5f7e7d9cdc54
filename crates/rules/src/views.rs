//! The resources as the API shows them, built from their rows: the API's answers, the MCP
//! tools, webhook events and task streams all show the same thing, from these functions.

use domain::{
    http_date, hundredths_to_number,
    task::{Task, TaskStatus, TaskStep},
    transaction::{Transaction, TransactionType},
};
use entity::{tasks, transactions};

use crate::services::{ledger, steps, tasks as task_rows};

/// A task row's status.
pub fn task_status(status: &str) -> TaskStatus {
    match status {
        task_rows::RUNNING => TaskStatus::Running,
        task_rows::COMPLETED => TaskStatus::Completed,
        task_rows::FAILED => TaskStatus::Failed,
        _ => TaskStatus::Pending,
    }
}

/// A step as the task shows it.
pub fn step(step: &steps::Step) -> TaskStep {
    TaskStep { kind: step.kind, detail: step.detail.clone(), at: http_date(step.at) }
}

pub fn task(row: &tasks::Model) -> Task {
    Task {
        id: row.id.clone(),
        user_id: row.user_id.clone(),
        status: task_status(&row.status),
        result: row.result.as_deref().and_then(|r| serde_json::from_str(r).ok()),
        input: row.input.clone(),
        attachments: task_rows::attachments_of(row).into_iter().map(|a| a.name).collect(),
        credits_used: hundredths_to_number(row.credits_used),
        error: row.error.clone(),
        steps: steps::of(row).iter().map(step).collect(),
        created_at: http_date(row.created_at),
        updated_at: http_date(row.updated_at),
    }
}

pub fn transaction(row: &transactions::Model) -> Transaction {
    Transaction {
        id: row.id.clone(),
        user_id: row.user_id.clone(),
        kind: if row.kind == ledger::DEBIT { TransactionType::Debit } else { TransactionType::Credit },
        description: row.description.clone(),
        value_in_credits: hundredths_to_number(row.value_in_credits),
        value_in_fiat: hundredths_to_number(row.value_in_fiat),
        created_at: http_date(row.created_at),
        updated_at: http_date(row.updated_at),
    }
}
