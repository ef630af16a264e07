//! Checks the arguments against each other and against the function, and settles what the
//! expansion will do: a [`Plan`].

use std::time::Duration;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::{Expr, Ident, ItemFn, Lit, LitStr, Path, ReturnType, Type};

use crate::expand::is_asynchronous;
use crate::parse::{Args, Arm, Fallback, Named};
use crate::retry::RetrySpec;
use crate::returns::{Returns, future_output, output_type, returns};

/// What the expansion does.
pub(crate) struct Plan {
    /// The path to the failfast crate.
    pub(crate) krate: Path,
    pub(crate) breaker: Breaker,
    pub(crate) counts: Counts,
    pub(crate) enabled: Option<Expr>,
    pub(crate) fallback: Option<Fallback>,
    /// `retry`: the key, for errors spanned at it, and the policy.
    pub(crate) retry: Option<(Ident, RetrySpec)>,
    /// `call_timeout`: the key, and the limit.
    pub(crate) call_timeout: Option<(Ident, Duration)>,
}

/// Where the breaker comes from.
pub(crate) enum Breaker {
    /// The process-wide registry, by name, made on first use.
    Registry {
        name: LitStr,
        open_for: TokenStream,
        threshold: Option<syn::LitInt>,
        store: Option<Expr>,
    },
    /// An expression naming a breaker built elsewhere.
    Given(Expr),
}

/// Which errors count as failures.
pub(crate) enum Counts {
    Every,
    Patterns(Vec<Arm>),
    Predicate(Expr),
}

/// Collects errors so that every mistake is reported once, together.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(errors) => errors.combine(error),
            None => self.0 = Some(error),
        }
    }

    fn at(&mut self, tokens: impl ToTokens, message: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }
}

pub(crate) fn plan(args: Args, function: &ItemFn) -> syn::Result<Plan> {
    let mut errors = Errors::default();
    check_function(function, args.fallback.is_some(), &mut errors);

    let breaker = match args.breaker {
        Some(Named { value, .. }) => {
            let overridden = [
                ("name", args.name_key.as_ref()),
                ("secs", args.secs_key.as_ref()),
                ("open_for", args.open_for.as_ref().map(|o| &o.key)),
                ("threshold", args.threshold.as_ref().map(|o| &o.key)),
                ("store", args.store.as_ref().map(|o| &o.key)),
            ];
            for (option, key) in overridden {
                if let Some(key) = key {
                    errors.at(
                        key,
                        format!(
                            "`breaker` uses a breaker configured elsewhere, so `{option}` would be \
                             ignored; remove one of them"
                        ),
                    );
                }
            }
            if let Some(made) = makes_a_breaker(&value) {
                errors.at(
                    made,
                    "`breaker = ..` is evaluated on every call, so this would make a new breaker, \
                     with a circuit of its own, each time, and never open: make it once and pass \
                     a reference to it (a `static` `LazyLock<Breaker>`, or a field: \
                     `breaker = self.breaker`), or name the circuit: `#[failfast(\"name\", 60)]`",
                );
            }
            Some(Breaker::Given(value))
        }
        None => {
            let open_for = match (&args.secs, &args.open_for) {
                (Some(_), Some(open_for)) => {
                    errors.at(
                        &open_for.key,
                        "`secs` and `open_for` both set how long the circuit stays open; keep one",
                    );
                    None
                }
                (Some(secs), None) => Some(match &secs.literal {
                    Lit::Int(int) => quote!(::core::time::Duration::from_secs(#int)),
                    literal => quote!(::core::time::Duration::from_secs_f64(#literal)),
                }),
                (None, Some(open_for)) => Some(open_for.value.to_token_stream()),
                (None, None) => {
                    if args.name.is_some() {
                        errors.push(syn::Error::new(
                            Span::call_site(),
                            "missing how long the circuit stays open: \
                             `#[failfast(\"sales_api\", 60)]`, `secs = 60` or \
                             `open_for = Duration::from_secs(60)`",
                        ));
                    }
                    None
                }
            };
            if args.name.is_none() {
                errors.push(syn::Error::new(
                    Span::call_site(),
                    "missing the circuit's name: `#[failfast(\"sales_api\", 60)]` or \
                     `#[failfast(name = \"sales_api\", secs = 60)]`, or `breaker = ...` for a \
                     breaker built elsewhere",
                ));
            }
            match (args.name, open_for) {
                (Some(name), Some(open_for)) => Some(Breaker::Registry {
                    name,
                    open_for,
                    // With `retry` and no `threshold`, one call's attempts may all fail before
                    // the circuit opens: otherwise the first failure would open it, and end the
                    // retrying before it began.
                    threshold: args.threshold.map(|t| t.value).or_else(|| {
                        let attempts = args.retry.as_ref()?.value.attempts();
                        Some(syn::LitInt::new(&attempts.to_string(), Span::call_site()))
                    }),
                    store: args.store.map(|s| s.value),
                }),
                _ => None,
            }
        }
    };

    // A type the macro cannot read as a `Result` or not is left to the compiler, which
    // reports one that is not at the return type.
    let not_a_result = returns(output_type(function).as_ref()) == Returns::NotResult;
    if not_a_result {
        let choosers = [
            args.exceptions.as_ref().map(|o| &o.key),
            args.when.as_ref().map(|o| &o.key),
        ];
        for key in choosers.into_iter().flatten() {
            errors.at(
                key,
                format!(
                    "`{key}` chooses which errors count, but this function does not return a \
                     `Result`: it fails only by panicking"
                ),
            );
        }
    }
    let retry_keys = [
        args.retry.as_ref().map(|o| &o.key),
        args.call_timeout.as_ref().map(|o| &o.key),
    ];
    for key in retry_keys.into_iter().flatten() {
        if not_a_result {
            let what = if key == "retry" {
                "retries the calls that fail"
            } else {
                "counts a call that takes too long as failed"
            };
            errors.at(
                key,
                format!(
                    "`{key}` {what}, but this function does not return a `Result`: it fails \
                     only by panicking"
                ),
            );
        }
    }
    if args.retry.is_some() {
        // Each attempt gets its own copy of each argument, which needs a name to copy.
        for input in &function.sig.inputs {
            match input {
                // `self`, `mut self` and `self: Type`: not the `&self` / `&mut self` shorthand.
                syn::FnArg::Receiver(receiver)
                    if !matches!(receiver.kind, syn::ReceiverKind::Reference(..)) =>
                {
                    errors.at(
                        input,
                        "a function with `retry` cannot take `self` by value: each attempt \
                         needs it again; take `&self`",
                    );
                }
                syn::FnArg::Typed(typed) if !matches!(&*typed.pat, syn::Pat::Ident(_)) => {
                    errors.at(
                        &typed.pat,
                        "a function with `retry` takes its arguments by name, so that each \
                         attempt gets a copy: bind this one to a name and take it apart in \
                         the body",
                    );
                }
                _ => {}
            }
        }
    }
    if args.retry.is_some() && is_asynchronous(function) {
        // Each attempt's future would hold the same unique borrow: rustc's error for it points
        // into the expansion. Say it here, at the argument.
        for input in &function.sig.inputs {
            let exclusive = match input {
                // `&mut self`: syn 3 keeps that `mut` in the reference, not in `mutability`
                // (which is `mut self`'s).
                syn::FnArg::Receiver(receiver) => {
                    matches!(receiver.kind, syn::ReceiverKind::Reference(_, _, Some(_)))
                }
                syn::FnArg::Typed(typed) => {
                    matches!(&*typed.ty, Type::Reference(r) if r.mutability.is_some())
                }
            };
            if exclusive {
                errors.at(
                    input,
                    "an async function with `retry` cannot take `&mut`: each attempt's future \
                     would need the same borrow; take `&` and change state through a `Mutex` \
                     or an atomic",
                );
            }
        }
    }
    if !is_asynchronous(function) {
        if let syn::ReturnType::Type(_, ty) = &function.sig.output {
            if future_output(ty).is_some() {
                // Guarded as a sync function, its closure would have to produce the future's
                // output: two type errors, neither saying what to write.
                let tail: &dyn ToTokens = match function.block.stmts.last() {
                    Some(tail) => tail,
                    None => &function.block,
                };
                errors.at(
                    tail,
                    "`#[failfast]` guards a function returning a future when its body ends in an \
                     `async` block (perhaps in `Box::pin(..)`, or before method calls such as \
                     `.instrument(span)`): write \
                     `async move { inner().await }`, or make the function `async fn`",
                );
            }
        }
    }
    if let Some(call_timeout) = &args.call_timeout {
        if !is_asynchronous(function) {
            errors.at(
                &call_timeout.key,
                "`call_timeout` cuts an async call short, and a blocking function cannot be: \
                 make the function async, or give the call inside it a time-out of its own",
            );
        }
    }
    let counts = match (args.exceptions, args.when) {
        (Some(_), Some(when)) => {
            errors.at(
                &when.key,
                "`exceptions` and `when` both choose which errors count; keep one",
            );
            Counts::Every
        }
        (Some(exceptions), None) => Counts::Patterns(exceptions.value),
        (None, Some(when)) => Counts::Predicate(when.value),
        (None, None) => Counts::Every,
    };

    match (errors.0, breaker) {
        (Some(errors), _) => Err(errors),
        (None, Some(breaker)) => Ok(Plan {
            krate: args
                .krate
                .map(|k| k.value)
                .unwrap_or_else(|| syn::parse_quote!(::failfast)),
            breaker,
            counts,
            enabled: args.enabled.map(|e| e.value),
            fallback: args.fallback.map(|f| f.value),
            retry: args.retry.map(|r| (r.key, r.value)),
            call_timeout: args.call_timeout.map(|t| (t.key, t.value)),
        }),
        (None, None) => unreachable!("a missing breaker is reported as an error"),
    }
}

/// The function must be one a breaker can guard.
fn check_function(function: &ItemFn, has_fallback: bool, errors: &mut Errors) {
    let sig = &function.sig;
    if let Some(constness) = &sig.constness {
        errors.at(
            constness,
            "`#[failfast]` cannot guard a `const fn`: a circuit breaker decides at run time",
        );
    }
    if let Some(abi) = &sig.abi {
        errors.at(
            abi,
            "`#[failfast]` cannot guard an `extern` function; guard a Rust function it calls",
        );
    }
    if sig.variadic.is_some() {
        errors.at(
            &sig.variadic,
            "`#[failfast]` cannot guard a variadic function",
        );
    }
    if returns(output_type(function).as_ref()) == Returns::NotResult && !has_fallback {
        let message = "`#[failfast]` guards functions that return `Result<T, E>` (or a future of \
                       one): it counts their errors, and returns `Err(E::from(failfast::Open))` \
                       while the circuit is open";
        match &sig.output {
            ReturnType::Default => errors.at(&sig.ident, message),
            ReturnType::Type(_, ty) => errors.at(ty, message),
        }
    }
}

/// The part of a `breaker = ..` expression that makes a new breaker (`Breaker::new(..)`,
/// `Breaker::builder(..)...`), if it does.
fn makes_a_breaker(value: &Expr) -> Option<&Expr> {
    match value {
        Expr::Call(call) => match &*call.func {
            Expr::Path(path) => {
                let segments: Vec<String> = path
                    .path
                    .segments
                    .iter()
                    .map(|s| s.ident.to_string())
                    .collect();
                let made = matches!(
                    segments.as_slice(),
                    [.., breaker, constructor] if breaker == "Breaker" && (constructor == "new" || constructor == "builder")
                );
                made.then_some(value)
            }
            _ => None,
        },
        Expr::MethodCall(call) => makes_a_breaker(&call.receiver),
        Expr::Reference(reference) => makes_a_breaker(&reference.expr),
        Expr::Paren(paren) => makes_a_breaker(&paren.expr),
        Expr::Try(attempt) => makes_a_breaker(&attempt.expr),
        _ => None,
    }
}
