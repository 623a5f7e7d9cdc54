//! Passkeys' relying party: `WEBAUTHN_RP_ID`, `WEBAUTHN_RP_NAME`, `WEBAUTHN_ORIGINS`.

use super::{ConfigError, invalid};

/// The relying party of passkeys: `WEBAUTHN_RP_ID` (the domain credentials are bound to),
/// `WEBAUTHN_RP_NAME` (shown by authenticators; default `Clara`) and `WEBAUTHN_ORIGINS`
/// (comma-separated origins allowed to run the ceremonies; default `https://<rp id>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebauthnConfig {
    pub rp_id: String,
    pub rp_name: String,
    /// At least one; each has the RP id as its host or a parent of its host.
    pub origins: Vec<url::Url>,
}

impl WebauthnConfig {
    pub(super) fn from_vars(
        rp_id: Option<&str>,
        rp_name: Option<&str>,
        origins: Option<&str>,
    ) -> Result<Option<Self>, ConfigError> {
        let Some(rp_id) = rp_id else {
            if origins.is_some() {
                return Err(invalid("WEBAUTHN_ORIGINS", "needs WEBAUTHN_RP_ID"));
            }
            return Ok(None);
        };
        let origins = match origins {
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(|o| {
                    url::Url::parse(o).map_err(|e| invalid("WEBAUTHN_ORIGINS", format!("`{o}` is not a URL ({e})")))
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => vec![
                url::Url::parse(&format!("https://{rp_id}"))
                    .map_err(|e| invalid("WEBAUTHN_RP_ID", format!("`{rp_id}` is not a domain ({e})")))?,
            ],
        };
        if origins.is_empty() {
            return Err(invalid("WEBAUTHN_ORIGINS", "names no origin"));
        }
        // A web origin must be on the RP id (browsers refuse the rest anyway); other schemes
        // are app origins (`android:apk-key-hash:…`).
        for origin in origins.iter().filter(|o| matches!(o.scheme(), "http" | "https")) {
            let host = origin.host_str().unwrap_or_default();
            if host != rp_id && !host.ends_with(&format!(".{rp_id}")) {
                return Err(invalid("WEBAUTHN_ORIGINS", format!("`{origin}` is not on WEBAUTHN_RP_ID `{rp_id}`")));
            }
        }
        let config = Self { rp_id: rp_id.to_string(), rp_name: rp_name.unwrap_or("Clara").to_string(), origins };
        config
            .build()
            .map_err(|e| invalid("WEBAUTHN_ORIGINS", format!("not valid for WEBAUTHN_RP_ID `{rp_id}` ({e})")))?;
        Ok(Some(config))
    }

    /// The webauthn-rs relying party (cheap: it only checks the URLs).
    pub fn build(&self) -> Result<webauthn_rs::Webauthn, webauthn_rs::prelude::WebauthnError> {
        let mut builder = webauthn_rs::WebauthnBuilder::new(&self.rp_id, &self.origins[0])?.rp_name(&self.rp_name);
        for origin in &self.origins[1..] {
            builder = builder.append_allowed_origin(origin);
        }
        builder.build()
    }
}
