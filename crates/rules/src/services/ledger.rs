//! The ledger: the one place credits move. Each movement updates the balance and writes
//! the Transaction row that explains it, in one database transaction, so the balance is
//! always the sum of the user's transactions.

use entity::{transactions, users};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, SqlErr, TransactionSession, TransactionTrait,
    sea_query::{Expr, ExprTrait},
};

use super::{Resource, ServiceError, ServiceResult};
use crate::{
    domain::{IdPrefix, new_id},
    state::Clock,
};

pub const CREDIT: &str = "CREDIT";
pub const DEBIT: &str = "DEBIT";

/// One movement of credits.
#[derive(Debug, Clone)]
pub struct Movement {
    pub user_id: String,
    /// Hundredths of a credit; positive credits the user, negative debits them. Never 0.
    pub credits: i64,
    /// What the movement is worth in US cents (not negative).
    pub fiat_cents: i64,
    pub description: String,
    /// The Checkout Session a purchase settles; the database refuses a second one.
    pub stripe_session_id: Option<String>,
    /// Move only if the balance is still this (a compare-and-set for "set the balance to").
    pub expected_balance: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Moved {
    pub transaction: transactions::Model,
    /// The balance right after this movement, in hundredths.
    pub balance: i64,
}

fn map_insert_error(err: DbErr) -> ServiceError {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => ServiceError::AlreadyRecorded,
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => ServiceError::NotFound(Resource::User),
        _ => err.into(),
    }
}

/// Moves credits. Works on a connection or inside a caller's transaction (then as a
/// savepoint), so a debit can commit together with what it pays for.
///
/// Errors: `NotFound(User)`, `InsufficientCredits` when the balance would go below zero,
/// `AlreadyRecorded` for a Checkout Session already credited, `BalanceChanged` when
/// `expected_balance` no longer holds.
pub async fn move_credits<C>(db: &C, clock: &Clock, movement: Movement) -> ServiceResult<Moved>
where
    C: TransactionTrait + ConnectionTrait,
{
    if movement.credits == 0 || movement.fiat_cents < 0 {
        return Err(ServiceError::InvalidInput("a movement moves credits"));
    }
    let txn = db.begin().await?;
    let now = clock.now_micros();
    // The row first: the unique Checkout Session id makes a concurrent duplicate wait
    // here and then fail, before it touches the balance. It is also the write that takes
    // SQLite's write lock, so no read in this transaction can go stale.
    let transaction = transactions::ActiveModel {
        id: Set(new_id(IdPrefix::Transaction)),
        user_id: Set(movement.user_id.clone()),
        kind: Set(if movement.credits > 0 { CREDIT } else { DEBIT }.to_string()),
        description: Set(movement.description),
        value_in_credits: Set(movement.credits.abs()),
        value_in_fiat: Set(movement.fiat_cents),
        stripe_session_id: Set(movement.stripe_session_id),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(map_insert_error)?;

    // A conditional update: the database re-checks the balance under its row lock, so
    // concurrent movements can neither lose an update nor go below zero.
    let mut update = users::Entity::update_many()
        .col_expr(users::Column::Credits, Expr::col(users::Column::Credits).add(movement.credits))
        .col_expr(users::Column::UpdatedAt, Expr::value(now))
        .filter(users::Column::Id.eq(movement.user_id.as_str()))
        .filter(Expr::col(users::Column::Credits).add(movement.credits).gte(0));
    if let Some(expected) = movement.expected_balance {
        update = update.filter(users::Column::Credits.eq(expected));
    }
    if update.exec(&txn).await?.rows_affected == 0 {
        let exists = users::Entity::find_by_id(movement.user_id.as_str()).count(&txn).await? > 0;
        return Err(match (exists, movement.expected_balance) {
            (false, _) => ServiceError::NotFound(Resource::User),
            (true, Some(_)) => ServiceError::BalanceChanged,
            (true, None) => ServiceError::InsufficientCredits,
        });
    }
    let balance: i64 = users::Entity::find_by_id(movement.user_id.as_str())
        .select_only()
        .column(users::Column::Credits)
        .into_tuple()
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound(Resource::User))?;
    // In the same transaction: no credits.changed without its movement, nor the reverse.
    super::webhooks::outbox::credits_changed(&txn, now, &transaction, balance).await?;
    txn.commit().await?;
    Ok(Moved { transaction, balance })
}

/// A page of the user's transactions, newest first, and how many they have in all.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    limit: u64,
    offset: u64,
) -> ServiceResult<(Vec<transactions::Model>, u64)> {
    let newest_first = transactions::Entity::find()
        .filter(transactions::Column::UserId.eq(user_id))
        .order_by_desc(transactions::Column::Seq);
    super::page(db, newest_first, limit, offset).await
}

/// One of the user's transactions; another user's is as unknown as a missing one.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    transaction_id: &str,
) -> ServiceResult<transactions::Model> {
    transactions::Entity::find()
        .filter(transactions::Column::Id.eq(transaction_id))
        .filter(transactions::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound(Resource::Transaction))
}
