//! Mails that tell an account's owner of a change to how the account can be entered, so a
//! change they did not make does not go unnoticed.

use entity::users;

use super::{ServiceError, ServiceResult};
use crate::{mail::kinds::PasskeyAdded, state::Core};

/// Mails "a passkey was added" to the account's address. A mail that cannot be sent is
/// the 503 `mail_unavailable` (the caller takes the passkey back).
pub async fn passkey_added(state: &Core, user: &users::Model, passkey_name: &str) -> ServiceResult<()> {
    let notice = PasskeyAdded { passkey_name: passkey_name.to_string() };
    let sent = match state.mail_templates.mail(&notice, &user.email, &user.first_name) {
        Ok(mail) => state.mailer.send(mail).await,
        Err(err) => Err(err.into()),
    };
    state.metrics.emails.with_label_values(&[if sent.is_ok() { "sent" } else { "failed" }]).inc();
    sent.map_err(|err| {
        tracing::error!(user_id = %user.id, %err, "passkey notice not sent");
        ServiceError::MailFailed
    })
}
