//! Request schemas completed with what only the server knows or what the
//! derives cannot say: see `openapi.rs`.

use sandrun_api::AppliedLimits;
use utoipa::openapi::schema::{
    AdditionalProperties, Object, ObjectBuilder, OneOfBuilder, Schema, Type,
};
use utoipa::openapi::{OpenApi as Document, Ref, RefOr};

use crate::scheduler::SessionPolicy;

/// The most a task may ask for of each limit, on this server.
pub fn set_maxima(doc: &mut Document, maximum: &AppliedLimits) {
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    let Some(RefOr::T(Schema::Object(limits))) = components.schemas.get_mut("Limits") else {
        return;
    };
    let maxima = [
        ("fuel", maximum.fuel),
        ("memory_bytes", maximum.memory_bytes),
        ("timeout_ms", maximum.timeout_ms),
        ("stdout_bytes", maximum.stdout_bytes),
        ("stderr_bytes", maximum.stderr_bytes),
        ("open_files", maximum.open_files.into()),
        ("host_calls", maximum.host_calls),
        ("host_call_bytes", maximum.host_call_bytes),
        ("disk_bytes", maximum.disk_bytes),
        ("results", maximum.results),
        ("result_bytes", maximum.result_bytes),
        ("artifacts", maximum.artifacts),
        ("artifact_bytes", maximum.artifact_bytes),
    ];
    set_maximum(limits, &maxima);
}

/// Each of `object`'s properties named in `maxima` gets that maximum.
fn set_maximum(object: &mut Object, maxima: &[(&str, u64)]) {
    for &(field, most) in maxima {
        if let Some(RefOr::T(Schema::Object(property))) = object.properties.get_mut(field) {
            property.maximum = Some((most as usize).into());
        }
    }
}

/// `TaskRequest` as one object per runtime: `code` with `python`, `module`
/// with `wasm`, never the other (though it may be `null`), which is what
/// `task_request.rs` checks.
pub fn split_by_runtime(doc: &mut Document) {
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    let Some(RefOr::T(Schema::Object(request))) = components.schemas.get("TaskRequest") else {
        return;
    };
    let variant = |runtime: &str, needs: &str, refuses: &str| {
        let mut variant = request.clone();
        variant.description = Some(format!(
            "A `{runtime}` task: it needs `{needs}` and takes no `{refuses}`."
        ));
        let runtime = ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some([runtime]));
        variant.properties.insert("runtime".into(), runtime.into());
        variant.properties.insert(
            refuses.into(),
            ObjectBuilder::new().schema_type(Type::Null).into(),
        );
        if let Some(RefOr::T(Schema::Object(needed))) = variant.properties.get_mut(needs) {
            needed.schema_type = Type::String.into();
        }
        variant.required.push(needs.into());
        variant
    };
    let split = OneOfBuilder::new()
        .description(request.description.clone())
        .item(variant("python", "code", "module"))
        .item(variant("wasm", "module", "code"))
        .build();
    components
        .schemas
        .insert("TaskRequest".into(), Schema::OneOf(split).into());
}

/// A session's and its runs' `limits` as `RunLimits`: a task's `Limits`
/// without `memory_bytes`, which is the session's. The session's own sizes
/// and times get this server's maxima. Runs after [`set_maxima`].
pub fn bound_sessions(doc: &mut Document, maximum: &AppliedLimits, sessions: &SessionPolicy) {
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    let Some(RefOr::T(Schema::Object(limits))) = components.schemas.get("Limits") else {
        return;
    };
    let mut run_limits = limits.clone();
    run_limits.properties.remove("memory_bytes");
    run_limits.description = Some(
        "A session run's limits: a task's, but for `memory_bytes`, which is the session's.".into(),
    );
    components
        .schemas
        .insert("RunLimits".into(), Schema::Object(run_limits).into());
    let maxima = [
        ("memory_bytes", maximum.memory_bytes),
        ("max_state_bytes", sessions.max_state_bytes),
        ("idle_timeout", sessions.max_idle_timeout.as_secs()),
        ("ttl", sessions.max_ttl.as_secs()),
    ];
    for name in ["SessionRequest", "RunRequest"] {
        let Some(RefOr::T(Schema::Object(request))) = components.schemas.get_mut(name) else {
            continue;
        };
        request.properties.insert(
            "limits".into(),
            RefOr::Ref(Ref::from_schema_name("RunLimits")),
        );
        set_maximum(request, &maxima);
    }
}

/// A `Blob` given as `{"base64": ...}` takes no other field, as the server
/// reads it (derives cannot close an enum variant's object).
pub fn close_blob(doc: &mut Document) {
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    let Some(RefOr::T(Schema::OneOf(blob))) = components.schemas.get_mut("Blob") else {
        return;
    };
    for item in &mut blob.items {
        if let RefOr::T(Schema::Object(object)) = item {
            if object.properties.contains_key("base64") {
                object.additional_properties =
                    Some(Box::new(AdditionalProperties::FreeForm(false)));
            }
        }
    }
}
