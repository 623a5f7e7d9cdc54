//! A mailbox: the mails a server sent, kept in memory (bounded), by address. A sandbox's
//! mailer drops its mails here instead of sending them (for `GET /sandbox/mailbox/{email}`);
//! the SMTP double ([`crate::smtp`]) keeps here what it receives over SMTP.

use std::{collections::VecDeque, sync::Mutex};

/// Mails kept at most; the oldest go first. A sandbox is for journeys and test runs,
/// not for storing mail, and memory must stay bounded however long it runs.
const CAPACITY: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptMail {
    pub id: String,
    /// Lower-cased.
    pub to: String,
    pub subject: String,
    pub text: String,
    /// The HTML body, as SMTP would send it next to `text`.
    pub html: String,
    /// The one-time code's type and the code, when the sender said which (a sandbox's
    /// mailer does; a mail received over SMTP carries them only in its text).
    pub otp_type: Option<String>,
    pub code: Option<String>,
    /// Microseconds since the epoch.
    pub created_at: i64,
}

#[derive(Default)]
pub struct Mailbox {
    mails: Mutex<VecDeque<KeptMail>>,
}

impl Mailbox {
    pub fn keep(&self, mail: KeptMail) {
        let mut mails = self.mails.lock().unwrap_or_else(|e| e.into_inner());
        if mails.len() == CAPACITY {
            mails.pop_front();
        }
        mails.push_back(mail);
    }

    /// Mails kept.
    pub fn len(&self) -> usize {
        self.mails.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The mails sent to `address` (any case), newest first.
    pub fn for_address(&self, address: &str) -> Vec<KeptMail> {
        let address = address.to_ascii_lowercase();
        let mails = self.mails.lock().unwrap_or_else(|e| e.into_inner());
        mails.iter().rev().filter(|m| m.to == address).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(to: &str, n: i64) -> KeptMail {
        KeptMail {
            id: n.to_string(),
            to: to.into(),
            subject: String::new(),
            text: String::new(),
            html: String::new(),
            otp_type: None,
            code: None,
            created_at: n,
        }
    }

    #[test]
    fn newest_first_per_address_and_bounded() {
        let mailbox = Mailbox::default();
        for n in 0..(CAPACITY as i64 + 5) {
            mailbox.keep(mail(if n % 2 == 0 { "a@x.io" } else { "b@x.io" }, n));
        }
        let a = mailbox.for_address("A@X.IO");
        assert_eq!(a.first().unwrap().created_at, CAPACITY as i64 + 4);
        assert!(a.windows(2).all(|w| w[0].created_at > w[1].created_at));
        assert_eq!(a.len() + mailbox.for_address("b@x.io").len(), CAPACITY);
        assert!(mailbox.for_address("c@x.io").is_empty());
    }
}
