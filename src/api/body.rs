//! JSON request bodies with the contract's answers: no body, a body that is not JSON
//! or not `application/json` → `Request body is empty.`; JSON of the wrong shape → the
//! schema message. Size is enforced before this by the body-limit middleware.

use poem::{Request, RequestBody};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    registry::{MetaMediaType, MetaRequest, Registry},
    types::{ParseFromJSON, Type},
};

use super::error::ApiError;

/// A required JSON body.
pub struct JsonBody<T>(pub T);

/// A JSON body that may be left out entirely (no bytes, no `Content-Type`).
pub struct OptionalJsonBody<T>(pub Option<T>);

fn is_json(content_type: &str) -> bool {
    content_type.parse::<mime::Mime>().is_ok_and(|m| {
        m.type_() == "application" && (m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json"))
    })
}

/// Reads the bytes; Ok(None) for an empty body.
async fn read(req: &Request, body: &mut RequestBody) -> Result<Option<serde_json::Value>, ApiError> {
    let bytes = body.take().map_err(|_| ApiError::empty_body())?.into_bytes().await.map_err(|_| ApiError::empty_body())?;
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

impl<'a, T: ParseFromJSON + Type + Send> ApiExtractor<'a> for JsonBody<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        request_meta::<T>(true)
    }

    async fn from_request(req: &'a Request, body: &mut RequestBody, _: ExtractParamOptions<()>) -> poem::Result<Self> {
        let value = read(req, body).await?.ok_or_else(ApiError::empty_body)?;
        Ok(Self(parse(value)?))
    }
}

impl<'a, T: ParseFromJSON + Type + Send> ApiExtractor<'a> for OptionalJsonBody<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        request_meta::<T>(false)
    }

    async fn from_request(req: &'a Request, body: &mut RequestBody, _: ExtractParamOptions<()>) -> poem::Result<Self> {
        match read(req, body).await? {
            None => Ok(Self(None)),
            Some(value) => Ok(Self(Some(parse(value)?))),
        }
    }
}
