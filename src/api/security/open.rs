//! The public key, or no `Authorization` at all.
//!
//! poem-openapi's derived `apiKey` scheme refuses a request without the header before its
//! checker runs, so a checker cannot say "no key is needed": this wrapper says it, and
//! hands every header that is sent to the derived public-key scheme (a wrong key is refused
//! as ever). It registers and publishes exactly that scheme. (Generic over the wrapped
//! scheme it would be neater; rustc cannot yet prove such an async extractor `Send`,
//! rust-lang/rust#100013.)

use poem::{Request, RequestBody};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions, registry::Registry};

use super::{PublicKey, PublicKeyBesideSession};
use crate::{api::credentials::authorization, state::AppState};

/// The public key, or no header: always when `ALWAYS` (the spec then lists the empty
/// alternative), else only while the deployment has no public keys (`PUBLIC_API_KEYS`
/// empty: a local set-up; the server warns at start). `BESIDE_SESSION`: checked by
/// [`PublicKeyBesideSession`] (the key member of an enum with a session), else by
/// [`PublicKey`]. `true` when a key was sent and accepted.
pub struct PublicKeyOrNone<const ALWAYS: bool, const BESIDE_SESSION: bool>(pub bool);

impl<'a, const ALWAYS: bool, const BESIDE_SESSION: bool> ApiExtractor<'a> for PublicKeyOrNone<ALWAYS, BESIDE_SESSION> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        PublicKey::register(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        PublicKey::security_schemes()
    }

    fn has_security_fallback() -> bool {
        ALWAYS
    }

    async fn from_request(
        req: &'a Request,
        body: &mut RequestBody,
        options: ExtractParamOptions<()>,
    ) -> poem::Result<Self> {
        let keyless = req.data::<AppState>().is_some_and(|state| state.config.accounts.public_api_keys.is_empty());
        if authorization(req).is_none() && (ALWAYS || keyless) {
            return Ok(Self(false));
        }
        if BESIDE_SESSION {
            PublicKeyBesideSession::from_request(req, body, options).await?;
        } else {
            PublicKey::from_request(req, body, options).await?;
        }
        Ok(Self(true))
    }
}
