//! Mail as the rules see it: what a mail says (the templates) and the port that sends it.
//! SMTP, the log and the sandbox's mailbox are adapters behind [`SendMail`].

pub mod kinds;
pub mod templates;

/// What to send: a subject, a plain-text body and its HTML twin.
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Written to the log instead of the whole body when there is no SMTP server.
    pub log_line: String,
    /// The one-time code it carries and its type, kept apart for the sandbox's mailbox.
    pub code: Option<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MailError(pub String);

/// Sends a mail (or keeps it, or logs it: the adapter decides).
#[async_trait::async_trait]
pub trait SendMail: Send + Sync {
    async fn send(&self, mail: Mail) -> Result<(), MailError>;
}
