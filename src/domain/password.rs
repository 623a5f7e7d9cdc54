use super::ParseError;

/// A new password: 8 to 72 bytes (bcrypt reads no further than 72).
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn parse(raw: String) -> Result<Self, ParseError> {
        if (8..=72).contains(&raw.len()) && !raw.contains('\0') {
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
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn only_8_to_72_bytes_without_nul_are_passwords(raw in any::<String>()) {
            let expected = (8..=72).contains(&raw.len()) && !raw.contains('\0');
            prop_assert_eq!(Password::parse(raw).is_ok(), expected);
        }
    }
}
