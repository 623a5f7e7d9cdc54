use std::{fmt, str::FromStr};

use super::ParseError;

/// A deliverable-looking e-mail address, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Longest address, in bytes (the pattern below is ASCII, so also in characters).
    pub const MAX_LEN: usize = 254;
    /// The spec's pattern, narrower than what [`Email::from_str`] takes (`format: email`
    /// alone allows bare hosts and IP literals, which the server refuses): a dot-atom
    /// local part of at most 64 characters, `@`, and two or more host-name labels.
    pub const SCHEMA_PATTERN: &'static str = concat!(
        r"^(?=[^@]{1,64}@)",
        r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*",
        r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
    );

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Email {
    type Err = ParseError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let value = raw.trim().to_lowercase();
        if value.len() > Self::MAX_LEN || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ParseError("invalid e-mail address"));
        }
        let parsed = email_address::EmailAddress::from_str(&value).map_err(|_| ParseError("invalid e-mail address"))?;
        // A real address has a dotted domain name, not a bare host or an IP literal.
        let domain = parsed.domain();
        let labels_ok = domain.split('.').count() >= 2
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if !labels_ok || parsed.local_part().starts_with('"') {
            return Err(ParseError("invalid e-mail address"));
        }
        Ok(Self(value))
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_lowercases() {
        assert_eq!("Hello@Crazi.CO".parse::<Email>().unwrap().as_str(), "hello@crazi.co");
        assert!("a.b+tag@sub.example.org".parse::<Email>().is_ok());
    }

    #[test]
    fn rejects_non_addresses() {
        for bad in
            ["", "plain", "a@b", "a@", "@b.com", "a b@c.com", "a@[127.0.0.1]", "a@-x.com", "a@x..com", "\"q\"@x.com"]
        {
            assert!(bad.parse::<Email>().is_err(), "{bad}");
        }
        assert!(format!("{}@x.com", "a".repeat(250)).parse::<Email>().is_err());
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_text_parses_or_is_refused_without_panicking(raw in any::<String>()) {
            if let Ok(email) = raw.parse::<Email>() {
                let text = email.as_str();
                prop_assert!(text.len() <= 254);
                prop_assert_eq!(text, text.to_lowercase());
                prop_assert!(text.contains('@'));
                prop_assert!(!text.chars().any(char::is_whitespace));
            }
        }

        /// Schema ⊆ server, for addresses of the pattern's form (the pattern itself has a
        /// look-ahead, which the regex crate lacks; the length bounds are checked here).
        #[test]
        fn addresses_the_schema_allows_parse(
            raw in "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,30}(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,10}){0,2}@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.){1,3}[A-Za-z0-9]([A-Za-z0-9-]{0,10}[A-Za-z0-9])?"
        ) {
            let local = raw.split('@').next().unwrap();
            prop_assume!(local.len() <= 64 && raw.len() <= Email::MAX_LEN);
            prop_assert!(raw.parse::<Email>().is_ok(), "{}", raw);
        }

        #[test]
        fn generated_addresses_parse_to_their_lower_case(local in "[a-zA-Z0-9._+-]{1,20}", domain in "[a-z0-9]{1,10}\\.[a-z]{2,6}") {
            prop_assume!(!local.starts_with('.') && !local.ends_with('.') && !local.contains(".."));
            let raw = format!("{local}@{domain}");
            let email: Email = raw.parse().unwrap();
            prop_assert_eq!(email.as_str(), raw.to_lowercase());
        }
    }
}
