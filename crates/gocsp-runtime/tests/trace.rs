//! The tracing layers: goroutine spans, and the profile's numbers on programs whose answer is
//! known exactly (paused time: polls take no time, waits take exactly what the clock jumped).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gocsp_channel::chan;
use gocsp_runtime::{go, trace, Op};
use tracing_subscriber::prelude::*;

const SEC: Duration = Duration::from_secs(1);

#[tokio::test(start_paused = true)]
async fn profile_counts_blocked_time_per_site() {
    let (layer, guard) = trace::profile();
    let _default = tracing_subscriber::registry().with(layer).set_default();

    let (tx, rx) = chan::<u32>(0);
    let recv_line = line!() + 4;
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let rx = rx.clone();
            go!(name = "waiter", async move { rx.recv().await })
        })
        .collect();
    let sleepers: Vec<_> = (0..2)
        .map(|_| go!(name = "sleeper", tokio::time::sleep(4 * SEC)))
        .collect();
    tokio::time::sleep(10 * SEC).await;
    for i in 0..3 {
        tx.send(i).await.unwrap();
    }
    for h in waiters {
        assert!(h.await.unwrap().is_some());
    }
    for h in sleepers {
        h.await.unwrap();
    }

    let p = guard.finish();
    let w = p.group("waiter").unwrap();
    assert_eq!(w.spawned, 3);
    assert_eq!(w.peak_live, 3);
    assert_eq!(w.live, 0);
    assert_eq!(w.busy, Duration::ZERO);
    assert_eq!(w.idle, 30 * SEC);
    assert_eq!(w.blocked, 30 * SEC);
    assert_eq!(w.sites.len(), 1);
    let site = &w.sites[0];
    assert_eq!(site.op, Op::Recv);
    assert_eq!(site.site.line(), recv_line);
    assert_eq!(site.blocked, 30 * SEC);
    assert_eq!(site.count, 3);

    let s = p.group("sleeper").unwrap();
    assert_eq!((s.spawned, s.peak_live), (2, 2));
    assert_eq!(s.idle, 8 * SEC);
    assert_eq!(
        s.blocked,
        Duration::ZERO,
        "a tokio sleep is not a channel wait"
    );

    let top = p.top_sites(1);
    assert_eq!(top[0].0, "waiter");
    let table = p.to_string();
    assert!(table.contains("waiter"), "{table}");
    assert!(table.contains("top blocking sites:"), "{table}");
    assert!(table.contains("chan receive at "), "{table}");
}

#[tokio::test(start_paused = true)]
async fn profile_counts_live_goroutines_and_gocsp_sleep() {
    let (layer, guard) = trace::profile();
    let _default = tracing_subscriber::registry().with(layer).set_default();

    let h = go!(name = "napper", gocsp_runtime::time::sleep(5 * SEC));
    let (_tx, rx) = chan::<u32>(0);
    let stuck = go!(async move { rx.recv().await });
    tokio::time::sleep(2 * SEC).await;

    // Unnamed goroutines are grouped by spawn site; a live goroutine's current wait counts.
    let report = guard.report();
    let unnamed = report
        .groups()
        .iter()
        .find(|g| g.name.contains("trace.rs:"))
        .unwrap();
    assert_eq!(unnamed.live, 1);
    assert_eq!(unnamed.blocked, 2 * SEC);

    h.await.unwrap();
    let p = guard.finish();
    let n = p.group("napper").unwrap();
    assert_eq!(n.idle, 5 * SEC);
    assert_eq!(n.sites[0].op, Op::Sleep);
    assert_eq!(n.sites[0].blocked, 5 * SEC);
    assert_eq!(
        n.blocked,
        Duration::ZERO,
        "sleep is listed but is not a channel wait"
    );
    stuck.abort();
}

#[tokio::test(start_paused = true)]
async fn busy_time_is_time_spent_in_polls() {
    let (layer, guard) = trace::profile();
    let _default = tracing_subscriber::registry().with(layer).set_default();
    // Advancing the paused clock inside a poll is the only way to make a poll take time.
    let h = go!(name = "worker", async {
        tokio::time::advance(3 * SEC).await;
        tokio::time::sleep(SEC).await;
    });
    h.await.unwrap();
    let p = guard.finish();
    let w = p.group("worker").unwrap();
    assert_eq!(w.busy, 3 * SEC);
    assert_eq!(w.idle, SEC);
}

/// Collects span names and fields, to check what goroutine spans carry.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Spans {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _id: &tracing::span::Id,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        struct V(String);
        impl tracing::field::Visit for V {
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                self.0 += &format!(" {}={:?}", f.name(), v);
            }
        }
        let mut v = V(format!(
            "{}:{}",
            attrs.metadata().target(),
            attrs.metadata().name()
        ));
        attrs.record(&mut v);
        self.0.lock().unwrap().push(v.0);
    }
}

#[tokio::test]
async fn goroutines_run_in_a_goroutine_span() {
    let spans = Spans::default();
    let _default = tracing_subscriber::registry()
        .with(spans.clone())
        .set_default();
    let line = line!() + 1;
    let h = go!(name = "spanned", async {});
    let id = h.id();
    h.await.unwrap();
    let seen = spans.0.lock().unwrap().clone();
    let want = format!(
        "gocsp::goroutine:goroutine id={id} name=\"spanned\" location={}:{line}:",
        file!()
    );
    assert!(seen.iter().any(|s| s.starts_with(&want)), "{seen:?}");
}

#[test]
fn fmt_layer_prints_span_close_timings() {
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    // `fmt_layer` writes to stderr; check the same configuration into a buffer.
    let buf = Buf::default();
    let b2 = buf.clone();
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(move || b2.clone())
        .with_ansi(false)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE);
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async { go!(name = "timed", async {}).await.unwrap() });
    });
    let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(out.contains("name=\"timed\""), "{out}");
    assert!(out.contains("close time.busy="), "{out}");
    // And the real one builds on a registry.
    let _ = tracing_subscriber::registry().with(trace::fmt_layer());
}
