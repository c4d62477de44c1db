//! Compile-time checks of the arguments: names against panoptic's one
//! catalog, with the error at the literal and the closest valid name
//! suggested; and an estimate written as a negative number.

use syn::{Expr, Lit, LitStr, UnOp};

use panoptic_catalog::{Category, Kind, Provider};

/// `" (did you mean `x`?)"` for the candidate closest to `given`, or
/// nothing when none is close. Closeness is the edit distance with
/// transpositions, ignoring case, so `gpc` finds `gcp` and `lambda` finds
/// `Lambda`.
pub(crate) fn suggestion<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let given_lower = given.to_lowercase();
    let limit = (given.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (strsim::osa_distance(&given_lower, &c.to_lowercase()), c))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

pub(crate) fn provider(lit: &LitStr) -> syn::Result<Provider> {
    let name = lit.value();
    Provider::parse(&name).ok_or_else(|| {
        let names = Provider::ALL.map(Provider::as_str);
        syn::Error::new(
            lit.span(),
            format!(
                "unknown provider `{name}`{}. Valid providers: {}",
                suggestion(&name, names),
                names.join(", ")
            ),
        )
    })
}

pub(crate) fn service(provider: Provider, lit: &LitStr, allow_unknown: bool) -> syn::Result<()> {
    let name = lit.value();
    if name.trim().is_empty() {
        return Err(syn::Error::new(lit.span(), "`service` must not be empty"));
    }
    if provider.accepts_any_service() || allow_unknown || provider.service(&name).is_some() {
        return Ok(());
    }
    let names: Vec<&str> = provider.services().iter().map(|s| s.name).collect();
    Err(syn::Error::new(
        lit.span(),
        format!(
            "unknown {provider} service `{name}`{}. Valid {provider} services: {}. \
             For a service the catalog does not list yet, add `allow_unknown_service`.",
            suggestion(&name, names.iter().copied()),
            names.join(", ")
        ),
    ))
}

pub(crate) fn category(lit: &LitStr) -> syn::Result<Category> {
    let name = lit.value();
    Category::parse(&name).ok_or_else(|| {
        syn::Error::new(
            lit.span(),
            format!("unknown category `{name}`; expected \"INFRA\" or \"AI\""),
        )
    })
}

pub(crate) fn kind(lit: &LitStr) -> syn::Result<Kind> {
    let name = lit.value();
    let for_calls = Kind::parse(&name).filter(|k| Kind::FOR_CALLS.contains(k));
    for_calls.ok_or_else(|| {
        let names = Kind::FOR_CALLS.map(Kind::as_str);
        syn::Error::new(
            lit.span(),
            format!(
                "unknown kind `{name}`{}. Valid kinds: {}",
                suggestion(&name, names),
                names.join(", ")
            ),
        )
    })
}

pub(crate) fn currency(lit: &LitStr) -> syn::Result<()> {
    let code = lit.value();
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(syn::Error::new(
            lit.span(),
            format!("currency `{code}` is not an ISO 4217 code like \"USD\" or \"EUR\""),
        ))
    }
}

/// An `estimate` that is a negative number literal (`-0.5`, `-(2)`): it
/// would add to what the budget has left, so it is an error here rather
/// than a refusal at run time. Other expressions are checked when the
/// call runs.
pub(crate) fn estimate(expr: &Expr) -> syn::Result<()> {
    fn bare(expr: &Expr) -> &Expr {
        match expr {
            Expr::Paren(inner) => bare(&inner.expr),
            Expr::Group(inner) => bare(&inner.expr),
            other => other,
        }
    }
    let Expr::Unary(negated) = bare(expr) else {
        return Ok(());
    };
    let UnOp::Neg(_) = negated.op else {
        return Ok(());
    };
    let zero = match bare(&negated.expr) {
        Expr::Lit(lit) => match &lit.lit {
            Lit::Int(n) => n.base10_digits().chars().all(|c| c == '0'),
            Lit::Float(f) => f.base10_digits().chars().all(|c| matches!(c, '0' | '.')),
            _ => return Ok(()),
        },
        _ => return Ok(()),
    };
    if zero {
        return Ok(());
    }
    Err(syn::Error::new_spanned(
        expr,
        "`estimate` must be at least 0: a negative estimate would add to what the budget has left",
    ))
}
