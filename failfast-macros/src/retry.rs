//! `retry = N`, `retry(...)` and `call_timeout = "3s"`: read, checked, and made into tokens.

use std::time::Duration;

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::parse::ParseStream;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Ident, Lit, LitInt, LitStr, Path, Token, Type, parenthesized};

/// How `retry` retries: checked here, so that building it at run time cannot fail.
pub(crate) struct RetrySpec {
    attempts: u32,
    wait: WaitSpec,
    jitter: Option<Ident>,
    max_elapsed: Option<Duration>,
    wait_for_circuit: Option<Duration>,
    /// `before = <expr>`: runs before each attempt.
    before: Option<Expr>,
    /// `after = <expr>`: runs after each attempt.
    after: Option<Expr>,
}

enum WaitSpec {
    Fixed(Duration),
    Exponential {
        min: Duration,
        max: Duration,
        multiplier: Option<Duration>,
    },
}

/// The options of `retry(...)`, for the error that lists them.
const RETRY_OPTIONS: &str =
    "`attempts`, `wait`, `jitter`, `max_elapsed`, `wait_for_circuit`, `before`, `after`";

const JITTERS: &[(&str, &str)] = &[
    ("none", "None"),
    ("full", "Full"),
    ("equal", "Equal"),
    ("decorrelated", "Decorrelated"),
];

impl Default for RetrySpec {
    /// As `Retry::default()`: three attempts, 100 ms doubling up to 10 s, no jitter.
    fn default() -> Self {
        RetrySpec {
            attempts: 3,
            wait: WaitSpec::Exponential {
                min: Duration::from_millis(100),
                max: Duration::from_secs(10),
                multiplier: None,
            },
            jitter: None,
            max_elapsed: None,
            wait_for_circuit: None,
            before: None,
            after: None,
        }
    }
}

/// `retry = 3`: that many attempts, the rest as by default.
pub(crate) fn parse_attempts(value: &Expr) -> syn::Result<RetrySpec> {
    let attempts = attempts(value)?;
    Ok(RetrySpec {
        attempts,
        ..RetrySpec::default()
    })
}

fn attempts(value: &Expr) -> syn::Result<u32> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) if int.base10_parse::<u32>().is_ok_and(|n| n >= 1) => int.base10_parse(),
        _ => Err(syn::Error::new_spanned(
            value,
            "`retry` takes the number of attempts, at least 1, like `retry = 3`, or a list, \
             like `retry(attempts = 5, wait = exponential(min = \"2s\", max = \"10s\"), jitter)`",
        )),
    }
}

/// `retry(attempts = 5, wait = exponential(min = "2s", max = "10s"), jitter)`.
pub(crate) fn parse_list(input: ParseStream<'_>) -> syn::Result<RetrySpec> {
    let content;
    parenthesized!(content in input);
    let mut spec = RetrySpec::default();
    let mut seen: Vec<String> = Vec::new();
    while !content.is_empty() {
        if content.peek(LitInt) {
            let number: LitInt = content.parse()?;
            return Err(syn::Error::new_spanned(
                number,
                "`retry(...)` takes named settings: write `retry = 3`, or \
                 `retry(attempts = 3, wait = ...)`",
            ));
        }
        let key = Ident::parse_any(&content).map_err(|e| {
            syn::Error::new(
                e.span(),
                format!("expected a setting of `retry(...)`: one of {RETRY_OPTIONS}"),
            )
        })?;
        let name = key.unraw().to_string();
        if seen.contains(&name) {
            return Err(syn::Error::new_spanned(
                &key,
                format!("duplicate `{name}` in `retry(...)`"),
            ));
        }
        seen.push(name.clone());
        let has_value = content.peek(Token![=]);
        if has_value {
            content.parse::<Token![=]>()?;
        }
        match (name.as_str(), has_value) {
            ("jitter", false) => spec.jitter = Some(Ident::new("Full", key.span())),
            ("jitter", true) => {
                let value: LitStr = content.parse().map_err(|e| {
                    syn::Error::new(e.span(), "`jitter` is a flag, or one of \"full\", \"equal\", \"decorrelated\", \"none\"")
                })?;
                let Some((_, variant)) = JITTERS.iter().find(|(n, _)| *n == value.value()) else {
                    return Err(syn::Error::new_spanned(
                        value,
                        "`jitter` is one of \"full\", \"equal\", \"decorrelated\", \"none\"",
                    ));
                };
                spec.jitter = Some(Ident::new(variant, value.span()));
            }
            ("attempts", true) => spec.attempts = attempts(&content.parse()?)?,
            ("wait", true) => spec.wait = parse_wait(&content)?,
            ("max_elapsed", true) => spec.max_elapsed = Some(duration(&content.parse()?)?),
            ("wait_for_circuit", true) => {
                spec.wait_for_circuit = Some(duration(&content.parse()?)?);
            }
            ("before", true) => spec.before = Some(content.parse()?),
            ("after", true) => spec.after = Some(content.parse()?),
            (
                "attempts" | "wait" | "max_elapsed" | "wait_for_circuit" | "before" | "after",
                false,
            ) => {
                return Err(syn::Error::new_spanned(
                    &key,
                    format!("`{name}` needs a value: `{name} = ...`"),
                ));
            }
            _ => {
                return Err(syn::Error::new_spanned(
                    &key,
                    format!(
                        "unknown option `{name}` of `retry(...)`; expected one of: {RETRY_OPTIONS}"
                    ),
                ));
            }
        }
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    Ok(spec)
}

/// `fixed("2s")` or `exponential(min = "2s", max = "10s", multiplier = "1s")`.
fn parse_wait(input: ParseStream<'_>) -> syn::Result<WaitSpec> {
    let hint = "`wait` is `fixed(\"2s\")` or `exponential(min = \"2s\", max = \"10s\")`";
    let kind = Ident::parse_any(input).map_err(|e| syn::Error::new(e.span(), hint))?;
    let content;
    parenthesized!(content in input);
    match kind.to_string().as_str() {
        "fixed" => {
            let wait: LitStr = content
                .parse()
                .map_err(|e| syn::Error::new(e.span(), hint))?;
            Ok(WaitSpec::Fixed(duration_of(&wait)?))
        }
        "exponential" => {
            let settings = Punctuated::<(Ident, LitStr), Token![,]>::parse_terminated_with(
                &content,
                |input| {
                    let named = "`exponential` takes named durations: \
                                 `exponential(min = \"2s\", max = \"10s\")`";
                    let key =
                        Ident::parse_any(input).map_err(|e| syn::Error::new(e.span(), named))?;
                    input
                        .parse::<Token![=]>()
                        .map_err(|e| syn::Error::new(e.span(), named))?;
                    Ok((key, input.parse()?))
                },
            )?;
            let (mut min, mut max, mut multiplier) = (None, None, None);
            for (key, value) in &settings {
                let slot = match key.to_string().as_str() {
                    "min" => &mut min,
                    "max" => &mut max,
                    "multiplier" => &mut multiplier,
                    other => {
                        return Err(syn::Error::new_spanned(
                            key,
                            format!(
                                "unknown setting `{other}` of `exponential`; expected `min`, `max`, `multiplier`"
                            ),
                        ));
                    }
                };
                if slot.is_some() {
                    return Err(syn::Error::new_spanned(
                        key,
                        format!("duplicate `{key}` in `exponential(...)`"),
                    ));
                }
                *slot = Some((duration_of(value)?, value));
            }
            let (Some((min, _)), Some((max, max_literal))) = (min, max) else {
                return Err(syn::Error::new_spanned(
                    &kind,
                    "`exponential` needs `min` and `max`, like `exponential(min = \"2s\", max = \"10s\")`",
                ));
            };
            if max < min {
                return Err(syn::Error::new_spanned(
                    max_literal,
                    "`max` must be at least `min`",
                ));
            }
            Ok(WaitSpec::Exponential {
                min,
                max,
                multiplier: multiplier.map(|(d, _)| d),
            })
        }
        _ => Err(syn::Error::new_spanned(kind, hint)),
    }
}

/// A duration written as a string literal: `"3s"`, `"250ms"`, `"1.5s"`, `"2m"`, `"1h"`.
pub(crate) fn duration(value: &Expr) -> syn::Result<Duration> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(literal),
            ..
        }) => duration_of(literal),
        _ => Err(syn::Error::new_spanned(
            value,
            "a duration is a string literal with a unit, like \"3s\" or \"250ms\"",
        )),
    }
}

fn duration_of(literal: &LitStr) -> syn::Result<Duration> {
    let text = literal.value();
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let seconds_per_unit = match unit.trim() {
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 0.001,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => f64::NAN,
    };
    let duration = number
        .parse::<f64>()
        .ok()
        .filter(|_| !seconds_per_unit.is_nan())
        .and_then(|n| Duration::try_from_secs_f64(n * seconds_per_unit).ok());
    duration.ok_or_else(|| {
        syn::Error::new_spanned(
            literal,
            "a duration is a number and a unit (ns, us, ms, s, m, h), like \"3s\" or \"250ms\"",
        )
    })
}

/// `Duration::from_nanos(n)`.
pub(crate) fn duration_tokens(duration: Duration) -> TokenStream {
    let nanos = LitInt::new(
        &format!(
            "{}u64",
            u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
        ),
        proc_macro2::Span::call_site(),
    );
    quote!(::core::time::Duration::from_nanos(#nanos))
}

impl RetrySpec {
    /// The number of attempts, the first included.
    pub(crate) fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The policy with its attempt hooks: the policy made once per function, the hooks
    /// (`before` and `after`, or no hook) evaluated on every call. Each hook is checked at its
    /// own tokens, against the function's return type `output` (when it can be named), so that
    /// a hook of the wrong kind is reported there.
    pub(crate) fn tokens(&self, krate: &Path, output: Option<&Type>) -> TokenStream {
        let policy = self.policy_tokens(krate);
        let before = match &self.before {
            Some(hook) => quote_spanned!(hook.span()=> #krate::__private::before_hook(#hook)),
            None => quote!(#krate::retry::NoHook),
        };
        let after = match &self.after {
            Some(hook) => {
                let output = match output {
                    Some(ty) => quote!(#ty),
                    None => quote!(_),
                };
                quote_spanned! {hook.span()=>
                    #krate::__private::after_hook(#hook, ::core::marker::PhantomData::<#output>)
                }
            }
            None => quote!(#krate::retry::NoHook),
        };
        quote!(#krate::__private::retrying(#policy, #before, #after))
    }

    /// The policy, made once per function.
    fn policy_tokens(&self, krate: &Path) -> TokenStream {
        let attempts = self.attempts;
        let wait = match &self.wait {
            WaitSpec::Fixed(wait) => {
                let wait = duration_tokens(*wait);
                quote!(#krate::retry::Wait::fixed(#wait))
            }
            WaitSpec::Exponential {
                min,
                max,
                multiplier,
            } => {
                let (min, max) = (duration_tokens(*min), duration_tokens(*max));
                let multiplier = multiplier.map(|m| {
                    let m = duration_tokens(m);
                    quote!(.multiplier(#m))
                });
                quote!(#krate::retry::Wait::exponential(#min, #max) #multiplier)
            }
        };
        let jitter = self
            .jitter
            .as_ref()
            .map(|variant| quote!(.jitter(#krate::retry::Jitter::#variant)));
        let max_elapsed = match self.max_elapsed {
            Some(d) => {
                let d = duration_tokens(d);
                quote!(::core::option::Option::Some(#d))
            }
            None => quote!(::core::option::Option::None),
        };
        let wait_for_circuit = duration_tokens(self.wait_for_circuit.unwrap_or_default());
        quote! {{
            static __FAILFAST_RETRY: ::std::sync::OnceLock<#krate::retry::Retry> =
                ::std::sync::OnceLock::new();
            __FAILFAST_RETRY.get_or_init(|| {
                #krate::__private::retry_policy(
                    #attempts,
                    #wait #jitter,
                    #max_elapsed,
                    #wait_for_circuit,
                )
            })
        }}
    }
}
