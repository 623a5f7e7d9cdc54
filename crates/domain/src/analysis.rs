//! The analysis result: what the model concluded, the sources the server retrieved behind it,
//! and the kinds of step the agent records on the way. One definition, used by the agent that
//! produces it, the task row that stores it (as JSON), and the API that shows it.

use serde::{Deserialize, Serialize};

// The model's verdict on a claim (no doc comment: the spec describes the enum itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum), oai(rename_all = "SCREAMING_SNAKE_CASE"))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    True,
    False,
    Misleading,
    Unverifiable,
    NotAClaim,
}

impl Verdict {
    /// The wire name, e.g. `NOT_A_CLAIM`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::True => "TRUE",
            Self::False => "FALSE",
            Self::Misleading => "MISLEADING",
            Self::Unverifiable => "UNVERIFIABLE",
            Self::NotAClaim => "NOT_A_CLAIM",
        }
    }
}

// The model's answer parses into this type too (strictly: no field it was not asked for
// beyond `citations`, which the server replaces with its own before storing).
/// What the agent concluded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
#[serde(deny_unknown_fields)]
pub struct AnalysisResult {
    pub verdict: Verdict,
    /// 0 to 1.
    pub confidence: f64,
    pub summary: String,
    /// The specific points established.
    pub findings: Vec<String>,
    /// The URLs behind the findings: only pages the server retrieved for this task.
    pub sources: Vec<String>,
    /// What each source said, as retrieved: one per source, in the same order.
    #[serde(default)]
    pub citations: Vec<Citation>,
}

impl AnalysisResult {
    /// Parses and checks a verdict given as JSON text (the model's answer, a stored row).
    pub fn parse(text: &str) -> Result<Self, String> {
        let result: Self = serde_json::from_str(text.trim()).map_err(|e| format!("content does not fit ({e})"))?;
        if !(0.0..=1.0).contains(&result.confidence) {
            return Err("confidence is outside 0..1".into());
        }
        if result.summary.trim().is_empty() {
            return Err("summary is empty".into());
        }
        Ok(result)
    }
}

/// A source the server retrieved for the task, and the passage the verdict rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct Citation {
    pub url: String,
    pub title: String,
    /// A passage of the retrieved text (not the model's words).
    pub excerpt: String,
    /// HTTP date of the retrieval.
    pub retrieved_at: String,
}

/// What kind of thing the agent did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum), oai(rename_all = "lowercase"))]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    /// A web or fact-check search.
    Search,
    /// A page or document retrieved.
    Fetch,
    /// The model thinking, or the server checking its answer.
    Reason,
    /// The verdict.
    Conclude,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verdict_parses_checked_and_keeps_its_wire_names() {
        let text = r#"{"verdict":"NOT_A_CLAIM","confidence":0.5,"summary":"s","findings":[],"sources":[]}"#;
        let result = AnalysisResult::parse(text).unwrap();
        assert_eq!(result.verdict.as_str(), "NOT_A_CLAIM");
        assert!(result.citations.is_empty());
        assert!(AnalysisResult::parse(&text.replace("0.5", "1.5")).unwrap_err().contains("0..1"));
        assert!(AnalysisResult::parse(&text.replace(r#""s""#, r#"" ""#)).unwrap_err().contains("empty"));
        assert!(AnalysisResult::parse(&text.replace("[]}", r#"[],"extra":1}"#)).is_err());
        assert_eq!(serde_json::to_value(result.verdict).unwrap(), "NOT_A_CLAIM");
    }
}
