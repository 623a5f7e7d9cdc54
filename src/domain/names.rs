use super::ParseError;

/// A first or last name: 1 to 50 characters after trimming, title-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let trimmed = raw.trim();
        let count = trimmed.chars().count();
        if count == 0 || count > 50 || trimmed.chars().any(char::is_control) {
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
}
