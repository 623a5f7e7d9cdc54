//! The settings as `docs/configuration.md` lists them. Each section's table is written
//! beside the code that parses it (`config/<section>.rs`), and the document's tables for
//! those sections are generated from them: `tests::the_configuration_document_is_generated`
//! fails when they differ, and rewrites the document with `CLARA_WRITE_DOCS=1`.

use super::{accounts, agent, analyses, billing, http, mail, sign_in, storage, webhooks};

/// One environment variable: its name, its default as the document says it, and what it does.
pub struct Setting {
    pub variable: &'static str,
    pub default: &'static str,
    pub meaning: &'static str,
}

/// A section of `docs/configuration.md` whose table is generated.
pub struct Section {
    pub title: &'static str,
    pub settings: &'static [Setting],
}

/// The generated sections, in the document's order. The document's other sections (logs
/// and traces, the sandbox, what libraries and the tests read) are written by hand.
pub const SECTIONS: &[&Section] = &[
    &http::SECTION,
    &storage::DATABASE,
    &storage::REDIS,
    &accounts::SECTION,
    &mail::SECTION,
    &billing::SECTION,
    &sign_in::SECTION,
    &agent::SECTION,
    &analyses::SECTION,
    &webhooks::SECTION,
];

impl Section {
    /// The section's table, as the document shows it.
    pub fn table(&self) -> String {
        let mut table = String::from("| variable | default | meaning |\n|---|---|---|\n");
        for setting in self.settings {
            table.push_str(&format!("| `{}` | {} | {} |\n", setting.variable, setting.default, setting.meaning));
        }
        table
    }
}

/// `document` with the table of each generated section replaced by the section's own.
pub fn regenerate(document: &str) -> String {
    let mut out = String::new();
    let mut rest = document;
    for section in SECTIONS {
        let heading = format!("## {}\n", section.title);
        let Some(at) = rest.find(&heading) else {
            panic!("docs/configuration.md has no section {}", section.title);
        };
        let table_start = at + rest[at..].find("| variable |").expect("a section has a table");
        let table_end = table_start + rest[table_start..].find("\n\n").unwrap_or(rest.len() - table_start) + 1;
        out.push_str(&rest[..table_start]);
        out.push_str(&section.table());
        rest = &rest[table_end..];
    }
    out.push_str(rest);
    out
}
