//! A small SMTP sink on 127.0.0.1 that records every message it is given.

use std::{sync::Arc, time::Duration};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
    sync::Mutex,
};

#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub recipients: Vec<String>,
    pub data: String,
}

#[derive(Clone)]
pub struct SmtpSink {
    port: u16,
    pub mails: Arc<Mutex<Vec<ReceivedMail>>>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind SMTP sink");
        let port = listener.local_addr().unwrap().port();
        let mails: Arc<Mutex<Vec<ReceivedMail>>> = Arc::default();
        let store = mails.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read);
                    let _ = write.write_all(b"220 sink ESMTP\r\n").await;
                    let mut recipients = vec![];
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                            break;
                        }
                        let command = line.trim_end().to_ascii_uppercase();
                        let reply: &[u8] = if command.starts_with("EHLO") || command.starts_with("HELO") {
                            b"250-sink\r\n250 8BITMIME\r\n"
                        } else if command.starts_with("RCPT TO:") {
                            recipients.push(line.trim_end()[8..].trim().trim_matches(['<', '>']).to_lowercase());
                            b"250 OK\r\n"
                        } else if command == "DATA" {
                            let _ = write.write_all(b"354 end with .\r\n").await;
                            let mut data = String::new();
                            loop {
                                line.clear();
                                if lines.read_line(&mut line).await.unwrap_or(0) == 0 || line == ".\r\n" {
                                    break;
                                }
                                data.push_str(&line);
                            }
                            store.lock().await.push(ReceivedMail { recipients: std::mem::take(&mut recipients), data });
                            b"250 OK queued\r\n"
                        } else if command == "QUIT" {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        } else {
                            b"250 OK\r\n"
                        };
                        let _ = write.write_all(reply).await;
                    }
                });
            }
        });
        Self { port, mails }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub async fn mails_to(&self, email: &str) -> Vec<ReceivedMail> {
        let email = email.to_lowercase();
        self.mails.lock().await.iter().filter(|m| m.recipients.contains(&email)).cloned().collect()
    }

    /// The code in the newest mail to `email` (waits briefly for delivery).
    pub async fn last_code_for(&self, email: &str) -> String {
        let pattern = regex::Regex::new(r"\n    (\d{6})\r?\n").unwrap();
        for _ in 0..50 {
            if let Some(mail) = self.mails_to(email).await.last() {
                let code = pattern.captures(&mail.data).map(|c| c[1].to_string());
                return code.unwrap_or_else(|| panic!("no code in mail: {}", mail.data));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no mail to {email}");
    }
}
