use axum::extract::State;
use axum::http::StatusCode;
use sandrun_api::{Readiness, RuntimeInfo, RuntimeList};

use super::AppState;
use super::extract::Json;
use crate::runtime;

/// The process is alive.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "alive")))]
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// The database answers and the runtimes are loaded.
#[utoipa::path(get, path = "/readyz", responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let readiness = Readiness {
        database: state.storage.ping().await.is_ok(),
        runtimes: state.sandbox.python_loaded(),
    };
    let status = if readiness.database && readiness.runtimes {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(readiness))
}

/// The runtimes tasks can use.
#[utoipa::path(get, path = "/v1/runtimes", responses((status = 200, body = RuntimeList)))]
pub async fn runtimes(State(state): State<AppState>) -> Json<RuntimeList> {
    let mut list: Vec<RuntimeInfo> = runtime::manifests()
        .into_iter()
        .map(|m| RuntimeInfo {
            name: m.name,
            description: m.description,
            ready: state.sandbox.python_loaded(),
        })
        .collect();
    list.push(RuntimeInfo {
        name: "wasm".into(),
        description: "any wasm32-wasip1 module uploaded to /v1/modules".into(),
        ready: true,
    });
    Json(RuntimeList { runtimes: list })
}
