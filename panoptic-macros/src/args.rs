//! The arguments of `#[billable(...)]` and `billable_block!(... => ...)`:
//! parsed and checked here, expanded elsewhere.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, Ident, LitStr, Path, Token};

use crate::check;
use panoptic_catalog::{Category, Kind, Provider};

/// Every key, for "unknown key" messages and suggestions.
pub(crate) const KEYS: &[&str] = &[
    "provider",
    "service",
    "resource",
    "unit",
    "quantity",
    "quantity_from",
    "amount",
    "amount_from",
    "usage",
    "usage_from",
    "budget",
    "estimate",
    "currency",
    "category",
    "user",
    "request_id",
    "tags",
    "kind",
    "logger",
    "err",
    "start_record",
    "allow_unknown_service",
    "crate",
];

/// Checked arguments.
pub(crate) struct Args {
    pub provider: Provider,
    pub service: LitStr,
    pub resource: Option<LitStr>,
    pub unit: Option<LitStr>,
    pub quantity: Option<Expr>,
    pub quantity_from: Option<Expr>,
    pub amount: Option<Expr>,
    pub amount_from: Option<Expr>,
    pub usage: Option<Expr>,
    pub usage_from: Option<Expr>,
    pub budget: Option<LitStr>,
    pub estimate: Option<Expr>,
    pub currency: Option<LitStr>,
    pub category: Option<Category>,
    pub user: Option<Expr>,
    pub request_id: Option<Expr>,
    pub tags: Vec<LitStr>,
    pub kind: Kind,
    pub logger: Option<Expr>,
    pub err: bool,
    /// `start_record` / `start_record = true|false`; `None`: the instance's default.
    pub start_record: Option<bool>,
    pub krate: Path,
}

/// One `key = value`, `key(...)` or bare `key`, before checking.
enum Arg {
    Value(Ident, Expr),
    List(Ident, Punctuated<Expr, Token![,]>),
    Flag(Ident),
}

impl Parse for Arg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        // `crate` is a keyword, so read any identifier.
        let key = input.call(syn::ext::IdentExt::parse_any)?;
        if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            Ok(Arg::Value(key, input.parse()?))
        } else if input.peek(syn::token::Paren) {
            let content;
            syn::parenthesized!(content in input);
            Ok(Arg::List(
                key,
                content.parse_terminated(Expr::parse, Token![,])?,
            ))
        } else {
            Ok(Arg::Flag(key))
        }
    }
}

impl Args {
    /// Parses a comma-separated list of arguments (the whole attribute, or
    /// the part of `billable_block!` before `=>`).
    pub fn parse_list(input: ParseStream, what: Span, block: bool) -> syn::Result<Args> {
        let mut items = Vec::new();
        while !input.is_empty() && !input.peek(Token![=>]) {
            items.push(input.parse::<Arg>()?);
            if input.is_empty() || input.peek(Token![=>]) {
                break;
            }
            if !input.peek(Token![,]) {
                return Err(input.error(if block {
                    "expected `,` or `=> { … }` after an argument"
                } else {
                    "expected `,` between arguments"
                }));
            }
            input.parse::<Token![,]>()?;
        }
        Args::check(items, what)
    }

    fn check(items: Vec<Arg>, what: Span) -> syn::Result<Args> {
        let mut errors: Option<syn::Error> = None;
        let mut push = |e: syn::Error| match &mut errors {
            Some(all) => all.combine(e),
            None => errors = Some(e),
        };
        let mut seen: Vec<String> = Vec::new();
        let mut provider: Option<(Provider, Span)> = None;
        let mut provider_given = false;
        let mut unknown_keys = false;
        let mut service: Option<LitStr> = None;
        let mut allow_unknown_service = false;
        let mut args = Args {
            provider: Provider::UserDefined,
            service: LitStr::new("", what),
            resource: None,
            unit: None,
            quantity: None,
            quantity_from: None,
            amount: None,
            amount_from: None,
            usage: None,
            usage_from: None,
            budget: None,
            estimate: None,
            currency: None,
            category: None,
            user: None,
            request_id: None,
            tags: Vec::new(),
            kind: Kind::Invoice,
            logger: None,
            err: false,
            start_record: None,
            krate: syn::parse_quote!(::panoptic),
        };

        for item in items {
            let key = match &item {
                Arg::Value(k, _) | Arg::List(k, _) | Arg::Flag(k) => k.clone(),
            };
            let name = key.to_string();
            if !KEYS.contains(&name.as_str()) {
                unknown_keys = true;
                push(syn::Error::new(
                    key.span(),
                    format!(
                        "unknown key `{name}`{}. Valid keys: {}",
                        check::suggestion(&name, KEYS.iter().copied()),
                        KEYS.join(", ")
                    ),
                ));
                continue;
            }
            if seen.contains(&name) {
                push(syn::Error::new(
                    key.span(),
                    format!("duplicate key `{name}`"),
                ));
                continue;
            }
            seen.push(name.clone());
            let result = match name.as_str() {
                "provider" => {
                    provider_given = true;
                    literal(&item).and_then(|lit| {
                        let p = check::provider(&lit)?;
                        provider = Some((p, lit.span()));
                        Ok(())
                    })
                }
                "service" => literal(&item).map(|lit| service = Some(lit)),
                "resource" => literal(&item).and_then(|lit| {
                    non_empty(&lit)?;
                    args.resource = Some(lit);
                    Ok(())
                }),
                "unit" => literal(&item).and_then(|lit| {
                    non_empty(&lit)?;
                    args.unit = Some(lit);
                    Ok(())
                }),
                "currency" => literal(&item).and_then(|lit| {
                    check::currency(&lit)?;
                    args.currency = Some(lit);
                    Ok(())
                }),
                "category" => literal(&item).and_then(|lit| {
                    args.category = Some(check::category(&lit)?);
                    Ok(())
                }),
                "kind" => literal(&item).and_then(|lit| {
                    args.kind = check::kind(&lit)?;
                    Ok(())
                }),
                "crate" => literal(&item).and_then(|lit| {
                    args.krate = lit.parse::<Path>().map_err(|_| {
                        syn::Error::new(
                            lit.span(),
                            "`crate` must be a path, like \"::my_facade::panoptic\"",
                        )
                    })?;
                    Ok(())
                }),
                "quantity" => expression(item).map(|e| args.quantity = Some(e)),
                "quantity_from" => expression(item).map(|e| args.quantity_from = Some(e)),
                "amount" => expression(item).map(|e| args.amount = Some(e)),
                "amount_from" => expression(item).map(|e| args.amount_from = Some(e)),
                "usage" => expression(item).map(|e| args.usage = Some(e)),
                "usage_from" => expression(item).map(|e| args.usage_from = Some(e)),
                "budget" => literal(&item).and_then(|lit| {
                    non_empty(&lit)?;
                    args.budget = Some(lit);
                    Ok(())
                }),
                "estimate" => expression(item).and_then(|e| {
                    check::estimate(&e)?;
                    args.estimate = Some(e);
                    Ok(())
                }),
                "user" => expression(item).map(|e| args.user = Some(e)),
                "request_id" => expression(item).map(|e| args.request_id = Some(e)),
                "logger" => expression(item).map(|e| args.logger = Some(e)),
                "tags" => tag_list(item).map(|t| args.tags = t),
                "err" => flag(&item).map(|()| args.err = true),
                "start_record" => flag_or_bool(&item).map(|on| args.start_record = Some(on)),
                "allow_unknown_service" => flag(&item).map(|()| allow_unknown_service = true),
                _ => unreachable!("every key in KEYS is handled"),
            };
            if let Err(e) = result {
                push(e);
            }
        }

        if seen.iter().any(|k| k == "quantity") && seen.iter().any(|k| k == "quantity_from") {
            push(syn::Error::new(
                what,
                "give `quantity` or `quantity_from`, not both",
            ));
        }
        if seen.iter().any(|k| k == "amount") && seen.iter().any(|k| k == "amount_from") {
            push(syn::Error::new(
                what,
                "give `amount` or `amount_from`, not both",
            ));
        }
        if seen.iter().any(|k| k == "estimate") && !seen.iter().any(|k| k == "budget") {
            push(syn::Error::new(
                what,
                "`estimate` is the amount a call reserves in its budget: give `budget = \"…\"` too",
            ));
        }
        if seen.iter().any(|k| k == "usage") && seen.iter().any(|k| k == "usage_from") {
            push(syn::Error::new(
                what,
                "give `usage` or `usage_from`, not both",
            ));
        }
        match (provider, service) {
            // Already reported: a bad provider, or a misspelt key that was
            // probably the missing one.
            (None, _) | (Some(_), None) if provider_given && unknown_keys => {}
            (None, _) if provider_given => {}
            (Some(_), None) if unknown_keys => {}
            (None, _) => push(syn::Error::new(
                what,
                "missing `provider = \"…\"` (one of: gcp, aws, openai, mongodb_atlas, user_defined)",
            )),
            (Some(_), None) => push(syn::Error::new(what, "missing `service = \"…\"`")),
            (Some((p, _)), Some(lit)) => {
                args.provider = p;
                if let Err(e) = check::service(p, &lit, allow_unknown_service) {
                    push(e);
                }
                args.service = lit;
            }
        }
        match errors {
            Some(e) => Err(e),
            None => Ok(args),
        }
    }
}

fn literal(item: &Arg) -> syn::Result<LitStr> {
    match item {
        Arg::Value(
            _,
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(lit),
                ..
            }),
        ) => Ok(lit.clone()),
        Arg::Value(key, value) => Err(syn::Error::new(
            value.span(),
            format!("`{key}` takes a string literal, like `{key} = \"…\"`"),
        )),
        Arg::List(key, _) | Arg::Flag(key) => Err(syn::Error::new(
            key.span(),
            format!("`{key}` takes a string literal, like `{key} = \"…\"`"),
        )),
    }
}

fn non_empty(lit: &LitStr) -> syn::Result<()> {
    if lit.value().trim().is_empty() {
        Err(syn::Error::new(lit.span(), "must not be empty"))
    } else {
        Ok(())
    }
}

fn expression(item: Arg) -> syn::Result<Expr> {
    match item {
        Arg::Value(_, expr) => Ok(expr),
        Arg::List(key, _) | Arg::Flag(key) => Err(syn::Error::new(
            key.span(),
            format!("`{key}` takes an expression, like `{key} = …`"),
        )),
    }
}

fn flag(item: &Arg) -> syn::Result<()> {
    match item {
        Arg::Flag(_) => Ok(()),
        Arg::Value(key, _) | Arg::List(key, _) => Err(syn::Error::new(
            key.span(),
            format!("`{key}` is a flag and takes no value: write just `{key}`"),
        )),
    }
}

/// A bare flag (`key`, true) or `key = true|false`.
fn flag_or_bool(item: &Arg) -> syn::Result<bool> {
    match item {
        Arg::Flag(_) => Ok(true),
        Arg::Value(
            _,
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Bool(on),
                ..
            }),
        ) => Ok(on.value),
        Arg::Value(key, _) | Arg::List(key, _) => Err(syn::Error::new(
            key.span(),
            format!("`{key}` takes no value or a bool: `{key}` or `{key} = false`"),
        )),
    }
}

fn tag_list(item: Arg) -> syn::Result<Vec<LitStr>> {
    let Arg::List(_, items) = item else {
        let key = match item {
            Arg::Value(k, _) | Arg::Flag(k) | Arg::List(k, _) => k,
        };
        return Err(syn::Error::new(
            key.span(),
            "`tags` takes a list of string literals, like `tags(\"nightly\", \"batch\")`",
        ));
    };
    items
        .into_iter()
        .map(|expr| match expr {
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(lit),
                ..
            }) => Ok(lit),
            other => Err(syn::Error::new(
                other.span(),
                "a tag must be a string literal",
            )),
        })
        .collect()
}
