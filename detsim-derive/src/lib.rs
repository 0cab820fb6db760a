//! `#[derive(StableHash)]` for detsim: a specified, stable encoding of user message and
//! observation types into detsim's trace hash. Use it through `detsim` (the `derive`
//! feature, on by default), which re-exports it as `detsim::StableHash` next to the trait.
//!
//! # The encoding
//!
//! The derived `stable_hash` feeds `u64` words into a `detsim::StableHasher`; it is part of
//! every trace hash, so it is specified here and pinned by tests (`tests/it/derive.rs`):
//!
//! - **Struct** (named, tuple or unit): each field's own encoding, in declaration order, and
//!   nothing else: no type name, no field names, no field count. A unit struct encodes to
//!   nothing (like `()`).
//! - **Enum**: one word, the variant's *tag*, then that variant's fields in declaration
//!   order (as for a struct). A variant's tag is its position counting from 0 in declaration
//!   order, unless `#[stable_hash(tag = N)]` sets it; a variant without the attribute takes
//!   the previous variant's tag plus 1 (the rule of Rust discriminants). Rust discriminants
//!   (`A = 5`) and `#[repr]` are ignored. Two variants with the same tag are a compile error.
//!   An enum without variants encodes to nothing (it has no values).
//! - **`#[stable_hash(skip)]`** on a field: the field is not encoded (nothing in its place).
//! - **Generics**: every type parameter gets a `T: StableHash` bound; the encoding of a
//!   generic type is the same rule applied to the field types it is instantiated with.
//! - **`#[stable_hash(crate = "path")]`** on the type: where the `StableHash` trait and
//!   `StableHasher` live (default `::detsim`), for crates that rename or re-export detsim.
//!
//! So renaming a type, field or variant keeps every hash, while reordering fields, reordering
//! variants or inserting a variant before others (without explicit tags), adding or removing a
//! field, or changing a field's type changes them: a golden trace hash that depends on the type
//! then changes too. Pin a variant's tag with `#[stable_hash(tag = N)]` to insert or reorder
//! variants without changing hashes.
//!
//! Different types with the same words hash alike (`struct A(u64)` and `u64`); a trace hashes
//! values of one message type, so this does not matter there.
//!
//! Unions cannot be derived (which field is live is unknown); write `StableHash` by hand.
//!
//! ```text
//! #[derive(StableHash)]
//! enum Msg {
//!     Ping,                          // word 0
//!     Put { key: String, val: u64 }, // word 1, str(key), word(val)
//!     #[stable_hash(tag = 7)]
//!     Ack(u64),                      // word 7, word(.0)
//!     Nack(#[stable_hash(skip)] String, u64), // word 8, word(.1)
//! }
//! ```

use proc_macro::TokenStream;
use proc_macro2::{Literal, Span, TokenStream as TokenStream2};
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::{Data, DataEnum, DeriveInput, Error, Fields, Ident, Index, LitInt, LitStr, Path, Result, parse_quote};

/// Derive `detsim::StableHash` with the encoding specified in the crate docs.
#[proc_macro_derive(StableHash, attributes(stable_hash))]
pub fn derive_stable_hash(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    expand(&input).unwrap_or_else(Error::into_compile_error).into()
}

/// Where a `#[stable_hash(..)]` attribute sits, which decides what it may say.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Type,
    Variant,
    Field,
}

/// What the `#[stable_hash(..)]` attributes of one item said.
#[derive(Default)]
struct Attrs {
    skip: bool,
    tag: Option<(u64, Span)>,
    krate: Option<Path>,
}

fn parse_attrs(attrs: &[syn::Attribute], place: Place) -> Result<Attrs> {
    let mut out = Attrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("stable_hash")) {
        attr.parse_nested_meta(|meta| {
            let key = if meta.path.is_ident("skip") {
                "skip"
            } else if meta.path.is_ident("tag") {
                "tag"
            } else if meta.path.is_ident("crate") {
                "crate"
            } else {
                return Err(meta.error("unknown stable_hash attribute; expected `skip` (on a field), `tag = N` (on an enum variant) or `crate = \"path\"` (on the type)"));
            };
            let (allowed, where_) = match key {
                "skip" => (Place::Field, "a field"),
                "tag" => (Place::Variant, "an enum variant"),
                _ => (Place::Type, "the type"),
            };
            if place != allowed {
                return Err(meta.error(format!("`stable_hash({key})` is allowed only on {where_}")));
            }
            let duplicate = || meta.error(format!("duplicate `stable_hash({key})`"));
            match key {
                "skip" => {
                    if out.skip {
                        return Err(duplicate());
                    }
                    out.skip = true;
                }
                "tag" => {
                    if out.tag.is_some() {
                        return Err(duplicate());
                    }
                    let lit: LitInt = meta.value()?.parse()?;
                    out.tag = Some((lit.base10_parse::<u64>()?, lit.span()));
                }
                _ => {
                    if out.krate.is_some() {
                        return Err(duplicate());
                    }
                    let lit: LitStr = meta.value()?.parse()?;
                    out.krate = Some(lit.parse()?);
                }
            }
            Ok(())
        })?;
    }
    Ok(out)
}

fn expand(input: &DeriveInput) -> Result<TokenStream2> {
    if let Data::Union(u) = &input.data {
        return Err(Error::new(
            u.union_token.span,
            "StableHash cannot be derived for a union (which field is live is unknown); implement it by hand",
        ));
    }
    let krate = parse_attrs(&input.attrs, Place::Type)?
        .krate
        .unwrap_or_else(|| parse_quote!(::detsim));
    let body = match &input.data {
        Data::Struct(s) => struct_body(&s.fields, &krate)?,
        Data::Enum(e) => enum_body(e, &krate)?,
        Data::Union(_) => unreachable!("rejected above"),
    };
    let mut generics = input.generics.clone();
    for param in generics.type_params_mut() {
        param.bounds.push(parse_quote!(#krate::StableHash));
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let name = &input.ident;
    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics #krate::StableHash for #name #ty_generics #where_clause {
            fn stable_hash(&self, h: &mut #krate::StableHasher) {
                #body
            }
        }
    })
}

/// The fields that are encoded: (position, field), skipped ones left out.
fn hashed_fields(fields: &Fields) -> Result<Vec<(usize, &syn::Field)>> {
    let mut out = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        if !parse_attrs(&f.attrs, Place::Field)?.skip {
            out.push((i, f));
        }
    }
    Ok(out)
}

fn struct_body(fields: &Fields, krate: &Path) -> Result<TokenStream2> {
    let hashed = hashed_fields(fields)?;
    if hashed.is_empty() {
        return Ok(quote!(let _ = h;));
    }
    let stmts = hashed.iter().map(|(i, f)| {
        let member = match &f.ident {
            Some(id) => quote!(#id),
            None => {
                let index = Index::from(*i);
                quote!(#index)
            }
        };
        quote!(#krate::StableHash::stable_hash(&self.#member, h);)
    });
    Ok(quote!(#(#stmts)*))
}

fn enum_body(e: &DataEnum, krate: &Path) -> Result<TokenStream2> {
    if e.variants.is_empty() {
        return Ok(quote!(let _ = h; match *self {}));
    }
    let mut next = Some(0u64);
    let mut used: Vec<(u64, &Ident)> = Vec::new();
    let mut arms = Vec::new();
    for v in &e.variants {
        let attrs = parse_attrs(&v.attrs, Place::Variant)?;
        let tag = match (attrs.tag, next) {
            (Some((t, _)), _) => t,
            (None, Some(t)) => t,
            (None, None) => {
                return Err(Error::new(
                    v.ident.span(),
                    "this variant's tag would follow u64::MAX; give it `#[stable_hash(tag = N)]`",
                ));
            }
        };
        if let Some((_, other)) = used.iter().find(|(t, _)| *t == tag) {
            let span = attrs.tag.map_or(v.ident.span(), |(_, s)| s);
            return Err(Error::new(
                span,
                format!("stable_hash tag {tag} is already used by variant `{other}`"),
            ));
        }
        used.push((tag, &v.ident));
        next = tag.checked_add(1);

        let ident = &v.ident;
        let hashed = hashed_fields(&v.fields)?;
        let all = hashed.len() == v.fields.len();
        let binding = |i: usize| format_ident!("__f{}", i);
        let pattern = match &v.fields {
            Fields::Unit => quote!(Self::#ident),
            Fields::Named(_) => {
                let binds = hashed.iter().map(|(i, f)| {
                    let name = f.ident.as_ref().expect("named field");
                    let b = binding(*i);
                    quote!(#name: #b)
                });
                let rest = if all { quote!() } else { quote!(..) };
                quote!(Self::#ident { #(#binds,)* #rest })
            }
            Fields::Unnamed(_) => {
                let binds = v.fields.iter().enumerate().map(|(i, f)| {
                    if hashed.iter().any(|(j, _)| *j == i) {
                        let b = binding(i);
                        quote!(#b)
                    } else {
                        quote_spanned_underscore(f.span())
                    }
                });
                quote!(Self::#ident(#(#binds),*))
            }
        };
        let tag_lit = Literal::u64_suffixed(tag);
        let stmts = hashed.iter().map(|(i, _)| {
            let b = binding(*i);
            quote!(#krate::StableHash::stable_hash(#b, h);)
        });
        arms.push(quote! {
            #pattern => {
                #krate::StableHasher::word(h, #tag_lit);
                #(#stmts)*
            }
        });
    }
    Ok(quote! {
        match self {
            #(#arms)*
        }
    })
}

/// `_` for a skipped tuple field in a pattern.
fn quote_spanned_underscore(span: Span) -> TokenStream2 {
    quote::quote_spanned!(span=> _)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The compile error `expand` gives for `src`, or the generated code if it gives none.
    fn error_of(src: &str) -> String {
        let input: DeriveInput = syn::parse_str(src).expect("valid Rust");
        match expand(&input) {
            Ok(code) => panic!("expected an error, got {code}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn unions_are_rejected() {
        let e = error_of("union U { a: u32, b: f32 }");
        assert!(e.contains("cannot be derived for a union"), "{e}");
    }

    #[test]
    fn duplicate_tags_are_rejected() {
        let e = error_of("enum E { A, #[stable_hash(tag = 0)] B }");
        assert!(e.contains("tag 0 is already used by variant `A`"), "{e}");
        let e = error_of("enum E { #[stable_hash(tag = 3)] A, B, #[stable_hash(tag = 4)] C }");
        assert!(e.contains("tag 4 is already used by variant `B`"), "{e}");
        let e = error_of("enum E { #[stable_hash(tag = 18446744073709551615)] A, B }");
        assert!(e.contains("would follow u64::MAX"), "{e}");
    }

    #[test]
    fn attributes_in_the_wrong_place_or_unknown_are_rejected() {
        let e = error_of("#[stable_hash(skip)] struct S(u8);");
        assert!(e.contains("`stable_hash(skip)` is allowed only on a field"), "{e}");
        let e = error_of("struct S(#[stable_hash(tag = 1)] u8);");
        assert!(
            e.contains("`stable_hash(tag)` is allowed only on an enum variant"),
            "{e}"
        );
        let e = error_of("enum E { #[stable_hash(crate = \"x\")] A }");
        assert!(e.contains("`stable_hash(crate)` is allowed only on the type"), "{e}");
        let e = error_of("struct S(#[stable_hash(skip, skip)] u8);");
        assert!(e.contains("duplicate `stable_hash(skip)`"), "{e}");
        let e = error_of("struct S(#[stable_hash(ignore)] u8);");
        assert!(e.contains("unknown stable_hash attribute"), "{e}");
        let e = error_of("enum E { #[stable_hash(tag = -1)] A }");
        assert!(e.contains("invalid digit"), "{e}");
    }

    #[test]
    fn type_parameters_get_the_bound() {
        let input: DeriveInput = syn::parse_str("struct S<'a, T: Clone, const N: usize>(&'a [T; N]);").unwrap();
        let code = expand(&input).unwrap().to_string().replace(' ', "");
        assert!(
            code.contains("impl<'a,T:Clone+::detsim::StableHash,constN:usize>::detsim::StableHashforS<'a,T,N>"),
            "{code}"
        );
    }
}
