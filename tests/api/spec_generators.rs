//! What lets any mainstream client generator take the spec as is, beyond the ones CI runs:
//! one `apiKey` scheme per header, `application/json` media keys, no titled nullable
//! components, standard integer formats, an absolute default server, no reserved schema
//! names, every parameter described, a contact. The wire itself does not change.

use poem::http::Method;
use serde_json::Value;

use crate::support::*;

async fn served(app: &TestApp) -> Value {
    let reply = app.raw(Method::GET, "/openapi.json", &[], None).await;
    assert_eq!(reply.status, 200);
    reply.body
}

fn committed() -> Value {
    serde_json::from_str(include_str!("../../openapi/openapi.json")).expect("committed spec is JSON")
}

/// Every operation: (method, path, operation).
fn operations(spec: &Value) -> Vec<(String, String, &Value)> {
    let mut out = vec![];
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((method.clone(), path.clone(), op));
        }
    }
    out
}

fn walk<'a>(value: &'a Value, path: String, out: &mut Vec<(String, &'a Value)>) {
    match value {
        Value::Object(map) => {
            out.push((path.clone(), value));
            for (key, child) in map {
                if key != "example" && key != "examples" {
                    walk(child, format!("{path}/{key}"), out);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk(child, format!("{path}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn nodes(spec: &Value) -> Vec<(String, &Value)> {
    let mut out = vec![];
    walk(spec, String::new(), &mut out);
    out
}

#[tokio::test]
async fn one_api_key_scheme_serves_both_keys_and_no_requirement_combines_two() {
    let spec = served(&TestApp::new().await).await;
    let schemes = spec["components"]["securitySchemes"].as_object().unwrap();
    let mut names: Vec<&str> = schemes.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["ApiKey", "BasicAuth", "BearerAuth"]);
    let key = &schemes["ApiKey"];
    assert_eq!(
        (key["type"].as_str(), key["in"].as_str(), key["name"].as_str()),
        (Some("apiKey"), Some("header"), Some("Authorization"))
    );
    let mut kinds = std::collections::BTreeMap::new();
    for (method, path, op) in operations(&spec) {
        let alternatives = op["security"].as_array().unwrap();
        // Each alternative is one scheme (or none): a generator never has to send two
        // credentials in the one header.
        for alternative in alternatives {
            assert!(alternative.as_object().unwrap().len() <= 1, "{method} {path}: {alternative}");
        }
        let takes_key = alternatives.iter().any(|a| a.get("ApiKey").is_some());
        let kind = op.get("x-clara-api-key").and_then(Value::as_str);
        assert_eq!(takes_key, kind.is_some(), "{method} {path}: x-clara-api-key");
        if let Some(kind) = kind {
            let sentence = match kind {
                "public" => "`ApiKey` here is the app's public key.",
                "admin" => "`ApiKey` here is the operators' admin key.",
                other => panic!("{method} {path}: x-clara-api-key {other}"),
            };
            assert!(op["description"].as_str().unwrap().contains(sentence), "{method} {path} does not say which key");
            kinds.insert(op["operationId"].as_str().unwrap().to_string(), kind);
        }
    }
    for (id, kind) in [
        ("authRegister", "public"),
        ("authChangePassword", "public"),
        ("adminUsersList", "admin"),
        ("usersDelete", "admin"),
    ] {
        assert_eq!(kinds.get(id).copied(), Some(kind), "{id}");
    }
}

#[tokio::test]
async fn json_bodies_are_keyed_application_json_while_the_wire_keeps_its_charset() {
    let app = TestApp::new().await;
    let spec = served(&app).await;
    let mut json_keys = 0;
    for (path, node) in nodes(&spec) {
        if let Some(content) = node.get("content").and_then(Value::as_object) {
            for media in content.keys() {
                assert!(!media.starts_with("application/json;"), "{path}: {media}");
                json_keys += usize::from(media == "application/json");
            }
        }
    }
    assert!(json_keys > 100, "{json_keys} JSON media keys");
    // The answer on the wire is unchanged.
    let response = app.client.get("/api/v1/version").send().await.0;
    assert_eq!(response.headers()["content-type"], "application/json; charset=utf-8");
}

#[tokio::test]
async fn nullable_components_carry_no_title() {
    let spec = served(&TestApp::new().await).await;
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    let nullable: Vec<&String> = schemas.iter().filter(|(_, s)| s["nullable"] == true).map(|(n, _)| n).collect();
    assert!(nullable.iter().any(|n| *n == "AnalysisResult"), "{nullable:?}");
    for name in nullable {
        assert!(schemas[name].get("title").is_none(), "{name} has a title: progenitor makes a second type of it");
    }
}

#[tokio::test]
async fn integers_have_standard_formats_and_no_negative_values() {
    let spec = served(&TestApp::new().await).await;
    let mut integers = 0;
    for (path, node) in nodes(&spec) {
        if node.get("type").and_then(Value::as_str) != Some("integer") {
            continue;
        }
        integers += 1;
        let format = node["format"].as_str();
        assert!(matches!(format, Some("int32" | "int64")), "{path}: format {format:?}");
        // No integer of this API can be negative: counts, sizes, tokens, seconds.
        assert!(node["minimum"].as_f64().is_some_and(|m| m >= 0.0), "{path}: no minimum ≥ 0");
    }
    assert!(integers > 50, "{integers} integers");
}

/// Swift, Kotlin, Go, Dart and TypeScript built-ins, and the words openapi-generator 7.26's
/// C#, Swift, Kotlin, Go, Dart and typescript-fetch targets reserve (`config-help
/// --reserved-words --language-specific-primitive`) that could be a type's name. A schema
/// named like one is renamed by that target (`Version` → `ModelVersion` in C#).
const RESERVED: &[&str] = &[
    // C# (openapi-generator's list, and System types a model would shadow)
    "Client",
    "Configuration",
    "Environment",
    "OperatingSystem",
    "TimeZone",
    "Version",
    "Object",
    "String",
    "Decimal",
    "Double",
    "Boolean",
    "Collection",
    "Dictionary",
    "Guid",
    "List",
    "DateTime",
    "DateTimeOffset",
    "DateOnly",
    "Task",
    "Action",
    "Func",
    "Exception",
    "Attribute",
    "Type",
    "Math",
    "Stream",
    "Uri",
    "Event",
    "Parameter",
    "Int32",
    "Int64",
    // Swift (and its generator's runtime types)
    "Any",
    "AnyObject",
    "Bool",
    "Character",
    "Data",
    "Date",
    "Float",
    "Int",
    "URL",
    "UUID",
    "Void",
    "Array",
    "Codable",
    "Decodable",
    "Encodable",
    "Error",
    "ErrorResponse",
    "Optional",
    "Protocol",
    "Range",
    "RequestBuilder",
    "Response",
    "Result",
    "Self",
    "Set",
    "Unicode",
    "Validator",
    "ValidationError",
    "Locale",
    "Calendar",
    "Progress",
    "JSONValue",
    "HTTPMethod",
    "URLSession",
    "URLRequest",
    "APIHelper",
    "RequestTask",
    "Class",
    // Kotlin
    "ApiResponse",
    "Unit",
    "Nothing",
    "Pair",
    "Triple",
    "Long",
    "Short",
    "Byte",
    "Char",
    "Number",
    "Throwable",
    "Enum",
    "Comparable",
    "Lazy",
    "Sequence",
    "Regex",
    "Map",
    "Interface",
    // Go (builtins and the generated client's own types)
    "APIClient",
    "APIResponse",
    "BasicAuth",
    "ServerConfiguration",
    "ServerConfigurations",
    "ServerVariable",
    "GenericOpenAPIError",
    "MappedNullable",
    "Error",
    "Rune",
    "Complex64",
    "Complex128",
    "Uintptr",
    "Uint",
    "Uint8",
    "Uint16",
    "Uint32",
    "Uint64",
    "Int8",
    "Int16",
    "Float32",
    "Float64",
    "Func",
    "Chan",
    "Package",
    "Select",
    // Dart
    "Duration",
    "Function",
    "Future",
    "Iterable",
    "Null",
    "Never",
    "Num",
    "Pattern",
    "Match",
    "RegExp",
    "Record",
    "Sink",
    "StackTrace",
    "Stopwatch",
    "Symbol",
    "Invocation",
    "MapEntry",
    "BigInt",
    "Runes",
    "Expando",
    // TypeScript / JavaScript built-ins (and typescript-fetch's runtime)
    "Blob",
    "File",
    "FormData",
    "Headers",
    "Request",
    "Promise",
    "Partial",
    "Pick",
    "Omit",
    "Readonly",
    "Required",
    "Exclude",
    "Extract",
    "Awaited",
    "JSON",
    "Index",
    "Integer",
    "Middleware",
    "BaseAPI",
    "RequiredError",
    "RequestContext",
    "ResponseContext",
    "FetchAPI",
    "ConfigurationParameters",
    "TextApiResponse",
    "JSONApiResponse",
    "BlobApiResponse",
    "VoidApiResponse",
];

/// `some_field` → `SomeField`, as C# names a property.
fn pascal(name: &str) -> String {
    name.split(['_', '-']).filter(|p| !p.is_empty()).map(|p| p[..1].to_uppercase() + &p[1..]).collect()
}

#[tokio::test]
async fn no_schema_name_is_renamed_by_a_mainstream_target() {
    let spec = served(&TestApp::new().await).await;
    let reserved: std::collections::HashSet<String> = RESERVED.iter().map(|w| w.to_ascii_lowercase()).collect();
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    for (name, schema) in schemas {
        assert!(!reserved.contains(&name.to_ascii_lowercase()), "schema {name} is a reserved name in some target");
        // C# refuses a member named like its class (`Rate.rate` came out as `VarRate`).
        for field in schema["properties"].as_object().into_iter().flatten().map(|(f, _)| f) {
            assert_ne!(pascal(field), *name, "{name}.{field} is named like its schema");
        }
    }
    // The renamed schemas kept the wire's field names.
    assert_eq!(schemas["ServerVersion"]["required"], serde_json::json!(["version"]));
    assert!(schemas["CreditRate"]["properties"]["rate"].is_object());
}

#[tokio::test]
async fn every_parameter_is_described() {
    let spec = served(&TestApp::new().await).await;
    for (method, path, op) in operations(&spec) {
        for parameter in op["parameters"].as_array().into_iter().flatten() {
            let name = parameter["name"].as_str().unwrap();
            let description = parameter["description"].as_str().unwrap_or_default();
            assert!(!description.trim().is_empty(), "{method} {path}: parameter {name} has no description");
        }
    }
}

/// The URL a server object names with its variables at their defaults.
fn default_url(server: &Value) -> String {
    let mut url = server["url"].as_str().unwrap().to_string();
    for (name, variable) in server["variables"].as_object().into_iter().flatten() {
        url = url.replace(&format!("{{{name}}}"), variable["default"].as_str().unwrap());
    }
    url
}

#[tokio::test]
async fn the_default_server_is_absolute_and_swagger_ui_calls_its_own() {
    // Committed: a template whose defaults are a local server started with default settings.
    let committed = committed();
    let server = &committed["servers"][0];
    assert!(server["url"].as_str().unwrap().contains('{'), "{server}");
    assert_eq!(default_url(server), "http://127.0.0.1:8000/api/v1");
    let url = committed["info"]["contact"]["url"].as_str();
    assert!(url.is_some_and(|u| u.starts_with("http")) || committed["info"]["contact"]["email"].is_string());
    // Served: this server's public address, from its settings.
    let app = TestApp::with_env(&[("PUBLIC_URL", "https://api.clara.test")]).await;
    let spec = served(&app).await;
    assert_eq!(
        spec["servers"],
        serde_json::json!([{"url": "https://api.clara.test/api/v1", "description": "This server."}])
    );
    assert_eq!(spec["info"]["contact"]["url"], "https://api.clara.test/docs");
    let app = TestApp::new().await;
    let spec = served(&app).await;
    assert_eq!(spec["servers"][0]["url"], format!("{}/api/v1", app.state.config.public_base()));
    // Swagger UI's copy names the server the page came from, however it was reached.
    let page = app.client.get("/docs").header("Accept", "text/html").send().await.0;
    let html = page.into_body().into_string().await.unwrap();
    assert!(html.contains(r#""url": "/api/v1""#), "Swagger UI's spec names another server");
    assert!(!html.contains(&format!("{}/api/v1", app.state.config.public_base())));
}

/// The committed spec is the served one but for where it says the server is.
pub fn without_server(mut spec: Value) -> Value {
    let map = spec.as_object_mut().unwrap();
    map.remove("servers");
    if let Some(info) = map.get_mut("info").and_then(Value::as_object_mut) {
        info.remove("contact");
    }
    spec
}
