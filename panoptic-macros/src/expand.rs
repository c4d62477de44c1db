//! Code generation. Everything generated reaches the runtime through one
//! path, `{crate}::__private` (default `::panoptic`), and names its locals
//! with mixed-site hygiene so that user code can neither see nor shadow them.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::visit::Visit;
use syn::{Expr, FnArg, ItemFn, ReturnType, Type};

use crate::args::Args;

/// Names of the generated locals and items.
struct Names {
    call: syn::Ident,
    ret: syn::Ident,
    site: syn::Ident,
    locate: syn::Ident,
}

impl Names {
    fn new() -> Names {
        let span = Span::mixed_site();
        Names {
            call: syn::Ident::new("__panoptic_call", span),
            ret: syn::Ident::new("__panoptic_ret", span),
            site: format_ident!("__PANOPTIC_SITE"),
            locate: format_ident!("__panoptic_locate"),
        }
    }
}

/// `#[billable]` on a function.
pub(crate) fn function(args: &Args, mut item: ItemFn) -> TokenStream {
    let names = Names::new();
    let ident = item.sig.ident.to_string();
    let args_types: Vec<String> = item
        .sig
        .inputs
        .iter()
        .filter_map(|arg| match arg {
            FnArg::Typed(pat) => Some(type_text(&pat.ty)),
            FnArg::Receiver(_) => None,
        })
        .collect();
    let site = site(args, &names, &ident, &args_types);
    let is_async = item.sig.asyncness.is_some();
    let start = start(args, &names, is_async);
    let output_span = match &item.sig.output {
        ReturnType::Type(_, ty) => syn::spanned::Spanned::span(ty),
        ReturnType::Default => item.sig.ident.span(),
    };
    let finish = finish(args, &names, output_span);
    let block = &item.block;
    let fake_return = match &item.sig.output {
        ReturnType::Type(_, ty) if !contains_impl_trait(ty) => {
            // Tells type inference what `?` and `return` in the moved body
            // convert into, as the function signature did before.
            quote! {
                #[allow(unreachable_code, clippy::diverging_sub_expression)]
                if false {
                    let __panoptic_fake_return: #ty = ::core::unreachable!();
                    return __panoptic_fake_return;
                }
            }
        }
        ReturnType::Default => {
            // A body that only panics would otherwise leave the closure's
            // type open, and the outcome probe would guess `Result`.
            quote! {
                #[allow(unreachable_code, clippy::diverging_sub_expression)]
                if false {
                    let __panoptic_fake_return: () = ::core::unreachable!();
                    return __panoptic_fake_return;
                }
            }
        }
        _ => TokenStream::new(),
    };
    let (call, ret) = (&names.call, &names.ret);
    let mutability = call_mutability(args);
    let private = private(args);
    let site_ident = &names.site;
    let budgeted = args.budget.is_some();
    let run = if is_async && budgeted {
        // The reservation is visible to client libraries the body calls
        // (a BigQuery invoice settles it at the real amount).
        quote! {
            let #ret = #private::InSite::new(
                &#site_ident,
                #call.in_budget(async move { #fake_return #block }),
            ).await;
        }
    } else if is_async {
        quote! {
            let #ret = #private::InSite::new(&#site_ident, async move { #fake_return #block }).await;
        }
    } else if budgeted {
        let scope = syn::Ident::new("__panoptic_budget_scope", Span::mixed_site());
        quote! {
            let #ret = {
                let #scope = #call.budget_scope();
                #private::call_once(move || { #fake_return #block })
            };
        }
    } else {
        // Through a FnOnce bound, so the body may return borrows of the
        // arguments it owns (`&mut self.field`).
        quote! {
            let #ret = #private::call_once(move || { #fake_return #block });
        }
    };
    let reserve = reserve(args, &names, is_async, &item.sig.output);
    let body = if idle_shortcut(args, is_async) {
        // Nothing to evaluate at entry: the body is one closure, called
        // straight away when nothing records (no guard is built, so the
        // uninstalled call is a load and a branch) or inside the guard.
        // One body for the compiler to check, unlike a second copy.
        let body_fn = syn::Ident::new("__panoptic_body", Span::mixed_site());
        quote! {
            {
                #site
                let #body_fn = #private::body_once(move || { #fake_return #block });
                if !#private::recording() {
                    return #body_fn();
                }
                let #mutability #call = #start;
                let #ret = #body_fn();
                #finish
                #ret
            }
        }
    } else {
        quote! {
            {
                #site
                let #mutability #call = #start;
                #reserve
                #run
                #finish
                #ret
            }
        }
    };
    item.block = Box::new(syn::parse2(body).expect("generated block parses"));
    item.into_token_stream()
}

/// A synchronous call with no budget and no per-call value read at entry
/// (`user`, `logger`, …: they borrow the arguments the body's closure
/// takes) may build its body's closure before deciding to record.
fn idle_shortcut(args: &Args, is_async: bool) -> bool {
    !is_async
        && args.budget.is_none()
        && args.logger.is_none()
        && args.user.is_none()
        && args.request_id.is_none()
        && args.quantity.is_none()
        && args.amount.is_none()
        && args.usage.is_none()
}

/// `budget = "…"`: reserve before the body runs; a refusal is returned as
/// the function's own `Err`. The return type must be able to carry it: a
/// clear error at the return type otherwise (`Refusable`).
fn reserve(args: &Args, names: &Names, is_async: bool, output: &ReturnType) -> TokenStream {
    let Some(budget) = &args.budget else {
        return TokenStream::new();
    };
    let private = private(args);
    let call = &names.call;
    let mutability = call_mutability(args);
    let estimate = match &args.estimate {
        Some(e) => quote_spanned!(expr_span(e)=> #e),
        None => quote!(0u8),
    };
    let reserved = if is_async {
        quote!(#call.reserve_async(#budget, #estimate).await)
    } else {
        quote!(#call.reserve(#budget, #estimate))
    };
    let (ty, span) = match output {
        ReturnType::Type(_, ty) if contains_impl_trait(ty) => {
            return syn::Error::new_spanned(
                ty,
                "`budget = …` needs a return type written out as `Result<_, E>` (not `impl Trait`), \
                 with `E: From<panoptic::BudgetExceeded>`",
            )
            .to_compile_error();
        }
        ReturnType::Type(_, ty) => (quote!(#ty), syn::spanned::Spanned::span(ty)),
        ReturnType::Default => (quote!(()), budget.span()),
    };
    let refused = syn::Ident::new("__panoptic_refused", Span::mixed_site());
    let given_back = quote_spanned! {span=>
        <#ty as #private::budget::Refusable>::refused(#refused)
    };
    quote! {
        let #mutability #call = match #reserved {
            ::core::result::Result::Ok(#call) => #call,
            ::core::result::Result::Err(#refused) => return #given_back,
        };
    }
}

/// `billable_block!(... => { ... })`, `=> async { ... }`, `=> async move { ... }`.
pub(crate) fn block(args: &Args, body: &Expr) -> TokenStream {
    let names = Names::new();
    let site = site(args, &names, "", &[]);
    let finish = finish(args, &names, expr_span(body));
    let (call, ret) = (&names.call, &names.ret);
    let mutability = call_mutability(args);
    let private = private(args);
    let site_ident = &names.site;
    match body {
        Expr::Async(async_block) => {
            let start = start(args, &names, true);
            // A future that starts timing at its first poll and records when
            // it completes; the user's block keeps its own capture mode.
            quote! {
                {
                    #site
                    #private::InSite::new(&#site_ident, async move {
                        let #mutability #call = #start;
                        let #ret = #async_block.await;
                        #finish
                        #ret
                    })
                }
            }
        }
        _ => {
            let start = start(args, &names, false);
            quote! {
            {
                #site
                let #mutability #call = #start;
                let #ret = #body;
                #finish
                #ret
            }
            }
        }
    }
}

fn private(args: &Args) -> TokenStream {
    let krate = &args.krate;
    quote!(#krate::__private)
}

/// The `static` call site and the probe item that locates the function.
fn site(args: &Args, names: &Names, function_name: &str, args_types: &[String]) -> TokenStream {
    let krate = &args.krate;
    let private = quote!(#krate::__private);
    let Names { site, locate, .. } = names;
    let provider = format_ident!("{}", args.provider.variant_name());
    let service = &args.service;
    let category = match args.category {
        Some(c) => {
            let variant = format_ident!(
                "{}",
                if c == panoptic_catalog::Category::Ai {
                    "Ai"
                } else {
                    "Infra"
                }
            );
            quote!(::core::option::Option::Some(#private::Category::#variant))
        }
        None => quote!(::core::option::Option::None),
    };
    let resource = match &args.resource {
        Some(r) => quote!(::core::option::Option::Some(#r)),
        None => quote!(::core::option::Option::None),
    };
    let kind = format_ident!("{}", kind_variant(args.kind));
    let unit = args
        .unit
        .as_ref()
        .map_or_else(|| quote!("call"), ToTokens::to_token_stream);
    let currency = args
        .currency
        .as_ref()
        .map_or_else(|| quote!("USD"), ToTokens::to_token_stream);
    let tags = &args.tags;
    quote! {
        fn #locate() -> &'static str {
            ::core::any::type_name_of_val(&#locate)
        }
        static #site: #private::CallSite = #private::CallSite {
            provider: #private::Provider::#provider,
            service: #service,
            category: #category,
            resource: #resource,
            function_name: #function_name,
            locate: #locate,
            args_types: &[#(#args_types),*],
            kind: #private::Kind::#kind,
            unit: #unit,
            currency: #currency,
            tags: &[#(#tags),*],
            location: #private::RecordLocation {
                file: ::core::file!(),
                line: ::core::line!(),
                column: ::core::column!(),
                function: #function_name,
                module: ::core::module_path!(),
            },
            names: #private::OnceLock::new(),
            cache: #private::SiteCache::new(),
        };
    }
}

/// `Call::start(&SITE)` with the per-call values evaluated at entry, while
/// the arguments are still in scope (by reference, never moved).
fn start(args: &Args, names: &Names, is_async: bool) -> TokenStream {
    let krate = &args.krate;
    let site = &names.site;
    let constructor = if is_async {
        quote!(start_async)
    } else {
        quote!(start)
    };
    let mut chain = quote!(#krate::__private::Call::#constructor(&#site));
    if let Some(logger) = &args.logger {
        chain = quote_spanned!(expr_span(logger)=> #chain.with_logger(&(#logger)));
    }
    if let Some(user) = &args.user {
        chain = quote_spanned!(expr_span(user)=> #chain.with_user(&(#user)));
    }
    if let Some(id) = &args.request_id {
        chain = quote_spanned!(expr_span(id)=> #chain.with_request_id(&(#id)));
    }
    if let Some(q) = &args.quantity {
        chain = quote_spanned!(expr_span(q)=> #chain.with_quantity(#q));
    }
    if let Some(a) = &args.amount {
        chain = quote_spanned!(expr_span(a)=> #chain.with_amount(#a));
    }
    if let Some(u) = &args.usage {
        chain = quote_spanned!(expr_span(u)=> #chain.with_usage(#u));
    }
    // A budgeted call's reservation is its start record already.
    match (args.start_record, args.budget.is_none()) {
        (Some(true), true) => chain = quote!(#chain.with_start_record()),
        // The instance's default (`.start_records(true)`), checked by one
        // atomic load when no instance asks for it.
        (None, true) => chain = quote!(#chain.default_start_record()),
        _ => {}
    }
    chain
}

/// Values from the return value, then the outcome, then the record.
fn finish(args: &Args, names: &Names, output_span: Span) -> TokenStream {
    let krate = &args.krate;
    let private = quote!(#krate::__private);
    let (call, ret) = (&names.call, &names.ret);
    let mut out = TokenStream::new();
    if let Some(f) = &args.quantity_from {
        out.extend(quote_spanned!(expr_span(f)=> #call.set_quantity(#private::apply(&#ret, #f));));
    }
    if let Some(f) = &args.amount_from {
        out.extend(quote_spanned!(expr_span(f)=> #call.set_amount(#private::apply(&#ret, #f));));
    }
    if let Some(f) = &args.usage_from {
        out.extend(quote_spanned!(expr_span(f)=> #call.set_usage(#private::apply(&#ret, #f));));
    }
    let outcome = if args.err {
        // Spanned at the return type: that is what must be a Result.
        quote_spanned!(output_span=> #private::probe::result_outcome(&#ret))
    } else {
        quote! {
            {
                use #private::probe::{ProbeAny as _, ProbeDebug as _, ProbeDisplay as _, ProbeResult as _};
                (&&&&#private::probe::OutcomeProbe(&#ret)).panoptic_outcome()
            }
        }
    };
    // Judged only when the call is being recorded (an error's text costs an
    // allocation); the probe's borrows are needless once the type is known.
    // The usage the return value reports (a `Metered` type, bare or in
    // `Ok`), read only when the call is recorded.
    let usage = quote! {
        {
            use #private::meter::{MeterNone as _, MeterOk as _, MeterValue as _};
            (&&&#private::meter::UsageProbe(&#ret)).panoptic_usage()
        }
    };
    out.extend(quote! {
        #[allow(clippy::needless_borrow)]
        #call.finish_metered(|| #outcome, || #usage);
    });
    out
}

/// `mut` only when a `_from` key sets a value after the call, so the
/// generated code never trips `unused_mut`.
fn call_mutability(args: &Args) -> Option<syn::Token![mut]> {
    (args.quantity_from.is_some() || args.amount_from.is_some() || args.usage_from.is_some())
        .then(Default::default)
}

fn expr_span(expr: &Expr) -> Span {
    syn::spanned::Spanned::span(expr)
}

fn kind_variant(kind: panoptic_catalog::Kind) -> &'static str {
    use panoptic_catalog::Kind;
    match kind {
        Kind::Invoice => "Invoice",
        Kind::Charge => "Charge",
        Kind::Billing => "Billing",
        Kind::Quota => "Quota",
        Kind::TokenUsage => "TokenUsage",
        Kind::Adjustment => "Adjustment",
    }
}

/// A type as written, without the spaces token printing puts everywhere:
/// `& 'a mut Vec < u8 >` becomes `&'a mut Vec<u8>`.
pub(crate) fn type_text(ty: &Type) -> String {
    let raw = ty.to_token_stream().to_string();
    let mut out = String::with_capacity(raw.len());
    let tokens: Vec<&str> = raw.split(' ').collect();
    for (i, token) in tokens.iter().enumerate() {
        let previous = if i == 0 { None } else { Some(tokens[i - 1]) };
        let glue = match (previous, *token) {
            (None, _) => false,
            (_, ">" | "," | "::" | ")" | "]" | ";" | "<") => {
                !(*token == "<" && previous == Some("impl"))
            }
            (Some("&" | "<" | "::" | "(" | "[" | "'" | "*"), _) => true,
            // `Fn(u8)`, but `&mut (u8, u8)` and `-> (u8, u8)`.
            (Some(p), t) if t.starts_with('(') => {
                p.starts_with(|c: char| c.is_alphanumeric() || c == '_')
                    && !matches!(p, "mut" | "dyn" | "impl" | "const" | "as")
            }
            _ => false,
        };
        if i > 0 && !glue {
            out.push(' ');
        }
        out.push_str(token);
    }
    out
}

fn contains_impl_trait(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_type_impl_trait(&mut self, _: &'ast syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut finder = Finder(false);
    finder.visit_type(ty);
    finder.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_print_as_written() {
        let cases = [
            ("& str", "&str"),
            ("&'a mut Vec<u8>", "&'a mut Vec<u8>"),
            (
                "HashMap<String, Vec<(u32, u64)>>",
                "HashMap<String, Vec<(u32, u64)>>",
            ),
            ("impl Fn(u8) -> u8", "impl Fn(u8) -> u8"),
            ("[u8; 4]", "[u8; 4]"),
            ("std::io::Result<()>", "std::io::Result<()>"),
            ("*const T", "*const T"),
        ];
        for (input, expected) in cases {
            let ty: Type = syn::parse_str(input).unwrap();
            assert_eq!(type_text(&ty), expected, "{input}");
        }
    }
}
