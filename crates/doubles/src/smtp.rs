//! An SMTP server that keeps what it receives in a [`Mailbox`], parsed into subject, text and
//! HTML. SMTP's commands are parsed by `mailin`'s state machine and the message by
//! `mail-parser`; this file only moves lines. Faults: a failure answers the end of the data
//! with that reply code (nothing kept); a stall delays the greeting.

use std::sync::Arc;

use mailin::{Action, Handler, Response, SessionBuilder};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
};

use crate::{
    faults::{Fault, Faults},
    mail::{KeptMail, Mailbox},
};

/// The SMTP double.
#[derive(Default)]
pub struct Smtp {
    pub mailbox: Arc<Mailbox>,
    pub faults: Arc<Faults>,
}

/// An SMTP double listening on 127.0.0.1.
#[derive(Clone)]
pub struct ServedSmtp {
    /// `smtp://127.0.0.1:<port>`, for `SMTP_URL`.
    pub url: String,
    pub double: Arc<Smtp>,
}

/// One connection's message being received.
struct Delivery {
    smtp: Arc<Smtp>,
    recipients: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Delivery {
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.recipients = to.iter().map(|t| t.trim_matches(['<', '>']).to_ascii_lowercase()).collect();
        self.data.clear();
        mailin::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if let Fault::Fail { status, .. } = self.smtp.faults.current() {
            return Response::custom(status, "Requested action aborted".into());
        }
        let Some(message) = mail_parser::MessageParser::default().parse(&self.data) else {
            return mailin::response::TRANSACTION_FAILED;
        };
        let received_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or_default();
        for to in &self.recipients {
            self.smtp.mailbox.keep(KeptMail {
                id: uuid::Uuid::new_v4().to_string(),
                to: to.clone(),
                subject: message.subject().unwrap_or_default().to_string(),
                // As the sender wrote them: SMTP carries lines ending CRLF.
                text: message.body_text(0).unwrap_or_default().replace("\r\n", "\n"),
                html: message.body_html(0).unwrap_or_default().replace("\r\n", "\n"),
                otp_type: None,
                code: None,
                created_at: received_at,
            });
        }
        mailin::response::OK
    }
}

async fn converse(smtp: Arc<Smtp>, stream: tokio::net::TcpStream) -> std::io::Result<()> {
    if let Fault::Stall(duration) = smtp.faults.current() {
        tokio::time::sleep(duration).await;
    }
    let remote = stream.peer_addr()?.ip();
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut session =
        SessionBuilder::new("smtp.double").build(remote, Delivery { smtp, recipients: vec![], data: vec![] });
    write.write_all(&session.greeting().buffer()?).await?;
    let mut line = Vec::new();
    loop {
        line.clear();
        if lines.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let response = session.process(&line);
        match response.action {
            Action::NoReply => {}
            Action::Close => {
                write.write_all(&response.buffer()?).await?;
                return Ok(());
            }
            Action::Reply | Action::UpgradeTls => write.write_all(&response.buffer()?).await?,
        }
    }
}

/// Serves `smtp` on a free port of 127.0.0.1 until the runtime ends.
pub async fn serve(smtp: Smtp) -> ServedSmtp {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("the SMTP double binds 127.0.0.1");
    let port = listener.local_addr().expect("a local address").port();
    let double = Arc::new(smtp);
    let accepting = double.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(converse(accepting.clone(), stream));
        }
    });
    ServedSmtp { url: format!("smtp://127.0.0.1:{port}"), double }
}

impl std::ops::Deref for ServedSmtp {
    type Target = Smtp;
    fn deref(&self) -> &Smtp {
        &self.double
    }
}
