//! `select!` and `select_blocking!`: parsing and expansion.
//!
//! The input is parsed into [`Select`], a list of channel cases plus an optional `default`,
//! and expanded into a call of the engine in `gocsp::__private` (see `gocsp-channel`'s
//! `select.rs`). The expansion has two phases, and the split is what makes the guarantees
//! of `select!` hold:
//!
//! 1. **Choose.** In an inner block, each case's guard and channel (or future) expression
//!    are evaluated, in written order, and wrapped in an engine case (`RecvCase`, `SendCase`,
//!    `FutCase`). The engine picks exactly one and the block returns the picked case's raw
//!    result inside a local enum. Every borrow of a case argument, and every temporary made
//!    by one (`after(d)`, `ctx.done()`), ends with this block. A select of one channel case
//!    and `default` first asks `certainly_idle`/`poll_idle` (one lock-free look at the
//!    channel, Go's `selectnbrecv`/`selectnbsend`) and calls the engine only if the case may
//!    fire.
//! 2. **Run.** A `match` on that enum binds the case's pattern and runs its body. A send
//!    case's value expression is evaluated here, only for the chosen case, and handed to the
//!    permit the engine reserved.
//!
//! Local names made by the expansion use [`Span::mixed_site`], so they can neither capture
//! nor be captured by the user's identifiers. Errors are `syn::Error`s spanned on the offending
//! case; nothing in this file panics on any input.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, Pat, Token};

/// The keywords of the `select!` grammar. None of them is reserved in Rust, so they are
/// parsed as custom keywords and stay usable as ordinary names elsewhere.
mod kw {
    syn::custom_keyword!(recv);
    syn::custom_keyword!(send);
    syn::custom_keyword!(fut);
    syn::custom_keyword!(default);
    syn::custom_keyword!(biased);
}

/// The sentence every "this is not a case" error ends with.
const EXPECTED_CASE: &str = "expected `recv(..)`, `send(..)`, `fut(..)` or `default`";

/// A parsed `select!` (or `select_blocking!`) invocation.
pub(crate) struct Select {
    /// `biased;` was written first: poll the cases in written order instead of at random.
    biased: bool,
    /// The channel and future cases, in written order. Their index is the engine's index.
    cases: Vec<Case>,
    /// The `default` case, if any.
    default: Option<DefaultCase>,
}

/// One `recv`, `send` or `fut` case.
struct Case {
    kind: CaseKind,
    /// `-> pat`, if written. Required for `send`.
    binding: Option<Pat>,
    /// `if guard`: when false, the case is disabled for this select (Go's nil channel).
    guard: Option<Expr>,
    body: Expr,
}

enum CaseKind {
    /// `recv(rx)`
    Recv { rx: Expr },
    /// `send(tx, value)`
    Send { tx: Expr, value: Expr },
    /// `fut(future)`
    Fut { fut: Expr },
}

/// The `default => body` case.
struct DefaultCase {
    body: Expr,
}

/// What a case keyword was, for the error messages about its arguments.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keyword {
    Recv,
    Send,
    Fut,
}

impl Keyword {
    fn name(self) -> &'static str {
        match self {
            Keyword::Recv => "recv",
            Keyword::Send => "send",
            Keyword::Fut => "fut",
        }
    }

    /// The form of the case, as the error messages show it.
    fn form(self) -> &'static str {
        match self {
            Keyword::Recv => "`recv(rx) -> v => ...`",
            Keyword::Send => "`send(tx, value) -> res => ...`",
            Keyword::Fut => "`fut(future) -> output => ...`",
        }
    }

    /// The arguments the case takes, in words.
    fn arguments(self) -> &'static str {
        match self {
            Keyword::Recv => "one argument, the receiver",
            Keyword::Send => "two arguments, the sender and the value to send",
            Keyword::Fut => "one argument, the future",
        }
    }
}

/// An error spanning from `start` to `end` (a case head such as `send(tx, v)`).
///
/// `syn::Error::new_spanned` records the first and the last token's spans, which is how an
/// error covers a range on stable Rust, where spans cannot be joined.
fn error_between(start: Span, end: Span, message: impl std::fmt::Display) -> syn::Error {
    let first = quote_spanned!(start=> start);
    let last = quote_spanned!(end=> end);
    syn::Error::new_spanned(quote!(#first #last), message)
}

impl Parse for Select {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let biased = if input.peek(kw::biased) && input.peek2(Token![;]) {
            input.parse::<kw::biased>()?;
            input.parse::<Token![;]>()?;
            true
        } else {
            false
        };

        let mut cases = Vec::new();
        let mut default: Option<DefaultCase> = None;
        while !input.is_empty() {
            if input.peek(kw::default) {
                let keyword: kw::default = input.parse()?;
                let case = parse_default(keyword, input)?;
                if default.is_some() {
                    return Err(syn::Error::new_spanned(
                        keyword,
                        "a `select!` may have only one `default` case; merge the two bodies \
                         into one `default => ...`",
                    ));
                }
                default = Some(case);
            } else if input.peek(kw::biased) && input.peek2(Token![;]) {
                let keyword: kw::biased = input.parse()?;
                let semi: Token![;] = input.parse()?;
                return Err(syn::Error::new_spanned(
                    quote!(#keyword #semi),
                    "`biased;` must come first, before any case: \
                     `select! { biased; recv(rx) -> v => ..., }`",
                ));
            } else {
                cases.push(parse_case(input)?);
            }
        }
        Ok(Select {
            biased,
            cases,
            default,
        })
    }
}

/// Parses `default => body` after its keyword, rejecting arguments, bindings and guards.
fn parse_default(keyword: kw::default, input: ParseStream<'_>) -> syn::Result<DefaultCase> {
    if input.peek(syn::token::Paren) {
        let group: proc_macro2::Group = input.parse()?;
        return Err(syn::Error::new_spanned(
            quote!(#keyword #group),
            "`default` takes no arguments: write `default => ...` (for a timeout, add a case \
             `recv(gocsp::time::after(d)) => ...`)",
        ));
    }
    if input.peek(Token![->]) {
        let arrow: Token![->] = input.parse()?;
        return Err(syn::Error::new_spanned(
            quote!(#keyword #arrow),
            "`default` has no result to bind: write `default => ...`",
        ));
    }
    if input.peek(Token![if]) {
        let if_token: Token![if] = input.parse()?;
        return Err(syn::Error::new_spanned(
            quote!(#keyword #if_token),
            "`default` cannot have a guard: write `default => ...` and test the condition in \
             its body",
        ));
    }
    expect_fat_arrow(input, keyword.span, keyword.span, "`default => ...`")?;
    let body = parse_body(input)?;
    Ok(DefaultCase { body })
}

/// Parses one `recv`, `send` or `fut` case, or reports the token that starts none of them.
fn parse_case(input: ParseStream<'_>) -> syn::Result<Case> {
    let (keyword, keyword_span) = if input.peek(kw::recv) {
        (Keyword::Recv, input.parse::<kw::recv>()?.span)
    } else if input.peek(kw::send) {
        (Keyword::Send, input.parse::<kw::send>()?.span)
    } else if input.peek(kw::fut) {
        (Keyword::Fut, input.parse::<kw::fut>()?.span)
    } else {
        // Point at the unknown word together with its arguments, if it has any.
        let unknown: proc_macro2::TokenTree = input.parse()?;
        let found = unknown.to_string();
        if found == "biased" {
            return Err(syn::Error::new_spanned(
                unknown,
                "`biased` needs a semicolon and must come first: `select! { biased; ... }`",
            ));
        }
        let arguments = if input.peek(syn::token::Paren) {
            Some(input.parse::<proc_macro2::Group>()?)
        } else {
            None
        };
        return Err(syn::Error::new_spanned(
            quote!(#unknown #arguments),
            format!("unknown `select!` case `{found}`: {EXPECTED_CASE}"),
        ));
    };

    if !input.peek(syn::token::Paren) {
        return Err(syn::Error::new(
            keyword_span,
            format!(
                "`{}` takes its arguments in parentheses: {}",
                keyword.name(),
                keyword.form()
            ),
        ));
    }
    let content;
    let paren = syn::parenthesized!(content in input);
    let close_span = paren.span.close();
    let mut args: Vec<Expr> = Punctuated::<Expr, Token![,]>::parse_terminated(&content)?
        .into_iter()
        .collect();

    let wanted = if keyword == Keyword::Send { 2 } else { 1 };
    if args.len() != wanted {
        return Err(error_between(
            keyword_span,
            close_span,
            format!(
                "`{}` takes {}, but {} {} given: {}",
                keyword.name(),
                keyword.arguments(),
                args.len(),
                if args.len() == 1 { "was" } else { "were" },
                keyword.form()
            ),
        ));
    }

    let binding = if input.peek(Token![->]) {
        input.parse::<Token![->]>()?;
        Some(Pat::parse_multi(input)?)
    } else {
        None
    };
    if keyword == Keyword::Send && binding.is_none() {
        return Err(error_between(
            keyword_span,
            close_span,
            "a `send` case must bind its result, because a closed channel hands the value \
             back in `Err`: write `send(tx, v) -> res => ...` (or `-> _` to drop it)",
        ));
    }

    let guard = if input.peek(Token![if]) {
        input.parse::<Token![if]>()?;
        Some(input.parse::<Expr>()?)
    } else {
        None
    };

    expect_fat_arrow(input, keyword_span, close_span, keyword.form())?;
    let body = parse_body(input)?;

    // `args` has exactly `wanted` elements, checked above.
    let kind = match keyword {
        Keyword::Recv => CaseKind::Recv { rx: args.remove(0) },
        Keyword::Fut => CaseKind::Fut {
            fut: args.remove(0),
        },
        Keyword::Send => {
            let value = args.remove(1);
            let tx = args.remove(0);
            CaseKind::Send { tx, value }
        }
    };
    Ok(Case {
        kind,
        binding,
        guard,
        body,
    })
}

/// Consumes the `=>` between a case head and its body, or explains that it is missing.
fn expect_fat_arrow(input: ParseStream<'_>, start: Span, end: Span, form: &str) -> syn::Result<()> {
    if input.peek(Token![=>]) {
        input.parse::<Token![=>]>()?;
        return Ok(());
    }
    if input.is_empty() {
        // Nothing follows the case head: point at the head itself.
        return Err(error_between(
            start,
            end,
            format!("this case has no body: expected `=> body` after it, as in {form}"),
        ));
    }
    Err(syn::Error::new(
        input.span(),
        format!("expected `=>` and the case's body, as in {form}"),
    ))
}

/// Parses a case body and the comma after it, with `match`'s rules: a block-like body
/// (a block, `if`, `match`, loops, an unsafe block) needs no comma, any other body needs one
/// unless it is the last case.
fn parse_body(input: ParseStream<'_>) -> syn::Result<Expr> {
    let body: Expr = input.parse()?;
    if input.is_empty() || is_block_like(&body) {
        input.parse::<Option<Token![,]>>()?;
    } else if input.peek(Token![,]) {
        input.parse::<Token![,]>()?;
    } else {
        return Err(syn::Error::new(
            input.span(),
            "expected `,` after this case's body: a body that is not a block needs a comma \
             unless it is the last case",
        ));
    }
    Ok(body)
}

/// Whether `match` would accept `expr` as an arm body without a trailing comma.
fn is_block_like(expr: &Expr) -> bool {
    matches!(
        expr,
        Expr::Block(_)
            | Expr::If(_)
            | Expr::Match(_)
            | Expr::Loop(_)
            | Expr::While(_)
            | Expr::ForLoop(_)
            | Expr::Unsafe(_)
            | Expr::TryBlock(_)
            | Expr::Const(_)
    )
}

/// Whether the expansion waits with `.await` or blocks the thread.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `select!`: `::gocsp::__private::select(..).await`
    Async,
    /// `select_blocking!`: `::gocsp::__private::select_blocking(..)`
    Blocking,
}

impl Select {
    /// Expands the select into a block expression; see the module docs for its shape.
    pub(crate) fn expand(&self, mode: Mode) -> TokenStream {
        let private = quote!(::gocsp::__private);
        let biased = self.biased;
        let has_default = self.default.is_some();

        if self.cases.is_empty() && self.default.is_none() {
            // Go's `select {}`: no case can ever fire, so wait forever. The loop gives the
            // expression the type `!`, like Go's terminating statement; the engine never
            // returns from an empty, default-less select, so the loop never turns.
            let wait = engine_call(&private, mode, &[], biased, has_default);
            return quote! {
                loop {
                    let _ = #wait;
                }
            };
        }

        let out_enum = mixed("__GocspSelectOutput");
        let index = mixed("__gocsp_index");
        let output = mixed("__gocsp_output");
        let value = mixed("__gocsp_value");

        let mut prepare = Vec::new();
        let mut cases = Vec::new();
        let mut variants = Vec::new();
        let mut params = Vec::new();
        let mut take_arms = Vec::new();
        let mut body_arms = Vec::new();
        for (i, case) in self.cases.iter().enumerate() {
            let variant = format_ident!("Case{}", i);
            let param = format_ident!("T{}", i);
            let (engine_case, span, tokens) = case.prepare(&private, i);
            prepare.push(tokens);
            // Located at the case's argument: if the case cannot be a `dyn Case` the engine
            // accepts (say a future that is not `Send`), the error points at that argument.
            cases.push(quote_spanned!(span=> &mut #engine_case));

            let pattern = if i + 1 == self.cases.len() && !has_default {
                // The engine returns only indices of cases that can fire, so the last
                // case takes the rest of `usize` and the match needs no panicking arm.
                quote!(_)
            } else {
                quote!(#i)
            };
            take_arms.push(quote! {
                #pattern => #out_enum::#variant(#engine_case.take()),
            });
            body_arms.push(case.run(&private, &out_enum, &variant, &value));
            variants.push(quote!(#variant(#param),));
            params.push(param);
        }
        if let Some(default) = &self.default {
            variants.push(quote!(Default,));
            take_arms.push(quote!(_ => #out_enum::Default,));
            let body = &default.body;
            body_arms.push(quote! {
                #out_enum::Default => #body,
            });
        }

        let mut wait = engine_call(&private, mode, &cases, biased, has_default);
        if let [case] = self.cases.as_slice() {
            if has_default && !matches!(case.kind, CaseKind::Fut { .. }) {
                // One channel case and `default` (Go's `selectnbrecv`/`selectnbsend`): one
                // lock-free look at the channel decides `default` without the engine, which
                // runs only when the case may fire.
                let engine_case = format_ident!("__gocsp_case0", span = Span::mixed_site());
                let idle = match mode {
                    Mode::Async => quote!(#private::poll_idle(&mut #engine_case).await),
                    Mode::Blocking => quote!(#private::certainly_idle(&#engine_case)),
                };
                wait = quote! {
                    if #idle { #private::SELECT_DEFAULT } else { #wait }
                };
            }
        }
        let generics = if params.is_empty() {
            TokenStream::new()
        } else {
            quote!(<#(#params),*>)
        };

        quote! {
            {
                enum #out_enum #generics {
                    #(#variants)*
                }
                let #output = {
                    #(#prepare)*
                    let #index: ::core::primitive::usize = #wait;
                    let #output = match #index {
                        #(#take_arms)*
                    };
                    #output
                };
                match #output {
                    #(#body_arms)*
                }
            }
        }
    }
}

/// The call of the engine that chooses a case: `select(..).await` or `select_blocking(..)`.
///
/// `cases` are `&mut case` expressions, without casts: the engine's parameter type
/// (`&mut [&mut dyn Case + ..]`) is the expected type of the array, and each one coerces.
fn engine_call(
    private: &TokenStream,
    mode: Mode,
    cases: &[TokenStream],
    biased: bool,
    has_default: bool,
) -> TokenStream {
    match mode {
        Mode::Async => quote! {
            #private::select(&mut [#(#cases),*], #biased, #has_default).await
        },
        Mode::Blocking => quote! {
            #private::select_blocking(&mut [#(#cases),*], #biased, #has_default)
        },
    }
}

/// A name for one of the expansion's own locals, with `macro_rules!`-like hygiene: invisible
/// to the user's code, and the user's names are invisible to it.
fn mixed(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

/// A span for generated tokens that stand for the user's `tokens`: located there, so errors
/// point at them, but belonging to the expansion (mixed-site hygiene), so lints aimed at
/// hand-written code (`unused_parens`, clippy's style lints) leave the generated code alone.
fn generated_at(tokens: &impl Spanned) -> Span {
    Span::mixed_site().located_at(tokens.span())
}

impl Case {
    /// Phase 1: evaluates the guard and the channel or future expression, and declares the
    /// engine case `engine_case` over them.
    ///
    /// Returns the engine case's name, the span to use for tokens about the case, and the code.
    fn prepare(&self, private: &TokenStream, index: usize) -> (Ident, Span, TokenStream) {
        let argument = match &self.kind {
            CaseKind::Recv { rx: argument }
            | CaseKind::Send { tx: argument, .. }
            | CaseKind::Fut { fut: argument } => argument,
        };
        // The local holding the argument is located at it, so an error about its type
        // ("not a channel", "not a future") points at the user's argument.
        let span = generated_at(argument);
        let arg = format_ident!("__gocsp_arg{}", index, span = span);
        let engine_case = format_ident!("__gocsp_case{}", index, span = Span::mixed_site());
        let some = quote_spanned!(span=> ::core::option::Option::Some);
        let none = quote_spanned!(span=> ::core::option::Option::None);

        let tokens = match &self.kind {
            CaseKind::Recv { .. } | CaseKind::Send { .. } => {
                let (case_type, convert) = match &self.kind {
                    CaseKind::Recv { .. } => (quote!(RecvCase), quote!(AsRecv::as_recv)),
                    _ => (quote!(SendCase), quote!(AsSend::as_send)),
                };
                match &self.guard {
                    None => quote_spanned! {span=>
                        let #arg = &(#argument);
                        let mut #engine_case = #private::#case_type::new(#private::#convert(#arg));
                    },
                    Some(guard) => {
                        // A false guard leaves the channel expression unevaluated, so a guard
                        // may protect it (`recv(slots[i]) if i < slots.len()`).
                        let enabled = format_ident!("__gocsp_enabled", span = span);
                        quote_spanned! {span=>
                            let #arg = if #guard { #some(&(#argument)) } else { #none };
                            let mut #engine_case = #private::#case_type::new(match #arg {
                                #some(#enabled) => #private::#convert(#enabled),
                                #none => #none,
                            });
                        }
                    }
                }
            }
            CaseKind::Fut { .. } => {
                let future = quote_spanned! {span=>
                    ::core::future::IntoFuture::into_future(#argument)
                };
                match &self.guard {
                    None => quote_spanned! {span=>
                        let #arg = ::core::pin::pin!(#future);
                        let mut #engine_case = #private::FutCase::new(#some(#arg));
                    },
                    Some(guard) => quote_spanned! {span=>
                        let #arg = ::core::pin::pin!(if #guard { #some(#future) } else { #none });
                        let mut #engine_case =
                            #private::FutCase::new(::core::option::Option::as_pin_mut(#arg));
                    },
                }
            }
        };
        (engine_case, span, tokens)
    }

    /// Phase 2: the arm of the final `match` that binds this case's result and runs its body.
    fn run(
        &self,
        private: &TokenStream,
        out_enum: &Ident,
        variant: &Ident,
        value: &Ident,
    ) -> TokenStream {
        let body = &self.body;
        let result = match &self.kind {
            CaseKind::Send { value: sent, .. } => {
                // The value expression runs here, once this case has been chosen; the engine
                // reserved a slot (or found the channel closed) and `complete_send` sends
                // into it or hands the value back in `Err`.
                let span = generated_at(sent);
                quote_spanned!(span=> #private::complete_send(#value, #sent))
            }
            CaseKind::Recv { .. } | CaseKind::Fut { .. } => value.to_token_stream(),
        };
        match &self.binding {
            Some(pat) => {
                let span = generated_at(pat);
                let bind = quote_spanned!(span=> let #pat = #result;);
                quote! {
                    #out_enum::#variant(#value) => {
                        #bind
                        #body
                    }
                }
            }
            // No binding (never for `send`): the received value or the future's output is
            // dropped before the body runs, as `let _ = <-ch` would.
            None => quote! {
                #out_enum::#variant(#value) => {
                    ::core::mem::drop(#result);
                    #body
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> syn::Result<Select> {
        syn::parse_str::<Select>(src)
    }

    fn error(src: &str) -> String {
        match parse(src) {
            Ok(_) => panic!("expected a parse error for {src:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn parses_every_case_form() {
        let s = parse(
            "biased;
             recv(rx) -> v => println!(\"{v:?}\"),
             recv(rx2) => {}
             send(tx, compute()) -> res if ready => res.unwrap(),
             fut(sleep(d)) -> out => { out }
             fut(f) => (),
             default => {}",
        )
        .unwrap();
        assert!(s.biased);
        assert_eq!(s.cases.len(), 5);
        assert!(s.default.is_some());
        assert!(matches!(s.cases[0].kind, CaseKind::Recv { .. }));
        assert!(s.cases[0].binding.is_some());
        assert!(s.cases[1].binding.is_none());
        assert!(matches!(s.cases[2].kind, CaseKind::Send { .. }));
        assert!(s.cases[2].guard.is_some());
        assert!(matches!(s.cases[3].kind, CaseKind::Fut { .. }));
        assert!(s.cases[4].binding.is_none());
    }

    #[test]
    fn send_arguments_keep_their_order() {
        let s = parse("send(tx, value) -> _ => ()").unwrap();
        match &s.cases[0].kind {
            CaseKind::Send { tx, value } => {
                assert_eq!(tx.to_token_stream().to_string(), "tx");
                assert_eq!(value.to_token_stream().to_string(), "value");
            }
            _ => panic!("not a send case"),
        }
    }

    #[test]
    fn empty_and_default_only_selects_parse() {
        let s = parse("").unwrap();
        assert!(s.cases.is_empty() && s.default.is_none() && !s.biased);
        let s = parse("biased;").unwrap();
        assert!(s.cases.is_empty() && s.biased);
        let s = parse("default => ()").unwrap();
        assert!(s.cases.is_empty() && s.default.is_some());
    }

    #[test]
    fn block_like_bodies_need_no_comma_others_do() {
        parse(
            "recv(a) => if x { 1 } else { 2 }
             recv(b) => match y { _ => 3 }
             recv(c) => loop { break 4 }
             recv(d) => 5",
        )
        .unwrap();
        parse("recv(a) => {} , recv(b) => 1,").unwrap();
        let e = error("recv(a) => 1 recv(b) => 2");
        assert!(e.contains("expected `,` after this case's body"), "{e}");
    }

    #[test]
    fn biased_is_a_name_unless_followed_by_a_semicolon() {
        // `biased` without `;` is not the keyword; the error says how to write it.
        let e = error("biased recv(a) => ()");
        assert!(e.contains("`biased` needs a semicolon"), "{e}");
    }

    #[test]
    fn unknown_keyword_names_the_expected_forms() {
        let e = error("recieve(rx) -> v => ()");
        assert_eq!(
            e,
            "unknown `select!` case `recieve`: expected `recv(..)`, `send(..)`, `fut(..)` or \
             `default`"
        );
    }

    #[test]
    fn send_without_binding_is_rejected() {
        let e = error("send(tx, 1) => ()");
        assert!(
            e.contains("write `send(tx, v) -> res => ...` (or `-> _`"),
            "{e}"
        );
        let e = error("send(tx, 1) if ok => ()");
        assert!(e.contains("must bind its result"), "{e}");
    }

    #[test]
    fn wrong_argument_counts_are_rejected() {
        let e = error("send(tx) -> r => ()");
        assert!(e.contains("`send` takes two arguments"), "{e}");
        assert!(e.contains("but 1 was given"), "{e}");
        let e = error("recv(a, b) => ()");
        assert!(e.contains("`recv` takes one argument"), "{e}");
        assert!(e.contains("but 2 were given"), "{e}");
        let e = error("recv() => ()");
        assert!(e.contains("but 0 were given"), "{e}");
        let e = error("fut(a, b) => ()");
        assert!(e.contains("`fut` takes one argument"), "{e}");
        let e = error("recv rx => ()");
        assert!(e.contains("takes its arguments in parentheses"), "{e}");
    }

    #[test]
    fn default_errors() {
        let e = error("default => (), default => ()");
        assert!(e.contains("only one `default` case"), "{e}");
        let e = error("default(d) => ()");
        assert!(e.contains("`default` takes no arguments"), "{e}");
        let e = error("default -> x => ()");
        assert!(e.contains("`default` has no result to bind"), "{e}");
        let e = error("default if x => ()");
        assert!(e.contains("`default` cannot have a guard"), "{e}");
    }

    #[test]
    fn biased_after_a_case_is_rejected() {
        let e = error("recv(a) => (), biased;");
        assert!(e.contains("`biased;` must come first"), "{e}");
    }

    #[test]
    fn missing_arrow_and_body_are_explained() {
        let e = error("recv(a) -> v");
        assert!(e.contains("this case has no body"), "{e}");
        let e = error("recv(a) -> v = ()");
        assert!(e.contains("expected `=>`"), "{e}");
    }

    /// The expansion must be a well-formed expression without `unsafe`, and the send value
    /// must appear only after the engine call (inside the final match), never before it.
    #[test]
    fn expansion_shape() {
        let s = parse(
            "recv(rx) -> v => v,
             send(tx, make_value()) -> r if g => drop(r),
             fut(f) -> o => o,
             default => ()",
        )
        .unwrap();
        for mode in [Mode::Async, Mode::Blocking] {
            let out = s.expand(mode);
            syn::parse2::<Expr>(out.clone()).unwrap();
            let text = out.to_string();
            assert!(!text.contains("unsafe"), "{text}");
            let engine = if mode == Mode::Async {
                "select (& mut ["
            } else {
                "select_blocking (& mut ["
            };
            let call = text.find(engine).unwrap();
            let value = text.find("make_value").unwrap();
            assert!(
                value > call,
                "send value evaluated before the engine call: {text}"
            );
            assert_eq!(text.matches("make_value").count(), 1);
            assert!(text.contains(", false , true)"), "{text}");
            assert_eq!(mode == Mode::Async, text.contains(". await"), "{text}");
        }
    }

    #[test]
    fn empty_select_waits_forever() {
        let out = parse("").unwrap().expand(Mode::Async).to_string();
        assert!(out.starts_with("loop"), "{out}");
        assert!(
            out.contains("select (& mut [] , false , false) . await"),
            "{out}"
        );
    }

    #[test]
    fn sixty_four_cases_expand() {
        let src: String = (0..64).map(|i| format!("recv(r{i}) -> v => v,")).collect();
        let s = parse(&src).unwrap();
        assert_eq!(s.cases.len(), 64);
        syn::parse2::<Expr>(s.expand(Mode::Async)).unwrap();
    }
}
