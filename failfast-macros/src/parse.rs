//! Reads the attribute's arguments into [`Args`], keeping every syntax node so that errors can
//! point at the tokens the user wrote.

use std::time::Duration;

use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{
    Expr, ExprLit, ExprUnary, Ident, Lit, LitInt, LitStr, Pat, Path, Token, UnOp, bracketed,
};

use crate::retry::RetrySpec;

/// The options, in the order the error for an unknown one lists them.
pub(crate) const OPTIONS: &[&str] = &[
    "name",
    "secs",
    "open_for",
    "exceptions",
    "when",
    "threshold",
    "store",
    "enabled",
    "breaker",
    "fallback",
    "retry",
    "call_timeout",
    "crate",
];

/// The arguments of one `#[failfast(...)]`.
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) name: Option<LitStr>,
    pub(crate) secs: Option<Secs>,
    pub(crate) open_for: Option<Named<Expr>>,
    pub(crate) exceptions: Option<Named<Vec<Arm>>>,
    pub(crate) when: Option<Named<Expr>>,
    pub(crate) threshold: Option<Named<LitInt>>,
    pub(crate) store: Option<Named<Expr>>,
    pub(crate) enabled: Option<Named<Expr>>,
    pub(crate) breaker: Option<Named<Expr>>,
    pub(crate) fallback: Option<Named<Fallback>>,
    pub(crate) retry: Option<Named<RetrySpec>>,
    pub(crate) call_timeout: Option<Named<Duration>>,
    pub(crate) krate: Option<Named<Path>>,
    /// Where the name came from: `name = ...`, or the first positional argument.
    pub(crate) name_key: Option<Ident>,
    /// Where `secs` came from.
    pub(crate) secs_key: Option<Ident>,
}

/// An option's value and the key it was given under.
pub(crate) struct Named<T> {
    pub(crate) key: Ident,
    pub(crate) value: T,
}

/// The open period in seconds: a literal, checked at compile time.
pub(crate) struct Secs {
    pub(crate) literal: Lit,
}

/// `fallback = ...`: what answers for a refused call, or a failed one that counted.
pub(crate) enum Fallback {
    /// A function's path: `fallback = cached_invoices`, taking the call's `failfast::Error`.
    Function(Path),
    /// A closure, which can see `self` and the arguments: `fallback = |_| self.cached(id)`.
    Closure(syn::ExprClosure),
}

/// One entry of `exceptions = [...]`: a pattern with an optional guard.
pub(crate) struct Arm {
    pub(crate) pat: Pat,
    pub(crate) guard: Option<Expr>,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = Args::default();
        let mut errors: Option<syn::Error> = None;
        let mut position = 0usize;
        let mut seen_keyed = false;
        while !input.is_empty() {
            let result = if input.peek(Ident::peek_any) && input.peek2(syn::token::Paren) {
                // `retry(...)`, the one option that takes a list.
                seen_keyed = true;
                let key = Ident::parse_any(input)?;
                args.listed(key, input)
            } else if input.peek2(Token![=]) && !input.peek2(Token![==]) {
                seen_keyed = true;
                let key = Ident::parse_any(input)?;
                input.parse::<Token![=]>()?;
                args.keyed(key, input)
            } else {
                let value: Expr = input.parse()?;
                let result = if seen_keyed {
                    Err(syn::Error::new_spanned(
                        &value,
                        "positional arguments come first: `#[failfast(\"name\", secs, option = ...)]`",
                    ))
                } else {
                    args.positional(position, value)
                };
                position += 1;
                result
            };
            if let Err(error) = result {
                match &mut errors {
                    Some(errors) => errors.combine(error),
                    None => errors = Some(error),
                }
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        match errors {
            Some(errors) => Err(errors),
            None => Ok(args),
        }
    }
}

impl Args {
    fn positional(&mut self, position: usize, value: Expr) -> syn::Result<()> {
        let key = Ident::new(if position == 0 { "name" } else { "secs" }, value.span());
        match position {
            0 => self.set_name(key, value),
            1 => self.set_secs(key, value),
            _ => Err(syn::Error::new_spanned(
                value,
                "only the name and the seconds are positional; name other options: `option = value`",
            )),
        }
    }

    /// `key(...)`: only `retry` takes a list.
    fn listed(&mut self, key: Ident, input: ParseStream<'_>) -> syn::Result<()> {
        let name = key.unraw().to_string();
        if name != "retry" {
            let _: proc_macro2::Group = input.parse()?;
            return Err(syn::Error::new_spanned(
                &key,
                format!(
                    "`{name}(...)`: only `retry` takes a list; other options are `option = value`"
                ),
            ));
        }
        if self.retry.is_some() {
            let _: proc_macro2::Group = input.parse()?;
            return Err(syn::Error::new_spanned(&key, "duplicate option `retry`"));
        }
        let value = crate::retry::parse_list(input)?;
        self.retry = Some(Named { key, value });
        Ok(())
    }

    fn keyed(&mut self, key: Ident, input: ParseStream<'_>) -> syn::Result<()> {
        let name = key.unraw().to_string();
        if !OPTIONS.contains(&name.as_str()) {
            // Skip the value so that one unknown option gives one error.
            let _: Expr = input.parse()?;
            let expected = OPTIONS
                .iter()
                .map(|o| format!("`{o}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let hint = match name.as_str() {
                "timeout" => {
                    "; Python's `timeout` (how long the circuit stays open) is `secs` here, and \
                     a time limit on each call is `call_timeout`"
                }
                _ => "",
            };
            return Err(syn::Error::new_spanned(
                &key,
                format!("unknown option `{name}`; expected one of: {expected}{hint}"),
            ));
        }
        if self.has(&name) {
            let _: Expr = input.parse()?;
            return Err(syn::Error::new_spanned(
                &key,
                format!("duplicate option `{name}`"),
            ));
        }
        match name.as_str() {
            "name" => {
                let value: Expr = input.parse()?;
                self.set_name(key, value)
            }
            "secs" => {
                let value: Expr = input.parse()?;
                self.set_secs(key, value)
            }
            "retry" => {
                let value: Expr = input.parse()?;
                let value = crate::retry::parse_attempts(&value)?;
                self.retry = Some(Named { key, value });
                Ok(())
            }
            "call_timeout" => {
                let literal: Expr = input.parse()?;
                let value = crate::retry::duration(&literal)?;
                if value.is_zero() {
                    return Err(syn::Error::new_spanned(
                        &literal,
                        "`call_timeout` must be at least one nanosecond, like \"3s\"",
                    ));
                }
                self.call_timeout = Some(Named { key, value });
                Ok(())
            }
            "exceptions" => {
                let value = parse_exceptions(&key, input)?;
                self.exceptions = Some(Named { key, value });
                Ok(())
            }
            "threshold" => {
                let value: Expr = input.parse()?;
                let threshold = match &value {
                    Expr::Lit(ExprLit {
                        lit: Lit::Int(int), ..
                    }) if int.base10_parse::<u32>().is_ok_and(|n| n >= 1) => int.clone(),
                    _ => {
                        return Err(syn::Error::new_spanned(
                            value,
                            "`threshold` must be a whole number of at least 1, like `threshold = 3`",
                        ));
                    }
                };
                self.threshold = Some(Named {
                    key,
                    value: threshold,
                });
                Ok(())
            }
            "fallback" => {
                let fallback = match input.parse()? {
                    Expr::Path(path) => Fallback::Function(path.path),
                    Expr::Closure(closure) if closure.inputs.len() == 1 => {
                        Fallback::Closure(closure)
                    }
                    Expr::Closure(closure) => {
                        return Err(syn::Error::new_spanned(
                            closure.inputs,
                            "a fallback closure takes one argument, the call's \
                             `failfast::Error`: `fallback = |_| self.cached(id)`",
                        ));
                    }
                    value => {
                        return Err(syn::Error::new_spanned(
                            value,
                            "`fallback` must be a function's path, like `fallback = \
                             cached_invoices`, or a closure, like `fallback = |_| \
                             self.cached(id)`",
                        ));
                    }
                };
                self.fallback = Some(Named {
                    key,
                    value: fallback,
                });
                Ok(())
            }
            "crate" => {
                let value: Expr = input.parse()?;
                let Expr::Path(path) = value else {
                    return Err(syn::Error::new_spanned(
                        value,
                        "`crate` must be a path, like `crate = ::failfast`",
                    ));
                };
                self.krate = Some(Named {
                    key,
                    value: path.path,
                });
                Ok(())
            }
            _ => {
                let value: Expr = input.parse()?;
                let slot = match name.as_str() {
                    "open_for" => &mut self.open_for,
                    "when" => &mut self.when,
                    "store" => &mut self.store,
                    "enabled" => &mut self.enabled,
                    _ => &mut self.breaker,
                };
                *slot = Some(Named { key, value });
                Ok(())
            }
        }
    }

    fn has(&self, option: &str) -> bool {
        match option {
            "name" => self.name.is_some(),
            "secs" => self.secs.is_some(),
            "open_for" => self.open_for.is_some(),
            "exceptions" => self.exceptions.is_some(),
            "when" => self.when.is_some(),
            "threshold" => self.threshold.is_some(),
            "store" => self.store.is_some(),
            "enabled" => self.enabled.is_some(),
            "breaker" => self.breaker.is_some(),
            "fallback" => self.fallback.is_some(),
            "retry" => self.retry.is_some(),
            "call_timeout" => self.call_timeout.is_some(),
            _ => self.krate.is_some(),
        }
    }

    fn set_name(&mut self, key: Ident, value: Expr) -> syn::Result<()> {
        if self.name.is_some() {
            return Err(syn::Error::new_spanned(&key, "duplicate option `name`"));
        }
        match value {
            Expr::Lit(ExprLit {
                lit: Lit::Str(name),
                ..
            }) => {
                if name.value().is_empty() {
                    return Err(syn::Error::new_spanned(
                        name,
                        "the circuit's name must not be empty",
                    ));
                }
                self.name = Some(name);
                self.name_key = Some(key);
                Ok(())
            }
            other => Err(syn::Error::new_spanned(
                other,
                "the circuit's name must be a string literal, like `\"sales_api\"`; \
                 to share a breaker built elsewhere, use `breaker = ...`",
            )),
        }
    }

    fn set_secs(&mut self, key: Ident, value: Expr) -> syn::Result<()> {
        if self.secs.is_some() {
            return Err(syn::Error::new_spanned(&key, "duplicate option `secs`"));
        }
        let literal = match value {
            Expr::Lit(ExprLit {
                lit: literal @ (Lit::Int(_) | Lit::Float(_)),
                ..
            }) => literal,
            Expr::Unary(ExprUnary {
                op: UnOp::Neg(_), ..
            }) => {
                return Err(syn::Error::new_spanned(
                    value,
                    "`secs` must be greater than zero",
                ));
            }
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "`secs` must be a number of seconds, like `60` or `0.5`; \
                     for a computed duration use `open_for = Duration::...`",
                ));
            }
        };
        let checked = match &literal {
            Lit::Int(int) => int.base10_parse::<u64>().map(|n| {
                let duration = Duration::from_secs(n);
                (n as f64, Ok(duration))
            }),
            Lit::Float(float) => float
                .base10_parse::<f64>()
                .map(|n| (n, Duration::try_from_secs_f64(n))),
            _ => unreachable!("matched above"),
        };
        let problem = match checked {
            Ok((_, Ok(duration))) if !duration.is_zero() => {
                self.secs = Some(Secs { literal });
                self.secs_key = Some(key);
                return Ok(());
            }
            Ok((seconds, _)) if seconds > 0.0 && seconds < 1.0 => {
                "`secs` must be at least one nanosecond, `0.000000001`".to_owned()
            }
            Ok((seconds, Err(_))) if seconds > 0.0 => format!(
                "`secs` is too large for a `Duration`: at most {} seconds",
                Duration::MAX.as_secs()
            ),
            Ok(_) => "`secs` must be greater than zero".to_owned(),
            Err(error) => return Err(syn::Error::new(literal.span(), error)),
        };
        Err(syn::Error::new_spanned(literal, problem))
    }
}

/// `[pattern (if guard)?, ...]`
fn parse_exceptions(key: &Ident, input: ParseStream<'_>) -> syn::Result<Vec<Arm>> {
    let hint = "`exceptions` takes a bracketed list of patterns or error types, like \
                `exceptions = [ApiError::Timeout, ApiError::Status(code) if *code >= 500]` or \
                `exceptions = [std::io::Error]`";
    if !input.peek(syn::token::Bracket) {
        let value: Expr = input.parse()?;
        return Err(syn::Error::new_spanned(value, hint));
    }
    let content;
    let brackets = bracketed!(content in input);
    let hinted = |e: syn::Error| syn::Error::new(e.span(), format!("{e}; {hint}"));
    let mut arms = Vec::new();
    while !content.is_empty() {
        let arm: Arm = content.parse().map_err(hinted)?;
        if matches!(arm.pat, Pat::Path(_) | Pat::Ident(_)) && content.peek(Token![<]) {
            return Err(turbofish_needed(&arm.pat, &content));
        }
        arms.push(arm);
        if !content.is_empty() {
            content.parse::<Token![,]>().map_err(hinted)?;
        }
    }
    if arms.is_empty() {
        return Err(syn::Error::new(
            brackets.span.join(),
            format!("`{key}` needs at least one pattern; without it every error counts"),
        ));
    }
    Ok(arms)
}

/// The error for `Wrapped<E>` in `exceptions`, which a pattern spells `Wrapped::<E>`: at the
/// `<`, with the spelling that works.
fn turbofish_needed(path: &Pat, input: ParseStream<'_>) -> syn::Error {
    let at = input.span();
    let spelling = match input.parse::<syn::AngleBracketedGenericArguments>() {
        Ok(arguments) => format!("`{}::{}`", tight(path), tight(&arguments)),
        Err(_) => "`Wrapped::<std::io::Error>`".to_owned(),
    };
    syn::Error::new(
        at,
        format!(
            "a generic error type in `exceptions` is written with `::<`, as in patterns: {spelling}"
        ),
    )
}

/// Tokens as a person writes them: no spaces around `::`, `<` and `>`.
fn tight(tokens: &impl quote::ToTokens) -> String {
    let spaced = tokens.to_token_stream().to_string();
    [
        (" :: ", "::"),
        (":: ", "::"),
        (" ::", "::"),
        (" <", "<"),
        ("< ", "<"),
        (" >", ">"),
    ]
    .iter()
    .fold(spaced, |text, (from, to)| text.replace(from, to))
}

impl Parse for Arm {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let pat = Pat::parse_multi_with_leading_vert(input)?;
        let guard = if input.peek(Token![if]) {
            input.parse::<Token![if]>()?;
            Some(input.parse()?)
        } else {
            None
        };
        Ok(Arm { pat, guard })
    }
}
