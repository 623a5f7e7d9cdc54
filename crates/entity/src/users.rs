use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub email: String,
    /// None for accounts made through Google sign-in until they set a password.
    pub password_hash: Option<String>,
    pub first_name: String,
    pub last_name: Option<String>,
    /// Hundredths of a credit.
    pub credits: i64,
    pub is_active: bool,
    pub is_2fa_enabled: bool,
    pub is_dark_mode: bool,
    /// Base32 secret of a confirmed authenticator app.
    pub totp_secret: Option<String>,
    /// Base32 secret of an enrolment not yet confirmed by Enable 2FA.
    pub totp_pending_secret: Option<String>,
    /// Last 30-second step accepted from the app, so a code cannot be replayed.
    pub totp_last_step: Option<i64>,
    /// The Stripe customer made on the first Buy or Portal; never sent to clients.
    pub stripe_customer_id: Option<String>,
    /// Unix microseconds.
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::sessions::Entity")]
    Sessions,
    #[sea_orm(has_many = "super::otp_codes::Entity")]
    OtpCodes,
    #[sea_orm(has_many = "super::transactions::Entity")]
    Transactions,
    #[sea_orm(has_one = "super::api_keys::Entity")]
    ApiKey,
    #[sea_orm(has_many = "super::tasks::Entity")]
    Tasks,
    #[sea_orm(has_many = "super::recovery_codes::Entity")]
    RecoveryCodes,
}

impl Related<super::sessions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Sessions.def()
    }
}

impl Related<super::otp_codes::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::OtpCodes.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
