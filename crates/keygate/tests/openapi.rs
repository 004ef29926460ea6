//! The OpenAPI description of the management API, per preset: valid JSON with the routes, the
//! preset's credential, scope-list name and error style, every reference resolved, and the
//! fields of real answers described.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use keygate::adapter::ApiRequest;
use keygate::management::openapi;
use keygate::preset::Preset;
use keygate::{Keygate, manage::NewKey, store::Owner};
use serde_json::Value;

fn document(preset: &Preset) -> Value {
    let text = serde_json::to_string(&openapi(preset)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Every `$ref` in `value`.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r);
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// The properties of a schema, those of the parts it is made of (`allOf`) included.
fn properties(doc: &Value, schema: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    collect(doc, &doc["components"]["schemas"][schema], &mut out);
    assert!(!out.is_empty(), "{schema} has properties");
    out
}

fn collect(doc: &Value, schema: &Value, out: &mut BTreeSet<String>) {
    if let Some(Value::String(r)) = schema.get("$ref") {
        let name = r.strip_prefix("#/components/schemas/").unwrap();
        return collect(doc, &doc["components"]["schemas"][name], out);
    }
    if let Some(props) = schema["properties"].as_object() {
        out.extend(props.keys().cloned());
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        collect(doc, part, out);
    }
}

#[test]
fn every_preset_describes_its_routes_fields_and_errors() {
    for name in ["productlane", "plane", "livetest", "workspace"] {
        let preset = Preset::by_name(name).unwrap();
        let doc = document(&preset);
        assert_eq!(doc["openapi"], "3.1.0", "{name}");
        let paths: BTreeSet<&str> =
            doc["paths"].as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(
            paths,
            BTreeSet::from([
                "/v1/api-keys",
                "/v1/api-keys/{id}",
                "/v1/api-keys/{id}/rotate",
                "/v1/api-keys/{id}/usage",
                "/v1/me",
                "/v1/rate-limit"
            ]),
            "{name}"
        );
        let methods = |path: &str| -> BTreeSet<String> {
            doc["paths"][path].as_object().unwrap().keys().cloned().collect()
        };
        assert_eq!(methods("/v1/api-keys"), BTreeSet::from(["get".into(), "post".into()]));
        assert_eq!(
            methods("/v1/api-keys/{id}"),
            BTreeSet::from(["delete".into(), "get".into(), "patch".into()])
        );

        // The scope list under the preset's name, in answers and in requests.
        let field = preset.scopes_field;
        let other = if field == "scopes" { "permissions" } else { "scopes" };
        for schema in ["ApiKey", "NewApiKey", "ApiKeyChanges"] {
            let props = properties(&doc, schema);
            assert!(props.contains(field) && !props.contains(other), "{name}: {schema}: {props:?}");
        }

        // The error style.
        let refused = &doc["paths"]["/v1/api-keys"]["post"]["responses"]["401"]["content"];
        let (content_type, schema, member) = match name {
            "workspace" => ("application/problem+json", "Problem", "code"),
            "plane" => ("application/json", "Error", "detail"),
            _ => ("application/json", "Error", "error"),
        };
        let reference = format!("#/components/schemas/{schema}");
        assert_eq!(refused[content_type]["schema"]["$ref"], reference.as_str(), "{name}");
        assert!(properties(&doc, schema).contains(member), "{name}");
        // Productlane answers a retired key version 410.
        let gone = doc["paths"]["/v1/me"]["get"]["responses"].get("410").is_some();
        assert_eq!(gone, name == "productlane", "{name}");

        // The credential.
        let scheme = &doc["components"]["securitySchemes"]["api_key"];
        if name == "plane" {
            assert_eq!((&scheme["type"], &scheme["name"]), (&"apiKey".into(), &"X-Api-Key".into()));
        } else {
            assert_eq!((&scheme["type"], &scheme["scheme"]), (&"http".into(), &"bearer".into()));
        }

        // Every reference names a schema of the document.
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        for r in found {
            let schema = r.strip_prefix("#/components/schemas/").unwrap();
            assert!(doc["components"]["schemas"].get(schema).is_some(), "{name}: {r} unresolved");
        }
    }
}

#[tokio::test]
async fn real_answers_use_only_described_fields() {
    for name in ["productlane", "plane", "livetest", "workspace"] {
        let preset = Preset::by_name(name).unwrap();
        let doc = document(&preset);
        let gate = Keygate::builder(preset.clone()).random_pepper().build().unwrap();
        let admin = NewKey::new(Owner::workspace("wks_1"), "admin")
            .scopes([preset.admin_scope.as_str(), "tasks:read"])
            .unwrap();
        let admin = gate.mint(admin).await.unwrap();
        let credential = if name == "plane" {
            ("x-api-key", admin.key.expose_secret().to_owned())
        } else {
            ("authorization", format!("Bearer {}", admin.key.expose_secret()))
        };
        let headers = [(credential.0, credential.1.as_str())];
        let body = format!(r#"{{"name":"ci","{}":["tasks:read"]}}"#, preset.scopes_field);
        let minted = gate
            .handle_api(
                ApiRequest::new("POST", "/v1/api-keys", &headers).body(body.as_bytes()),
                None,
            )
            .await;
        assert_eq!(minted.status, 201, "{name}: {}", minted.body);
        let minted: Value = serde_json::from_str(&minted.body).unwrap();
        let described = properties(&doc, "ApiKey");
        let sent: BTreeSet<String> = minted.as_object().unwrap().keys().cloned().collect();
        assert!(sent.is_subset(&described), "{name}: {sent:?} not in {described:?}");
        let required: BTreeSet<String> = doc["components"]["schemas"]["ApiKey"]["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        assert!(required.is_subset(&sent), "{name}: {required:?} not all in {sent:?}");

        let me = gate.handle_api(ApiRequest::new("GET", "/v1/me", &headers), None).await;
        let me: Value = serde_json::from_str(&me.body).unwrap();
        let sent: BTreeSet<String> = me.as_object().unwrap().keys().cloned().collect();
        assert_eq!(sent, properties(&doc, "Me"), "{name}");

        // An error body: its members are the described ones.
        let missing = gate.handle_api(ApiRequest::new("GET", "/v1/nope", &headers), None).await;
        let error: Value = serde_json::from_str(&missing.body).unwrap();
        let schema = if name == "workspace" { "Problem" } else { "Error" };
        let described = properties(&doc, schema);
        for member in error.as_object().unwrap().keys() {
            assert!(described.contains(member), "{name}: `{member}` not described");
        }
    }
}
