//! What any operation can answer, added to each: see `openapi.rs`.

use axum::http::StatusCode;
use utoipa::Modify;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, Header, OpenApi as Document, Ref, RefOr, Response};

use crate::server::problem::Kind;

const PROBLEM: &str = "application/problem+json";
const EVENT_STREAM: &str = "text/event-stream";
/// Served without an API key, like the health checks outside `/v1`.
const OPEN: &str = "/v1/openapi.json";
/// Outside `/v1`, yet behind the API keys and reading the database.
pub const METRICS: &str = "/metrics";
/// Operations under `/v1` that never reach the database, so never answer
/// 503 for it.
const WITHOUT_DATABASE: &[&str] = &[OPEN, "/v1/runtimes"];
/// The security scheme's name in the document.
const BEARER: &str = "bearer";

/// Adds what every operation can answer.
pub struct Answers;

impl Modify for Answers {
    fn modify(&self, doc: &mut Document) {
        for (path, operation) in operations(doc) {
            let database =
                (path.starts_with("/v1/") && !WITHOUT_DATABASE.contains(&path)) || path == METRICS;
            let mut statuses = vec![StatusCode::INTERNAL_SERVER_ERROR];
            statuses.extend(input_statuses(operation));
            if database {
                statuses.push(StatusCode::SERVICE_UNAVAILABLE);
            }
            complete(operation, &statuses);
            frame_events(operation);
        }
    }
}

/// For a server with API keys: every operation under `/v1` but the
/// document itself, and `/metrics`, needs the bearer key, and answers 401
/// without it.
pub fn require_bearer(doc: &mut Document) {
    let scheme = SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer));
    doc.components
        .get_or_insert_default()
        .add_security_scheme(BEARER, scheme);
    for (path, operation) in operations(doc) {
        if (path.starts_with("/v1/") && path != OPEN) || path == METRICS {
            let needed = SecurityRequirement::new(BEARER, Vec::<String>::new());
            operation.security = Some(vec![needed]);
            complete(operation, &[StatusCode::UNAUTHORIZED]);
        }
    }
}

/// Every operation in the document, with its path.
fn operations(doc: &mut Document) -> impl Iterator<Item = (&str, &mut Operation)> {
    doc.paths.paths.iter_mut().flat_map(|(path, item)| {
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        operations
            .into_iter()
            .flatten()
            .map(move |operation| (path.as_str(), operation))
    })
}

/// What reading an operation's parameters and body can answer: 400 for
/// either, 408 and 413 for a body, 415 for a JSON one.
fn input_statuses(operation: &Operation) -> Vec<StatusCode> {
    let body = operation.request_body.as_ref();
    let json_body = body.is_some_and(|body| body.content.contains_key("application/json"));
    let takes_input =
        body.is_some() || operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let mut statuses = Vec::new();
    if takes_input {
        statuses.push(StatusCode::BAD_REQUEST);
    }
    if body.is_some() {
        statuses.extend([StatusCode::REQUEST_TIMEOUT, StatusCode::PAYLOAD_TOO_LARGE]);
    }
    if json_body {
        statuses.push(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
    statuses
}

/// Add `statuses` to the operation's answers, and describe every answer:
/// problem bodies for errors, the request id on all. Run again (with 401),
/// it leaves what it described as it was.
fn complete(operation: &mut Operation, statuses: &[StatusCode]) {
    let responses = &mut operation.responses.responses;
    for status in statuses {
        responses
            .entry(status.as_str().to_owned())
            .or_insert_with(|| RefOr::T(Response::new("")));
    }
    for (status, response) in responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        let status: u16 = status.parse().expect("statuses are numbers");
        if status >= 400 && response.content.is_empty() {
            describe_problem(response, status);
        }
        response.headers.insert(
            "x-request-id".into(),
            header("The request's id, the client's or a new one; the server's log names it."),
        );
    }
}

/// An event stream, described frame by frame as it is sent.
fn frame_events(operation: &mut Operation) {
    for response in operation.responses.responses.values_mut() {
        if let RefOr::T(response) = response
            && let Some(content) = response.content.get_mut(EVENT_STREAM)
        {
            content.schema = content.schema.take().map(event_frame);
        }
    }
}

/// An error status: the problem body and the problem types it can carry.
fn describe_problem(response: &mut Response, status: u16) {
    let kinds: Vec<String> = Kind::ALL
        .into_iter()
        .filter(|kind| kind.status().as_u16() == status)
        .map(|kind| format!("`{}` ({})", kind.uri(), kind.title()))
        .collect();
    let what = match response.description.as_str() {
        "" => "An error",
        described => described,
    };
    response.description = format!("{what}: a problem of type {}.", kinds.join(" or "));
    response.content.insert(
        PROBLEM.into(),
        Content::new(Some(Ref::from_schema_name("Problem"))),
    );
    match status {
        429 => {
            response.headers.insert(
                "retry-after".into(),
                header("Seconds after which to try again."),
            );
        }
        401 => {
            response
                .headers
                .insert("www-authenticate".into(), header("`Bearer`."));
        }
        _ => {}
    }
}

fn header(description: &str) -> Header {
    let mut header = Header::new(ObjectBuilder::new().schema_type(Type::String));
    header.description = Some(description.into());
    header
}

/// One Server-Sent Event as it is sent: `event:` names the kind, `data:`
/// holds the `event_schema` value as JSON.
fn event_frame(event_schema: RefOr<Schema>) -> RefOr<Schema> {
    let event_json = serde_json::to_value(event_schema).expect("schemas serialise");
    let mut data = ObjectBuilder::new()
        .schema_type(Type::String)
        .content_media_type("application/json")
        .build();
    // `contentSchema` (JSON Schema 2020-12) has no field in utoipa's types.
    data.extensions
        .get_or_insert_default()
        .insert("contentSchema".into(), event_json);
    let frame = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("event", ObjectBuilder::new().schema_type(Type::String))
        .property("data", data)
        .required("event")
        .required("data")
        .build();
    RefOr::T(Schema::Object(frame))
}
