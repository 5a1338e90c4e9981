//! Go by Example's "Timeouts" and "Non-Blocking Channel Operations": `select` with
//! `time.After`, with `default`, and a `Context` deadline.

use std::time::Duration;

use gocsp::Context;
use gocsp::{chan, go, select};

use crate::{outln, Out};
use gocsp::time::{after, sleep};

/// Runs the three demos with time unit `unit` (Go's example uses one second).
/// Returns the lines, which do not depend on timing as long as `unit` is not tiny:
/// `timeout 1`, `result 2`, `no message received`, `no message sent`, `received hi`,
/// `work stopped: context deadline exceeded`.
pub async fn run_with(out: &Out, unit: Duration) -> Vec<String> {
    let result = Out::capture();
    let say = |line: &str| {
        outln!(out, "{line}");
        result.line(line);
    };

    // A result that takes 2 units, awaited for 1: the timeout wins.
    let (tx1, c1) = chan::<String>(1);
    go!(async move {
        sleep(2 * unit).await;
        let _ = tx1.send("result 1".to_owned()).await;
    });
    select! {
        recv(c1) -> res => say(&res.unwrap_or_default()),
        recv(after(unit)) => say("timeout 1"),
    }

    // The same work awaited for 3 units: the result wins.
    let (tx2, c2) = chan::<String>(1);
    go!(async move {
        sleep(2 * unit).await;
        let _ = tx2.send("result 2".to_owned()).await;
    });
    select! {
        recv(c2) -> res => say(&res.unwrap_or_default()),
        recv(after(3 * unit)) => say("timeout 2"),
    }

    // Non-blocking operations: `default` fires when no case is ready right now.
    let (messages_tx, messages) = chan::<String>(0);
    select! {
        recv(messages) -> msg => say(&format!("received {}", msg.unwrap_or_default())),
        default => say("no message received"),
    }
    select! {
        send(messages_tx, "hi".to_owned()) -> _ => say("sent message"),
        default => say("no message sent"), // unbuffered, and nobody is receiving
    }
    let (buf_tx, buf) = chan::<String>(1);
    buf_tx
        .send("hi".to_owned())
        .await
        .expect("room in the buffer");
    select! {
        recv(buf) -> msg => say(&format!("received {}", msg.unwrap_or_default())),
        default => say("no message received"),
    }

    // A deadline carried by a Context: the work checks `ctx.done()` and gives up.
    let (ctx, _cancel) = Context::background().with_timeout(unit);
    let work = go!(async move {
        select! {
            recv(after(10 * unit)) => "work finished".to_owned(),
            recv(ctx.done()) => {
                format!("work stopped: {}", ctx.err().expect("done means err is set"))
            }
        }
    });
    say(&work.await.expect("the work goroutine"));
    result.lines()
}

/// [`run_with`] with a unit of 100 ms.
pub async fn run(out: &Out) -> Vec<String> {
    run_with(out, Duration::from_millis(100)).await
}
