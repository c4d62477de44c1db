//! Errors and panics: the instrumented function behaves exactly as before —
//! its error comes back unchanged, a panic goes on unwinding — and the event
//! says how it ended (`outcome`: ok, error, panic; `metadata.error`).
//! MongoDB being down never reaches the caller: events wait in the spool.
//!
//! ```text
//! cargo run --example error_handling
//! ```

use panoptic::{Panoptic, billable};

#[derive(Debug)]
enum QueryError {
    Quota { used: u64 },
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QueryError::Quota { used } => write!(f, "quota exceeded after {used} bytes"),
        }
    }
}

impl std::error::Error for QueryError {}

/// A type alias of Result is recognized too (the outcome is judged by type,
/// not by the name written in the signature).
type QueryResult<T> = Result<T, QueryError>;

#[billable(provider = "gcp", service = "BigQuery")]
fn scan(bytes: u64) -> QueryResult<u64> {
    if bytes > 1_000 {
        return Err(QueryError::Quota { used: bytes });
    }
    Ok(bytes)
}

#[billable(provider = "gcp", service = "BigQuery")]
fn parse_then_scan(text: &str) -> Result<u64, Box<dyn std::error::Error>> {
    let bytes: u64 = text.parse()?; // `?` works as before
    Ok(scan(bytes)?)
}

#[billable(provider = "gcp", service = "Dataflow")]
fn crash() {
    panic!("pipeline exploded");
}

fn main() -> Result<(), panoptic::Error> {
    // An address where nothing listens: events go to the spool, the
    // program does not notice.
    let guard = Panoptic::builder()
        .username("error_demo")
        .mongodb_uri(
            std::env::var("MONGODB_URI").unwrap_or_else(|_| "mongodb://127.0.0.1:9/".into()),
        )
        .server_timeout(std::time::Duration::from_millis(500))
        .install()?;

    println!("scan(10)            = {:?}", scan(10));
    println!(
        "scan(5000)          = {:?}",
        scan(5_000).map_err(|e| e.to_string())
    );
    println!(
        "parse_then_scan(x)  = {:?}",
        parse_then_scan("x").map_err(|e| e.to_string())
    );
    let panicked = std::panic::catch_unwind(crash).is_err();
    println!("crash() panicked    = {panicked}");

    guard.flush();
    let stats = guard.stats();
    println!(
        "{} events recorded: {} in MongoDB, {} in the spool; last error: {}",
        stats.emitted,
        stats.written,
        stats.spooled,
        stats.last_error.as_deref().unwrap_or("none")
    );
    Ok(())
}
