//! Which errors count: `exceptions = [...]` as the predicate the helpers take.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Pat, Path, Type};

use crate::expand::respan;
use crate::parse::Arm;
use crate::validate::Counts;

/// What an entry of `exceptions = [...]` is.
enum Entry<'a> {
    /// A pattern of the function's error: `ApiError::Timeout`, `ApiError::Status(503)`.
    Pattern(&'a Arm),
    /// A constant of the function's error type: `libc::EAGAIN`, `NOT_FOUND`. Matched through
    /// the reference the predicate is given, where match ergonomics do not reach constants.
    Constant(&'a Arm),
    /// An error type, counted when the error or an error in its `source()` chain is of it:
    /// `std::io::Error`, `TimeoutError`, as Python's `exceptions=[IOError]`.
    ErrorType(Path),
    /// The function's own error type, as its `Result<T, E>` spells it: every error is of it.
    Own,
}

/// The predicate `counts` says: whether an error counts as a failure.
pub(crate) fn counts_tokens(krate: &Path, counts: Counts, own: Option<&Type>) -> TokenStream {
    let arms = match counts {
        Counts::Every => return quote!(#krate::__private::every),
        Counts::Predicate(predicate) => return predicate.into_token_stream(),
        Counts::Patterns(arms) => arms,
    };
    let entries: Vec<Entry<'_>> = arms.iter().map(|arm| entry(arm, own)).collect();
    if entries.iter().any(|entry| matches!(entry, Entry::Own)) {
        return quote!(#krate::__private::every);
    }
    let patterns: Vec<TokenStream> = entries
        .iter()
        .filter_map(|entry| match entry {
            Entry::Pattern(arm) => Some(arm_tokens(arm, TokenStream::new())),
            Entry::Constant(arm) => Some(arm_tokens(arm, quote!(&))),
            _ => None,
        })
        .collect();
    let types: Vec<&Path> = entries
        .iter()
        .filter_map(|entry| match entry {
            Entry::ErrorType(path) => Some(path),
            _ => None,
        })
        .collect();
    let matched = (!patterns.is_empty()).then(|| {
        quote! {{
            #[allow(unreachable_patterns)]
            let __failfast_matched = match __failfast_error {
                #(#patterns)*
                _ => false,
            };
            __failfast_matched
        }}
    });
    let caused = (!types.is_empty()).then(|| {
        let checks = types.iter().map(
            |ty| quote_spanned!(ty.span()=> #krate::__private::caused_by::<#ty>(__failfast_root)),
        );
        // At the first error type: an error with no chain to look in is reported there.
        let root = respan(
            quote!((&&&&#krate::__private::Chain(__failfast_error)).root()),
            types[0].span(),
        );
        quote! {{
            #[allow(unused_imports)]
            use #krate::__private::{
                BoxedRoot as _, DynRoot as _, SendRoot as _, SharedRoot as _,
            };
            let __failfast_root = #root;
            #(#checks)||*
        }}
    });
    let any = matched.into_iter().chain(caused);
    quote! {
        |__failfast_error: &_| { #((#any))||* }
    }
}

/// `pattern => true,` for an arm, its pattern (each case of an or-pattern) behind `prefix`.
fn arm_tokens(arm: &Arm, prefix: TokenStream) -> TokenStream {
    let pat = match &arm.pat {
        Pat::Or(or) if !prefix.is_empty() => {
            let cases = or.cases.iter();
            quote!(#(#prefix #cases)|*)
        }
        pat => quote!(#prefix #pat),
    };
    let guard = arm.guard.as_ref().map(|g| quote!(if #g));
    quote!(#pat #guard => true,)
}

/// Whether a pattern is a constant: a path or name in capitals of more than one letter
/// (`libc::EAGAIN`, `NOT_FOUND`), as Rust names constants and not types.
fn is_constant(pat: &Pat) -> bool {
    let last = match pat {
        Pat::Path(path) if path.qself.is_none() => path.path.segments.last(),
        Pat::Ident(ident) if ident.by_ref.is_none() && ident.subpat.is_none() => {
            return constant_name(&ident.ident);
        }
        _ => None,
    };
    last.is_some_and(|last| last.arguments.is_none() && constant_name(&last.ident))
}

fn constant_name(ident: &syn::Ident) -> bool {
    let name = plain_name(ident);
    name.chars().count() > 1 && !name.chars().any(char::is_lowercase)
}

/// A name as written, without its `r#`.
fn plain_name(ident: &syn::Ident) -> String {
    ident.to_string().trim_start_matches("r#").to_owned()
}

/// What `arm` is, for a function whose `Result` spells its error type `own`. An entry names a
/// type when its last name is capitalized and not all capitals (`EAGAIN` is a constant), and
/// the name before it, if any, is not capitalized (`ApiError::Timeout`, `Self::Timeout` are
/// variants); or when its last name has type arguments (`Wrapped::<io::Error>`).
fn entry<'a>(arm: &'a Arm, own: Option<&Type>) -> Entry<'a> {
    if let Pat::Or(or) = &arm.pat {
        if or
            .cases
            .iter()
            .all(|case| matches!(case, Pat::Path(_) | Pat::Ident(_)))
            && or.cases.iter().any(is_constant)
        {
            return Entry::Constant(arm);
        }
    }
    let path: Path = match &arm.pat {
        _ if arm.guard.is_some() => return Entry::Pattern(arm),
        Pat::Path(path) if path.qself.is_none() => path.path.clone(),
        Pat::Ident(ident)
            if ident.by_ref.is_none() && ident.mutability.is_none() && ident.subpat.is_none() =>
        {
            ident.ident.clone().into()
        }
        _ => return Entry::Pattern(arm),
    };
    let Some(last) = path.segments.last() else {
        return Entry::Pattern(arm);
    };
    if is_constant(&arm.pat) {
        return Entry::Constant(arm);
    }
    let capitalized = |ident: &syn::Ident| plain_name(ident).starts_with(char::is_uppercase);
    let parent = path.segments.iter().rev().nth(1);
    let named_type = capitalized(&last.ident)
        && (!last.arguments.is_none() || parent.is_none_or(|parent| !capitalized(&parent.ident)));
    if !named_type {
        return Entry::Pattern(arm);
    }
    // The function's own error type, spelled as its `Result<T, E>` spells it (`Error` alone is
    // no proof: `anyhow::Error` and `std::io::Error` share the name): a unit struct error is
    // also a pattern that matches every error, and an enum one is no pattern at all.
    let spelling = |tokens: &dyn ToTokens| tokens.to_token_stream().to_string();
    if own.is_some_and(|own| spelling(own) == spelling(&path)) {
        return Entry::Own;
    }
    Entry::ErrorType(path)
}
