//! Sending mail, and what every mail says about the service.

use super::{
    ConfigError, Get, http_url, invalid,
    settings::{Section, Setting},
};

#[derive(Clone, Debug)]
pub struct MailConfig {
    pub smtp_url: Option<String>,
    pub mail_from: String,
    /// The service's name in every e-mail (`APP_NAME`).
    pub app_name: String,
    /// `APP_URL`, linked from every e-mail; None: see `Config::app_url`.
    pub app_url: Option<String>,
    /// The address every e-mail gives for questions (`SUPPORT_EMAIL`; default: `MAIL_FROM`'s).
    pub support_email: String,
    /// Operator templates overriding the built-in ones, file by file (docs/email.md).
    pub email_templates_dir: Option<std::path::PathBuf>,
}

impl MailConfig {
    pub(super) fn parse<'a>(get: &impl Get<'a>) -> Result<Self, ConfigError> {
        let smtp_url = get("SMTP_URL").map(str::to_string);
        if let Some(smtp) = &smtp_url {
            let parsed = url::Url::parse(smtp).map_err(|e| invalid("SMTP_URL", format!("not a URL ({e})")))?;
            if !matches!(parsed.scheme(), "smtp" | "smtps") {
                return Err(invalid("SMTP_URL", "scheme must be smtp:// or smtps://"));
            }
        }
        let mail_from = get("MAIL_FROM").unwrap_or("Clara <no-reply@clara.local>").to_string();
        // `Name <address>` or a bare address; the SMTP adapter parses it again as it sends.
        let Ok(from_mailbox) = mail_from.parse::<email_address::EmailAddress>() else {
            return Err(invalid("MAIL_FROM", format!("`{mail_from}` is not a mailbox")));
        };
        let app_name = get("APP_NAME").unwrap_or("Clara").to_string();
        if app_name.chars().any(char::is_control) || app_name.chars().count() > 100 {
            return Err(invalid("APP_NAME", "must be one line of at most 100 characters"));
        }
        let app_url = get("APP_URL").map(|v| http_url(v, "APP_URL")).transpose()?;
        let support_email = match get("SUPPORT_EMAIL") {
            None => from_mailbox.email(),
            Some(v) => email_address::EmailAddress::parse_with_options(
                v,
                email_address::Options::default().without_display_text(),
            )
            .map_err(|_| invalid("SUPPORT_EMAIL", format!("`{v}` is not an e-mail address")))?
            .email(),
        };
        let email_templates_dir = get("EMAIL_TEMPLATES_DIR").map(std::path::PathBuf::from);
        Ok(Self { smtp_url, mail_from, app_name, app_url, support_email, email_templates_dir })
    }
}

/// The settings of `docs/configuration.md`'s section "Mail".
pub const SECTION: Section = Section {
    title: "Mail",
    settings: &[
        Setting {
            variable: "SMTP_URL",
            default: "unset: codes are written to the log",
            meaning: "e.g. `smtp://127.0.0.1:2525` (plain) or `smtps://user:pass@host:465`",
        },
        Setting {
            variable: "MAIL_FROM",
            default: "`Clara <no-reply@clara.local>`",
            meaning: "sender mailbox of outgoing mail (must parse as a mailbox)",
        },
        Setting {
            variable: "APP_NAME",
            default: "`Clara`",
            meaning: "the service's name in every e-mail (one line, at most 100 characters) ([email.md](email.md))",
        },
        Setting {
            variable: "APP_URL",
            default: "`CLIENT_URL`, else `PUBLIC_URL`, else `http://<HOST>:<PORT>`",
            meaning: "the address every e-mail links to (an http(s) URL)",
        },
        Setting {
            variable: "SUPPORT_EMAIL",
            default: "the address of `MAIL_FROM`",
            meaning: "the address every e-mail gives for questions; set it when `MAIL_FROM` is a no-reply address",
        },
        Setting {
            variable: "EMAIL_TEMPLATES_DIR",
            default: "unset (the built-in templates)",
            meaning: "a directory whose files replace built-in e-mail templates of the same name (`welcome.html`, `base.html`, ...). Every template is compiled and rendered at start-up: a broken one, or a file with an unknown name, stops the start with the file and line ([email.md](email.md))",
        },
    ],
};
