//! What the test app mailed, as the SMTP double received it.

use std::time::Duration;

use doubles::mail::KeptMail;

use super::TestApp;

impl TestApp {
    /// The mails to `email`, oldest first.
    pub fn mails_to(&self, email: &str) -> Vec<KeptMail> {
        let mut mails = self.smtp.mailbox.for_address(email);
        mails.reverse();
        mails
    }

    /// The code in the newest mail to `email` (waits briefly for delivery).
    pub async fn last_code_for(&self, email: &str) -> String {
        let pattern = regex::Regex::new(r"(?m)^    (\d{6})\r?$").unwrap();
        for _ in 0..50 {
            if let Some(mail) = self.mails_to(email).pop() {
                let code = pattern.captures(&mail.text).map(|c| c[1].to_string());
                return code.unwrap_or_else(|| panic!("no code in mail: {}", mail.text));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no mail to {email}");
    }
}
