//! How answers are made: JSON, CSV files to download, and failures that
//! say what to do.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An answer the page can show: what went wrong and what to do.
pub struct Failure(StatusCode, String);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let mut response = json_body(&json!({ "error": self.1 }));
        *response.status_mut() = self.0;
        response
    }
}

pub type Answer = Result<Response, Failure>;

pub fn bad_request(message: String) -> Failure {
    Failure(StatusCode::BAD_REQUEST, message)
}

pub fn unavailable(message: String) -> Failure {
    Failure(StatusCode::SERVICE_UNAVAILABLE, message)
}

pub async fn not_found() -> Failure {
    Failure(
        StatusCode::NOT_FOUND,
        "no such page: start at /overview".to_owned(),
    )
}

fn json_body(value: &Value) -> Response {
    let mut response = value.to_string().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

pub fn json_answer(value: Value) -> Answer {
    Ok(json_body(&value))
}

pub fn csv_answer(name: &str, lines: Vec<String>) -> Answer {
    let mut body = lines.join("\r\n");
    body.push_str("\r\n");
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) =
        HeaderValue::from_str(&format!("attachment; filename=\"panoptic-{name}.csv\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

pub fn ms(value: Option<f64>) -> Value {
    value.map_or(Value::Null, |v| json!((v * 100.0).round() / 100.0))
}

pub fn number(value: Option<f64>) -> String {
    value.map(|v| format!("{v:.2}")).unwrap_or_default()
}
