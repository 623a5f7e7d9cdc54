//! The e-mails' words and looks: minijinja templates, a subject, a plain-text body and an HTML
//! body per kind of mail, built into the binary from `templates/email/` and overridable file by
//! file from `EMAIL_TEMPLATES_DIR` (docs/email.md).
//!
//! Everything is compiled and every kind rendered once with sample data at start-up, so a
//! broken template stops the start with its file and line instead of failing a sign-up later.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value, context};

use super::{
    Mail, MailError,
    kinds::{self, Kind},
};
use crate::config::Config;

/// Every template file name the server knows, layouts first.
pub fn template_names() -> Vec<String> {
    kinds::built_in().map(|(name, _)| name.to_string()).collect()
}

/// A template that does not compile or render, or an override directory that cannot be used.
/// The message names the file (and the line, where the engine knows it).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub String);

/// What every mail says about the service: `APP_NAME`, `APP_URL`, `SUPPORT_EMAIL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brand {
    pub app_name: String,
    pub app_url: String,
    pub support_email: String,
}

impl Brand {
    pub fn from_config(config: &Config) -> Self {
        Self {
            app_name: config.mail.app_name.clone(),
            app_url: config.app_url(),
            support_email: config.mail.support_email.clone(),
        }
    }
}

/// A kind with sample data, and how it renders.
pub type Sample = (Box<dyn Kind>, Rendered);

/// One rendered mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The compiled templates with the brand they are rendered with.
pub struct MailTemplates {
    env: Environment<'static>,
    brand: Brand,
    /// Where each template came from, for error messages: an operator's file, or built in.
    origins: BTreeMap<String, Origin>,
}

#[derive(Debug, Clone)]
enum Origin {
    BuiltIn,
    Operator(PathBuf),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BuiltIn => write!(f, "built-in e-mail template"),
            Self::Operator(path) => write!(f, "EMAIL_TEMPLATES_DIR: {}", path.display()),
        }
    }
}

/// The recipient a sample is rendered for, at start-up and by `render-emails`.
const SAMPLE_FIRST_NAME: &str = "Ada";
const SAMPLE_EMAIL: &str = "ada@example.com";

impl MailTemplates {
    /// The built-ins, overridden by `EMAIL_TEMPLATES_DIR`, checked by rendering every kind once.
    pub fn from_config(config: &Config) -> Result<Self, TemplateError> {
        let dir = config.mail.email_templates_dir.as_deref();
        let templates = Self::load(Brand::from_config(config), dir, config.accounts.otp_ttl.as_secs() / 60)?;
        if let Some(dir) = dir {
            let overridden: Vec<&str> = templates
                .origins
                .iter()
                .filter(|(_, o)| matches!(o, Origin::Operator(_)))
                .map(|(n, _)| n.as_str())
                .collect();
            let list = if overridden.is_empty() { "none (all built in)".to_string() } else { overridden.join(", ") };
            tracing::info!(dir = %dir.display(), "e-mail templates from EMAIL_TEMPLATES_DIR: {list}");
        }
        Ok(templates)
    }

    /// The built-ins, overridden by the files of `dir`, checked by rendering every kind once
    /// (with codes living `ttl_minutes`).
    pub fn load(brand: Brand, dir: Option<&Path>, ttl_minutes: u64) -> Result<Self, TemplateError> {
        let mut sources: BTreeMap<String, (String, Origin)> =
            kinds::built_in().map(|(name, source)| (name.to_string(), (source.to_string(), Origin::BuiltIn))).collect();
        if let Some(dir) = dir {
            for (name, path, source) in read_overrides(dir)? {
                sources.insert(name, (source, Origin::Operator(path)));
            }
        }
        let mut env = Environment::new();
        // Templates are picked by name: `.html` is escaped for HTML, `.txt` is not.
        env.set_auto_escape_callback(|name| if name.ends_with(".html") { AutoEscape::Html } else { AutoEscape::None });
        // A misspelt variable is an error (found at start-up), not an empty gap in a mail;
        // `{% if name %}` on an unknown name stays allowed.
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        // The engine's HTML escaping also writes `/` as `&#x2f;`, which is safe but garbles
        // links in the source some clients show: `& < > " '` are enough in content and in
        // quoted attributes.
        env.set_formatter(|out, state, value| {
            if matches!(state.auto_escape(), AutoEscape::Html)
                && !value.is_safe()
                && !value.is_undefined()
                && !value.is_none()
                && let Some(text) = value.as_str()
            {
                return out.write_str(&crate::domain::escape_html(text)).map_err(minijinja::Error::from);
            }
            minijinja::escape_formatter(out, state, value)
        });
        let mut origins = BTreeMap::new();
        for (name, (source, origin)) in sources {
            if let Err(err) = env.add_template_owned(name.clone(), source) {
                return Err(TemplateError(describe(&err, &origin, &name, None)));
            }
            origins.insert(name, origin);
        }
        let templates = Self { env, brand, origins };
        for (kind, rendered) in templates.samples(ttl_minutes)? {
            // A code mail must show its code; a passkey notice, the passkey's name.
            let (needle, variable) = kind.must_show();
            for (part, body) in [("txt", &rendered.text), ("html", &rendered.html)] {
                if !body.contains(&needle) {
                    let name = format!("{}.{part}", kind.name());
                    return Err(TemplateError(format!(
                        "{}: does not show {variable}",
                        templates.origin_of(&name, &name)
                    )));
                }
            }
        }
        Ok(templates)
    }

    pub fn brand(&self) -> &Brand {
        &self.brand
    }

    /// Whether `name` comes from the operator's directory.
    pub fn is_overridden(&self, name: &str) -> bool {
        matches!(self.origins.get(name), Some(Origin::Operator(_)))
    }

    /// The subject, text and HTML of `kind` to `email`.
    pub fn render(&self, kind: &dyn Kind, email: &str, first_name: &str) -> Result<Rendered, TemplateError> {
        let name = kind.name();
        let base = context! {
            app_name => &self.brand.app_name,
            app_url => &self.brand.app_url,
            support_email => &self.brand.support_email,
            kind => name,
            email => email,
            first_name => first_name,
            ..kind.context()
        };
        let subject_name = format!("{name}.subject.txt");
        let subject = self.render_one(&subject_name, base.clone())?;
        // One line, whatever the template's line breaks: a header cannot hold more.
        let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
        if subject.is_empty() {
            return Err(TemplateError(format!(
                "{}: renders an empty subject",
                self.origin_of(&subject_name, &subject_name)
            )));
        }
        let with_subject = context! { subject => &subject, ..base };
        let text = self.render_one(&format!("{name}.txt"), with_subject.clone())?;
        let html = self.render_one(&format!("{name}.html"), with_subject)?;
        Ok(Rendered { subject, text, html })
    }

    /// `kind` as a mail to `to`.
    pub fn mail(&self, kind: &dyn Kind, to: &str, first_name: &str) -> Result<Mail, TemplateError> {
        let Rendered { subject, text, html } = self.render(kind, to, first_name)?;
        Ok(Mail { to: to.to_string(), subject, text, html, log_line: kind.log_line(to), code: kind.code() })
    }

    /// Every kind rendered with sample data (`render-emails`, the screenshots in CI).
    pub fn samples(&self, ttl_minutes: u64) -> Result<Vec<Sample>, TemplateError> {
        kinds::samples(ttl_minutes)
            .into_iter()
            .map(|kind| {
                let rendered = self.render(kind.as_ref(), SAMPLE_EMAIL, SAMPLE_FIRST_NAME)?;
                Ok((kind, rendered))
            })
            .collect()
    }

    fn render_one(&self, name: &str, ctx: Value) -> Result<String, TemplateError> {
        let render = self.env.get_template(name).and_then(|template| template.render(ctx));
        render.map_err(|err| {
            let failing = err.name().unwrap_or(name).to_string();
            let origin = self.origins.get(&failing).unwrap_or(&Origin::BuiltIn);
            TemplateError(describe(&err, origin, &failing, Some(name)))
        })
    }

    fn origin_of(&self, name: &str, fallback: &str) -> String {
        match self.origins.get(name) {
            Some(Origin::Operator(path)) => format!("EMAIL_TEMPLATES_DIR: {}", path.display()),
            _ => format!("built-in e-mail template {fallback}"),
        }
    }
}

/// `clara-backend render-emails --out DIR`: every kind as configured (brand, overrides),
/// rendered with sample data into `DIR/<kind>.html` and `DIR/<kind>.txt` (the subject on its
/// first line), to look at in a browser or screenshot (`.ci/emails.sh`). Returns the files.
pub fn write_samples(config: &Config, dir: &Path) -> Result<Vec<PathBuf>, TemplateError> {
    let ttl_minutes = config.accounts.otp_ttl.as_secs() / 60;
    let templates = MailTemplates::from_config(config)?;
    let cannot = |path: &Path, e: std::io::Error| TemplateError(format!("cannot write {}: {e}", path.display()));
    std::fs::create_dir_all(dir).map_err(|e| cannot(dir, e))?;
    let mut files = vec![];
    for (kind, mail) in templates.samples(ttl_minutes)? {
        let html = dir.join(format!("{}.html", kind.name()));
        std::fs::write(&html, &mail.html).map_err(|e| cannot(&html, e))?;
        let text = dir.join(format!("{}.txt", kind.name()));
        std::fs::write(&text, format!("Subject: {}\n\n{}\n", mail.subject, mail.text)).map_err(|e| cannot(&text, e))?;
        files.extend([html, text]);
    }
    Ok(files)
}

/// `<file> line <n>: <what>`, and the template being rendered when another one failed.
fn describe(err: &minijinja::Error, origin: &Origin, name: &str, rendering: Option<&str>) -> String {
    let place = match origin {
        Origin::BuiltIn => format!("{origin} {name}"),
        Origin::Operator(_) => origin.to_string(),
    };
    let line = err.line().map(|line| format!(" line {line}")).unwrap_or_default();
    let what = match err.detail() {
        Some(detail) => format!("{}: {detail}", err.kind()),
        None => err.kind().to_string(),
    };
    let during = match rendering {
        Some(rendering) if rendering != name => format!(" (rendering {rendering})"),
        _ => String::new(),
    };
    format!("{place}{line}: {what}{during}")
}

/// The files of the override directory: each must be named like a built-in template (a
/// misspelt name would otherwise be silently ignored); names starting with `.` are skipped.
fn read_overrides(dir: &Path) -> Result<Vec<(String, PathBuf, String)>, TemplateError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| TemplateError(format!("EMAIL_TEMPLATES_DIR: cannot read {}: {e}", dir.display())))?;
    let known = template_names();
    let mut found = vec![];
    for entry in entries {
        let entry =
            entry.map_err(|e| TemplateError(format!("EMAIL_TEMPLATES_DIR: cannot read {}: {e}", dir.display())))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if !known.contains(&name) {
            return Err(TemplateError(format!(
                "EMAIL_TEMPLATES_DIR: {}: not a template name (expected one of {})",
                path.display(),
                known.join(", ")
            )));
        }
        let source = std::fs::read_to_string(&path)
            .map_err(|e| TemplateError(format!("EMAIL_TEMPLATES_DIR: cannot read {}: {e}", path.display())))?;
        found.push((name, path, source));
    }
    found.sort();
    Ok(found)
}

impl From<TemplateError> for MailError {
    fn from(err: TemplateError) -> Self {
        Self(format!("template: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        domain::OtpType,
        mail::kinds::{CodeMail, PasskeyAdded, SAMPLE_CODE},
    };

    fn code(otp_type: OtpType, welcome: bool, code: &str, ttl_minutes: u64) -> CodeMail {
        CodeMail::new(otp_type, welcome, code, ttl_minutes)
    }

    fn brand() -> Brand {
        Brand {
            app_name: "Acme Checks".into(),
            app_url: "https://app.acme.test/start".into(),
            support_email: "help@acme.test".into(),
        }
    }

    fn built_in() -> MailTemplates {
        MailTemplates::load(brand(), None, 10).unwrap()
    }

    #[test]
    fn every_kind_says_who_sends_it_in_text_and_html() {
        let templates = built_in();
        for (kind, mail) in templates.samples(10).unwrap() {
            let (must_show, _) = kind.must_show();
            let mut shown = vec![must_show.as_str()];
            if kind.code().is_some() {
                shown.push("10 minutes");
            }
            for (part, body) in [("text", &mail.text), ("html", &mail.html)] {
                for needle in ["Acme Checks", "https://app.acme.test/start", "help@acme.test"].iter().chain(&shown) {
                    assert!(body.contains(needle), "{} {part} lacks {needle}:\n{body}", kind.name());
                }
                assert!(!body.contains("Clara"), "{} {part} names Clara:\n{body}", kind.name());
            }
            assert!(mail.subject.contains("Acme Checks"), "{}: {}", kind.name(), mail.subject);
            assert!(!mail.subject.contains('\n'));
            assert!(mail.html.contains("mailto:help@acme.test"), "{}", kind.name());
            assert!(mail.html.contains(r#"href="https://app.acme.test/start""#), "{}", kind.name());
            // The plain text is ASCII (sent unencoded), with the code alone on an indented line.
            assert!(mail.text.is_ascii(), "{}", kind.name());
            assert!(mail.text.contains(&format!("\n    {}\n", shown[0])), "{}", kind.name());
        }
    }

    #[test]
    fn welcome_keeps_its_wording() {
        let mail = built_in().render(&code(OtpType::Activation, true, "245522", 10), "ada@example.com", "Ada").unwrap();
        assert_eq!(mail.subject, "Welcome to Acme Checks: activate your account");
        assert!(mail.text.starts_with(
            "Hello Ada,\n\nWelcome to Acme Checks! Use this code to activate your account:\n\n    245522\n\nIt expires in 10 minutes"
        ));
    }

    #[test]
    fn html_escapes_the_name_and_text_keeps_it() {
        let name = r#"<script>alert("x")</script> & 'co'"#;
        let mail = built_in().render(&code(OtpType::TwoFactorAuth, false, "123456", 5), "a@example.com", name).unwrap();
        assert!(!mail.html.contains("<script>"), "{}", mail.html);
        assert!(mail.html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;"));
        assert!(mail.text.contains(&format!("Hello {name},")));
    }

    #[test]
    fn code_mail_keeps_the_code_apart_for_the_sandbox() {
        let mail =
            built_in().mail(&code(OtpType::ChangePassword, false, "654321", 10), "ada@example.com", "Ada").unwrap();
        assert_eq!(mail.code, Some(("CHANGE_PASSWORD".to_string(), "654321".to_string())));
        assert!(mail.subject.contains("654321"));
        assert!(mail.log_line.contains("654321"));
    }

    #[test]
    fn the_passkey_notice_names_the_passkey_and_carries_no_code() {
        let name = "<b>Phone</b>";
        let mail = built_in().mail(&PasskeyAdded { passkey_name: name.into() }, "ada@example.com", "Ada").unwrap();
        assert_eq!(mail.subject, "A passkey was added to your Acme Checks account");
        assert_eq!(mail.code, None);
        assert!(mail.text.contains("\n    <b>Phone</b>\n"), "{}", mail.text);
        assert!(mail.html.contains("&lt;b&gt;Phone&lt;/b&gt;") && !mail.html.contains("<b>Phone"), "{}", mail.html);
        assert!(!mail.text.contains(SAMPLE_CODE) && !mail.html.contains("expires"), "{}", mail.html);
    }

    #[test]
    fn kinds_follow_the_code_type() {
        let names: Vec<&str> = kinds::samples(10).iter().map(|kind| kind.name()).collect();
        let expected =
            ["welcome", "activation", "two_factor_auth", "change_password", "delete_account", "passkey_added"];
        assert_eq!(names, expected);
        assert_eq!(code(OtpType::Activation, true, "1", 10).name(), "welcome");
        assert_eq!(code(OtpType::Activation, false, "1", 10).name(), "activation");
        assert_eq!(template_names().len(), kinds::LAYOUT_COUNT + 3 * names.len());
        for name in names {
            for part in ["subject.txt", "txt", "html"] {
                assert!(template_names().contains(&format!("{name}.{part}")), "{name}.{part}");
            }
        }
    }

    #[test]
    fn an_override_replaces_one_file_and_the_rest_stay_built_in() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("activation.subject.txt"), "{{ app_name }} code {{ code }}\n").unwrap();
        std::fs::write(
            dir.path().join("base.txt"),
            "Hi {{ first_name }}: {% block intro %}{% endblock %} {{ code }} / {{ support_email }}",
        )
        .unwrap();
        std::fs::write(dir.path().join(".keep"), "not a template").unwrap();
        let templates = MailTemplates::load(brand(), Some(dir.path()), 10).unwrap();
        assert!(templates.is_overridden("activation.subject.txt") && !templates.is_overridden("activation.html"));
        let mail = templates.render(&code(OtpType::Activation, false, "111222", 10), "a@example.com", "Bo").unwrap();
        assert_eq!(mail.subject, "Acme Checks code 111222");
        assert_eq!(mail.text, "Hi Bo: Use this code to activate your Acme Checks account: 111222 / help@acme.test");
        assert!(mail.html.contains("Activate your account"));
    }

    fn load_err(files: &[(&str, &str)]) -> String {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in files {
            std::fs::write(dir.path().join(name), body).unwrap();
        }
        match MailTemplates::load(brand(), Some(dir.path()), 10) {
            Ok(_) => panic!("{files:?} loaded"),
            Err(err) => err.to_string().replace(&dir.path().display().to_string(), "DIR"),
        }
    }

    #[test]
    fn broken_overrides_name_the_file_and_line() {
        let err = load_err(&[("welcome.html", "{% extends \"base.html\" %}\n{% block intro %}\nHi {{ first_name \n")]);
        assert!(err.starts_with("EMAIL_TEMPLATES_DIR: DIR/welcome.html line 3: syntax error"), "{err}");

        let err = load_err(&[("change_password.txt", "line one\n{{ code }} {{ frist_name }}\n")]);
        assert!(err.starts_with("EMAIL_TEMPLATES_DIR: DIR/change_password.txt line 2: undefined value"), "{err}");

        let err = load_err(&[("base.html", "<p>{{ code | no_such_filter }}</p>")]);
        assert!(err.starts_with("EMAIL_TEMPLATES_DIR: DIR/base.html line 1: "), "{err}");
        assert!(err.contains("rendering welcome.html"), "{err}");

        let err = load_err(&[("delete_account.html", "<p>Hello {{ first_name }}</p>")]);
        assert_eq!(err, "EMAIL_TEMPLATES_DIR: DIR/delete_account.html: does not show the code ({{ code }})");

        let err = load_err(&[("welcome.subject.txt", "  \n")]);
        assert_eq!(err, "EMAIL_TEMPLATES_DIR: DIR/welcome.subject.txt: renders an empty subject");

        let err = load_err(&[("welcom.html", "x")]);
        assert!(err.starts_with("EMAIL_TEMPLATES_DIR: DIR/welcom.html: not a template name (expected one of base.html, base.txt, notice.html, notice.txt, welcome.subject.txt"), "{err}");
    }

    #[test]
    fn a_missing_directory_is_named() {
        let err = MailTemplates::load(brand(), Some(Path::new("/nonexistent/clara-mail")), 10).err().unwrap();
        assert!(err.to_string().starts_with("EMAIL_TEMPLATES_DIR: cannot read /nonexistent/clara-mail: "), "{err}");
    }
}
