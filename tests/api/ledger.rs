//! The ledger under concurrency, called as the product calls it.

use clara_backend::services::{
    ServiceError,
    ledger::{Movement, move_credits},
};

use crate::support::*;

fn debit(user_id: &str, hundredths: i64) -> Movement {
    Movement {
        user_id: user_id.to_string(),
        credits: -hundredths,
        fiat_cents: 0,
        description: "Test debit.".into(),
        stripe_session_id: None,
        expected_balance: None,
    }
}

#[tokio::test]
async fn fifty_concurrent_debits_take_exactly_what_the_balance_covers() {
    let app = TestApp::new().await;
    let (user_id, _) = app.active_user("debits@example.com").await;
    app.give_credits(&user_id, 1_000).await; // 10 credits

    let started = std::time::Instant::now();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let state = app.state.clone();
            let movement = debit(&user_id, 100); // 1 credit each
            tokio::spawn(async move { move_credits(&state.db, &state.clock, movement).await })
        })
        .collect();
    let mut succeeded = 0;
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(moved) => {
                assert!(moved.balance >= 0);
                succeeded += 1;
            }
            Err(ServiceError::InsufficientCredits) => refused += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    eprintln!("50 concurrent debits: {:?} ({succeeded} ok, {refused} refused)", started.elapsed());
    assert_eq!((succeeded, refused), (10, 40));
    assert_eq!(app.balance(&user_id).await, 0);
    let rows = app.transactions_of(&user_id).await;
    assert_eq!(rows.len(), 11, "the credit and the ten debits, nothing for the refused ones");
    app.assert_ledger_balances(&rows, 0);
}

#[tokio::test]
async fn concurrent_credits_and_debits_lose_no_update() {
    let app = TestApp::new().await;
    let (user_id, _) = app.active_user("mixed@example.com").await;
    app.give_credits(&user_id, 500).await;
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let state = app.state.clone();
            let movement = if i % 2 == 0 {
                Movement { credits: 100, description: "Test credit.".into(), ..debit(&user_id, 0) }
            } else {
                debit(&user_id, 300)
            };
            tokio::spawn(async move { move_credits(&state.db, &state.clock, movement).await })
        })
        .collect();
    let mut debits = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(moved) if moved.transaction.kind == "DEBIT" => debits += 1,
            Ok(_) | Err(ServiceError::InsufficientCredits) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    let balance = app.balance(&user_id).await;
    assert_eq!(balance, 500 + 30 * 100 - debits * 300, "every accepted movement is in the balance");
    let rows = app.transactions_of(&user_id).await;
    assert_eq!(rows.len() as i64, 1 + 30 + debits);
    app.assert_ledger_balances(&rows, balance);
}

#[tokio::test]
async fn refused_movements_write_nothing() {
    let app = TestApp::new().await;
    let (user_id, _) = app.active_user("refused@example.com").await;
    let before = app.snapshot().await;
    let state = &app.state;
    assert!(matches!(
        move_credits(&state.db, &state.clock, debit(&user_id, 1)).await,
        Err(ServiceError::InsufficientCredits)
    ));
    assert!(matches!(
        move_credits(&state.db, &state.clock, debit("user_00000000000000000000000000000000", -100)).await,
        Err(ServiceError::NotFound(_))
    ));
    assert!(matches!(
        move_credits(&state.db, &state.clock, debit(&user_id, 0)).await,
        Err(ServiceError::InvalidInput(_))
    ));
    let stale = Movement { expected_balance: Some(5), ..debit(&user_id, -100) };
    assert!(matches!(move_credits(&state.db, &state.clock, stale).await, Err(ServiceError::BalanceChanged)));
    assert_eq!(app.snapshot().await, before);
    assert_eq!(app.balance(&user_id).await, 0);
}

#[tokio::test]
async fn a_movement_inside_a_callers_transaction_rolls_back_with_it() {
    use sea_orm::TransactionTrait;
    let app = TestApp::new().await;
    let (user_id, _) = app.active_user("nested@example.com").await;
    app.give_credits(&user_id, 1_000).await;
    let txn = app.state.db.begin().await.unwrap();
    move_credits(&txn, &app.state.clock, debit(&user_id, 400)).await.unwrap();
    txn.rollback().await.unwrap();
    assert_eq!(app.balance(&user_id).await, 1_000);
    assert_eq!(app.transactions_of(&user_id).await.len(), 1);
}
