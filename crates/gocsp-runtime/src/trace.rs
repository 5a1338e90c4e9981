//! Tracing layers: `GOCSP_TRACE=fmt` and `GOCSP_TRACE=profile`.
//!
//! Every goroutine runs inside a span named `goroutine` (target `gocsp::goroutine`) with the
//! fields `id`, `name` and `location`, so any subscriber attributes events to goroutines. This
//! module adds two ordinary [`Layer`]s:
//!
//! - [`fmt_layer`]: `tracing_subscriber::fmt` on stderr, with a line per closed span giving
//!   its busy and idle time;
//! - [`profile`]: a [`ProfileLayer`] that aggregates, per goroutine name (or spawn site for
//!   unnamed goroutines), how many were spawned, the peak number alive at once, total busy
//!   (polled) time, total idle time, and the part of idle time spent blocked in gocsp channel
//!   operations, by operation and source location. Its [`ProfileGuard`] prints the table when
//!   dropped.
//!
//! [`run`](crate::run) and [`Runtime::block_on`](crate::Runtime::block_on) install them as the
//! global subscriber when the environment variable `GOCSP_TRACE` names them (`fmt`,
//! `profile`, or `fmt,profile`); a service adds them to its own subscriber instead:
//!
//! ```
//! use tracing_subscriber::prelude::*;
//! let (profile, guard) = gocsp_runtime::trace::profile();
//! let subscriber = tracing_subscriber::registry().with(profile);
//! tracing::subscriber::with_default(subscriber, || {
//!     let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//!     rt.block_on(async {
//!         gocsp_runtime::go!(name = "job", async {}).await.unwrap();
//!     });
//! });
//! let report = guard.finish();
//! assert_eq!(report.group("job").unwrap().spawned, 1);
//! ```
//!
//! Times come from `tokio::time::Instant`, so under paused time (`start_paused`) the profile
//! measures virtual time.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

use gocsp_channel::hook::Op;
use parking_lot::Mutex;
use tokio::time::Instant;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::Subscriber;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use crate::registry::LAST_POLL;

/// A `tracing_subscriber::fmt` layer writing to stderr, with span close events (so each
/// goroutine's span prints its busy and idle time when the goroutine ends).
///
/// ```
/// use tracing_subscriber::prelude::*;
/// let subscriber = tracing_subscriber::registry().with(gocsp_runtime::trace::fmt_layer());
/// tracing::subscriber::with_default(subscriber, || tracing::info!("hello"));
/// ```
pub fn fmt_layer<S>() -> impl Layer<S> + Send + Sync + 'static
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
}

/// A new profile layer and the guard that reports (and prints, when dropped) its numbers.
///
/// ```
/// let (layer, guard) = gocsp_runtime::trace::profile();
/// # drop(layer);
/// assert!(guard.finish().groups().is_empty());
/// ```
pub fn profile() -> (ProfileLayer, ProfileGuard) {
    let shared = Arc::new(Shared::default());
    (
        ProfileLayer {
            shared: Arc::clone(&shared),
        },
        ProfileGuard {
            shared,
            print: true,
        },
    )
}

/// Installs the layers named by `GOCSP_TRACE` as the global subscriber; the profile guard, if
/// any, is returned so that the caller prints the table at the end.
pub(crate) fn install_from_env() -> Option<ProfileGuard> {
    use tracing_subscriber::prelude::*;
    // Once per process: a second `block_on` finds the subscriber it installed already there.
    static TRIED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let var = std::env::var("GOCSP_TRACE").ok()?;
    if TRIED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        return None;
    }
    let mut want_fmt = false;
    let mut want_profile = false;
    for part in var.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part {
            "fmt" => want_fmt = true,
            "profile" => want_profile = true,
            other => {
                eprintln!("gocsp: GOCSP_TRACE: unknown layer {other:?} (expected fmt, profile)")
            }
        }
    }
    let fmt = want_fmt.then(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        fmt_layer().with_filter(filter)
    });
    let (layer, guard) = if want_profile {
        let (l, g) = profile();
        (Some(l), Some(g))
    } else {
        (None, None)
    };
    if !want_fmt && !want_profile {
        return None;
    }
    match tracing_subscriber::registry()
        .with(fmt)
        .with(layer)
        .try_init()
    {
        Ok(()) => guard,
        Err(_) => {
            eprintln!("gocsp: GOCSP_TRACE ignored: a global tracing subscriber is already set");
            None
        }
    }
}

#[derive(Default)]
struct Shared {
    groups: Mutex<HashMap<String, Group>>,
    live: Mutex<HashMap<u64, Arc<Mutex<Stats>>>>,
}

#[derive(Default, Clone)]
struct Group {
    spawned: u64,
    live: u64,
    peak: u64,
    busy: Duration,
    idle: Duration,
    sites: HashMap<(Op, &'static Location<'static>), (Duration, u64)>,
}

/// One goroutine's running totals, kept in its span's extensions.
struct Stats {
    group: String,
    /// When the span was last exited (or created).
    last: Instant,
    /// When the current poll started, if one is running.
    entered: Option<Instant>,
    /// The gocsp operation the last poll ended blocked in.
    parked_in: Option<(Op, &'static Location<'static>)>,
    busy: Duration,
    idle: Duration,
    sites: HashMap<(Op, &'static Location<'static>), (Duration, u64)>,
}

impl Stats {
    fn merge_into(&self, g: &mut Group, now: Option<Instant>) {
        g.busy += self.busy;
        g.idle += self.idle;
        for (k, (d, n)) in &self.sites {
            let e = g.sites.entry(*k).or_default();
            e.0 += *d;
            e.1 += *n;
        }
        // A live goroutine: count the wait in progress too.
        if let Some(now) = now {
            if self.entered.is_none() {
                let waited = now.saturating_duration_since(self.last);
                g.idle += waited;
                if let Some(k) = self.parked_in {
                    let e = g.sites.entry(k).or_default();
                    e.0 += waited;
                    e.1 += 1;
                }
            }
        }
    }
}

#[derive(Default)]
struct Fields {
    name: String,
    location: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "name" {
            self.name = value.to_owned();
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "location" => self.location = format!("{value:?}"),
            "name" => self.name = format!("{value:?}"),
            _ => {}
        }
    }
}

/// The layer behind `GOCSP_TRACE=profile`: aggregates goroutine spans per name. Create it
/// with [`profile`].
///
/// ```
/// use tracing_subscriber::prelude::*;
/// let (layer, guard) = gocsp_runtime::trace::profile();
/// let _subscriber = tracing_subscriber::registry().with(layer);
/// # drop(guard.finish());
/// ```
pub struct ProfileLayer {
    shared: Arc<Shared>,
}

impl fmt::Debug for ProfileLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProfileLayer").finish_non_exhaustive()
    }
}

fn is_goroutine(meta: &tracing::Metadata<'_>) -> bool {
    meta.name() == "goroutine" && meta.target() == "gocsp::goroutine"
}

/// Runs `f` on the profile statistics of goroutine span `id` (none for other spans).
fn with_stats<S>(ctx: &Context<'_, S>, id: &Id, f: impl FnOnce(&mut Stats))
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let Some(span) = ctx.span(id) else { return };
    let ext = span.extensions();
    if let Some(stats) = ext.get::<Arc<Mutex<Stats>>>() {
        f(&mut stats.lock());
    }
}

impl<S> Layer<S> for ProfileLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if !is_goroutine(attrs.metadata()) {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let group = if fields.name.is_empty() {
            fields.location
        } else {
            fields.name
        };
        {
            let mut groups = self.shared.groups.lock();
            let g = groups.entry(group.clone()).or_default();
            g.spawned += 1;
            g.live += 1;
            g.peak = g.peak.max(g.live);
        }
        let stats = Arc::new(Mutex::new(Stats {
            group,
            last: Instant::now(),
            entered: None,
            parked_in: None,
            busy: Duration::ZERO,
            idle: Duration::ZERO,
            sites: HashMap::new(),
        }));
        self.shared
            .live
            .lock()
            .insert(id.into_u64(), Arc::clone(&stats));
        span.extensions_mut().insert(stats);
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        with_stats(&ctx, id, |s| {
            let now = Instant::now();
            let waited = now.saturating_duration_since(s.last);
            s.idle += waited;
            if let Some(k) = s.parked_in.take() {
                let e = s.sites.entry(k).or_default();
                e.0 += waited;
                e.1 += 1;
            }
            s.entered = Some(now);
        });
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        with_stats(&ctx, id, |s| {
            let now = Instant::now();
            if let Some(t) = s.entered.take() {
                s.busy += now.saturating_duration_since(t);
            }
            s.last = now;
            s.parked_in = LAST_POLL.get();
        });
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let ext = span.extensions();
        let Some(stats) = ext.get::<Arc<Mutex<Stats>>>() else {
            return;
        };
        self.shared.live.lock().remove(&id.into_u64());
        let s = stats.lock();
        let mut groups = self.shared.groups.lock();
        let g = groups.entry(s.group.clone()).or_default();
        s.merge_into(g, None);
        g.live = g.live.saturating_sub(1);
    }
}

/// Reports the numbers of a [`ProfileLayer`]; prints the table to stderr when dropped
/// (unless consumed with [`finish`](ProfileGuard::finish)).
///
/// ```
/// let (_layer, guard) = gocsp_runtime::trace::profile();
/// let table = guard.report().to_string();
/// assert!(table.contains("spawned"));
/// # guard.finish();
/// ```
pub struct ProfileGuard {
    shared: Arc<Shared>,
    print: bool,
}

impl fmt::Debug for ProfileGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProfileGuard").finish_non_exhaustive()
    }
}

impl ProfileGuard {
    /// The numbers so far (live goroutines included, their current wait counted up to now).
    ///
    /// ```
    /// let (_layer, guard) = gocsp_runtime::trace::profile();
    /// assert!(guard.report().groups().is_empty());
    /// # guard.finish();
    /// ```
    pub fn report(&self) -> Profile {
        let now = Instant::now();
        let mut groups = self.shared.groups.lock().clone();
        for stats in self.shared.live.lock().values() {
            let s = stats.lock();
            if let Some(g) = groups.get_mut(&s.group) {
                s.merge_into(g, Some(now));
            }
        }
        let mut out: Vec<GroupProfile> = groups
            .into_iter()
            .map(|(name, g)| {
                let mut sites: Vec<SiteProfile> = g
                    .sites
                    .iter()
                    .map(|(&(op, site), &(blocked, count))| SiteProfile {
                        op,
                        site,
                        blocked,
                        count,
                    })
                    .collect();
                sites.sort_by(|a, b| {
                    b.blocked
                        .cmp(&a.blocked)
                        .then(a.site.line().cmp(&b.site.line()))
                });
                GroupProfile {
                    blocked: sites
                        .iter()
                        .filter(|s| s.op != Op::Sleep)
                        .map(|s| s.blocked)
                        .sum(),
                    name,
                    spawned: g.spawned,
                    peak_live: g.peak,
                    live: g.live,
                    busy: g.busy,
                    idle: g.idle,
                    sites,
                }
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Profile { groups: out }
    }

    /// The final report, without printing it.
    ///
    /// ```
    /// let (_layer, guard) = gocsp_runtime::trace::profile();
    /// let profile = guard.finish();
    /// assert!(profile.group("nothing").is_none());
    /// ```
    pub fn finish(mut self) -> Profile {
        self.print = false;
        self.report()
    }
}

impl Drop for ProfileGuard {
    fn drop(&mut self) {
        if self.print {
            eprint!("{}", self.report());
        }
    }
}

/// Blocking time at one gocsp operation site.
///
/// ```
/// # use tracing_subscriber::prelude::*;
/// let (layer, guard) = gocsp_runtime::trace::profile();
/// let _g = tracing_subscriber::registry().with(layer).set_default();
/// let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let (tx, rx) = gocsp_channel::chan::<u32>(0);
///     let h = gocsp_runtime::go!(name = "rx", async move { rx.recv().await });
///     tokio::time::sleep(std::time::Duration::from_secs(2)).await;
///     tx.send(1).await.unwrap();
///     h.await.unwrap();
/// });
/// let p = guard.finish();
/// let site = &p.group("rx").unwrap().sites[0];
/// assert_eq!(site.op, gocsp_runtime::Op::Recv);
/// assert_eq!(site.blocked, std::time::Duration::from_secs(2));
/// assert_eq!(site.count, 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SiteProfile {
    /// The operation.
    pub op: Op,
    /// Where the user wrote it.
    pub site: &'static Location<'static>,
    /// Total time goroutines spent blocked there.
    pub blocked: Duration,
    /// How many times a goroutine blocked there (one per wait, however many re-polls).
    pub count: u64,
}

/// The numbers for one goroutine name (or spawn site, for unnamed goroutines).
///
/// ```
/// # use tracing_subscriber::prelude::*;
/// let (layer, guard) = gocsp_runtime::trace::profile();
/// let _g = tracing_subscriber::registry().with(layer).set_default();
/// let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let hs: Vec<_> = (0..4)
///         .map(|_| gocsp_runtime::go!(name = "nap", tokio::time::sleep(std::time::Duration::from_secs(1))))
///         .collect();
///     for h in hs { h.await.unwrap(); }
/// });
/// let g = guard.finish().group("nap").cloned().unwrap();
/// assert_eq!((g.spawned, g.peak_live, g.live), (4, 4, 0));
/// assert_eq!(g.idle, std::time::Duration::from_secs(4));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupProfile {
    /// The goroutines' name, or `file:line:col` of their `go!` when unnamed.
    pub name: String,
    /// Goroutines spawned.
    pub spawned: u64,
    /// The most alive at the same time.
    pub peak_live: u64,
    /// Alive when the report was taken.
    pub live: u64,
    /// Total time being polled.
    pub busy: Duration,
    /// Total time alive and not being polled (runnable, waiting or blocked).
    pub idle: Duration,
    /// The part of `idle` spent blocked in gocsp channel operations (the sum of `sites`, except
    /// `sleep`, which `sites` lists too).
    pub blocked: Duration,
    /// Blocking sites, longest total first.
    pub sites: Vec<SiteProfile>,
}

/// A profile report: per-group numbers. `Display` prints the table `GOCSP_TRACE=profile`
/// shows at exit.
///
/// ```
/// let (_layer, guard) = gocsp_runtime::trace::profile();
/// let p = guard.finish();
/// assert!(p.to_string().starts_with("gocsp profile"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    groups: Vec<GroupProfile>,
}

impl Profile {
    /// All groups, sorted by name.
    ///
    /// ```
    /// let (_layer, guard) = gocsp_runtime::trace::profile();
    /// assert!(guard.finish().groups().is_empty());
    /// ```
    pub fn groups(&self) -> &[GroupProfile] {
        &self.groups
    }

    /// The group with this name (or `file:line:col` for unnamed goroutines).
    ///
    /// ```
    /// let (_layer, guard) = gocsp_runtime::trace::profile();
    /// assert!(guard.finish().group("worker").is_none());
    /// ```
    pub fn group(&self, name: &str) -> Option<&GroupProfile> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// The `n` sites where goroutines of all groups spent the most time blocked, with the
    /// group name.
    ///
    /// ```
    /// let (_layer, guard) = gocsp_runtime::trace::profile();
    /// assert!(guard.finish().top_sites(5).is_empty());
    /// ```
    pub fn top_sites(&self, n: usize) -> Vec<(&str, &SiteProfile)> {
        let mut all: Vec<(&str, &SiteProfile)> = self
            .groups
            .iter()
            .flat_map(|g| g.sites.iter().map(move |s| (g.name.as_str(), s)))
            .collect();
        all.sort_by_key(|s| std::cmp::Reverse(s.1.blocked));
        all.truncate(n);
        all
    }
}

fn dur(d: Duration) -> String {
    format!("{d:.3?}")
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out =
            String::from("gocsp profile (per goroutine name; times summed over the group)\n");
        let width = self
            .groups
            .iter()
            .map(|g| g.name.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let _ = writeln!(
            out,
            "{:<width$}  {:>8}  {:>5}  {:>12}  {:>12}  {:>12}",
            "name", "spawned", "peak", "busy", "idle", "blocked"
        );
        for g in &self.groups {
            let _ = writeln!(
                out,
                "{:<width$}  {:>8}  {:>5}  {:>12}  {:>12}  {:>12}",
                g.name,
                g.spawned,
                g.peak_live,
                dur(g.busy),
                dur(g.idle),
                dur(g.blocked)
            );
        }
        let top = self.top_sites(10);
        if !top.is_empty() {
            out.push_str("top blocking sites:\n");
            for (group, s) in top {
                let _ = writeln!(
                    out,
                    "  {:>12}  {:>6}x  {} at {} ({group})",
                    dur(s.blocked),
                    s.count,
                    s.op.go_name(),
                    s.site
                );
            }
        }
        f.write_str(&out)
    }
}
