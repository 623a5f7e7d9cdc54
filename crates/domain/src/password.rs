use super::ParseError;

/// A new password: 8 to 72 bytes (bcrypt reads no further than 72).
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_BYTES: usize = 8;
    /// bcrypt reads no further.
    pub const MAX_BYTES: usize = 72;

    /// The spec's pattern. JSON Schema counts characters, the rule counts UTF-8 bytes, so
    /// the pattern allows only strings that fit whatever their characters: up to 72 ASCII
    /// characters, 36 of at most two bytes, 24 of the Basic Multilingual Plane, or 18 of
    /// any kind (each alternative is n characters of at most 72/n bytes), never NUL. It
    /// holds whether a validator counts code points or UTF-16 units (a surrogate pair is
    /// two units of four bytes together). So anything the schema allows, the server takes.
    pub fn schema_pattern() -> String {
        let (min, max) = (Self::MIN_BYTES, Self::MAX_BYTES);
        format!(
            r"^(?:[\x01-\x7F]{{{min},{max}}}|[\x01-\u07FF]{{{min},{}}}|[\x01-\uFFFF]{{{min},{}}}|[^\x00]{{{min},{}}})$",
            max / 2,
            max / 3,
            max / 4
        )
    }

    pub fn parse(raw: String) -> Result<Self, ParseError> {
        if (Self::MIN_BYTES..=Self::MAX_BYTES).contains(&raw.len()) && !raw.contains('\0') {
            Ok(Self(raw))
        } else {
            Err(ParseError("password must be 8 to 72 bytes"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_bounds() {
        assert!(Password::parse("1234567".into()).is_err());
        assert!(Password::parse("12345678".into()).is_ok());
        assert!(Password::parse("x".repeat(72)).is_ok());
        assert!(Password::parse("x".repeat(73)).is_err());
        // 18 four-byte characters are 72 bytes; 19 are too many.
        assert!(Password::parse("😀".repeat(18)).is_ok());
        assert!(Password::parse("😀".repeat(19)).is_err());
        assert!(Password::parse("abc\0defgh".into()).is_err());
    }

    #[test]
    fn the_schema_pattern_takes_long_ascii_and_short_anything() {
        let pattern = regex::Regex::new(&Password::schema_pattern()).unwrap();
        for allowed in ["12345678".to_string(), "x".repeat(72), "é".repeat(36), "€".repeat(24), "😀".repeat(18)] {
            assert!(pattern.is_match(&allowed), "{allowed}");
            assert!(Password::parse(allowed).is_ok());
        }
        for refused in ["1234567".to_string(), "x".repeat(73), "é".repeat(37), "😀".repeat(19), "abc\0defgh".into()]
        {
            assert!(!pattern.is_match(&refused), "{refused}");
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn unanchored(pattern: &str) -> &str {
        pattern.trim_start_matches('^').trim_end_matches('$')
    }

    proptest! {
        /// Schema ⊆ server: every string the spec's pattern allows is a password.
        #[test]
        fn what_the_schema_allows_is_a_password(
            raw in proptest::string::string_regex(unanchored(&Password::schema_pattern())).unwrap()
        ) {
            prop_assert!(Password::parse(raw.clone()).is_ok(), "{:?} ({} bytes)", raw, raw.len());
        }

        #[test]
        fn only_8_to_72_bytes_without_nul_are_passwords(raw in any::<String>()) {
            let expected = (8..=72).contains(&raw.len()) && !raw.contains('\0');
            prop_assert_eq!(Password::parse(raw).is_ok(), expected);
        }
    }
}
