//! What any operation can answer, added to each: see `openapi.rs`.

use axum::http::StatusCode;
use utoipa::Modify;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::{Content, Header, OpenApi as Document, Ref, RefOr, Response};

use crate::server::problem::Kind;

const PROBLEM: &str = "application/problem+json";
const EVENT_STREAM: &str = "text/event-stream";
/// Served without an API key, like the health checks outside `/v1`.
const OPEN: &str = "/v1/openapi.json";

/// Adds what every operation can answer.
pub struct Answers;

impl Modify for Answers {
    fn modify(&self, doc: &mut Document) {
        for (path, item) in doc.paths.paths.iter_mut() {
            let behind_keys = path.starts_with("/v1/") && path != OPEN;
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                complete(operation, behind_keys);
            }
        }
    }
}

fn complete(operation: &mut Operation, behind_keys: bool) {
    let json_body = operation
        .request_body
        .as_ref()
        .is_some_and(|body| body.content.contains_key("application/json"));
    let takes_input = operation.request_body.is_some()
        || operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let mut statuses = vec![StatusCode::INTERNAL_SERVER_ERROR];
    if takes_input {
        statuses.push(StatusCode::BAD_REQUEST);
    }
    if json_body {
        statuses.extend([
            StatusCode::REQUEST_TIMEOUT,
            StatusCode::PAYLOAD_TOO_LARGE,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ]);
    }
    if behind_keys {
        statuses.extend([StatusCode::UNAUTHORIZED, StatusCode::SERVICE_UNAVAILABLE]);
    }
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
        if let Some(content) = response.content.get_mut(EVENT_STREAM) {
            content.schema = content.schema.take().map(event_frame);
        }
        response.headers.insert(
            "x-request-id".into(),
            header("The request's id, the client's or a new one; the server's log names it."),
        );
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
