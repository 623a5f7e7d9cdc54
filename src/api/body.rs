//! JSON request bodies with the contract's answers: no body, a body that is not JSON
//! or not `application/json` → `Request body is empty.`; JSON of the wrong shape → the
//! schema message. Size is enforced as the body is read, by the cap the body-limit middleware
//! puts on it (a cut body is answered 413 whatever this made of it). A body type
//! that refuses fields it does not name says so in its schema (`additionalProperties: false`).

use poem::{Request, RequestBody};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    registry::{MetaMediaType, MetaRequest, MetaSchema, MetaSchemaRef, Registry},
    types::{Example, ParseFromJSON, ToJSON, Type},
};

use super::error::ApiError;

/// A required JSON body.
pub struct JsonBody<T>(pub T);

/// A JSON body that may be left out entirely (no bytes, no `Content-Type`).
pub struct OptionalJsonBody<T>(pub Option<T>);

fn is_json(content_type: &str) -> bool {
    content_type
        .parse::<mime::Mime>()
        .is_ok_and(|m| m.type_() == "application" && (m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json")))
}

/// Reads the bytes; Ok(None) for an empty body.
async fn read(req: &Request, body: &mut RequestBody) -> Result<Option<serde_json::Value>, ApiError> {
    let bytes =
        body.take().map_err(|_| ApiError::empty_body())?.into_bytes().await.map_err(|_| ApiError::empty_body())?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if !req.content_type().is_some_and(is_json) {
        return Err(ApiError::empty_body());
    }
    serde_json::from_slice(&bytes).map(Some).map_err(|_| ApiError::empty_body())
}

fn parse<T: ParseFromJSON>(value: serde_json::Value) -> Result<T, ApiError> {
    T::parse_from_json(Some(value)).map_err(|_| ApiError::invalid_parameters())
}

fn request_meta<T: Type>(required: bool) -> Option<MetaRequest> {
    Some(MetaRequest {
        description: None,
        content: vec![MetaMediaType { content_type: "application/json", schema: T::schema_ref() }],
        required,
    })
}

/// Marks `T`'s schema closed when `T` refuses a field it does not name
/// (`#[oai(deny_unknown_fields)]`), which poem-openapi's derive enforces but leaves out of the
/// schema. The type itself tells: its example is accepted, and refused with one field more.
/// poem-openapi's schema model has no `false` schema, so the mark is a placeholder that
/// `spec::finalize` turns into `additionalProperties: false`.
fn declare_closed<T: ParseFromJSON + ToJSON + Example + Type>(registry: &mut Registry) {
    let Some(serde_json::Value::Object(mut fields)) = T::example().to_json() else { return };
    if T::parse_from_json(Some(serde_json::Value::Object(fields.clone()))).is_err() {
        return;
    }
    fields.insert("a field no body names".into(), serde_json::Value::Null);
    if T::parse_from_json(Some(serde_json::Value::Object(fields))).is_ok() {
        return;
    }
    if let Some(schema) = registry.schemas.get_mut(&*T::name()) {
        let mark = MetaSchema::new(crate::spec::CLOSED_OBJECT_MARK);
        schema.additional_properties = Some(Box::new(MetaSchemaRef::Inline(Box::new(mark))));
    }
}

/// The two extractors differ only in what an empty body means.
macro_rules! json_extractor {
    ($extractor:ident, required: $required:expr, |$value:ident| $from_value:expr) => {
        impl<'a, T: ParseFromJSON + ToJSON + Example + Type + Send> ApiExtractor<'a> for $extractor<T> {
            const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
            type ParamType = ();
            type ParamRawType = ();

            fn register(registry: &mut Registry) {
                T::register(registry);
                declare_closed::<T>(registry);
            }

            fn request_meta() -> Option<MetaRequest> {
                request_meta::<T>($required)
            }

            async fn from_request(
                req: &'a Request,
                body: &mut RequestBody,
                _: ExtractParamOptions<()>,
            ) -> poem::Result<Self> {
                let $value = read(req, body).await?;
                Ok(Self($from_value))
            }
        }
    };
}

json_extractor!(JsonBody, required: true, |value| parse(value.ok_or_else(ApiError::empty_body)?)?);
json_extractor!(OptionalJsonBody, required: false, |value| value.map(parse).transpose()?);

/// A JSON string and nothing else: poem-openapi's `String` also takes numbers and
/// booleans (`7` would become `"7"`), which the contract calls a wrong type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(pub String);

impl Type for Text {
    const IS_REQUIRED: bool = true;
    type RawValueType = String;
    type RawElementValueType = String;

    fn name() -> std::borrow::Cow<'static, str> {
        String::name()
    }

    fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
        String::schema_ref()
    }

    fn as_raw_value(&self) -> Option<&String> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a String> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromJSON for Text {
    fn parse_from_json(value: Option<serde_json::Value>) -> poem_openapi::types::ParseResult<Self> {
        match value {
            Some(serde_json::Value::String(text)) => Ok(Self(text)),
            other => Err(poem_openapi::types::ParseError::expected_type(other.unwrap_or_default())),
        }
    }
}

impl poem_openapi::types::ToJSON for Text {
    fn to_json(&self) -> Option<serde_json::Value> {
        Some(serde_json::Value::String(self.0.clone()))
    }
}

impl From<&str> for Text {
    fn from(value: &str) -> Self {
        Self(value.to_string())
    }
}

/// A JSON number with at most two decimals, kept exactly as hundredths (`10.5` → 1050).
/// Strings, negative numbers, `1e2`-style and finer fractions are the schema 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal2(pub i64);

impl Type for Decimal2 {
    const IS_REQUIRED: bool = true;
    type RawValueType = f64;
    type RawElementValueType = f64;

    fn name() -> std::borrow::Cow<'static, str> {
        f64::name()
    }

    fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
        let mut schema = poem_openapi::registry::MetaSchema::new_with_format("number", "double");
        schema.minimum = Some(0.0);
        // Hundredths: a value with finer fractions is the schema 400.
        schema.multiple_of = Some(0.01);
        schema.maximum = Some(crate::domain::hundredths_to_number(crate::domain::MAX_HUNDREDTHS));
        poem_openapi::registry::MetaSchemaRef::Inline(Box::new(schema))
    }

    fn as_raw_value(&self) -> Option<&f64> {
        None
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a f64> + 'a> {
        Box::new(std::iter::empty())
    }
}

impl ParseFromJSON for Decimal2 {
    fn parse_from_json(value: Option<serde_json::Value>) -> poem_openapi::types::ParseResult<Self> {
        match value {
            Some(serde_json::Value::Number(number)) => crate::domain::parse_hundredths(&number)
                .map(Self)
                .map_err(|e| poem_openapi::types::ParseError::custom(e.to_string())),
            other => Err(poem_openapi::types::ParseError::expected_type(other.unwrap_or_default())),
        }
    }
}

impl poem_openapi::types::ToJSON for Decimal2 {
    fn to_json(&self) -> Option<serde_json::Value> {
        serde_json::Number::from_f64(crate::domain::hundredths_to_number(self.0)).map(serde_json::Value::Number)
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::Object;

    use super::*;

    #[derive(Object)]
    #[oai(deny_unknown_fields, example)]
    struct Closed {
        name: String,
    }

    #[derive(Object)]
    #[oai(example)]
    struct Open {
        name: String,
    }

    impl Example for Closed {
        fn example() -> Self {
            Self { name: "x".into() }
        }
    }

    impl Example for Open {
        fn example() -> Self {
            Self { name: "x".into() }
        }
    }

    fn additional_properties<T: ParseFromJSON + ToJSON + Example + Type>() -> Option<&'static str> {
        let mut registry = Registry::new();
        T::register(&mut registry);
        declare_closed::<T>(&mut registry);
        let schema = &registry.schemas[&*T::name()];
        schema.additional_properties.as_ref().map(|extra| match &**extra {
            MetaSchemaRef::Inline(mark) => mark.ty,
            MetaSchemaRef::Reference(_) => "a reference",
        })
    }

    #[test]
    fn a_body_that_refuses_unknown_fields_is_marked_closed_and_no_other() {
        assert_eq!(additional_properties::<Closed>(), Some(crate::spec::CLOSED_OBJECT_MARK));
        assert_eq!(additional_properties::<Open>(), None);
    }
}
