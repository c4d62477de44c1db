//! `#[billable]` and `billable_block!`: bill every call of a function, or a
//! block, as a panoptic `BillingEvent`. Use them through the `panoptic`
//! crate, which documents them with examples; this crate only generates
//! code.
//!
//! Arguments are parsed and checked in `args` (names against the catalog in
//! `check`), and code is generated in `expand`.

mod args;
mod check;
mod expand;

use proc_macro::TokenStream;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;

use args::Args;

/// Bills every call of the annotated function.
///
/// ```ignore
/// #[panoptic::billable(provider = "gcp", service = "BigQuery")]
/// async fn daily_report(day: NaiveDate) -> Result<Rows, Error> { … }
/// ```
///
/// See the `panoptic` crate for every key.
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

/// Bills one block: `billable_block!(provider = "…", service = "…" => { … })`
/// evaluates to the block's value; `=> async { … }` gives a future that
/// records when it completes. Named `billable_block!` because an attribute
/// and a function-like macro cannot share the name `billable`.
#[proc_macro]
pub fn billable_block(input: TokenStream) -> TokenStream {
    match syn::parse::<BlockInput>(input) {
        Ok(BlockInput { args, body }) => expand::block(&args, &body).into(),
        Err(e) => e.to_compile_error().into(),
    }
}
