//! The paging parameters every list takes, as types: a value outside its range does not
//! parse (the schema 400), and the spec's bounds and default come from the same constants.
//! poem-openapi has no struct of several parameters, so each list still names the two,
//! but with these types and nothing else.

use std::borrow::Cow;

use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromParameter, ParseResult, ToJSON, Type},
};

/// A whole number from `MIN` to `MAX`, `DEFAULT` when left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounded<const MIN: u64, const MAX: u64, const DEFAULT: u64>(pub u64);

/// Page size: 1 to 100, 20 when left out.
pub type Limit = Bounded<1, 100, 20>;
/// Rows to skip: up to the largest integer a JSON number holds exactly.
pub type Offset = Bounded<0, 9_007_199_254_740_991, 0>;

impl<const MIN: u64, const MAX: u64, const DEFAULT: u64> Default for Bounded<MIN, MAX, DEFAULT> {
    fn default() -> Self {
        Self(DEFAULT)
    }
}

impl<const MIN: u64, const MAX: u64, const DEFAULT: u64> Type for Bounded<MIN, MAX, DEFAULT> {
    const IS_REQUIRED: bool = true;
    type RawValueType = u64;
    type RawElementValueType = u64;

    fn name() -> Cow<'static, str> {
        u64::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        let MetaSchemaRef::Inline(mut schema) = u64::schema_ref() else {
            return MetaSchemaRef::Inline(Box::new(MetaSchema::new("integer")));
        };
        // Zero is every unsigned number's floor already (the spec says so for all of them).
        schema.minimum = (MIN > 0).then_some(MIN as f64);
        schema.maximum = Some(MAX as f64);
        MetaSchemaRef::Inline(schema)
    }

    fn as_raw_value(&self) -> Option<&u64> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a u64> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl<const MIN: u64, const MAX: u64, const DEFAULT: u64> ParseFromParameter for Bounded<MIN, MAX, DEFAULT> {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        let number = value.parse::<u64>().map_err(|_| ParseError::custom("not a whole number"))?;
        if (MIN..=MAX).contains(&number) {
            Ok(Self(number))
        } else {
            Err(ParseError::custom(format!("outside {MIN} to {MAX}")))
        }
    }
}

impl<const MIN: u64, const MAX: u64, const DEFAULT: u64> ToJSON for Bounded<MIN, MAX, DEFAULT> {
    fn to_json(&self) -> Option<serde_json::Value> {
        Some(self.0.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_numbers_in_range_parse() {
        assert_eq!(Limit::parse_from_parameter("1").ok(), Some(Bounded(1)));
        assert_eq!(Limit::parse_from_parameter("100").ok(), Some(Bounded(100)));
        for refused in ["0", "101", "-1", "1.5", "", "ten"] {
            assert!(Limit::parse_from_parameter(refused).is_err(), "{refused}");
        }
        assert!(Offset::parse_from_parameter("9007199254740991").is_ok());
        assert!(Offset::parse_from_parameter("9007199254740992").is_err());
        assert_eq!((Limit::default().0, Offset::default().0), (20, 0));
    }
}
