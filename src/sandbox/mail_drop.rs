//! The mailer's drop in sandbox mode: each mail goes to the sandbox's mailbox, with the time
//! it was sent and its code, instead of out over SMTP.

use doubles::mail::{KeptMail, Mailbox};

use crate::clients::mailer::{Mail, MailDrop};

pub struct MailboxDrop {
    pub mailbox: std::sync::Arc<Mailbox>,
    pub clock: crate::state::Clock,
}

impl MailDrop for MailboxDrop {
    fn keep(&self, mail: Mail) {
        let (otp_type, code) = mail.code.map(|(t, c)| (Some(t), Some(c))).unwrap_or_default();
        self.mailbox.keep(KeptMail {
            id: uuid::Uuid::new_v4().to_string(),
            to: mail.to.to_ascii_lowercase(),
            subject: mail.subject,
            text: mail.text,
            html: mail.html,
            otp_type,
            code,
            created_at: self.clock.now_micros(),
        });
    }
}
