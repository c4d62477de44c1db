//! AWS Signature Version 4, computed here from the published algorithm
//! (HMAC-SHA256 over the canonical request), independently of the
//! `aws-sigv4` crate panoptic signs with: a fake AWS endpoint checks each
//! request's `Authorization` header against it and refuses a mismatch.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// What an `Authorization: AWS4-HMAC-SHA256 …` header says.
#[derive(Debug)]
pub struct Authorization {
    pub access_key: String,
    /// `{date}/{region}/{service}/aws4_request`
    pub scope: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

impl Authorization {
    pub fn parse(header: &str) -> Option<Authorization> {
        let rest = header.strip_prefix("AWS4-HMAC-SHA256 ")?;
        let mut credential = None;
        let mut signed = None;
        let mut signature = None;
        for part in rest.split(',').map(str::trim) {
            let (name, value) = part.split_once('=')?;
            match name {
                "Credential" => credential = Some(value),
                "SignedHeaders" => signed = Some(value),
                "Signature" => signature = Some(value),
                _ => {}
            }
        }
        let (access_key, scope) = credential?.split_once('/')?;
        Some(Authorization {
            access_key: access_key.to_owned(),
            scope: scope.to_owned(),
            signed_headers: signed?.split(';').map(str::to_owned).collect(),
            signature: signature?.to_owned(),
        })
    }
}

/// The signature of a request with no query string, from its method,
/// path, headers (name, value; any case), body, `x-amz-date` and the
/// secret key, over the headers `auth` says were signed.
pub fn expected_signature(
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
    auth: &Authorization,
    secret: &str,
) -> Option<String> {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
    };
    let mut canonical_headers = String::new();
    for name in &auth.signed_headers {
        canonical_headers.push_str(&format!("{name}:{}\n", header(name)?));
    }
    let canonical_request = format!(
        "{method}\n{path}\n\n{canonical_headers}\n{}\n{}",
        auth.signed_headers.join(";"),
        sha256_hex(body)
    );
    let amz_date = header("x-amz-date")?;
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{}\n{}",
        auth.scope,
        sha256_hex(canonical_request.as_bytes())
    );
    let mut parts = auth.scope.split('/');
    let (date, region, service) = (parts.next()?, parts.next()?, parts.next()?);
    let key = signing_key(secret, date, region, service);
    Some(hex::encode(hmac(&key, &string_to_sign)))
}

/// The key a day's requests to `service` in `region` are signed with.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let key = hmac(format!("AWS4{secret}").as_bytes(), date);
    let key = hmac(&key, region);
    let key = hmac(&key, service);
    hmac(&key, "aws4_request")
}
