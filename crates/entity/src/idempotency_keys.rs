use sea_orm::entity::prelude::*;

/// A request made with an `Idempotency-Key`, and once it is done, the answer it got,
/// so that a retry is answered the same without being run again.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Whose key it is: `user:<id>` for a bearer token, `address:<ip>` otherwise.
    pub scope: String,
    pub method: String,
    pub path: String,
    pub key: String,
    /// `IN_PROGRESS` while the first request runs, then `DONE`.
    pub state: String,
    /// SHA-256 (hex) of the content type and the body; set when the request is done.
    pub fingerprint: Option<String>,
    pub response_status: Option<i32>,
    /// AES-256-GCM under a key derived from the server secret and the target (nonce
    /// first): it may hold a session token or an API key.
    pub response_body: Option<Vec<u8>>,
    /// The kept response headers, as a JSON array of `[name, value]` pairs.
    pub response_headers: Option<String>,
    /// Unix microseconds.
    pub created_at: i64,
    /// Unix microseconds: the end of the claim while in progress (a crashed process's
    /// claim lapses), 24 hours after the answer once done.
    pub expires_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
