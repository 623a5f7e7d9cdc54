use super::ParseError;

/// A first or last name: 1 to 50 characters after trimming, title-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    /// Longest name, in characters (Unicode scalar values, as JSON Schema counts them).
    pub const MAX_CHARS: usize = 50;
    /// The spec's pattern: no control character (Rust's `char::is_control`, i.e. Cc) and
    /// at least one character that is neither a space nor a control, so what is left
    /// after trimming is never empty. With `maxLength` [`Self::MAX_CHARS`], every string
    /// it allows is a name (see the test below).
    pub const SCHEMA_PATTERN: &'static str = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$";

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let trimmed = raw.trim();
        let count = trimmed.chars().count();
        if count == 0 || count > Self::MAX_CHARS || trimmed.chars().any(char::is_control) {
            return Err(ParseError("name must be 1 to 50 characters"));
        }
        Ok(Self(title_case(trimmed)))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Upper-cases the first letter of every word and lower-cases the rest, as Python's
/// `str.title()` (which the original server used) does.
fn title_case(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut previous_is_letter = false;
    for c in value.chars() {
        if previous_is_letter {
            out.extend(c.to_lowercase());
        } else {
            out.extend(c.to_uppercase());
        }
        previous_is_letter = c.is_alphabetic();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_cases_and_bounds() {
        assert_eq!(PersonName::parse("  vIBHANSHU ").unwrap().into_inner(), "Vibhanshu");
        assert_eq!(PersonName::parse("mary-jane o'neil").unwrap().into_inner(), "Mary-Jane O'Neil");
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse(&"é".repeat(50)).is_ok());
        assert!(PersonName::parse(&"é".repeat(51)).is_err());
        assert!(PersonName::parse("a\nb").is_err());
    }

    #[test]
    fn the_schema_pattern_refuses_blank_and_control() {
        let pattern = regex::Regex::new(PersonName::SCHEMA_PATTERN).unwrap();
        for allowed in ["A", " Mary Jane ", "é"] {
            assert!(pattern.is_match(allowed) && PersonName::parse(allowed).is_ok(), "{allowed}");
        }
        for refused in ["", "   ", "a\nb", "\u{85}"] {
            assert!(!pattern.is_match(refused), "{refused:?}");
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Schema ⊆ server: what the pattern and `maxLength` allow is a name.
        #[test]
        fn what_the_schema_allows_is_a_name(
            raw in proptest::string::string_regex(PersonName::SCHEMA_PATTERN.trim_start_matches('^').trim_end_matches('$')).unwrap()
        ) {
            prop_assume!(raw.chars().count() <= PersonName::MAX_CHARS);
            prop_assert!(PersonName::parse(&raw).is_ok(), "{:?}", raw);
        }
    }
}
