//! `#[billable]` and `billable_block!`: bill every call of a function, or a
//! block, as a panoptic `BillingEvent`. Use them through the `panoptic`
//! crate, which documents them with examples; this crate only generates
//! code.
//!
//! Arguments are parsed and checked in `args` (names against the catalog in
//! `check`), and code is generated in `expand`.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod args;
mod check;
mod expand;

use proc_macro::TokenStream;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;

use args::Args;

/// Bills every call of the annotated function: each call emits one
/// `BillingEvent` whose `resource` is the function's identifier.
///
/// ```rust,ignore
/// use panoptic::billable;
///
/// #[billable(provider = "gcp", service = "BigQuery")]
/// async fn daily_report(day: NaiveDate) -> Result<Rows, Error> {
///     /* … */
/// }
///
/// impl Reports {
///     // resource "refresh", metadata.qualified_name "Reports::refresh"
///     #[billable(provider = "aws", service = "Lambda", unit = "rows",
///                quantity_from = |rows: &Vec<Row>| rows.len())]
///     fn refresh(&self) -> Vec<Row> { /* … */ }
/// }
/// ```
///
/// Keys (provider and service are required and checked at compile time
/// against the catalog, with a "did you mean" for typos):
///
/// | key | value |
/// |---|---|
/// | `provider` | `"gcp"`, `"aws"`, `"openai"`, `"mongodb_atlas"`, `"user_defined"` |
/// | `service` | one of the provider's services (any for `user_defined`) |
/// | `allow_unknown_service` | flag: accept a service the catalog does not list yet |
/// | `resource` | string: replaces the identifier as `resource` |
/// | `unit`, `currency` | strings (default `"call"`, `"USD"`) |
/// | `quantity`, `amount` | expressions evaluated at entry (arguments borrowed) |
/// | `quantity_from`, `amount_from` | closure or fn taking `&ReturnType` |
/// | `usage` | a `panoptic::Usage` known at entry, priced from the price book |
/// | `usage_from` | closure or fn taking `&ReturnType`, giving a `Usage` (or `Option<Usage>`) |
/// | `category` | `"INFRA"` or `"AI"` (default from the catalog) |
/// | `user`, `request_id` | `Display` expressions |
/// | `tags("a", "b")` | string literals |
/// | `kind` | `"invoice"` (default), `"charge"`, `"billing"`, `"quota"`, `"token_usage"` |
/// | `logger` | expression giving the `slog::Logger` to log through |
/// | `err` | flag: the function must return a `Result` (compile error otherwise) |
/// | `crate` | path of the runtime when panoptic is re-exported, e.g. `"my_sdk::panoptic"` |
///
/// Pricing: an `amount`/`amount_from` wins (`metadata.priced_by: "given"`);
/// else the usage (`usage`, `usage_from`, or a return value that implements
/// `panoptic::Metered`, bare or in `Ok` — async-openai responses with the
/// `openai` feature) is priced from the price book, with the prices kept
/// in `metadata.price`; else the event has no amount and
/// `metadata.unpriced` says why. Never a silent zero.
///
/// A returned `Err` is recorded as outcome `error` (its `Display` in
/// `metadata.error`) and returned unchanged; type aliases of `Result` are
/// recognized. A panic is recorded as `panic` and goes on. For a block
/// rather than a function, see [`billable_block!`](macro@billable_block).
#[proc_macro_attribute]
pub fn billable(attr: TokenStream, item: TokenStream) -> TokenStream {
    let args = match syn::parse::Parser::parse(
        |input: ParseStream| Args::parse_list(input, proc_macro2::Span::call_site(), false),
        attr,
    ) {
        Ok(args) => args,
        Err(e) => return with_item(e, item),
    };
    let function = match parse_function(item.clone()) {
        Ok(f) => f,
        Err(e) => return with_item(e, item),
    };
    expand::function(&args, function).into()
}

/// Emits `error` and, if it parses, the item unchanged, so that one mistake
/// in the attribute does not cascade into errors at every call site.
fn with_item(error: syn::Error, item: TokenStream) -> TokenStream {
    let mut out = error.to_compile_error();
    out.extend(proc_macro2::TokenStream::from(item));
    out.into()
}

fn parse_function(item: TokenStream) -> syn::Result<syn::ItemFn> {
    let tokens = proc_macro2::TokenStream::from(item);
    let function: syn::ItemFn = match syn::parse2(tokens.clone()) {
        Ok(f) => f,
        Err(_) => {
            let what = match syn::parse2::<syn::TraitItemFn>(tokens.clone()) {
                Ok(f) if f.default.is_none() => {
                    return Err(syn::Error::new(
                        f.sig.span(),
                        "#[billable] needs a function body; put it on the trait's implementations",
                    ));
                }
                _ => {
                    "#[billable] can only be applied to functions (fn items, methods, trait-impl methods)"
                }
            };
            return Err(syn::Error::new(tokens.span(), what));
        }
    };
    if let Some(constness) = &function.sig.constness {
        return Err(syn::Error::new(
            constness.span(),
            "#[billable] cannot be applied to a `const fn`: recording a call needs a clock and I/O at run time",
        ));
    }
    Ok(function)
}

/// Input of `billable_block!`: arguments, `=>`, a block or async block.
struct BlockInput {
    args: Args,
    body: syn::Expr,
}

impl Parse for BlockInput {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let args = Args::parse_list(input, input.span(), true)?;
        if !input.peek(syn::Token![=>]) {
            return Err(input.error(
                "expected `=> { … }` after the arguments: billable_block!(provider = \"…\", service = \"…\" => { … })",
            ));
        }
        input.parse::<syn::Token![=>]>()?;
        let body: syn::Expr = input.parse()?;
        match &body {
            syn::Expr::Block(_) | syn::Expr::Async(_) => {}
            other => {
                return Err(syn::Error::new(
                    other.span(),
                    "expected a block `{ … }` or `async { … }` / `async move { … }` after `=>`",
                ));
            }
        }
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the block"));
        }
        Ok(BlockInput { args, body })
    }
}

/// Bills one block, with the same keys as [`#[billable]`](macro@billable):
/// it evaluates to the block's value, and without `resource` the event is
/// named after the enclosing function (closures are looked through).
/// `=> async { … }` (or `async move`) gives a future that records when it
/// completes.
///
/// ```rust,ignore
/// use panoptic::billable_block;
///
/// fn checkout(items: u32, price: u32) -> u32 {
///     // resource "checkout"
///     let total = billable_block!(provider = "user_defined", service = "PricingService" => {
///         items * price
///     });
///     // as a statement, with a resource of its own
///     billable_block!(provider = "user_defined", service = "PricingService", resource = "audit" => {
///         audit(total);
///     });
///     total
/// }
///
/// async fn nightly() {
///     billable_block!(provider = "gcp", service = "CloudRun" => async move { render().await }).await;
/// }
/// ```
///
/// Named `billable_block!` because Rust cannot export an attribute macro
/// and a function-like macro under one name (`billable`).
#[proc_macro]
pub fn billable_block(input: TokenStream) -> TokenStream {
    match syn::parse::<BlockInput>(input) {
        Ok(BlockInput { args, body }) => expand::block(&args, &body).into(),
        Err(e) => e.to_compile_error().into(),
    }
}
