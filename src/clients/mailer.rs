//! E-mail through lettre over SMTP, to the log when no `SMTP_URL` is set, or into the
//! sandbox's mailbox in sandbox mode. What a mail says comes from `rules::mail::templates`.

use std::time::Duration;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart},
};

pub use rules::mail::{Mail, MailError, SendMail};

#[derive(Clone)]
pub enum Mailer {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
        /// The SMTP host, for the trace span.
        server: String,
    },
    Log,
    /// Kept instead of sent (sandbox mode: for `GET /sandbox/mailbox/{email}`).
    Kept(std::sync::Arc<dyn MailDrop>),
}

/// Where mail goes when it is kept instead of sent: the sandbox's mailbox.
pub trait MailDrop: Send + Sync {
    fn keep(&self, mail: Mail);
}

impl Mailer {
    pub fn new(smtp_url: Option<&str>, from: &str, timeout: Duration) -> Result<Self, MailError> {
        let Some(url) = smtp_url else { return Ok(Self::Log) };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError(format!("SMTP_URL: {e}")))?
            .timeout(Some(timeout))
            .build();
        let from = from.parse().map_err(|e| MailError(format!("MAIL_FROM: {e}")))?;
        let server = url::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
        Ok(Self::Smtp { transport, from, server })
    }
}

#[async_trait::async_trait]
impl SendMail for Mailer {
    async fn send(&self, mail: Mail) -> Result<(), MailError> {
        match self {
            Self::Log => {
                tracing::info!(to = %mail.to, "{}", mail.log_line);
                Ok(())
            }
            Self::Kept(drop) => {
                // Parsed as SMTP would, so an address the real mailer refuses fails here too.
                let _: Mailbox = mail.to.parse().map_err(|e| MailError(format!("recipient: {e}")))?;
                tracing::info!(to = %mail.to, "SANDBOX: mail kept in the sandbox mailbox (GET /api/v1/sandbox/mailbox/<email>)");
                drop.keep(mail);
                Ok(())
            }
            Self::Smtp { transport, from, server } => {
                use tracing::Instrument;
                let to: Mailbox = mail.to.parse().map_err(|e| MailError(format!("recipient: {e}")))?;
                let message = Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(mail.subject)
                    .multipart(MultiPart::alternative_plain_html(mail.text, mail.html))
                    .map_err(|e| MailError(format!("building message: {e}")))?;
                let span = crate::telemetry::smtp_span(server);
                let sent = transport.send(message).instrument(span.clone()).await;
                if sent.is_err() {
                    span.record("otel.status_code", "ERROR");
                }
                sent.map_err(|e| MailError(format!("SMTP: {e}")))?;
                Ok(())
            }
        }
    }
}
