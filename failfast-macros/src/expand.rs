//! Writes the guarded function: the user's function with its body handed to the breaker.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Block, Expr, FnArg, ItemFn, Pat, Path, Stmt, Type};

use crate::retry::duration_tokens;

use crate::validate::{
    Breaker, Counts, Plan, is_result, mentions_impl_trait, output_type, result_error_type,
};

/// The three shapes of function the macro guards, besides a plain one.
enum Shape {
    /// `fn f() -> R { body }`
    Sync,
    /// `async fn f() -> R { body }`
    AsyncFn,
    /// `fn f() -> impl Future<Output = R> { ...; async move { body } }`: the tail async block.
    TailAsync,
    /// `fn f() -> Pin<Box<dyn Future<Output = R>>> { Box::pin(async move { body }) }`, as
    /// async-trait writes it: the async block inside the tail call.
    TailBoxPin,
}

pub(crate) fn expand(plan: Plan, mut function: ItemFn) -> TokenStream {
    let Plan {
        krate,
        breaker,
        counts,
        enabled,
        fallback,
        retry,
        call_timeout,
    } = plan;
    let output: Option<Type> = output_type(&function).cloned();
    let fallible = output.as_ref().is_some_and(is_result);
    let output_span = output
        .as_ref()
        .map_or_else(|| function.sig.ident.span(), |ty| ty.span());
    let shape = shape(&function);

    let breaker = breaker_tokens(&krate, breaker, &function.sig.ident);
    let enabled = enabled.map_or_else(|| quote!(true), |e| e.to_token_stream());
    let counts = counts_tokens(&krate, counts);
    let asynchronous = !matches!(shape, Shape::Sync);
    let fallback =
        fallback.map(|path| fallback_tokens(&krate, &path, output.as_ref(), asynchronous));

    // The helper that guards the body: `call`/`run`, with `_retry` and `_within` for `retry` and
    // `call_timeout`, `_or` for a fallback, and the `total` kinds for functions that do not
    // return `Result` (their fallback answers when open).
    let helper = match (asynchronous, fallible) {
        (false, false) => "call_total_or".to_owned(),
        (true, false) => "run_total_or".to_owned(),
        (asynchronous, true) => {
            let mut helper = if asynchronous { "run" } else { "call" }.to_owned();
            if retry.is_some() {
                helper.push_str("_retry");
            }
            if call_timeout.is_some() {
                helper.push_str("_within");
            }
            if fallback.is_some() {
                helper.push_str("_or");
            }
            helper
        }
    };
    let helper = helper.as_str();
    let helper = syn::Ident::new(helper, output_span);
    let helper = respan(quote!(#krate::__private::#helper), output_span);
    let counts = fallible.then_some(counts);
    let needs_tokio = asynchronous && (retry.is_some() || call_timeout.is_some());
    let needs_tokio = needs_tokio.then(|| {
        let span = retry
            .as_ref()
            .map(|(key, _)| key.span())
            .or(call_timeout.as_ref().map(|(key, _)| key.span()))
            .unwrap_or(output_span);
        respan(quote!(#krate::__failfast_needs_tokio!();), span)
    });
    let retried = retry.is_some();
    let retry = retry.map(|(_, spec)| {
        let nameable = output.as_ref().filter(|ty| !mentions_impl_trait(ty));
        spec.tokens(&krate, nameable)
    });
    let limit = call_timeout.map(|(_, limit)| duration_tokens(limit));
    // The call is spanned at the return type: an unmet bound on the error type (such as a
    // missing `From<failfast::Open>`) is reported there.
    let guard = |guarded: TokenStream| {
        let counts = counts.iter();
        let retry = retry.iter();
        let limit = limit.iter();
        let fallback = fallback.iter();
        quote_spanned! {output_span=>
            #helper(
                __failfast_breaker, #enabled, #(#counts,)* #(#retry,)* #(#limit,)* #guarded
                #(, #fallback)*
            )
        }
    };
    let breaker_local = quote!(#needs_tokio let __failfast_breaker: &#krate::Breaker = #breaker;);
    // With `retry`, the body runs once per attempt: each gets its own copy of the arguments.
    let copies = if retried {
        argument_copies(&mut function)
    } else {
        TokenStream::new()
    };

    match shape {
        Shape::Sync => {
            // The body's statements, not its block: a block of one expression inside the
            // closure's braces would raise `unused_braces` at the user's braces.
            let stmts = &function.block.stmts;
            let closure = match &output {
                Some(ty) if !mentions_impl_trait(ty) => {
                    quote!(move || -> #ty { #copies #(#stmts)* })
                }
                _ => quote!(move || { #copies #(#stmts)* }),
            };
            let guarded = guard(closure);
            function.block = Box::new(syn::parse_quote!({ #breaker_local #guarded }));
        }
        Shape::AsyncFn => {
            let future = async_block(&function.block, output.as_ref());
            let future = if retried {
                quote!(move || { #copies #future })
            } else {
                future
            };
            let guarded = guard(future);
            function.block = Box::new(syn::parse_quote!({ #breaker_local #guarded.await }));
        }
        Shape::TailAsync | Shape::TailBoxPin => {
            if let Some(tail) = tail_async_block(&mut function.block) {
                let Expr::Async(block) =
                    std::mem::replace(tail, Expr::Verbatim(TokenStream::new()))
                else {
                    unreachable!("the shape has an async block at its tail");
                };
                let future = async_block(&block.block, output.as_ref());
                let future = if retried {
                    quote!(move || { #copies #future })
                } else {
                    future
                };
                *tail = Expr::Verbatim(guard(future));
            }
            let stmts = &function.block.stmts;
            function.block = Box::new(syn::parse_quote!({ #breaker_local #(#stmts)* }));
        }
    }
    function.into_token_stream()
}

/// `let name = Clone::clone(&name);` for each argument bound to a name (`self` aside, which
/// is a reference when a retried call can take it): a fresh copy for each attempt, or for a
/// `&mut` argument a fresh borrow. A `mut` moves from the argument to its copies, the one the
/// body changes.
fn argument_copies(function: &mut ItemFn) -> TokenStream {
    let copies = function
        .sig
        .inputs
        .iter_mut()
        .filter_map(|input| match input {
            FnArg::Typed(typed) => match &mut *typed.pat {
                Pat::Ident(binding) if binding.by_ref.is_none() && binding.subpat.is_none() => {
                    let name = &binding.ident;
                    let mutability = binding.mutability.take();
                    Some(match &*typed.ty {
                        // A unique borrow is borrowed again for each attempt (sync functions
                        // only: an async one taking `&mut` is refused before this).
                        Type::Reference(reference) if reference.mutability.is_some() => {
                            quote!(let #mutability #name = &mut *#name;)
                        }
                        // Spanned at the argument's type: a type that is not `Clone` is
                        // reported there.
                        ty => quote_spanned! {ty.span()=>
                            #[allow(clippy::clone_on_copy, clippy::redundant_clone)]
                            let #mutability #name = ::core::clone::Clone::clone(&#name);
                        },
                    })
                }
                _ => None,
            },
            FnArg::Receiver(_) => None,
        });
    let copies: Vec<TokenStream> = copies.collect();
    quote!(#(#copies)*)
}

/// Whether the function's body is guarded as a future.
pub(crate) fn is_asynchronous(function: &ItemFn) -> bool {
    !matches!(shape(function), Shape::Sync)
}

/// `tokens` with every span set to `span`, so that errors about them point there.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut respanned = Group::new(group.delimiter(), respan(group.stream(), span));
                respanned.set_span(span);
                token = TokenTree::Group(respanned);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}

fn shape(function: &ItemFn) -> Shape {
    if function.sig.asyncness.is_some() {
        return Shape::AsyncFn;
    }
    match function.block.stmts.last() {
        Some(Stmt::Expr(Expr::Async(_), None)) => Shape::TailAsync,
        Some(Stmt::Expr(Expr::Call(call), None))
            if call.args.len() == 1
                && matches!(call.args.first(), Some(Expr::Async(_)))
                && matches!(&*call.func, Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "pin")) =>
        {
            Shape::TailBoxPin
        }
        _ => Shape::Sync,
    }
}

/// The async block at the end of the body, directly or as the argument of `Box::pin(...)`.
fn tail_async_block(block: &mut Block) -> Option<&mut Expr> {
    match block.stmts.last_mut()? {
        Stmt::Expr(expr @ Expr::Async(_), None) => Some(expr),
        Stmt::Expr(Expr::Call(call), None) => call.args.first_mut(),
        _ => None,
    }
}

/// `async move { body }`, told the type it produces.
fn async_block(block: &Block, output: Option<&Type>) -> TokenStream {
    let fake = fake_return(output);
    let stmts = &block.stmts;
    quote!(async move { #fake #(#stmts)* })
}

/// A branch never taken that returns a value of the declared type: it tells type inference what
/// an async block produces, so that `?` inside knows which error to convert into.
fn fake_return(output: Option<&Type>) -> TokenStream {
    match output {
        Some(ty) if !mentions_impl_trait(ty) => quote! {
            #[allow(
                unknown_lints,
                unreachable_code,
                clippy::diverging_sub_expression,
                clippy::empty_loop,
                clippy::needless_return
            )]
            if false {
                let __failfast_type: #ty = loop {};
                return __failfast_type;
            }
        },
        _ => TokenStream::new(),
    }
}

/// The function's breaker; `function` names it in reports of circuits whose settings disagree.
fn breaker_tokens(krate: &Path, breaker: Breaker, function: &syn::Ident) -> TokenStream {
    match breaker {
        Breaker::Given(expr) => quote!(&(#expr)),
        Breaker::Registry {
            name,
            open_for,
            threshold,
            store,
        } => {
            let threshold = threshold.map_or_else(|| quote!(1), |t| t.to_token_stream());
            let function = quote!(::core::concat!(
                ::core::module_path!(),
                "::",
                ::core::stringify!(#function)
            ));
            let make = match store {
                Some(store) => quote! {
                    #krate::__private::registered_in(#name, #open_for, #threshold, #function, #store)
                },
                None => quote! {
                    #krate::__private::registered(#name, #open_for, #threshold, #function)
                },
            };
            quote! {{
                static __FAILFAST_BREAKER: ::std::sync::OnceLock<#krate::Breaker> =
                    ::std::sync::OnceLock::new();
                __FAILFAST_BREAKER.get_or_init(|| #make)
            }}
        }
    }
}

fn counts_tokens(krate: &Path, counts: Counts) -> TokenStream {
    match counts {
        Counts::Every => quote!(#krate::__private::every),
        Counts::Predicate(predicate) => predicate.into_token_stream(),
        Counts::Patterns(arms) => {
            let arms = arms.iter().map(|arm| {
                let pat = &arm.pat;
                let guard = arm.guard.as_ref().map(|g| quote!(if #g));
                quote!(#pat #guard => true,)
            });
            quote! {
                |__failfast_error: &_| {
                    #[allow(unreachable_patterns)]
                    match __failfast_error {
                        #(#arms)*
                        _ => false,
                    }
                }
            }
        }
    }
}

/// The fallback, checked where the user wrote it: a signature mismatch is reported at the path,
/// once.
fn fallback_tokens(
    krate: &Path,
    path: &Path,
    output: Option<&Type>,
    asynchronous: bool,
) -> TokenStream {
    let span = path.span();
    let error = match output {
        Some(ty) if is_result(ty) => {
            result_error_type(ty).map_or_else(|| quote!(_), |e| e.to_token_stream())
        }
        _ => quote!(::core::convert::Infallible),
    };
    let output = output.filter(|ty| !mentions_impl_trait(ty));
    match (output, asynchronous) {
        (Some(ty), false) => quote_spanned! {span=>
            {
                let __failfast_fallback: fn(#krate::Error<#error>) -> #ty = #path;
                __failfast_fallback
            }
        },
        (Some(ty), true) => quote_spanned! {span=>
            |__failfast_error: #krate::Error<#error>| async move {
                let __failfast_answer: #ty = #path(__failfast_error).await;
                __failfast_answer
            }
        },
        (None, false) => quote_spanned!(span=> #path),
        (None, true) => quote_spanned!(span=> |__failfast_error| #path(__failfast_error)),
    }
}
