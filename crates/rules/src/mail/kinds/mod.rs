//! One file per kind of mail: what its templates are given, what it must show, and a
//! sample of it. A kind's templates are `templates/email/<name>.subject.txt`, `<name>.txt`
//! and `<name>.html`, each overridable from `EMAIL_TEMPLATES_DIR`.
//!
//! To add a kind: a file here implementing [`Kind`] with its templates' names in a
//! `TEMPLATES` list, its three templates, and a line in [`built_in`] and [`samples`].

mod code;
mod passkey_added;

use minijinja::Value;

pub use self::{
    code::{CodeMail, SAMPLE_CODE},
    passkey_added::{PasskeyAdded, SAMPLE_PASSKEY_NAME},
};

/// A kind of mail, with what this one says.
pub trait Kind {
    /// The stem of its template files.
    fn name(&self) -> &'static str;

    /// What its templates are given besides the brand, the kind and the recipient.
    fn context(&self) -> Value;

    /// What every rendering of it must show (checked when the templates load): the value,
    /// and how a template writes it.
    fn must_show(&self) -> (String, &'static str);

    /// Written to the log instead of the mail when there is no SMTP server.
    fn log_line(&self, to: &str) -> String;

    /// The one-time code it carries and the code's type, kept apart for the sandbox's
    /// mailbox.
    fn code(&self) -> Option<(String, String)> {
        None
    }
}

/// The layouts the kinds extend: `base.*` for the mails with a code, `notice.*` for the
/// notices (kept apart so that an operator's `base.*`, which shows a code, needs no change).
const LAYOUTS: &[(&str, &str)] = &[
    ("base.html", include_str!("../../../../../templates/email/base.html")),
    ("base.txt", include_str!("../../../../../templates/email/base.txt")),
    ("notice.html", include_str!("../../../../../templates/email/notice.html")),
    ("notice.txt", include_str!("../../../../../templates/email/notice.txt")),
];

/// Every built-in template, by file name: the layouts, then each kind's.
pub fn built_in() -> impl Iterator<Item = (&'static str, &'static str)> {
    [LAYOUTS, code::TEMPLATES, passkey_added::TEMPLATES].into_iter().flatten().copied()
}

/// How many layouts there are (the rest of [`built_in`] is three files a kind).
pub const LAYOUT_COUNT: usize = LAYOUTS.len();

/// Every kind, with sample data (codes living `ttl_minutes`): each is rendered when the
/// templates load, and by `render-emails`.
pub fn samples(ttl_minutes: u64) -> Vec<Box<dyn Kind>> {
    let mut kinds: Vec<Box<dyn Kind>> = code::samples(ttl_minutes);
    kinds.push(Box::new(passkey_added::sample()));
    kinds
}
