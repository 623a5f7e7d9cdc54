//! Routes 14–15: the caller's credit movements.

use poem_openapi::{
    ApiResponse, OpenApi,
    param::{Path, Query},
    payload::Json,
};

use super::outcomes::*;
use super::{
    ApiTags,
    error::ApiError,
    models::*,
    own_active_user,
    paging::{Limit, Offset},
    security::Caller,
};
use crate::{services::ledger, state::AppState};

pub struct TransactionsApi {
    pub state: AppState,
}

#[derive(ApiResponse)]
pub enum TransactionPage {
    /// A page of transactions, newest first.
    #[oai(status = 200)]
    Ok(
        Json<TransactionListEnvelope>,
        /// How many transactions the user has in all.
        #[oai(header = "X-Total-Count")]
        u64,
    ),
}

/// What each route of this area can answer besides its success (`super::outcomes`).
#[rustfmt::skip]
pub const STATUSES: Statuses = &[
    ("transactionsList", &[SERVER, DATABASE, LIMITED, PARAMS, CREDENTIALS, ACTIVE, NOT_YOURS]),
    ("transactionsGet", &[SERVER, DATABASE, LIMITED, CREDENTIALS, ACTIVE, NOT_YOURS, &[(404, ErrorCode::TransactionNotFound)]]),
];

#[OpenApi(tag = "ApiTags::Transaction")]
impl TransactionsApi {
    /// View All
    ///
    /// The caller's transactions, newest first. `offset` skips that many of the newest;
    /// `X-Total-Count` gives the total.
    #[oai(path = "/users/:user_id/transactions", method = "get", operation_id = "transactionsList")]
    async fn list(
        &self,
        caller: Caller,
        /// The caller's user id.
        user_id: Path<String>,
        /// Page size, 1 to 100.
        #[oai(default)]
        limit: Query<Limit>,
        /// Rows to skip (newest first).
        #[oai(default)]
        offset: Query<Offset>,
    ) -> Result<TransactionPage, ApiError> {
        let user = own_active_user(&caller.0, &user_id.0)?;
        let (rows, total) = ledger::list(&self.state.db, &user.id, limit.0.0, offset.0.0).await?;
        let data = rows.iter().map(crate::views::transaction).collect();
        Ok(TransactionPage::Ok(Json(TransactionListEnvelope::new(data, "Transactions fetched successfully.")), total))
    }

    /// View
    ///
    /// One of the caller's transactions.
    #[oai(path = "/users/:user_id/transactions/:transaction_id", method = "get", operation_id = "transactionsGet")]
    async fn get(
        &self,
        caller: Caller,
        /// The caller's user id.
        user_id: Path<String>,
        /// `transaction_…`
        transaction_id: Path<String>,
    ) -> Result<Json<TransactionEnvelope>, ApiError> {
        let user = own_active_user(&caller.0, &user_id.0)?;
        let row = ledger::find(&self.state.db, &user.id, &transaction_id.0).await?;
        Ok(Json(TransactionEnvelope::new(crate::views::transaction(&row), "Transaction fetched successfully.")))
    }
}
