//! Writes the guarded function: the user's function with its body handed to the breaker.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Block, Expr, FnArg, ItemFn, Pat, Path, Stmt, Type};

use crate::retry::duration_tokens;

use crate::counts::counts_tokens;
use crate::parse::Fallback;
use crate::returns::{Returns, output_type, returns, spelled_error, unnameable};
use crate::validate::{Breaker, Counts, Plan};

/// How the body is guarded.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Guarding {
    /// The function returns a `Result`: its errors count.
    Fallible,
    /// The function cannot fail but by panicking: its fallback answers refusals.
    Total,
    /// The function has a fallback and returns a type under a name the macro cannot read:
    /// `Fallible` or `Total`, as the compiler finds its type to be.
    ByType,
}

/// The shapes of function the macro guards.
enum Shape {
    /// `fn f() -> R { body }`
    Sync,
    /// `async fn f() -> R { body }`
    AsyncFn,
    /// `fn f() -> impl Future<Output = R> { ...; async move { body } }`: the tail async block,
    /// also inside `Box::pin(..)` (as async-trait writes it) and before method calls
    /// (`async move { body }.instrument(span)`, `.boxed()`), which are kept.
    TailAsync,
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
    let output: Option<Type> = output_type(&function);
    let nameable = output.as_ref().filter(|ty| !unnameable(ty)).cloned();
    let spelled = returns(output.as_ref());
    let guarding = match spelled {
        Returns::Result => Guarding::Fallible,
        Returns::NotResult => Guarding::Total,
        // Only a fallback, and a type to dispatch on: the compiler decides.
        Returns::Unknown
            if fallback.is_some()
                && retry.is_none()
                && call_timeout.is_none()
                && matches!(counts, Counts::Every)
                && nameable.is_some() =>
        {
            Guarding::ByType
        }
        // Options that count errors say the function returns a `Result`; and without a type to
        // dispatch on (`ApiResult<impl Display>`), its errors must count: a `Result` under
        // another name is far likelier than a total function under one.
        Returns::Unknown => Guarding::Fallible,
    };
    let fallible = guarding == Guarding::Fallible;
    let output_span = output
        .as_ref()
        .map_or_else(|| function.sig.ident.span(), |ty| ty.span());
    let shape = shape(&function);

    let breaker = breaker_tokens(&krate, breaker, &function.sig.ident);
    let enabled = enabled.map_or_else(|| quote!(true), |e| e.to_token_stream());
    let counts = counts_tokens(&krate, counts, output.as_ref().and_then(spelled_error));
    let asynchronous = !matches!(shape, Shape::Sync);
    let fallback_closure = matches!(fallback, Some(Fallback::Closure(_)));
    // The error type a fallback is given, named where it can be, so that a mismatch names
    // it; a `Result` under another name is known to be one only to the compiler.
    let error = match (guarding, nameable.as_ref()) {
        (Guarding::Total, _) => quote!(::core::convert::Infallible),
        (Guarding::Fallible, Some(ty)) if spelled == Returns::Result => {
            quote!(<#ty as #krate::__private::Fallible>::Error)
        }
        _ => quote!(_),
    };
    let fallback = fallback.map(|fallback| match fallback {
        Fallback::Function(path) => {
            fallback_tokens(&krate, &path, nameable.as_ref(), &error, asynchronous)
        }
        // Typed by the helper it is given to.
        Fallback::Closure(closure) => closure.into_token_stream(),
    });

    // The helper that guards the body: `call`/`run`, with `_retry` and `_within` for `retry` and
    // `call_timeout`, `_or` for a fallback, and the `total` kinds for functions that do not
    // return `Result` (their fallback answers when open). A function whose type decides calls
    // `call_or`/`run_or` on a `Guard` of its type.
    let helper = match (guarding, asynchronous) {
        (Guarding::Total, false) => "call_total_or".to_owned(),
        (Guarding::Total, true) => "run_total_or".to_owned(),
        (Guarding::ByType, false) => "call_or".to_owned(),
        (Guarding::ByType, true) => "run_or".to_owned(),
        (Guarding::Fallible, asynchronous) => {
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
    let helper = match guarding {
        Guarding::ByType => respan(
            quote!(#krate::__private::Guard::<#nameable>::new().#helper),
            output_span,
        ),
        _ => respan(quote!(#krate::__private::#helper), output_span),
    };
    // The function's return type, first: the helper knows the error type before it checks the
    // closures that take it.
    let returned = fallible.then(|| {
        let returned = nameable.as_ref().map(|ty| quote!(::<#ty>));
        respan(quote!(::core::marker::PhantomData #returned), output_span)
    });
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
    let retry = retry.map(|(_, spec)| spec.tokens(&krate, nameable.as_ref()));
    let limit = call_timeout.map(|(_, limit)| duration_tokens(limit));
    // The call is spanned at the return type: an unmet bound on the error type (such as a
    // missing `From<failfast::Open>`) is reported there.
    let guard = |guarded: TokenStream| {
        let returned = returned.iter();
        let counts = counts.iter();
        let retry = retry.iter();
        let limit = limit.iter();
        let fallback = fallback.iter();
        quote_spanned! {output_span=>
            #helper(
                #(#returned,)* __failfast_breaker, #enabled, #(#counts,)* #(#retry,)* #(#limit,)*
                #guarded #(, #fallback)*
            )
        }
    };
    let by_type = (guarding == Guarding::ByType)
        .then(|| quote!(#[allow(unused_imports)] use #krate::__private::TotalGuard as _;));
    let breaker_local = quote! {
        #needs_tokio #by_type let __failfast_breaker: &#krate::Breaker = #breaker;
    };
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
            // Called in place, the body borrows the arguments it only reads, which a fallback
            // closure can then read too, and which `breaker = self.breaker` or `when` may
            // borrow as well; they are dropped when the function returns. A retried body moves
            // them, to copy for each attempt.
            let stmts = &function.block.stmts;
            let capture = (retried && !fallback_closure).then(|| quote!(move));
            let closure = match &output {
                Some(ty) if !unnameable(ty) => {
                    quote!(#capture || -> #ty { #copies #(#stmts)* })
                }
                _ => quote!(#capture || { #copies #(#stmts)* }),
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
            // Spanned with the call: an unmet bound of the helper is one error there, not a
            // second one at the attribute for the `.await`.
            let awaited = quote_spanned!(output_span=> #guarded.await);
            function.block = Box::new(syn::parse_quote!({ #breaker_local #awaited }));
        }
        Shape::TailAsync => {
            if let Some(tail) = tail_async_block(&mut function.block) {
                let Expr::Async(block) =
                    std::mem::replace(tail, Expr::Verbatim(TokenStream::new()))
                else {
                    unreachable!("`tail_async_block` finds async blocks only");
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
                        // Unused when only a closure fallback reads the argument.
                        ty => quote_spanned! {ty.span()=>
                            #[allow(
                                unused_variables,
                                clippy::clone_on_copy,
                                clippy::redundant_clone
                            )]
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
pub(crate) fn respan(tokens: TokenStream, span: Span) -> TokenStream {
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
        Shape::AsyncFn
    } else if tail_async_block(&mut function.block.clone()).is_some() {
        Shape::TailAsync
    } else {
        Shape::Sync
    }
}

/// The async block at the end of the body: the tail itself, the argument of `Box::pin(..)`,
/// or the receiver of method calls on it (`async move { .. }.instrument(span)`).
fn tail_async_block(block: &mut Block) -> Option<&mut Expr> {
    match block.stmts.last_mut()? {
        Stmt::Expr(tail, None) => async_within(tail),
        _ => None,
    }
}

/// `expr` if it is an async block, or the one it wraps, as [`tail_async_block`] finds it.
fn async_within(expr: &mut Expr) -> Option<&mut Expr> {
    match expr {
        Expr::Async(_) => Some(expr),
        Expr::MethodCall(call) => async_within(&mut call.receiver),
        Expr::Call(call)
            if call.args.len() == 1
                && matches!(&*call.func, Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "pin")) =>
        {
            call.args.first_mut().and_then(async_within)
        }
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
        Some(ty) if !unnameable(ty) => quote! {
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

/// The fallback, checked where the user wrote it: a fallback of the wrong signature is one
/// error at the path, naming the signature it must have. A function whose type has no name
/// (`impl Trait`) passes it as it is, typed by the helper that calls it.
fn fallback_tokens(
    krate: &Path,
    path: &Path,
    output: Option<&Type>,
    error: &TokenStream,
    asynchronous: bool,
) -> TokenStream {
    let span = path.span();
    let Some(output) = output else {
        return path.to_token_stream();
    };
    let tokens = if asynchronous {
        // The path called as it is: rustc suggests making it `async` when it is not.
        quote! {
            move |__failfast_error| async move {
                let __failfast_answer: #output = #path(
                    <#krate::Error<#error> as #krate::__private::GivenAs<_>>::given(
                        __failfast_error,
                    ),
                )
                .await;
                __failfast_answer
            }
        }
    } else {
        quote!(#krate::__private::fallback::<#error, #output, _>(#path))
    };
    respan(tokens, span)
}
