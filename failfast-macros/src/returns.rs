//! What a guarded function returns: the type its guarded code produces, and whether that is
//! spelled as a `Result`.

use quote::ToTokens;
use syn::{GenericArgument, ItemFn, PathArguments, ReturnType, Type, TypeParamBound};

/// The type the guarded code produces: the return type, or the output of the future returned
/// (`_` when the future's type does not show it, as `BoxFuture<'_, T>`: the async block's
/// type decides).
pub(crate) fn output_type(function: &ItemFn) -> Option<Type> {
    let ReturnType::Type(_, ty) = &function.sig.output else {
        return None;
    };
    if function.sig.asyncness.is_some() {
        return Some((**ty).clone());
    }
    match future_output(ty) {
        Some(output) => Some(output.clone()),
        None if crate::expand::is_asynchronous(function) => Some(syn::parse_quote!(_)),
        None => Some((**ty).clone()),
    }
}

/// `X` in `impl Future<Output = X>` and in `Pin<Box<dyn Future<Output = X> + ...>>`.
pub(crate) fn future_output(ty: &Type) -> Option<&Type> {
    let bounds = match ty {
        Type::ImplTrait(imp) => &imp.bounds,
        Type::Path(path) => {
            let last = path.path.segments.last()?;
            if last.ident != "Pin" {
                return None;
            }
            let boxed = single_type_argument(&last.arguments)?;
            let Type::Path(boxed) = boxed else {
                return None;
            };
            let last = boxed.path.segments.last()?;
            if last.ident != "Box" {
                return None;
            }
            match single_type_argument(&last.arguments)? {
                Type::TraitObject(object) => &object.bounds,
                _ => return None,
            }
        }
        _ => return None,
    };
    bounds.iter().find_map(|bound| {
        let TypeParamBound::Trait(bound) = bound else {
            return None;
        };
        let last = bound.path.segments.last()?;
        if last.ident != "Future" {
            return None;
        }
        let PathArguments::AngleBracketed(args) = &last.arguments else {
            return None;
        };
        args.args.iter().find_map(|arg| match arg {
            GenericArgument::AssocType(assoc) if assoc.ident == "Output" => Some(&assoc.ty),
            _ => None,
        })
    })
}

/// `E` in a return type spelled `Result<T, E>`.
pub(crate) fn spelled_error(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|arg| match arg {
        GenericArgument::Type(ty) => Some(ty),
        _ => None,
    });
    types.nth(1)
}

fn single_type_argument(arguments: &PathArguments) -> Option<&Type> {
    let PathArguments::AngleBracketed(args) = arguments else {
        return None;
    };
    args.args.iter().find_map(|arg| match arg {
        GenericArgument::Type(ty) => Some(ty),
        _ => None,
    })
}

/// What a function returns, as far as its spelling tells.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Returns {
    /// Spelled `Result`: `Result<T, E>`, `io::Result<T>`, `anyhow::Result<T>`.
    Result,
    /// Certainly not a `Result`: nothing, `()`, a number, a reference, `Option<T>`, `String`...
    NotResult,
    /// Another name (`ApiResult<T>`, `Reply`, `T`): the compiler decides, by the type.
    Unknown,
}

/// What a function whose guarded code produces `output` returns.
pub(crate) fn returns(output: Option<&Type>) -> Returns {
    let Some(ty) = output else {
        return Returns::NotResult;
    };
    match ty {
        Type::Path(path) if path.qself.is_none() => {
            let Some(last) = path.path.segments.last() else {
                return Returns::Unknown;
            };
            let name = last.ident.to_string();
            if name == "Result" {
                Returns::Result
            } else if NOT_RESULTS.contains(&name.as_str()) {
                Returns::NotResult
            } else {
                Returns::Unknown
            }
        }
        Type::Path(_) | Type::Macro(_) | Type::Verbatim(_) | Type::Infer(_) => Returns::Unknown,
        Type::Group(group) => returns(Some(&group.elem)),
        Type::Paren(paren) => returns(Some(&paren.elem)),
        // Tuples, `()`, references, arrays, slices, pointers, `!`, `fn` pointers, `dyn Trait`,
        // `impl Trait`.
        _ => Returns::NotResult,
    }
}

/// Names of types that are not `Result`s, which a function that cannot fail returns.
const NOT_RESULTS: &[&str] = &[
    "bool",
    "char",
    "str",
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "f32",
    "f64",
    "String",
    "Option",
    "Vec",
    "VecDeque",
    "Box",
    "Rc",
    "Arc",
    "Cow",
    "HashMap",
    "HashSet",
    "BTreeMap",
    "BTreeSet",
    "Duration",
    "Instant",
    "SystemTime",
];

/// Whether `ty` cannot stand for the type in a `let`, a closure or a turbofish: it is `_`, or
/// mentions `impl Trait` anywhere.
pub(crate) fn unnameable(ty: &Type) -> bool {
    if matches!(ty, Type::Infer(_)) {
        return true;
    }
    // Printed tokens are separated by spaces, so `impl` stands as a word of its own.
    ty.to_token_stream()
        .to_string()
        .split_whitespace()
        .any(|word| word == "impl")
}
