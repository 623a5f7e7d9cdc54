//! What the server retrieved for one task, and the grounding of the model's answer in it:
//! a source survives only if it was retrieved here, and its citation quotes the retrieved
//! text, never the model.

use std::collections::BTreeMap;

use domain::analysis::Citation;

/// Longest excerpt quoted in a citation, in characters.
const EXCERPT_CHARS: usize = 300;

/// One retrieved document: a page or document fetched, or a fact-check review returned by
/// the fact-check service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retrieved {
    pub url: String,
    pub title: String,
    pub text: String,
    /// Unix microseconds.
    pub retrieved_at: i64,
}

#[derive(Debug, Default)]
pub struct Evidence {
    /// By normalised URL.
    documents: BTreeMap<String, Retrieved>,
}

/// The form URLs are compared in: no fragment, no trailing slash, scheme and host lower-cased.
pub fn normalise(url: &str) -> String {
    match url::Url::parse(url.trim()) {
        Ok(mut parsed) => {
            parsed.set_fragment(None);
            parsed.as_str().trim_end_matches('/').to_string()
        }
        Err(_) => url.trim().trim_end_matches('/').to_string(),
    }
}

impl Evidence {
    pub fn add(&mut self, document: Retrieved) {
        self.documents.insert(normalise(&document.url), document);
    }

    pub fn get(&self, url: &str) -> Option<&Retrieved> {
        self.documents.get(&normalise(url))
    }

    pub fn len(&self) -> usize {
        self.documents.len()
    }

    pub fn is_empty(&self) -> bool {
        self.documents.is_empty()
    }

    /// Splits the model's sources into those retrieved here (deduplicated, in the model's
    /// order) and those that were not (dropped).
    pub fn ground(&self, sources: &[String]) -> (Vec<&Retrieved>, Vec<String>) {
        let mut kept: Vec<&Retrieved> = vec![];
        let mut dropped = vec![];
        for source in sources {
            match self.get(source) {
                Some(document) if !kept.iter().any(|k| k.url == document.url) => kept.push(document),
                Some(_) => {}
                None => dropped.push(source.clone()),
            }
        }
        (kept, dropped)
    }
}

/// The passage of `text` that shares the most words with `claim` (the summary and
/// findings), cut to [`EXCERPT_CHARS`] on a character boundary.
pub fn excerpt(text: &str, claim: &str) -> String {
    let words = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric()).filter(|w| w.chars().count() > 3).map(str::to_lowercase).collect()
    };
    let wanted: std::collections::HashSet<String> = words(claim).into_iter().collect();
    let passages = text.split(['\n', '.']).map(str::trim).filter(|p| p.chars().count() > 20);
    let best = passages
        .max_by_key(|passage| words(passage).iter().filter(|w| wanted.contains(*w)).count())
        .unwrap_or_else(|| text.trim());
    let mut cut: String = best.chars().take(EXCERPT_CHARS).collect();
    if best.chars().count() > EXCERPT_CHARS {
        cut.push('…');
    }
    cut
}

/// The citation of a retrieved document for `claim`.
pub fn cite(document: &Retrieved, claim: &str) -> Citation {
    Citation {
        url: document.url.clone(),
        title: document.title.clone(),
        excerpt: excerpt(&document.text, claim),
        retrieved_at: crate::domain::http_date(document.retrieved_at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(url: &str, text: &str) -> Retrieved {
        Retrieved { url: url.into(), title: "T".into(), text: text.into(), retrieved_at: 0 }
    }

    #[test]
    fn only_retrieved_sources_survive() {
        let mut evidence = Evidence::default();
        evidence.add(page("https://example.org/a/", "x"));
        let sources = vec![
            "https://EXAMPLE.org/a#section".to_string(),
            "https://invented.example/b".to_string(),
            "https://example.org/a".to_string(),
        ];
        let (kept, dropped) = evidence.ground(&sources);
        assert_eq!(kept.len(), 1);
        assert_eq!(dropped, vec!["https://invented.example/b".to_string()]);
    }

    #[test]
    fn the_excerpt_is_the_passage_about_the_claim() {
        let text = "Welcome to our site, enjoy your stay here.\nThe tower was completed in March 1889 for the World's Fair.\nContact us for tickets and opening hours.";
        let quoted = excerpt(text, "The Eiffel tower was completed in 1889");
        assert_eq!(quoted, "The tower was completed in March 1889 for the World's Fair");
        let long = "word ".repeat(200);
        assert!(excerpt(&long, "word").chars().count() <= EXCERPT_CHARS + 1);
    }
}
