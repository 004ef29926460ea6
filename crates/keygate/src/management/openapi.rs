//! The OpenAPI 3.1 description of the management API, per preset: its credential, the name of
//! its scope list and its error style. The schemas come from the types that read and write the
//! bodies.

use utoipa::ToSchema;
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, ParameterBuilder, ParameterIn, PathItemBuilder,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref,
    RefOr, Required, ResponseBuilder,
};

use crate::preset::Preset;
use crate::response::{
    DetailBody, Details, EnvelopeBody, EnvelopeInner, ErrorStyle, ProblemBody, reason_phrase,
};

use super::MAX_LIST_LIMIT;
use super::bodies::{MintBody, PatchBody, RotateBody};
use super::handlers::{KeyJson, List, Me, RateLimit, USAGE_DAYS, UsageDay, UsageDays};

/// The statuses any management request may be refused with, besides its own.
const REFUSALS: [u16; 6] = [400, 401, 403, 405, 429, 503];

/// The OpenAPI 3.1 description of the management API of `preset`: `/v1/me`,
/// `/v1/rate-limit` and `/v1/api-keys`, with the preset's credential (Bearer or its header),
/// scope-list name (`scopes` or `permissions`) and error bodies (envelope, `detail` or RFC
/// 9457 problem).
///
/// ```
/// use keygate::{management::openapi, preset::Preset};
///
/// let doc = serde_json::to_value(openapi(&Preset::livetest()))?;
/// assert_eq!(doc["openapi"], "3.1.0");
/// let key = &doc["components"]["schemas"]["ApiKey"]["properties"];
/// assert!(key["permissions"].is_object() && key["scopes"].is_null());
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn openapi(preset: &Preset) -> OpenApi {
    let scopes_field = preset.scopes_field;
    let style = preset.renderer.style();
    let (error_type, error_schema) = match style {
        ErrorStyle::Envelope => ("application/json", EnvelopeBody::name()),
        ErrorStyle::Detail => ("application/json", DetailBody::name()),
        ErrorStyle::Problem => ("application/problem+json", ProblemBody::name()),
    };
    let label = preset.sources.label();
    let scheme = if label.eq_ignore_ascii_case("authorization") {
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build())
    } else {
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new(label)))
    };
    let mut components = ComponentsBuilder::new()
        .schema_from::<KeyJson<'static>>()
        .schema_from::<List<'static>>()
        .schema_from::<Me<'static>>()
        .schema_from::<RateLimit>()
        .schema_from::<UsageDays>()
        .schema_from::<UsageDay>()
        .schema_from::<MintBody>()
        .schema_from::<PatchBody>()
        .schema_from::<RotateBody>()
        .schema_from::<super::bodies::RefillBody>()
        .schema_from::<crate::format::Environment>()
        .schema_from::<crate::store::KeyKind>()
        .schema_from::<crate::manage::UsageInfo>()
        .schema_from::<crate::store::SeenNetwork>()
        .security_scheme("api_key", scheme);
    components = match style {
        ErrorStyle::Envelope => components
            .schema_from::<EnvelopeBody<'static>>()
            .schema_from::<EnvelopeInner<'static>>()
            .schema_from::<Details<'static>>(),
        ErrorStyle::Detail => components.schema_from::<DetailBody>(),
        ErrorStyle::Problem => {
            components.schema_from::<ProblemBody<'static>>().schema_from::<Details<'static>>()
        }
    };
    let mut components = components.build();
    for (name, schema) in &mut components.schemas {
        let RefOr::T(Schema::Object(object)) = schema else { continue };
        match name.as_str() {
            // The key's scope list, under the preset's name for it.
            "ApiKey" => {
                let list =
                    ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::String));
                object.properties.insert(scopes_field.to_owned(), list.into());
                object.required.push(scopes_field.to_owned());
            }
            "NewApiKey" | "ApiKeyChanges" if scopes_field != "scopes" => {
                if let Some(list) = object.properties.remove("scopes") {
                    object.properties.insert(scopes_field.to_owned(), list);
                }
            }
            _ => {}
        }
    }

    let error = |status: u16| {
        let content =
            ContentBuilder::new().schema(Some(Ref::from_schema_name(error_schema.as_ref())));
        ResponseBuilder::new()
            .description(reason_phrase(status))
            .content(error_type, content.build())
    };
    let answer = |what: &str, schema: &str| {
        let content = ContentBuilder::new().schema(Some(Ref::from_schema_name(schema)));
        ResponseBuilder::new().description(what).content("application/json", content.build())
    };
    let operation = |id: &str, summary: &str, ok: (&str, &str, &str), more: &[u16]| {
        let mut op = OperationBuilder::new()
            .operation_id(Some(id))
            .summary(Some(summary))
            .response(ok.0, answer(ok.1, ok.2).build());
        let mut statuses: Vec<u16> = REFUSALS.iter().chain(more).copied().collect();
        // A retired key version: 410 Gone where the preset says so.
        let retired = crate::AuthError::UnsupportedVersion { prefix: "".into() };
        statuses.push(preset.renderer.status(&retired));
        statuses.sort_unstable();
        statuses.dedup();
        for status in statuses {
            op = op.response(status.to_string(), error(status).build());
        }
        op
    };
    let json_body = |schema: &str, required: bool| {
        let content = ContentBuilder::new().schema(Some(Ref::from_schema_name(schema))).build();
        let required = if required { Required::True } else { Required::False };
        RequestBodyBuilder::new()
            .content("application/json", content)
            .required(Some(required))
            .build()
    };
    let id_param = || {
        ParameterBuilder::new()
            .name("id")
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .description(Some("The key id, `key_…`."))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .build()
    };
    let with_id = |op: OperationBuilder| -> Operation { op.parameter(id_param()).build() };

    let list = operation(
        "listApiKeys",
        "List the workspace's keys",
        ("200", "A page of keys.", "ApiKeyList"),
        &[],
    )
    .parameter(
        ParameterBuilder::new()
            .name("limit")
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1))
                    .maximum(Some(MAX_LIST_LIMIT as u64)),
            ))
            .build(),
    )
    .parameter(
        ParameterBuilder::new()
            .name("after")
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .description(Some("The `next` cursor of the previous page."))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .build(),
    )
    .build();
    let mint = operation(
        "createApiKey",
        "Mint a key (the full key is in this answer only)",
        ("201", "The new key, with its full value.", "ApiKey"),
        &[409, 413],
    )
    .request_body(Some(json_body("NewApiKey", true)))
    .build();
    let get = with_id(operation(
        "getApiKey",
        "A key, with its usage",
        ("200", "The key.", "ApiKey"),
        &[404],
    ));
    let patch = with_id(
        operation(
            "updateApiKey",
            "Change a key",
            ("200", "The key as changed.", "ApiKey"),
            &[404, 409, 413],
        )
        .request_body(Some(json_body("ApiKeyChanges", true))),
    );
    let revoke = with_id(operation(
        "revokeApiKey",
        "Revoke a key",
        ("200", "The revoked key.", "ApiKey"),
        &[404, 413],
    ));
    let rotate = with_id(
        operation(
            "rotateApiKey",
            "Replace a key; the old one works for the grace period",
            ("201", "The new key, with its full value.", "ApiKey"),
            &[404, 409, 413],
        )
        .request_body(Some(json_body("Rotation", false))),
    );
    let usage = with_id(
        operation(
            "getApiKeyUsage",
            "A key's requests per UTC day",
            ("200", "One entry per day up to today, oldest first.", "ApiKeyUsage"),
            &[404],
        )
        .parameter(
            ParameterBuilder::new()
                .name("days")
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some("How many days, up to today (default 30)."))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(1))
                        .maximum(Some(u64::from(USAGE_DAYS.1))),
                ))
                .build(),
        ),
    );
    let me =
        operation("getMe", "The key making the request", ("200", "The key.", "Me"), &[]).build();
    let rate = operation(
        "getRateLimit",
        "The key's rate-limit figures",
        ("200", "The figures; `null` when the key's plan has no windows.", "RateLimit"),
        &[],
    )
    .build();

    let paths = PathsBuilder::new()
        .path("/v1/me", PathItemBuilder::new().operation(HttpMethod::Get, me).build())
        .path("/v1/rate-limit", PathItemBuilder::new().operation(HttpMethod::Get, rate).build())
        .path(
            "/v1/api-keys",
            PathItemBuilder::new()
                .operation(HttpMethod::Get, list)
                .operation(HttpMethod::Post, mint)
                .build(),
        )
        .path(
            "/v1/api-keys/{id}",
            PathItemBuilder::new()
                .operation(HttpMethod::Get, get)
                .operation(HttpMethod::Patch, patch)
                .operation(HttpMethod::Delete, revoke)
                .build(),
        )
        .path(
            "/v1/api-keys/{id}/rotate",
            PathItemBuilder::new().operation(HttpMethod::Post, rotate).build(),
        )
        .path(
            "/v1/api-keys/{id}/usage",
            PathItemBuilder::new().operation(HttpMethod::Get, usage).build(),
        )
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title(format!("keygate management API ({})", preset.name))
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(format!(
                    "API keys of a workspace. Every call needs a key (in `{label}`); the \
                     `/v1/api-keys` routes need the `{}` scope.",
                    preset.admin_scope
                )))
                .build(),
        )
        .paths(paths)
        .components(Some(components))
        .security(Some(vec![SecurityRequirement::new("api_key", Vec::<String>::new())]))
        .build()
}
