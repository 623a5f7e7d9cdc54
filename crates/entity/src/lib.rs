//! SeaORM entities. Rows only: the HTTP layer never serializes these directly.

/// The relations of a row that belongs to one user and goes with the account (`user_id`,
/// `ON DELETE CASCADE`): `Relation::User`, `Related<users::Entity>` and the default
/// `ActiveModelBehavior`. Written once for the eight tables that are a user's.
macro_rules! belongs_to_user {
    () => {
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {
            #[sea_orm(
                belongs_to = "super::users::Entity",
                from = "Column::UserId",
                to = "super::users::Column::Id",
                on_delete = "Cascade"
            )]
            User,
        }

        impl Related<super::users::Entity> for Entity {
            fn to() -> RelationDef {
                Relation::User.def()
            }
        }

        impl ActiveModelBehavior for ActiveModel {}
    };
}

pub mod api_keys;
pub mod apple_single_use;
pub mod idempotency_keys;
pub mod otp_codes;
pub mod passkey_challenges;
pub mod passkeys;
pub mod recovery_codes;
pub mod security_events;
pub mod sessions;
pub mod settings;
pub mod task_events;
pub mod tasks;
pub mod transactions;
pub mod users;
pub mod webhook_deliveries;
pub mod webhook_endpoints;
