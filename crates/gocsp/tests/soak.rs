//! Soak test: a randomized mix of everything gocsp does, round after round, for
//! `GOCSP_SOAK_SECS` seconds (3 by default; `cargo xtask soak --secs N` asks for more).
//!
//! Each round makes two channels of random capacities (0, 1, 16 or unbounded), starts
//! producers and consumers that use every way in: `send`, `try_send`, `reserve` + permit,
//! `select!` with send cases, `select!` with timeouts and `ctx.done()` cases, futures dropped
//! mid-wait (a `select!` or a `recv` under a tokio timeout), a context cancelled at a random
//! moment, a channel closed early by a receiver, goroutines that panic (holding a value, a
//! permit, or just after a receive), WaitGroup and ErrGroup (whose first error cancels its
//! context). Every value is a tracked object; after the round:
//!
//! - a value whose send returned `Ok` was received exactly once;
//! - a value handed back (`SendError`, `TrySendError`) or never sent was never received;
//! - a value whose send future was dropped mid-wait was received at most once;
//! - every value created was dropped exactly once (a drop counter per value);
//! - every planned panic surfaced as a `GoError` (or as the ErrGroup's error), no other did;
//! - `num_goroutine()` is back to where it was before the round;
//! - the resident set size (`/proc/self/statm`) has not grown beyond a tolerance since the
//!   warm-up (the first quarter of the run, at least one second).
//!
//! A violation fails the test with the round, the seed (`GOCSP_SOAK_SEED` replays it) and
//! what went wrong. The numbers (rounds, values, RSS) are printed with `eprintln!`.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gocsp::time::after;
use gocsp::{
    chan, go, num_goroutine, select, unbounded, Context, ErrGroup, GoError, GoHandle, Receiver,
    Sender, TrySendError, WaitGroup,
};

/// The message of every panic this test causes on purpose (the panic hook stays quiet
/// for these).
const PLANNED: &str = "soak: planned panic";

/// xorshift64*: small, fast and reproducible from a seed.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// `true` with probability `percent`/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn fork(&mut self) -> Rng {
        Rng::new(self.next())
    }

    fn micros(&mut self, max: u64) -> Duration {
        Duration::from_micros(self.below(max + 1))
    }
}

/// What became of a value, as its producer saw it.
mod fate {
    /// Not created: its send was not chosen, or its producer stopped first.
    pub(super) const NONE: u8 = 0;
    /// The send returned `Ok`: it must be received exactly once.
    pub(super) const SENT: u8 = 1;
    /// Handed back by a failed send, or dropped by its producer unsent (a panic, a give-up).
    pub(super) const KEPT: u8 = 2;
    /// Its send future was dropped mid-wait: received at most once.
    pub(super) const ABANDONED: u8 = 3;
}

/// Per-value accounting for one round.
struct Slot {
    fate: AtomicU8,
    received: AtomicU8,
    drops: AtomicU8,
}

struct Ledger {
    slots: Vec<Slot>,
}

impl Ledger {
    fn new(n: usize) -> Arc<Ledger> {
        Arc::new(Ledger {
            slots: (0..n)
                .map(|_| Slot {
                    fate: AtomicU8::new(fate::NONE),
                    received: AtomicU8::new(0),
                    drops: AtomicU8::new(0),
                })
                .collect(),
        })
    }

    fn set(&self, id: usize, f: u8) {
        self.slots[id].fate.store(f, SeqCst);
    }

    /// Every value's fate against what happened to it; the first violation, if any.
    fn check(&self) -> Result<Counts, String> {
        let mut c = Counts::default();
        for (id, s) in self.slots.iter().enumerate() {
            let (fate, rec, drops) = (
                s.fate.load(SeqCst),
                s.received.load(SeqCst),
                s.drops.load(SeqCst),
            );
            let ok = match fate {
                fate::NONE => rec == 0 && drops == 0,
                fate::SENT => rec == 1 && drops == 1,
                fate::KEPT => rec == 0 && drops == 1,
                _ => rec <= 1 && drops == 1,
            };
            if !ok {
                let name = [
                    "not created",
                    "sent",
                    "handed back/kept",
                    "abandoned mid-send",
                ];
                return Err(format!(
                    "value {id} ({}): received {rec} times, dropped {drops} times",
                    name[fate as usize]
                ));
            }
            match fate {
                fate::SENT => c.sent += 1,
                fate::KEPT => c.kept += 1,
                fate::ABANDONED => c.abandoned += 1,
                _ => {}
            }
            c.received += rec as usize;
        }
        Ok(c)
    }
}

#[derive(Default, Debug, Clone, Copy)]
struct Counts {
    sent: usize,
    kept: usize,
    abandoned: usize,
    received: usize,
}

/// A tracked value: counts its drops and carries a payload so that a leak shows in RSS.
struct Val {
    id: usize,
    ledger: Arc<Ledger>,
    _payload: Box<[u8]>,
}

impl Val {
    fn new(id: usize, ledger: &Arc<Ledger>, len: usize) -> Val {
        Val {
            id,
            ledger: ledger.clone(),
            _payload: vec![id as u8; len].into_boxed_slice(),
        }
    }

    /// A consumer took it.
    fn receive(self) {
        self.ledger.slots[self.id].received.fetch_add(1, SeqCst);
    }
}

impl Drop for Val {
    fn drop(&mut self) {
        self.ledger.slots[self.id].drops.fetch_add(1, SeqCst);
    }
}

/// The planned failures that really happened in a round (a producer may stop early, on
/// cancellation, before it reaches its planned failure).
#[derive(Default)]
struct Events {
    producer_panics: AtomicUsize,
    producer_errors: AtomicUsize,
    consumer_panics: AtomicUsize,
}

/// The producers' error type in ErrGroup rounds.
#[derive(Debug)]
enum ProdError {
    Planned,
    Panicked(GoError),
}

impl From<GoError> for ProdError {
    fn from(e: GoError) -> Self {
        ProdError::Panicked(e)
    }
}

fn make_chan(rng: &mut Rng) -> (Sender<Val>, Receiver<Val>) {
    match rng.below(4) {
        0 => chan(0),
        1 => chan(1),
        2 => chan(16),
        _ => unbounded(),
    }
}

/// What one producer does, decided by the round.
struct Producer {
    rng: Rng,
    ledger: Arc<Ledger>,
    ids: std::ops::Range<usize>,
    tx: [Sender<Val>; 2],
    ctx: Context,
    /// Panic after this many values (holding one, or a permit).
    panic_at: Option<usize>,
    /// Return an error (ErrGroup rounds) after this many values.
    fail_at: Option<usize>,
    events: Arc<Events>,
}

impl Producer {
    async fn run(mut self) -> Result<(), ProdError> {
        let ids = self.ids.clone();
        for (k, id) in ids.enumerate() {
            if self.fail_at == Some(k) {
                self.events.producer_errors.fetch_add(1, SeqCst);
                return Err(ProdError::Planned);
            }
            if self.panic_at == Some(k) {
                self.panic_now(id).await;
            }
            if self.ctx.err().is_some() && self.rng.chance(50) {
                return Ok(()); // cancelled: stop early (what is unsent stays NONE)
            }
            self.send_one(id).await;
        }
        Ok(())
    }

    fn val(&mut self, id: usize) -> Val {
        let len = self.rng.below(512) as usize;
        Val::new(id, &self.ledger, len)
    }

    /// Panics while holding a value, or a permit and a value.
    async fn panic_now(&mut self, id: usize) {
        let v = self.val(id);
        self.ledger.set(id, fate::KEPT);
        self.events.producer_panics.fetch_add(1, SeqCst);
        if self.rng.chance(50) {
            if let Ok(Ok(_permit)) =
                tokio::time::timeout(Duration::from_millis(2), self.tx[0].reserve()).await
            {
                panic!("{PLANNED} (holding a permit and value {})", v.id);
            }
        }
        panic!("{PLANNED} (holding value {})", v.id);
    }

    async fn send_one(&mut self, id: usize) {
        let i = self.rng.below(2) as usize;
        let tx = self.tx[i].clone();
        let ledger = self.ledger.clone();
        match self.rng.below(7) {
            // Plain send.
            0 => {
                let v = self.val(id);
                match tx.send(v).await {
                    Ok(()) => ledger.set(id, fate::SENT),
                    Err(e) => {
                        ledger.set(id, fate::KEPT);
                        drop(e.into_inner());
                    }
                }
            }
            // try_send, retried a few times, then given up.
            1 => {
                let mut v = self.val(id);
                for _ in 0..4 {
                    match tx.try_send(v) {
                        Ok(()) => return ledger.set(id, fate::SENT),
                        Err(TrySendError::Full(back)) => v = back,
                        Err(TrySendError::Closed(back)) => {
                            v = back;
                            break;
                        }
                    }
                    gocsp::yield_now().await;
                }
                ledger.set(id, fate::KEPT);
                drop(v);
            }
            // reserve, then maybe give the permit back, else send through it.
            2 => match tx.reserve().await {
                Ok(permit) if self.rng.chance(80) => {
                    permit.send(self.val(id));
                    ledger.set(id, fate::SENT);
                }
                Ok(permit) => drop(permit),
                Err(_) => {}
            },
            // select!: send to either channel (the value is made only for the chosen case),
            // or time out, or see the context cancelled.
            3 => {
                let len = self.rng.below(512) as usize;
                let d = self.rng.micros(2000);
                let mk = || Val::new(id, &ledger, len);
                let done = self.ctx.done();
                select! {
                    send(self.tx[0], mk()) -> r => note(&ledger, id, r.map_err(|e| e.into_inner())),
                    send(self.tx[1], mk()) -> r => note(&ledger, id, r.map_err(|e| e.into_inner())),
                    recv(done) => {}
                    recv(after(d)) => {}
                }
            }
            // A select! dropped mid-wait by a timeout: the value is made only if chosen, and
            // a select that did not return did not send.
            4 => {
                let len = self.rng.below(512) as usize;
                let d = self.rng.micros(1500);
                let ledger2 = ledger.clone();
                let _ = tokio::time::timeout(d, async {
                    select! {
                        send(tx, Val::new(id, &ledger2, len)) -> r =>
                            note(&ledger2, id, r.map_err(|e| e.into_inner())),
                    }
                })
                .await;
            }
            // A send future dropped mid-wait: sent or not, never both, never lost.
            5 => {
                let v = self.val(id);
                ledger.set(id, fate::ABANDONED);
                let d = self.rng.micros(1500);
                match tokio::time::timeout(d, tx.send(v)).await {
                    Ok(Ok(())) => ledger.set(id, fate::SENT),
                    Ok(Err(e)) => {
                        ledger.set(id, fate::KEPT);
                        drop(e.into_inner());
                    }
                    Err(_) => {} // dropped: stays ABANDONED
                }
            }
            // send, racing the context (biased towards the send being tried first).
            _ => {
                let len = self.rng.below(512) as usize;
                let done = self.ctx.done();
                select! {
                    biased;
                    send(tx, Val::new(id, &ledger, len)) -> r =>
                        note(&ledger, id, r.map_err(|e| e.into_inner())),
                    recv(done) => {}
                }
            }
        }
    }
}

/// Records a send's outcome; a value handed back is dropped here.
fn note(ledger: &Ledger, id: usize, r: Result<(), Val>) {
    match r {
        Ok(()) => ledger.set(id, fate::SENT),
        Err(v) => {
            ledger.set(id, fate::KEPT);
            drop(v);
        }
    }
}

/// A consumer: receives from both channels until they are closed (or, if `stop_on_cancel`,
/// until the context is cancelled), in assorted ways.
async fn consume(
    mut rng: Rng,
    rx: [Receiver<Val>; 2],
    ctx: Context,
    stop_on_cancel: bool,
    panic_after: Option<usize>,
    events: Arc<Events>,
) {
    let mut open = [true, true];
    let mut n = 0;
    let done = ctx.done();
    while open[0] || open[1] {
        let got: Option<(usize, Option<Val>)> = match rng.below(4) {
            // A plain recv when one channel is left; else a select that waits for either
            // (a plain recv on one could wait forever for a producer blocked on the other).
            0 if !(open[0] && open[1]) => {
                let i = if open[0] { 0 } else { 1 };
                Some((i, rx[i].recv().await))
            }
            0 => select! {
                recv(rx[0]) -> v => Some((0, v)),
                recv(rx[1]) -> v => Some((1, v)),
            },
            1 => {
                // A recv dropped mid-wait: the value it would have got stays for another.
                let i = if open[1] { 1 } else { 0 };
                let d = rng.micros(1000);
                tokio::time::timeout(d, rx[i].recv())
                    .await
                    .ok()
                    .map(|v| (i, v))
            }
            2 => {
                let d = rng.micros(2000);
                let a = open[0].then_some(&rx[0]);
                let b = open[1].then_some(&rx[1]);
                select! {
                    recv(a) -> v => Some((0, v)),
                    recv(b) -> v => Some((1, v)),
                    recv(after(d)) => None,
                    recv(done) if stop_on_cancel => return,
                }
            }
            _ => {
                // A whole select! dropped mid-wait.
                let d = rng.micros(1000);
                let a = open[0].then_some(&rx[0]);
                let b = open[1].then_some(&rx[1]);
                tokio::time::timeout(d, async {
                    select! {
                        recv(a) -> v => (0, v),
                        recv(b) -> v => (1, v),
                    }
                })
                .await
                .ok()
            }
        };
        match got {
            Some((i, None)) => open[i] = false,
            Some((_, Some(v))) => {
                n += 1;
                if panic_after == Some(n) {
                    v.receive(); // received, then dropped by the unwinding
                    events.consumer_panics.fetch_add(1, SeqCst);
                    panic!("{PLANNED} (consumer)");
                }
                v.receive();
            }
            None => {}
        }
        if stop_on_cancel && ctx.err().is_some() {
            return;
        }
    }
}

/// Counts planned panics among goroutine results.
fn panics<T>(results: &[Result<T, GoError>]) -> Result<usize, String> {
    let mut n = 0;
    for r in results {
        match r {
            Ok(_) => {}
            Err(GoError::Panicked { message, .. }) if message.starts_with(PLANNED) => n += 1,
            Err(e) => return Err(format!("unexpected goroutine failure: {e}")),
        }
    }
    Ok(n)
}

async fn join<T>(hs: Vec<GoHandle<T>>) -> Vec<Result<T, GoError>> {
    let mut out = Vec::with_capacity(hs.len());
    for h in hs {
        out.push(h.await);
    }
    out
}

/// What a round did.
struct Round {
    counts: Counts,
    panics: usize,
}

/// One round; `Err` describes the first violation.
async fn round(
    rng: &mut Rng,
    desc: &mut String,
    probe: &mut Option<[Receiver<Val>; 2]>,
) -> Result<Round, String> {
    let producers = 1 + rng.below(4) as usize;
    let per = 20 + rng.below(150) as usize;
    let consumers = 1 + rng.below(3) as usize;
    let ledger = Ledger::new(producers * per);
    let (tx0, rx0) = make_chan(rng);
    let (tx1, rx1) = make_chan(rng);
    let (ctx, cancel) = Context::background().with_cancel();
    let use_err_group = rng.chance(40);
    let stop_on_cancel = rng.chance(50);
    *probe = Some([rx0.clone(), rx1.clone()]);
    *desc =
        format!(
        "{producers} producers x {per} values, {consumers} consumers, capacities {:?} and {:?}, \
         {}, consumers {}stop on cancel",
        tx0.capacity(),
        tx1.capacity(),
        if use_err_group { "ErrGroup" } else { "goroutines" },
        if stop_on_cancel { "" } else { "do not " }
    );
    let events = Arc::new(Events::default());

    // Something that may cancel the context, and something that may close a channel early.
    let (end_tx, end) = chan::<()>(0);
    let mut helpers = Vec::new();
    if rng.chance(50) {
        let d = rng.micros(20_000);
        let end = end.clone();
        helpers.push(go!(async move {
            select! {
                recv(after(d)) => cancel.cancel(),
                recv(end) => {}
            }
        }));
    }
    if rng.chance(25) {
        let d = rng.micros(20_000);
        let (end, rx) = (
            end.clone(),
            if rng.chance(50) {
                rx0.clone()
            } else {
                rx1.clone()
            },
        );
        helpers.push(go!(async move {
            select! {
                recv(after(d)) => { rx.close(); }
                recv(end) => {}
            }
        }));
    }

    // Consumers, then a drainer that takes over once they have all stopped.
    let wg = WaitGroup::new();
    let mut consumer_handles = Vec::new();
    for _ in 0..consumers {
        let panic_after = rng.chance(15).then(|| 1 + rng.below(per as u64) as usize);
        let (r, rx, ctx, wg) = (
            rng.fork(),
            [rx0.clone(), rx1.clone()],
            ctx.clone(),
            wg.clone(),
        );
        let events = events.clone();
        wg.add(1);
        consumer_handles.push(go!(async move {
            struct Done(WaitGroup);
            impl Drop for Done {
                fn drop(&mut self) {
                    self.0.done();
                }
            }
            let _done = Done(wg);
            consume(r, rx, ctx, stop_on_cancel, panic_after, events).await;
        }));
    }
    let drainer = {
        let (wg, rx) = (wg.clone(), [rx0.clone(), rx1.clone()]);
        go!(async move {
            wg.wait().await;
            let mut open = [true, true];
            while open[0] || open[1] {
                let a = open[0].then_some(&rx[0]);
                let b = open[1].then_some(&rx[1]);
                let (i, v) = select! {
                    recv(a) -> v => (0, v),
                    recv(b) -> v => (1, v),
                };
                match v {
                    Some(v) => v.receive(),
                    None => open[i] = false,
                }
            }
        })
    };
    drop((rx0, rx1));

    // Producers: in an ErrGroup (a planned error cancels the others), or as goroutines.
    let (group, group_ctx) = ErrGroup::<ProdError>::with_context(&ctx);
    let fail_at = (use_err_group && rng.chance(50)).then(|| rng.below(per as u64) as usize);
    let mut producer_handles = Vec::new();
    for p in 0..producers {
        let panic_at = rng.chance(15).then(|| rng.below(per as u64) as usize);
        let prod = Producer {
            rng: rng.fork(),
            ledger: ledger.clone(),
            ids: p * per..(p + 1) * per,
            tx: [tx0.clone(), tx1.clone()],
            ctx: if use_err_group {
                group_ctx.clone()
            } else {
                ctx.clone()
            },
            panic_at,
            fail_at: if p == 0 { fail_at } else { None },
            events: events.clone(),
        };
        if use_err_group {
            group.go(prod.run());
        } else {
            producer_handles.push(go!(prod.run()));
        }
    }
    drop((tx0, tx1));

    let mut panics_seen = 0;
    if use_err_group {
        // The first error wins: it must be one that happened, and there must be one if any
        // member failed.
        let r = group.wait().await;
        let panicked = events.producer_panics.load(SeqCst);
        let failed = events.producer_errors.load(SeqCst);
        let fine = match &r {
            Ok(()) => panicked + failed == 0,
            Err(ProdError::Planned) => failed > 0,
            Err(ProdError::Panicked(GoError::Panicked { message, .. })) => {
                message.starts_with(PLANNED) && panicked > 0
            }
            Err(_) => false,
        };
        if !fine {
            return Err(format!(
                "ErrGroup::wait returned {r:?} after {panicked} panics and {failed} errors"
            ));
        }
        panics_seen += panicked;
        drop(group);
    } else {
        let results = join(producer_handles).await;
        for r in &results {
            if let Ok(Err(e)) = r {
                return Err(format!("producer returned {e:?}"));
            }
        }
        panics_seen += panics(&results)?;
    }
    let consumer_results = join(consumer_handles).await;
    let consumer_panics = panics(&consumer_results)?;
    let planned = events.consumer_panics.load(SeqCst);
    if consumer_panics != planned {
        return Err(format!(
            "{planned} consumers panicked, {consumer_panics} GoErrors seen"
        ));
    }
    drainer.await.map_err(|e| format!("drainer: {e}"))?;
    end_tx.close();
    for h in join(helpers).await {
        h.map_err(|e| format!("helper: {e}"))?;
    }

    let counts = ledger.check()?;
    let planned = events.producer_panics.load(SeqCst);
    if panics_seen != planned {
        return Err(format!(
            "{planned} producers panicked, {panics_seen} GoErrors seen"
        ));
    }
    Ok(Round {
        counts,
        panics: panics_seen + consumer_panics,
    })
}

/// Resident set size in KiB, from `/proc/self/statm` (pages of 4 KiB).
fn rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = s.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4)
}

/// Waits (up to 5 s) for the goroutine count to come back to `baseline`.
async fn settle(baseline: usize) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while num_goroutine() != baseline {
        if Instant::now() > deadline {
            return Err(format!(
                "num_goroutine() is {}, was {baseline} before the round:\n{}",
                num_goroutine(),
                gocsp::dump()
            ));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(())
}

fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(f)
}

#[test]
fn soak() {
    let secs: u64 = match std::env::var("GOCSP_SOAK_SECS") {
        Ok(s) => s
            .parse()
            .unwrap_or_else(|_| panic!("GOCSP_SOAK_SECS must be whole seconds, not {s:?}")),
        Err(_) => 3,
    };
    let seed: u64 = match std::env::var("GOCSP_SOAK_SEED") {
        Ok(s) => s
            .parse()
            .unwrap_or_else(|_| panic!("GOCSP_SOAK_SEED must be a number, not {s:?}")),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64),
    };
    // Planned panics are expected by the hundred: keep them off stderr.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if !msg.starts_with(PLANNED) {
            default_hook(info);
        }
    }));
    eprintln!("soak: {secs} s, seed {seed} (GOCSP_SOAK_SEED={seed} replays the rounds)");

    let result = std::panic::catch_unwind(AssertUnwindSafe(|| block_on(run(secs, seed))));
    let _ = std::panic::take_hook(); // restore the default hook
    match result {
        Ok(Ok(())) => {}
        Ok(Err(why)) => panic!("soak (seed {seed}): {why}"),
        Err(p) => std::panic::resume_unwind(p),
    }
}

async fn run(secs: u64, seed: u64) -> Result<(), String> {
    let mut rng = Rng::new(seed);
    let start = Instant::now();
    let total = Duration::from_secs(secs);
    let warm_up = (total / 4).max(Duration::from_secs(1)).min(total);
    // RSS may grow this much past its warm-up peak (allocator caches, thread stacks).
    const TOLERANCE_KIB: u64 = 16 * 1024;

    let baseline = num_goroutine();
    let mut totals = Counts::default();
    let mut panics = 0;
    let mut rounds = 0usize;
    let rss_start = rss_kib().unwrap_or(0);
    let mut warm_peak: Option<u64> = None;
    let mut peak_during_warm_up = rss_start;
    let mut max_after = 0;
    let mut last = rss_start;
    while rounds == 0 || start.elapsed() < total {
        rounds += 1;
        let mut desc = String::new();
        let mut probe = None;
        let r = tokio::time::timeout(
            Duration::from_secs(30),
            round(&mut rng, &mut desc, &mut probe),
        )
        .await
        .map_err(|_| {
            let chans = probe.as_ref().map(|rx| {
                rx.each_ref()
                    .map(|r| format!("len {} closed {}", r.len(), r.is_closed()))
            });
            format!(
                "round {rounds} ({desc}) hung for 30 s; channels: {chans:?}\n{}",
                gocsp::dump()
            )
        })?
        .map_err(|e| format!("round {rounds} ({desc}): {e}"))?;
        settle(baseline)
            .await
            .map_err(|e| format!("round {rounds}: {e}"))?;
        totals.sent += r.counts.sent;
        totals.kept += r.counts.kept;
        totals.abandoned += r.counts.abandoned;
        totals.received += r.counts.received;
        panics += r.panics;

        if let Some(rss) = rss_kib() {
            last = rss;
            match warm_peak {
                None if start.elapsed() < warm_up => {
                    peak_during_warm_up = peak_during_warm_up.max(rss)
                }
                None => {
                    let peak = peak_during_warm_up.max(rss);
                    warm_peak = Some(peak);
                    eprintln!("soak: warm-up done after {rounds} rounds, RSS peak {peak} KiB");
                }
                Some(peak) => {
                    max_after = max_after.max(rss);
                    if rss > peak + TOLERANCE_KIB {
                        return Err(format!(
                            "round {rounds}: RSS grew to {rss} KiB, more than {TOLERANCE_KIB} KiB \
                             over its warm-up peak of {peak} KiB (a leak?)"
                        ));
                    }
                }
            }
        }
    }
    eprintln!(
        "soak: {rounds} rounds in {:.1} s; values sent {} (all received once), handed back or \
         kept {}, abandoned mid-send {}, received {}; {panics} planned panics caught; \
         goroutines back to {baseline} after every round",
        start.elapsed().as_secs_f64(),
        totals.sent,
        totals.kept,
        totals.abandoned,
        totals.received
    );
    eprintln!(
        "soak: RSS {rss_start} KiB at start, warm-up peak {} KiB, max after warm-up {max_after} \
         KiB, last {last} KiB (tolerance +{TOLERANCE_KIB} KiB)",
        warm_peak.unwrap_or(peak_during_warm_up)
    );
    if rounds < 2 {
        return Err(format!("only {rounds} round ran in {secs} s"));
    }
    Ok(())
}
