//! E-mail templates (docs/email.md): the brand in every mail, the operator's directory
//! overriding the built-ins, and a broken template stopping the start with its file and line.

use std::collections::HashMap;

use clara_backend::{build_state, config::Config, state::Clock};
use serde_json::json;

use crate::support::*;

/// The newest mail to `email`, as the SMTP double received it (subject, text and HTML,
/// decoded).
async fn last_mail_to(app: &TestApp, email: &str) -> doubles::mail::KeptMail {
    for _ in 0..50 {
        if let Some(mail) = app.mails_to(email).pop() {
            return mail;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("no mail to {email}");
}

async fn sign_up(app: &TestApp, email: &str, first_name: &str) {
    let reply = app
        .post(
            "/auth/register",
            None,
            Some(json!({"first_name": first_name, "last_name": "lovelace", "email": email, "password": PASSWORD})),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
}

#[tokio::test]
async fn default_mails_carry_the_app_name_url_and_support_address() {
    let app = TestApp::with_env(&[
        ("APP_NAME", "Acme Checks"),
        ("APP_URL", "https://acme.test/app"),
        ("SUPPORT_EMAIL", "help@acme.test"),
    ])
    .await;
    sign_up(&app, "brand@example.com", "ada").await;
    let mail = last_mail_to(&app, "brand@example.com").await;
    assert_eq!(mail.subject, "Welcome to Acme Checks: activate your account");
    for (part, body) in [("text", &mail.text), ("html", &mail.html)] {
        for needle in ["Acme Checks", "https://acme.test/app", "help@acme.test", "Ada", "brand@example.com"] {
            assert!(body.contains(needle), "the {part} part lacks {needle}:\n{body}");
        }
        assert!(!body.contains("Clara"), "the {part} part still says Clara:\n{body}");
    }
    assert!(mail.html.contains("href=\"mailto:help@acme.test\""), "{}", mail.html);

    // Another kind, and the mailed code still activates.
    let code = app.last_code_for("brand@example.com").await;
    assert!(mail.text.contains(&format!("\n    {code}\n")));
    app.post("/users/brand@example.com/activate", None, Some(json!({"code": code})))
        .await
        .assert_success(200, "User activated successfully.");
    app.post("/users/brand@example.com/otp/CHANGE_PASSWORD", None, None)
        .await
        .assert_success(201, "OTP sent successfully.");
    let mail = last_mail_to(&app, "brand@example.com").await;
    assert!(mail.subject.starts_with("Your Acme Checks password change code: "), "{}", mail.subject);
    assert!(mail.text.contains("help@acme.test") && mail.html.contains("help@acme.test"));
}

#[tokio::test]
async fn the_html_part_escapes_the_first_name() {
    let app = TestApp::new().await;
    sign_up(&app, "markup@example.com", "<img src=x onerror=alert(1)>").await;
    let mail = last_mail_to(&app, "markup@example.com").await;
    assert!(!mail.html.contains("<Img"), "{}", mail.html);
    assert!(mail.html.contains("Hello &lt;Img Src=X Onerror=Alert(1)&gt;,"), "{}", mail.html);
    assert!(mail.text.contains("Hello <Img Src=X Onerror=Alert(1)>,"), "{}", mail.text);
}

/// An operator's directory overriding a subject, a text body and the HTML layout.
fn operator_templates() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("welcome.subject.txt"), "{{ app_name }} says hi to {{ first_name }}\n").unwrap();
    std::fs::write(
        dir.path().join("welcome.txt"),
        "OPERATOR TEXT for {{ email }}\n\n    {{ code }}\n\nAsk {{ support_email }}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("base.html"),
        "<html><body><p>OPERATOR LAYOUT {{ app_name }}</p>{% block intro %}{% endblock %}<b>{{ code }}</b></body></html>\n",
    )
    .unwrap();
    dir
}

#[tokio::test]
async fn operator_templates_override_the_built_ins() {
    let dir = operator_templates();
    let app =
        TestApp::with_env(&[("EMAIL_TEMPLATES_DIR", dir.path().to_str().unwrap()), ("APP_NAME", "Acme Checks")]).await;
    sign_up(&app, "override@example.com", "ada").await;
    let mail = last_mail_to(&app, "override@example.com").await;
    assert_eq!(mail.subject, "Acme Checks says hi to Ada");
    assert!(mail.text.starts_with("OPERATOR TEXT for override@example.com\n"), "{}", mail.text);
    // The built-in welcome.html, inside the operator's layout.
    assert!(mail.html.contains("OPERATOR LAYOUT Acme Checks"), "{}", mail.html);
    assert!(mail.html.contains("Thanks for signing up!"), "{}", mail.html);
    // The code read from the operator's text still activates.
    let code = app.last_code_for("override@example.com").await;
    assert!(mail.html.contains(&format!("<b>{code}</b>")));
    app.post("/users/override@example.com/activate", None, Some(json!({"code": code})))
        .await
        .assert_success(200, "User activated successfully.");
}

#[tokio::test]
async fn the_sandbox_mailbox_keeps_the_operator_mail() {
    let dir = operator_templates();
    let app = TestApp::sandbox(&[("EMAIL_TEMPLATES_DIR", dir.path().to_str().unwrap())]).await;
    sign_up(&app, "sandboxed@example.com", "ada").await;
    let mails = app.get("/sandbox/mailbox/sandboxed@example.com", None).await;
    let mail = &mails.data()[0];
    assert_eq!(mail["subject"], "Clara says hi to Ada");
    let code = mail["code"].as_str().unwrap();
    assert_eq!(
        mail["text"],
        format!("OPERATOR TEXT for sandboxed@example.com\n\n    {code}\n\nAsk no-reply@clara.local")
    );
    // The HTML body too: the operator's layout around the built-in welcome block.
    let html = mail["html"].as_str().expect("an html body");
    assert!(html.starts_with("<html><body><p>OPERATOR LAYOUT Clara</p>"), "{html}");
    assert!(html.contains("Thanks for signing up!") && html.contains(&format!("<b>{code}</b>")), "{html}");
}

#[tokio::test]
async fn the_mailbox_html_is_the_html_smtp_sends() {
    let brand =
        [("APP_NAME", "Acme Checks"), ("APP_URL", "https://acme.test/app"), ("SUPPORT_EMAIL", "help@acme.test")];
    let smtp = TestApp::with_env(&brand).await;
    let sandbox = TestApp::sandbox(&brand).await;
    for app in [&smtp, &sandbox] {
        sign_up(app, "twin@example.com", "ada").await;
    }
    let sent = last_mail_to(&smtp, "twin@example.com").await;
    let sent_code = smtp.last_code_for("twin@example.com").await;
    let mails = sandbox.get("/sandbox/mailbox/twin@example.com", None).await;
    let kept = &mails.data()[0];
    let kept_code = kept["code"].as_str().unwrap();
    let kept_html = kept["html"].as_str().expect("an html body");
    assert!(kept_html.contains("Acme Checks") && kept_html.contains(kept_code), "{kept_html}");
    // The same document but for the code (each server drew its own).
    let normalise = |html: &str, code: &str| html.replace(code, "CODE").replace("\r\n", "\n").trim_end().to_string();
    assert_eq!(normalise(kept_html, kept_code), normalise(&sent.html, &sent_code));
}

fn config_with_templates(dir: &std::path::Path, work: &std::path::Path) -> Config {
    let vars: HashMap<String, String> = [
        ("DATABASE_URL", format!("sqlite://{}?mode=rwc", work.join("clara.db").display())),
        ("ATTACHMENTS_DIR", work.join("attachments").display().to_string()),
        ("EMAIL_TEMPLATES_DIR", dir.display().to_string()),
        ("BCRYPT_COST", "4".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    Config::from_map(&vars).expect("configuration parses")
}

#[tokio::test]
async fn a_broken_template_stops_the_start_with_its_file_and_line() {
    let work = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("two_factor_auth.html");
    std::fs::write(&file, "{% extends \"base.html\" %}\n{% block intro %}Hi {{ first_name }{% endblock %}\n").unwrap();
    let err =
        build_state(config_with_templates(dir.path(), work.path()), Clock::default()).await.err().expect("refused");
    let message = err.to_string();
    assert!(message.starts_with(&format!("EMAIL_TEMPLATES_DIR: {} line 2: syntax error", file.display())), "{message}");
    // Refused before the database was touched.
    assert!(!work.path().join("clara.db").exists());

    // A template that compiles but cannot render (a misspelt variable) is refused too.
    std::fs::write(&file, "{% extends \"base.html\" %}\n\n{% block intro %}Hi {{ frist_name }}{% endblock %}\n")
        .unwrap();
    let message =
        build_state(config_with_templates(dir.path(), work.path()), Clock::default()).await.err().unwrap().to_string();
    assert!(
        message.starts_with(&format!("EMAIL_TEMPLATES_DIR: {} line 3: undefined value", file.display())),
        "{message}"
    );

    // So is a file no template is called (a typo would otherwise be ignored).
    std::fs::remove_file(&file).unwrap();
    std::fs::write(dir.path().join("two_factor.html"), "x").unwrap();
    let message =
        build_state(config_with_templates(dir.path(), work.path()), Clock::default()).await.err().unwrap().to_string();
    assert!(message.contains("two_factor.html: not a template name"), "{message}");
}

#[test]
fn render_emails_writes_every_kind_and_refuses_a_broken_directory() {
    let out = tempfile::tempdir().unwrap();
    let binary = env!("CARGO_BIN_EXE_clara-backend");
    let run = std::process::Command::new(binary)
        .args(["render-emails", "--out"])
        .arg(out.path())
        .env("APP_NAME", "Acme Checks")
        .env_remove("EMAIL_TEMPLATES_DIR")
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    for kind in ["welcome", "activation", "two_factor_auth", "change_password", "delete_account"] {
        let html = std::fs::read_to_string(out.path().join(format!("{kind}.html"))).unwrap();
        assert!(html.contains("Acme Checks") && html.starts_with("<!DOCTYPE html>"), "{kind}");
        let text = std::fs::read_to_string(out.path().join(format!("{kind}.txt"))).unwrap();
        assert!(text.starts_with("Subject: ") && text.contains("Acme Checks"), "{kind}");
    }

    let broken = tempfile::tempdir().unwrap();
    std::fs::write(broken.path().join("base.txt"), "ok\n{% if %}\n").unwrap();
    let run = std::process::Command::new(binary)
        .args(["render-emails", "--out"])
        .arg(out.path())
        .env("EMAIL_TEMPLATES_DIR", broken.path())
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains(&format!("{} line 2: syntax error", broken.path().join("base.txt").display())), "{stderr}");
}
