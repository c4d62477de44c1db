//! The OTLP/HTTP (protobuf) providers: spans through a batch processor,
//! metrics through a periodic reader, each on the SDK's own thread.

use std::time::Duration;

use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;

/// An OTLP exporter that could not be built.
#[derive(Debug)]
pub struct OtlpError(String);

impl std::fmt::Display for OtlpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot build the OTLP exporter: {}", self.0)
    }
}

impl std::error::Error for OtlpError {}

/// Span and metric providers exporting to the collector at `endpoint`.
pub(crate) fn providers(
    endpoint: &str,
    interval: Duration,
) -> Result<(SdkTracerProvider, SdkMeterProvider), OtlpError> {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Lost to another thread installing one at the same time: fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    let base = endpoint.trim_end_matches('/');
    let resource = Resource::builder().with_service_name("panoptic").build();
    let spans = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(format!("{base}/v1/traces"))
        .with_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| OtlpError(e.to_string()))?;
    let metrics = opentelemetry_otlp::MetricExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(format!("{base}/v1/metrics"))
        .with_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| OtlpError(e.to_string()))?;
    let traces = SdkTracerProvider::builder()
        .with_batch_exporter(spans)
        .with_resource(resource.clone())
        .build();
    let reader = PeriodicReader::builder(metrics)
        .with_interval(interval)
        .build();
    let meters = SdkMeterProvider::builder()
        .with_reader(reader)
        .with_resource(resource)
        .build();
    Ok((traces, meters))
}
