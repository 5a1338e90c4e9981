//! Procedural macros of [gocsp]: [`select!`], [`select_blocking!`], [`#[main]`](macro@main) and
//! [`#[test]`](macro@test).
//!
//! Use them through the facade (`gocsp::select!`, `#[gocsp::main]`), not from this crate:
//! the code they generate names `::gocsp::__private::…`, the engine items the facade
//! re-exports for them. A crate that renames the dependency (`my_gocsp = { package = "gocsp" }`)
//! must also make it reachable as `gocsp` (`extern crate my_gocsp as gocsp;`) for `select!`;
//! `#[gocsp::main(crate = my_gocsp)]` takes the path as an argument instead.
//!
//! The examples are written as a user of the facade writes them; they run here through this
//! crate's dev-dependency on `gocsp`.
//!
//! [gocsp]: https://docs.rs/gocsp
#![forbid(unsafe_code)]

use proc_macro::TokenStream;

mod fn_attr;
mod select;

/// Waits on several channel operations and futures, and runs the body of the one that fires:
/// Go's `select` statement, for async code.
///
/// # Syntax
///
/// ```text
/// select! {
///     biased;                                   // optional, first: try cases in written order
///     recv(rx) -> v => body,                    // v: Option<T>, None once rx is closed and drained
///     recv(rx) => body,                         // the received value is dropped
///     send(tx, value) -> res => body,           // res: Result<(), SendError<T>>
///     fut(future) -> out => body,               // out: the future's output
///     recv(rx) -> v if guard => body,           // a false guard disables the case
///     default => body,                          // optional: fires if no case is ready right now
/// }
/// ```
///
/// Each body is an expression, as in a `match` arm: a block body needs no comma after it,
/// any other body needs one unless it is the last. The `select!` is an expression whose
/// value is the value of the body that ran; bodies may `.await`, `return`, `break`, `continue`
/// and use `?` as they could outside the macro.
///
/// # Semantics
///
/// - **Exactly one case fires.** A `recv` case that fires took one value; every other case
///   took nothing and sent nothing.
/// - **Random choice.** When several channel cases are ready, one is chosen uniformly at
///   random, as in Go. After `biased;` the first ready one in written order is chosen instead.
///   When the select has `fut` cases, every case is tried once from a random starting point
///   (in written order after `biased;`), futures polled and channels checked alike, so neither
///   kind is preferred; the channels are then checked together as above.
/// - **`Send`.** The cases of an async `select!` must be `Send` (channel element types and
///   `fut` futures), so that the `select!` future is `Send` and can run in a goroutine;
///   `select_blocking!` has no such requirement.
/// - **Lazy send values.** A `send` case's value expression is evaluated only if that case
///   fires, after the select has chosen it: the value of a case that did not fire is never
///   built, so nothing is lost. A closed channel makes a `send` case ready with
///   `Err(SendError(value))`, which is why a `send` case must bind its result (`-> _` drops it).
/// - **Channel arguments.** `recv` takes a `Receiver<T>`, `&Receiver<T>`, `&mut Receiver<T>`,
///   `Option<Receiver<T>>` or `Option<&Receiver<T>>`; `send` the same shapes of `Sender<T>`.
///   A named channel is borrowed, never moved, and a temporary (`after(d)`, `ctx.done()`,
///   `rx.clone()`) lives until the select has chosen. An argument that is `None` is Go's
///   nil channel: its case never fires.
/// - **Guards.** `if guard` is evaluated before the select waits; when it is false the case
///   is disabled, and its channel (or future) expression is not evaluated at all.
/// - **Evaluation order.** For each case, in written order: its guard, then its channel or
///   future expression. Then the select waits; then the chosen case's pattern is bound
///   (and a `send` value evaluated) and its body runs. The borrows taken by the case
///   arguments end before any body runs, so a body may reassign the variable that held its
///   channel (Go's `c = nil` idiom).
/// - **`default`.** Fires only if no other case is ready at the moment of the call; it makes
///   the select non-blocking. There may be one.
/// - **`select! {}`** (no case at all) waits forever, like Go's `select {}`; its type is `!`.
///   A select whose cases are all disabled or nil and that has no `default` also waits forever.
///
/// # Cancel safety
///
/// A `select!` future may be dropped at any `.await` point while it waits: then no case has
/// fired, no value has been taken and no send value has been built. Once a body runs, the
/// body is ordinary async code with the cancel safety of what it awaits. A `fut` case is as
/// cancel-safe as its future, which the select drops unfinished when another case fires.
///
/// # Errors
///
/// Mistakes in the cases are compile errors pointing at the offending case, with the form
/// that was expected: an unknown case keyword, a `send` case without `-> binding`, a wrong
/// number of arguments, two `default`s, `biased;` after a case, a `default` with arguments,
/// a binding or a guard, and a channel argument that is not a `Receiver`/`Sender` (or a
/// reference or `Option` of one).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use gocsp::{chan, select, time::after};
///
/// # gocsp::run(async {
/// let (tx, rx) = chan::<u32>(1);
/// let (done_tx, done) = chan::<()>(0);
/// tx.send(7).await.unwrap();
///
/// let got = select! {
///     recv(rx) -> v => v,
///     recv(done) => None,
///     recv(after(Duration::from_secs(1))) => None,
/// };
/// assert_eq!(got, Some(7));
///
/// // A send case: `res` is `Err(SendError(value))` if the channel is closed.
/// select! {
///     send(tx, 8) -> res => res.unwrap(),
///     default => unreachable!("the buffer has room"),
/// }
/// # drop(done_tx);
/// # });
/// ```
///
/// Go's nil channel, a guard, and reassigning a channel in a body:
///
/// ```
/// use gocsp::{chan, select, Receiver};
///
/// # gocsp::run(async {
/// let (tx, rx) = chan::<u32>(2);
/// tx.send(1).await.unwrap();
/// drop(tx); // closed: rx yields 1, then None forever
/// let mut rx: Option<Receiver<u32>> = Some(rx);
/// let mut seen = Vec::new();
/// loop {
///     select! {
///         recv(rx.as_ref()) -> v => match v {
///             Some(v) => seen.push(v),
///             None => rx = None, // closed: disable this case, as Go sets `c = nil`
///         },
///         recv(other()) -> _ if false => {}
///         default => break,
///     }
/// }
/// assert_eq!(seen, [1]);
/// # fn other() -> Receiver<()> { gocsp::chan(0).1 }
/// # });
/// ```
///
/// # Go equivalent
///
/// ```go
/// select {
/// case v, ok := <-rx:      // recv(rx) -> v
/// case tx <- value:        // send(tx, value) -> res
/// default:                 // default
/// }
/// ```
#[proc_macro]
pub fn select(input: TokenStream) -> TokenStream {
    expand_select(input, select::Mode::Async)
}

/// [`select!`] for plain OS threads: the same syntax and semantics, but it blocks the
/// calling thread instead of awaiting, like `send_blocking` and `recv_blocking`.
///
/// Bodies run on the calling thread; a `fut` case is polled by the blocking select itself.
///
/// # Panics
///
/// Called from inside an async runtime worker, where blocking would stall other tasks, the
/// engine panics with a message saying to use `select!` there, as the other blocking
/// channel operations do.
///
/// # Examples
///
/// ```
/// use gocsp::{chan, select_blocking};
///
/// let (tx, rx) = chan::<&str>(0);
/// let worker = std::thread::spawn(move || tx.send_blocking("hello").unwrap());
/// let got = select_blocking! {
///     recv(rx) -> v => v,
/// };
/// assert_eq!(got, Some("hello"));
/// worker.join().unwrap();
/// ```
///
/// # Go equivalent
///
/// Go's `select`, run from a goroutine that may block its thread.
#[proc_macro]
pub fn select_blocking(input: TokenStream) -> TokenStream {
    expand_select(input, select::Mode::Blocking)
}

fn expand_select(input: TokenStream, mode: select::Mode) -> TokenStream {
    match syn::parse::<select::Select>(input) {
        Ok(parsed) => parsed.expand(mode).into(),
        Err(error) => error.to_compile_error().into(),
    }
}

/// Runs `async fn main` on gocsp's multi-threaded runtime, with the deadlock detector on.
///
/// `#[gocsp::main] async fn main() -> R { body }` becomes a plain `fn main() -> R` that runs
/// the body with `gocsp::run`: the worker count comes from `GOMAXPROCS` if set, else one
/// worker per core. The function may return anything `main` may return, such as
/// `Result<(), E>`, and its body may use `?`.
///
/// # Arguments
///
/// - `worker_threads = N`: run on `N` worker threads, through `gocsp::Runtime::builder()`.
/// - `crate = path`: the path of the `gocsp` facade, for a crate that renamed it.
///
/// # Errors
///
/// A compile error if the function is not `async`, takes parameters, or is generic,
/// `const`, `unsafe` or `extern`, and on an unknown argument.
///
/// # Examples
///
/// ```
/// #[gocsp::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let (tx, rx) = gocsp::chan::<u32>(1);
///     tx.send(1).await?;
///     assert_eq!(rx.recv().await, Some(1));
///     Ok(())
/// }
/// ```
///
/// ```
/// #[gocsp::main(worker_threads = 2)]
/// async fn main() {
///     println!("two workers");
/// }
/// ```
///
/// # Go equivalent
///
/// Go's `func main()`, which the runtime starts as the first goroutine.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    fn_attr::expand_or_error(fn_attr::Attr::Main, args.into(), item.into()).into()
}

/// Runs an `async fn` test on a gocsp runtime of its own, failing it on a deadlock or a
/// leaked goroutine instead of letting it hang.
///
/// `#[gocsp::test] async fn t() -> R { body }` becomes a `#[test] fn t() -> R` that runs the
/// body with `gocsp::testing::Builder`: its own multi-threaded runtime (`GOMAXPROCS` workers if
/// set, else 2, so that scheduling races show up), the body as the main goroutine, every
/// goroutine it starts in the test's group. When all of them are blocked forever the test
/// fails with Go's `all goroutines are asleep - deadlock!` and the dump of its goroutines; when
/// goroutines are still alive after the body returned (and a short grace period), the test
/// fails with their list. `R` is `()` or `Result<(), E: Debug>`, as for `#[test]`; other
/// attributes (`#[should_panic]`, `#[ignore]`) stay on the test.
///
/// # Arguments
///
/// - `worker_threads = N`: the test's runtime has `N` workers.
/// - `synctest`: the body runs in a synctest bubble (`gocsp::synctest`): gocsp's timers use
///   a virtual clock that moves only when every goroutine of the test is durably blocked.
/// - `allow_leaks`: goroutines may outlive the body (the runtime drops them).
/// - `crate = path`: the path of the `gocsp` facade, for a crate that renamed it.
///
/// # Errors
///
/// A compile error if the function is not `async`, takes parameters, or is generic,
/// `const`, `unsafe` or `extern`, and on an unknown argument.
///
/// # Examples
///
/// ```
/// #[gocsp::test]
/// async fn fan_in() {
///     let (tx, rx) = gocsp::chan::<u32>(0);
///     for i in 0..3 {
///         let tx = tx.clone();
///         gocsp::go!(async move { tx.send(i).await.unwrap() });
///     }
///     let mut sum = 0;
///     for _ in 0..3 {
///         sum += rx.recv().await.unwrap();
///     }
///     assert_eq!(sum, 3);
/// }
/// ```
///
/// (In a doctest, as in any non-test build, a `#[test]` function is compiled out; run the
/// same body with `gocsp::testing::Builder::new().run(async { .. })`.)
///
/// # Go equivalent
///
/// `func TestXxx(t *testing.T)`. Go reports a deadlock only when the whole test binary is
/// stuck, and leaked goroutines not at all (uber-go/goleak does).
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    fn_attr::expand_or_error(fn_attr::Attr::Test, args.into(), item.into()).into()
}
