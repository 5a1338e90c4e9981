//! `#[gocsp::main]` and `#[gocsp::test]`: run an `async fn` on gocsp's runtime.
//!
//! ```text
//! #[gocsp::main]                        fn main() -> R {
//! async fn main() -> R { body }   ==>       async fn __gocsp_main() -> R { body }
//!                                           ::gocsp::run(__gocsp_main())
//!                                       }
//!
//! #[gocsp::test]                        #[test] fn t() -> R {
//! async fn t() -> R { body }      ==>       async fn __gocsp_main() -> R { body }
//!                                           ::gocsp::testing::Builder::new().run(__gocsp_main())
//!                                       }
//! ```
//!
//! The body stays inside an `async fn` with the user's own return type, so `?` and `return`
//! mean what they meant and type inference sees the declared output (an `async` block would
//! need its error type spelled out for `?`). With `worker_threads = N` a `main` runtime is
//! built with `::gocsp::Runtime::builder()` instead of `::gocsp::run`.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, ItemFn, Path};

/// Which attribute is being expanded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attr {
    /// `#[gocsp::main]`: the program's `main`.
    Main,
    /// `#[gocsp::test]`: a test, on a runtime and goroutine group of its own.
    Test,
}

impl Attr {
    /// The attribute as the user wrote it, for messages.
    fn name(self) -> &'static str {
        match self {
            Attr::Main => "`#[gocsp::main]`",
            Attr::Test => "`#[gocsp::test]`",
        }
    }
}

/// The attribute's arguments: `#[gocsp::main(worker_threads = 4, crate = my_gocsp)]`,
/// `#[gocsp::test(worker_threads = 1, allow_leaks)]`.
#[derive(Default)]
struct Args {
    /// `worker_threads = N`: the number of worker threads (else `GOMAXPROCS` or all cores).
    worker_threads: Option<Expr>,
    /// `crate = path`: where the gocsp facade is, for a user who renamed it.
    krate: Option<Path>,
    /// `allow_leaks` (tests only): goroutines may outlive the test's body.
    allow_leaks: bool,
    /// `synctest` (tests only): the body runs in a synctest bubble.
    synctest: bool,
}

fn parse_args(attr: Attr, args: TokenStream) -> syn::Result<Args> {
    let mut parsed = Args::default();
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("worker_threads") {
            if parsed.worker_threads.is_some() {
                return Err(meta.error("`worker_threads` is given twice"));
            }
            parsed.worker_threads = Some(meta.value()?.parse()?);
            Ok(())
        } else if meta.path.is_ident("crate") {
            if parsed.krate.is_some() {
                return Err(meta.error("`crate` is given twice"));
            }
            parsed.krate = Some(meta.value()?.parse()?);
            Ok(())
        } else if attr == Attr::Test && meta.path.is_ident("allow_leaks") {
            if parsed.allow_leaks {
                return Err(meta.error("`allow_leaks` is given twice"));
            }
            parsed.allow_leaks = true;
            Ok(())
        } else if attr == Attr::Test && meta.path.is_ident("synctest") {
            if parsed.synctest {
                return Err(meta.error("`synctest` is given twice"));
            }
            parsed.synctest = true;
            Ok(())
        } else {
            Err(meta.error(match attr {
                Attr::Main => {
                    "unknown `#[gocsp::main]` argument: expected `worker_threads = N` or \
                     `crate = path::to::gocsp`"
                }
                Attr::Test => {
                    "unknown `#[gocsp::test]` argument: expected `worker_threads = N`, \
                     `synctest`, `allow_leaks` or `crate = path::to::gocsp`"
                }
            }))
        }
    });
    syn::parse::Parser::parse2(parser, args)?;
    Ok(parsed)
}

/// Expands `#[gocsp::main(args)] item` or `#[gocsp::test(args)] item`; on a mistake, the
/// error plus an empty stand-in for the function, so that the error is the only one reported
/// (no "`main` function not found").
pub(crate) fn expand_or_error(attr: Attr, args: TokenStream, item: TokenStream) -> TokenStream {
    match expand(attr, args, item.clone()) {
        Ok(expanded) => expanded,
        Err(error) => {
            let error = error.to_compile_error();
            let stand_in = syn::parse2::<ItemFn>(item).ok().map(|function| {
                let vis = &function.vis;
                let name = &function.sig.ident;
                quote!(#vis fn #name() {})
            });
            quote!(#error #stand_in)
        }
    }
}

/// Expands the attribute on `item`, or returns the error to report.
fn expand(attr: Attr, args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let args = parse_args(attr, args)?;
    let what = attr.name();
    let function: ItemFn = syn::parse2(item)?;
    let sig = &function.sig;

    if sig.asyncness.is_none() {
        return Err(syn::Error::new_spanned(
            sig.fn_token,
            match attr {
                Attr::Main => "`#[gocsp::main]` goes on an `async fn`: write `async fn main()`",
                Attr::Test => "`#[gocsp::test]` goes on an `async fn`: write `async fn`",
            },
        ));
    }
    if !sig.inputs.is_empty() {
        return Err(syn::Error::new_spanned(
            &sig.inputs,
            match attr {
                Attr::Main => {
                    "`#[gocsp::main]` functions take no parameters: read arguments with \
                     `std::env::args()`"
                }
                Attr::Test => "`#[gocsp::test]` functions take no parameters",
            },
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(syn::Error::new_spanned(
            &sig.generics,
            format!("{what} functions cannot be generic"),
        ));
    }
    if let Some(constness) = &sig.constness {
        return Err(syn::Error::new_spanned(
            constness,
            format!("{what} functions cannot be `const`"),
        ));
    }
    if let Some(unsafety) = &sig.unsafety {
        return Err(syn::Error::new_spanned(
            unsafety,
            format!("{what} functions cannot be `unsafe`"),
        ));
    }
    if let Some(abi) = &sig.abi {
        return Err(syn::Error::new_spanned(
            abi,
            format!("{what} functions cannot declare an ABI"),
        ));
    }
    if let Some(variadic) = &sig.variadic {
        return Err(syn::Error::new_spanned(
            variadic,
            format!("{what} functions take no parameters"),
        ));
    }

    let krate = match &args.krate {
        Some(path) => quote!(#path),
        None => quote!(::gocsp),
    };
    let attrs = &function.attrs;
    let vis = &function.vis;
    let name = &sig.ident;
    let output = &sig.output;
    let body = &function.block;
    // An item name: mixed-site hygiene does not hide items, so the name is simply unusual.
    let inner = syn::Ident::new("__gocsp_main", Span::mixed_site());

    let run = match (attr, &args.worker_threads) {
        (Attr::Main, None) => quote!(#krate::run(#inner())),
        (Attr::Main, Some(threads)) => quote_spanned! {threads.span()=>
            #krate::Runtime::builder()
                .worker_threads(#threads)
                .run(#inner())
        },
        (Attr::Test, threads) => {
            let threads = threads.iter();
            let leaks = args.allow_leaks.then(|| quote!(.allow_leaks(true)));
            let synctest = args.synctest.then(|| quote!(.synctest(true)));
            quote! {
                #krate::testing::Builder::new()
                    #(.worker_threads(#threads))*
                    #synctest
                    #leaks
                    .run(#inner())
            }
        }
    };
    let test = (attr == Attr::Test).then(|| quote!(#[::core::prelude::v1::test]));

    Ok(quote! {
        #test
        #(#attrs)*
        #vis fn #name() #output {
            async fn #inner() #output #body
            #run
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(args: &str, item: &str) -> String {
        let args: TokenStream = args.parse().unwrap();
        let item: TokenStream = item.parse().unwrap();
        match expand(Attr::Main, args, item) {
            Ok(out) => panic!("expected an error, got {out}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn expands_to_a_sync_main_running_the_body() {
        let out = expand(
            Attr::Main,
            TokenStream::new(),
            "async fn main() -> Result<(), E> { f()?; Ok(()) }"
                .parse()
                .unwrap(),
        )
        .unwrap();
        let file: syn::File = syn::parse2(out).unwrap();
        let syn::Item::Fn(main) = &file.items[0] else {
            panic!("not a fn")
        };
        assert!(main.sig.asyncness.is_none());
        assert_eq!(main.sig.ident, "main");
        let text = quote!(#main).to_string();
        assert!(text.contains(":: gocsp :: run (__gocsp_main ())"), "{text}");
        assert!(
            text.contains("async fn __gocsp_main () -> Result < () , E >"),
            "{text}"
        );
    }

    #[test]
    fn arguments_select_the_builder_and_the_crate() {
        let out = expand(
            Attr::Main,
            "worker_threads = 2, crate = my::gocsp".parse().unwrap(),
            "async fn main() {}".parse().unwrap(),
        )
        .unwrap()
        .to_string();
        assert!(
            out.contains("my :: gocsp :: Runtime :: builder ()"),
            "{out}"
        );
        assert!(out.contains(". worker_threads (2)"), "{out}");
    }

    #[test]
    fn an_error_comes_with_a_stand_in_function() {
        let out = expand_or_error(
            Attr::Main,
            TokenStream::new(),
            "fn main() {}".parse().unwrap(),
        );
        let text = out.to_string();
        assert!(text.contains("compile_error !"), "{text}");
        assert!(text.ends_with("fn main () { }"), "{text}");
    }

    #[test]
    fn rejects_what_cannot_be_a_main() {
        assert!(error("", "fn main() {}").contains("goes on an `async fn`"));
        assert!(error("", "async fn main(x: u8) {}").contains("take no parameters"));
        assert!(error("", "async fn main<T>() {}").contains("cannot be generic"));
        assert!(error("", "async unsafe fn main() {}").contains("cannot be `unsafe`"));
        assert!(error("threads = 2", "async fn main() {}").contains("unknown `#[gocsp::main]`"));
        assert!(error(
            "worker_threads = 1, worker_threads = 2",
            "async fn main() {}"
        )
        .contains("given twice"));
    }

    #[test]
    fn a_test_runs_on_the_testing_builder_with_its_arguments() {
        let out = expand(
            Attr::Test,
            "worker_threads = 3, allow_leaks, synctest".parse().unwrap(),
            "#[should_panic] async fn t() -> Result<(), E> { Ok(()) }"
                .parse()
                .unwrap(),
        )
        .unwrap()
        .to_string();
        assert!(
            out.starts_with("# [:: core :: prelude :: v1 :: test]"),
            "{out}"
        );
        assert!(
            out.contains("# [should_panic] fn t () -> Result < () , E >"),
            "{out}"
        );
        assert!(
            out.contains(":: gocsp :: testing :: Builder :: new ()"),
            "{out}"
        );
        assert!(
            out.contains(". worker_threads (3) . synctest (true) . allow_leaks (true) . run (__gocsp_main ())"),
            "{out}"
        );
        let plain = expand(
            Attr::Test,
            TokenStream::new(),
            "async fn t() {}".parse().unwrap(),
        )
        .unwrap()
        .to_string();
        assert!(
            plain.contains("Builder :: new () . run (__gocsp_main ())"),
            "{plain}"
        );
        let err = match expand(
            Attr::Main,
            "allow_leaks".parse().unwrap(),
            "async fn main() {}".parse().unwrap(),
        ) {
            Ok(out) => panic!("allow_leaks is for tests only, got {out}"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("unknown `#[gocsp::main]` argument"), "{err}");
        let err = match expand(Attr::Test, TokenStream::new(), "fn t() {}".parse().unwrap()) {
            Ok(out) => panic!("expected an error, got {out}"),
            Err(e) => e.to_string(),
        };
        assert!(
            err.contains("`#[gocsp::test]` goes on an `async fn`"),
            "{err}"
        );
    }
}
