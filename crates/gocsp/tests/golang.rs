//! Go's own channel and select tests, ported to gocsp: one `mod` per Go file, named after it,
//! with the path of the original. Go's tests, not ours, are the judge of Go semantics; where
//! gocsp deviates on purpose (lazy send values, `close` reporting instead of panicking) the
//! port says so next to the assertion. Iteration counts are reduced where Go's are large, so
//! that the whole file runs in a few seconds on 2 cores in a debug build; each reduction is
//! marked. Go's sleeps "to make sure a goroutine is blocked" are replaced by waiting until
//! the goroutine's future has returned `Pending` (it is then parked in the channel), or by
//! relying on eventual progress.
//!
//! Source: <https://github.com/golang/go> (`test/chan/`, `src/runtime/chan_test.go`), under
//! this licence:
//!
//! ```text
//! Copyright (c) 2009 The Go Authors. All rights reserved.
//!
//! Redistribution and use in source and binary forms, with or without
//! modification, are permitted provided that the following conditions are
//! met:
//!
//!    * Redistributions of source code must retain the above copyright
//! notice, this list of conditions and the following disclaimer.
//!    * Redistributions in binary form must reproduce the above
//! copyright notice, this list of conditions and the following disclaimer
//! in the documentation and/or other materials provided with the
//! distribution.
//!    * Neither the name of Google Inc. nor the names of its
//! contributors may be used to endorse or promote products derived from
//! this software without specific prior written permission.
//!
//! THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS
//! "AS IS" AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT
//! LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR
//! A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT
//! OWNER OR CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL,
//! SPECIAL, EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT
//! LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE,
//! DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY
//! THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT
//! (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
//! OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
//! ```

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;

use gocsp::{chan, go, select, Receiver, Sender};
use gocsp_test_support::{flag_pending, until};

/// Detaches a goroutine: Go's `go f()` without a handle.
fn detach<T>(h: gocsp::GoHandle<T>) {
    drop(h);
}

/// Starts `fut` as a goroutine and returns once it is parked (has returned `Pending`).
async fn go_parked<F>(fut: F) -> gocsp::GoHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let flag = Arc::new(AtomicBool::new(false));
    let h = go!(flag_pending(fut, flag.clone()));
    until(&flag).await;
    h
}

// test/chan/doubleselect.go
mod doubleselect {
    use super::*;
    use std::collections::HashSet;

    /// Go: 100,000 (flag `-n`); reduced for debug builds on 2 cores.
    const ITERATIONS: i32 = 10_000;

    // sender sends a counter to one of four different channels. If two cases both end up
    // running in the same iteration, the same value will be sent to two different channels.
    async fn sender(n: i32, c1: Sender<i32>, c2: Sender<i32>, c3: Sender<i32>, c4: Sender<i32>) {
        for i in 0..n {
            select! {
                send(c1, i) -> r => r.unwrap(),
                send(c2, i) -> r => r.unwrap(),
                send(c3, i) -> r => r.unwrap(),
                send(c4, i) -> r => r.unwrap(),
            }
        }
        // defer close(c1..c4)
        c1.close();
        c2.close();
        c3.close();
        c4.close();
    }

    // mux receives the values from sender and forwards them onto another channel.
    async fn mux(out: Sender<i32>, inp: Receiver<i32>, done: Sender<bool>) {
        while let Some(v) = inp.recv().await {
            out.send(v).await.unwrap();
        }
        done.send(true).await.unwrap();
    }

    // recver gets a stream of values from the four muxes and checks for duplicates.
    async fn recver(inp: Receiver<i32>) -> usize {
        let mut seen = HashSet::new();
        while let Some(v) = inp.recv().await {
            assert!(seen.insert(v), "got duplicate value: {v}");
        }
        seen.len()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn main() {
        let (c1, r1) = chan::<i32>(0);
        let (c2, r2) = chan::<i32>(0);
        let (c3, r3) = chan::<i32>(0);
        let (c4, r4) = chan::<i32>(0);
        let (done, done_rx) = chan::<bool>(0);
        let (cmux, cmux_rx) = chan::<i32>(0);
        detach(go!(sender(ITERATIONS, c1, c2, c3, c4)));
        detach(go!(mux(cmux.clone(), r1, done.clone())));
        detach(go!(mux(cmux.clone(), r2, done.clone())));
        detach(go!(mux(cmux.clone(), r3, done.clone())));
        detach(go!(mux(cmux.clone(), r4, done.clone())));
        detach(go!(async move {
            for _ in 0..4 {
                done_rx.recv().await;
            }
            cmux.close();
        }));
        // Go only checks for duplicates; every value arriving is checked here as well.
        assert_eq!(recver(cmux_rx).await, ITERATIONS as usize);
    }
}

// test/chan/fifo.go
mod fifo {
    use super::*;

    const N: i32 = 10;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn asynch_fifo() {
        let (tx, rx) = chan::<i32>(N as usize);
        for i in 0..N {
            tx.send(i).await.unwrap();
        }
        for i in 0..N {
            assert_eq!(rx.recv().await, Some(i), "bad receive");
        }
    }

    async fn chain(ch: Receiver<i32>, val: i32, inp: Receiver<i32>, out: Sender<i32>) {
        inp.recv().await;
        assert_eq!(ch.recv().await, Some(val));
        out.send(1).await.unwrap();
    }

    // thread together a daisy chain to read the elements in sequence
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn synch_fifo() {
        let (ch_tx, ch) = chan::<i32>(0);
        let (start, mut inp) = chan::<i32>(0);
        for i in 0..N {
            let (out_tx, out_rx) = chan::<i32>(0);
            detach(go!(chain(ch.clone(), i, inp, out_tx)));
            inp = out_rx;
        }
        start.send(0).await.unwrap();
        for i in 0..N {
            ch_tx.send(i).await.unwrap();
        }
        assert_eq!(inp.recv().await, Some(1));
    }
}

// test/chan/goroutines.go
mod goroutines {
    use super::*;

    // make a lot of goroutines, threaded together. tear them down cleanly.
    async fn f(left: Sender<i32>, right: Receiver<i32>) {
        let v = right.recv().await.unwrap();
        left.send(v).await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn main() {
        let n = 10_000;
        let (leftmost_tx, leftmost) = chan::<i32>(0);
        let mut left = leftmost_tx;
        let mut right_rx;
        let mut right_tx;
        let mut i = 0;
        loop {
            (right_tx, right_rx) = chan::<i32>(0);
            detach(go!(f(left, right_rx)));
            i += 1;
            if i == n {
                break;
            }
            left = right_tx;
        }
        detach(go!(async move { right_tx.send(1).await.unwrap() }));
        assert_eq!(leftmost.recv().await, Some(1));
    }
}

// test/chan/nonblock.go
mod nonblock {
    use super::*;
    use std::fmt::Debug;

    // Test channel operations that test for blocking. Use several sizes and types of
    // operands. Go repeats the same code for int32, int64, bool and string; here it is one
    // generic function called with each type.
    //
    // Go gives up after maxTries retries of 10 µs each; here the retries yield instead of
    // sleeping and are unbounded: a broken non-blocking select shows as a hang, not as a
    // timing-dependent failure on a loaded machine.
    async fn check<T>(
        buffer: usize,
        to_receiver: T,
        from_sender: T,
        sync: &Receiver<bool>,
        strobe: &Sender<bool>,
    ) where
        T: PartialEq + Debug + Clone + Send + Sync + 'static,
    {
        let (c_tx, c) = chan::<T>(buffer);
        select! {
            recv(c) -> _ => panic!("blocked sender"),
            default => {}
        }

        // go receiver(c, sync)
        let (rx, strobe1, want) = (c.clone(), strobe.clone(), to_receiver.clone());
        detach(go!(async move {
            assert_eq!(rx.recv().await, Some(want), "receiver value");
            strobe1.send(true).await.unwrap();
        }));
        loop {
            select! {
                send(c_tx, to_receiver.clone()) -> r => { r.unwrap(); break }
                default => gocsp::yield_now().await,
            }
        }
        sync.recv().await;

        // go sender(c, sync)
        let (tx, strobe2, v) = (c_tx.clone(), strobe.clone(), from_sender.clone());
        detach(go!(async move {
            tx.send(v).await.unwrap();
            strobe2.send(true).await.unwrap();
        }));
        if buffer > 0 {
            sync.recv().await;
        }
        let got = loop {
            select! {
                recv(c) -> v => break v,
                default => gocsp::yield_now().await,
            }
        };
        assert_eq!(got, Some(from_sender), "sender value");
        if buffer == 0 {
            sync.recv().await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn main() {
        let (strobe, sync) = chan::<bool>(0);
        for buffer in 0..2 {
            check::<i32>(buffer, 123, 234, &sync, &strobe).await;
            check::<i64>(buffer, 123456, 234567, &sync, &strobe).await;
            check::<bool>(buffer, true, true, &sync, &strobe).await;
            check::<String>(buffer, "hello".into(), "hello again".into(), &sync, &strobe).await;
        }
    }
}

// test/chan/perm.go
mod perm {
    // A compile-only test of channel direction rules (`chan<-` / `<-chan` misuse is a
    // compile error). gocsp's directions are the types `Sender` and `Receiver`: a receive
    // on a `Sender` or a send on a `Receiver` does not type-check. The compile-fail cases are
    // trybuild tests in gocsp-macros: tests/ui/fail/perm_recv_on_sender.rs and
    // perm_send_on_receiver.rs (also a receiver in a select! send case). Nothing to run here.
}

// test/chan/powser1.go
mod powser1 {
    // Power series package. A power series is a channel, along which flow rational
    // coefficients. A denominator of zero signifies the end. Original code in Newsqueak by
    // Doug McIlroy ("Squinting at Power Series"). Every series is a goroutine serving a
    // demand channel (`req`) and a data channel (`dat`), both unbuffered. Ported: the test
    // mode of `main` and what it uses; the print mode (`printn`, `evaln`, `eval`) and the
    // functions no test calls (`Monmul`, `Xmul`, `Mon`, `Shift`, `Binom`, `Recip`, `Subst`)
    // are left out.
    use super::*;
    use futures::future::BoxFuture;
    use std::sync::atomic::AtomicI64;

    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    struct Rat {
        num: i64,
        den: i64,
    }

    /// A demand channel: Go's `dch` (the bidirectional `req` and `dat` channels).
    #[derive(Clone)]
    struct Dch {
        req_tx: Sender<i64>,
        req: Receiver<i64>,
        dat_tx: Sender<Rat>,
        dat: Receiver<Rat>,
    }

    type Ps = Dch;
    type Ps2 = [Dch; 2];

    static SEQNO: AtomicI64 = AtomicI64::new(0);

    fn seqno() -> i64 {
        SEQNO.fetch_add(1, SeqCst) + 1
    }

    fn mkdch() -> Dch {
        let (req_tx, req) = chan(0);
        let (dat_tx, dat) = chan(0);
        Dch {
            req_tx,
            req,
            dat_tx,
            dat,
        }
    }

    fn mkdch2() -> Ps2 {
        [mkdch(), mkdch()]
    }

    // split reads a single demand channel and replicates its output onto two, which may be
    // read at different rates. A process is created at first demand for a rat and dies after
    // the rat has been sent to both outputs. When multiple generations of split exist, the
    // newest will service requests on one channel, which is always renamed to be out[0]; the
    // oldest will service requests on the other channel, out[1]. All generations but the
    // newest hold queued data that has already been sent to out[0]. When data has finally
    // been sent to out[1], a signal on the release-wait channel tells the next newer
    // generation to begin servicing out[1]. (Go shares `out` by pointer; only a generation
    // with no older one left swaps it, before starting the next, so passing it on by value
    // is the same.)
    fn dosplit(inp: Dch, mut out: Ps2, wait: Receiver<i32>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let mut both = false; // do not service both channels
            select! {
                recv(out[0].req) => {}
                recv(wait) => {
                    both = true;
                    let swap = select! {
                        recv(out[0].req) => false,
                        recv(out[1].req) => true,
                    };
                    if swap {
                        out.swap(0, 1);
                    }
                }
            }
            inp.req_tx.send(seqno()).await.unwrap();
            let (release_tx, release) = chan::<i32>(0);
            detach(go!(dosplit(inp.clone(), out.clone(), release)));
            let dat = inp.dat.recv().await.unwrap();
            out[0].dat_tx.send(dat).await.unwrap();
            if !both {
                wait.recv().await;
            }
            out[1].req.recv().await;
            out[1].dat_tx.send(dat).await.unwrap();
            release_tx.send(0).await.unwrap();
        })
    }

    async fn split(inp: Dch, out: Ps2) {
        let (release_tx, release) = chan::<i32>(0);
        detach(go!(dosplit(inp, out, release)));
        release_tx.send(0).await.unwrap();
    }

    async fn put(dat: Rat, out: &Dch) {
        out.req.recv().await;
        out.dat_tx.send(dat).await.unwrap();
    }

    async fn get(inp: &Dch) -> Rat {
        inp.req_tx.send(seqno()).await.unwrap();
        inp.dat.recv().await.unwrap()
    }

    // Get one rat from each of 2 demand channels
    async fn get2(in0: &Dch, in1: &Dch) -> [Rat; 2] {
        let mut req = [Some(&in0.req_tx), Some(&in1.req_tx)];
        let mut dat: [Option<&Receiver<Rat>>; 2] = [None, None];
        let mut out = [Rat { num: 0, den: 0 }; 2];
        for _ in 0..4 {
            let s = seqno();
            select! {
                send(req[0], s) -> r => { r.unwrap(); dat[0] = Some(&in0.dat); req[0] = None; }
                send(req[1], s) -> r => { r.unwrap(); dat[1] = Some(&in1.dat); req[1] = None; }
                recv(dat[0]) -> it => { out[0] = it.unwrap(); dat[0] = None; }
                recv(dat[1]) -> it => { out[1] = it.unwrap(); dat[1] = None; }
            }
        }
        out
    }

    async fn copy(inp: &Dch, out: &Dch) {
        loop {
            out.req.recv().await;
            let v = get(inp).await;
            out.dat_tx.send(v).await.unwrap();
        }
    }

    async fn repeat(dat: Rat, out: Dch) {
        loop {
            put(dat, &out).await;
        }
    }

    // Integer gcd; needed for rational arithmetic
    fn gcd(u: i64, v: i64) -> i64 {
        if u < 0 {
            return gcd(-u, v);
        }
        if u == 0 {
            return v;
        }
        gcd(v % u, u)
    }

    // Make a rational from two ints and from one int
    fn i2tor(u: i64, v: i64) -> Rat {
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

    fn itor(u: i64) -> Rat {
        i2tor(u, 1)
    }

    const ZERO: Rat = Rat { num: 0, den: 1 };
    const ONE: Rat = Rat { num: 1, den: 1 };
    // End mark
    const FINIS: Rat = Rat { num: 1, den: 0 };

    fn end(u: Rat) -> i64 {
        i64::from(u.den == 0)
    }

    // Operations on rationals
    fn add(u: Rat, v: Rat) -> Rat {
        let g = gcd(u.den, v.den);
        i2tor(
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
        i2tor(-u.num, u.den)
    }

    // Power-series constructors return channels on which power series flow. They start an
    // encapsulated generator that puts the terms of the series on the channel.

    // Make a pair of power series identical to a given power series
    fn split_ps(u: Ps) -> Ps2 {
        let uu = mkdch2();
        detach(go!(split(u, uu.clone())));
        uu
    }

    // Add two power series
    fn add_ps(u: Ps, v: Ps) -> Ps {
        let z = mkdch();
        let zz = z.clone();
        detach(go!(async move {
            loop {
                zz.req.recv().await;
                let uv = get2(&u, &v).await;
                match end(uv[0]) + 2 * end(uv[1]) {
                    0 => zz.dat_tx.send(add(uv[0], uv[1])).await.unwrap(),
                    1 => {
                        zz.dat_tx.send(uv[1]).await.unwrap();
                        copy(&v, &zz).await;
                    }
                    2 => {
                        zz.dat_tx.send(uv[0]).await.unwrap();
                        copy(&u, &zz).await;
                    }
                    _ => zz.dat_tx.send(FINIS).await.unwrap(),
                }
            }
        }));
        z
    }

    // Multiply a power series by a constant
    fn cmul(c: Rat, u: Ps) -> Ps {
        let z = mkdch();
        let zz = z.clone();
        detach(go!(async move {
            let mut done = false;
            while !done {
                zz.req.recv().await;
                let v = get(&u).await;
                if end(v) != 0 {
                    done = true;
                } else {
                    zz.dat_tx.send(mul(c, v)).await.unwrap();
                }
            }
            zz.dat_tx.send(FINIS).await.unwrap();
        }));
        z
    }

    // Subtract
    fn sub_ps(u: Ps, v: Ps) -> Ps {
        add_ps(u, cmul(neg(ONE), v))
    }

    fn rep(c: Rat) -> Ps {
        let z = mkdch();
        detach(go!(repeat(c, z.clone())));
        z
    }

    // Multiply. The algorithm is
    //	let U = u + x*UU
    //	let V = v + x*VV
    //	then UV = u*v + x*(u*VV+v*UU) + x*x*UU*VV
    fn mul_ps(u: Ps, v: Ps) -> Ps {
        let z = mkdch();
        let zz = z.clone();
        detach(go!(async move {
            zz.req.recv().await;
            let uv = get2(&u, &v).await;
            if end(uv[0]) != 0 || end(uv[1]) != 0 {
                zz.dat_tx.send(FINIS).await.unwrap();
            } else {
                zz.dat_tx.send(mul(uv[0], uv[1])).await.unwrap();
                let [uu0, uu1] = split_ps(u);
                let [vv0, vv1] = split_ps(v);
                let w = add_ps(cmul(uv[0], vv0), cmul(uv[1], uu0));
                zz.req.recv().await;
                let first = get(&w).await;
                zz.dat_tx.send(first).await.unwrap();
                copy(&add_ps(w, mul_ps(uu1, vv1)), &zz).await;
            }
        }));
        z
    }

    // Differentiate
    fn diff(u: Ps) -> Ps {
        let z = mkdch();
        let zz = z.clone();
        detach(go!(async move {
            zz.req.recv().await;
            let mut v = get(&u).await;
            if end(v) == 0 {
                let mut done = false;
                let mut i = 1;
                while !done {
                    v = get(&u).await;
                    if end(v) != 0 {
                        done = true;
                    } else {
                        zz.dat_tx.send(mul(itor(i), v)).await.unwrap();
                        zz.req.recv().await;
                    }
                    i += 1;
                }
            }
            zz.dat_tx.send(FINIS).await.unwrap();
        }));
        z
    }

    // Integrate, with const of integration
    fn integ(c: Rat, u: Ps) -> Ps {
        let z = mkdch();
        let zz = z.clone();
        detach(go!(async move {
            put(c, &zz).await;
            let mut done = false;
            let mut i = 1;
            while !done {
                zz.req.recv().await;
                let v = get(&u).await;
                if end(v) != 0 {
                    done = true;
                }
                zz.dat_tx.send(mul(i2tor(1, i), v)).await.unwrap();
                i += 1;
            }
            zz.dat_tx.send(FINIS).await.unwrap();
        }));
        z
    }

    // Exponential of a power series with constant term 0
    // (nonzero constant term would make nonrational coefficients)
    // bug: the constant term is simply ignored
    //	Z = exp(U)
    //	DZ = Z*DU
    //	integrate to get Z
    async fn exp(u: Ps) -> Ps {
        let zz = mkdch2();
        split(integ(ONE, mul_ps(zz[0].clone(), diff(u))), zz.clone()).await;
        zz[1].clone()
    }

    // Monomial Substitution: U(c x^n)
    // Each Ui is multiplied by c^i and followed by n-1 zeros
    fn mon_subst(u: Ps, c0: Rat, n: i32) -> Ps {
        let z = mkdch();
        let zz = z.clone();
        detach(go!(async move {
            let mut c = ONE;
            loop {
                zz.req.recv().await;
                let v = get(&u).await;
                zz.dat_tx.send(mul(v, c)).await.unwrap();
                c = mul(c, c0);
                if end(v) != 0 {
                    zz.dat_tx.send(FINIS).await.unwrap();
                    break;
                }
                for _ in 1..n {
                    zz.req.recv().await;
                    zz.dat_tx.send(ZERO).await.unwrap();
                }
            }
        }));
        z
    }

    async fn check(u: &Ps, c: Rat, count: usize, str: &str) {
        for _ in 0..count {
            let r = get(u).await;
            assert_eq!(r, c, "{str}");
        }
    }

    const N: usize = 10;

    async fn checka(u: &Ps, a: &[Rat], str: &str) {
        for &ai in a.iter().take(N) {
            check(u, ai, 1, str).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn main() {
        let ones = rep(ONE);
        let twos = rep(itor(2));
        check(&ones, ONE, 5, "Ones").await;
        check(
            &add_ps(ones.clone(), ones.clone()),
            itor(2),
            0,
            "Add Ones Ones",
        )
        .await; // 1 1 1 1 1
        check(
            &add_ps(ones.clone(), twos.clone()),
            itor(3),
            0,
            "Add Ones Twos",
        )
        .await; // 3 3 3 3 3
        let mut a = [ZERO; N];
        let d = diff(ones.clone());
        for (i, ai) in a.iter_mut().enumerate() {
            *ai = itor(i as i64 + 1);
        }
        checka(&d, &a, "Diff").await; // 1 2 3 4 5
        let inp = integ(ZERO, ones.clone());
        a[0] = ZERO; // integration constant
        for (i, ai) in a.iter_mut().enumerate().skip(1) {
            *ai = i2tor(1, i as i64);
        }
        checka(&inp, &a, "Integ").await; // 0 1 1/2 1/3 1/4 1/5
        check(&cmul(neg(ONE), twos.clone()), itor(-2), 10, "CMul").await; // -1 -1 -1 -1 -1
        check(
            &sub_ps(ones.clone(), twos.clone()),
            itor(-1),
            0,
            "Sub Ones Twos",
        )
        .await; // -1 -1 -1 -1 -1
        let m = mul_ps(ones.clone(), ones.clone());
        for (i, ai) in a.iter_mut().enumerate() {
            *ai = itor(i as i64 + 1);
        }
        checka(&m, &a, "Mul").await; // 1 2 3 4 5
        let e = exp(ones.clone()).await;
        a = [
            itor(1),
            itor(1),
            i2tor(3, 2),
            i2tor(13, 6),
            i2tor(73, 24),
            i2tor(167, 40),
            i2tor(4051, 720),
            i2tor(37633, 5040),
            i2tor(43817, 4480),
            i2tor(4596553, 362880),
        ];
        checka(&e, &a, "Exp").await; // 1 1 3/2 13/6 73/24
        let at = integ(ZERO, mon_subst(ones.clone(), neg(ONE), 2));
        let mut c = 1;
        for (i, ai) in a.iter_mut().enumerate() {
            if i % 2 == 0 {
                *ai = ZERO;
            } else {
                *ai = i2tor(c, i as i64);
                c *= -1;
            }
        }
        checka(&at, &a, "ATan").await; // 0 -1 0 -1/3 0 -1/5
    }
}

// test/chan/powser2.go
mod powser2 {
    // Like powser1.go but uses channels of interfaces: the coefficients travel as `item`
    // interface values holding a `*rat` (here `Arc<dyn ItemT>`, shared like Go's pointer, and
    // type-asserted back with a downcast). "Has not been cleaned up as much as powser1.go, to
    // keep it distinct and therefore a different test." Ported as powser1: the test mode of
    // `main` and what it uses.
    use super::*;
    use futures::future::BoxFuture;
    use std::any::Any;
    use std::sync::atomic::AtomicI64;

    trait ItemT: Any + Send + Sync {
        fn eq(&self, c: &dyn ItemT) -> bool;
        fn as_any(&self) -> &dyn Any;
    }

    type Item = Arc<dyn ItemT>;

    impl ItemT for Rat {
        fn eq(&self, c: &dyn ItemT) -> bool {
            let c1 = c.as_any().downcast_ref::<Rat>().unwrap();
            self.num == c1.num && self.den == c1.den
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
    }

    fn item(r: Rat) -> Item {
        Arc::new(r)
    }

    /// Go's type assertion `it.(*rat)`.
    fn rat(it: &Item) -> Rat {
        *it.as_any().downcast_ref::<Rat>().unwrap()
    }

    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    struct Rat {
        num: i64,
        den: i64,
    }

    /// A demand channel: Go's `dch` (the bidirectional `req` and `dat` channels).
    #[derive(Clone)]
    struct Dch {
        req_tx: Sender<i64>,
        req: Receiver<i64>,
        dat_tx: Sender<Item>,
        dat: Receiver<Item>,
    }

    type Ps = Dch;
    type Ps2 = [Dch; 2];

    static SEQNO: AtomicI64 = AtomicI64::new(0);

    fn seqno() -> i64 {
        SEQNO.fetch_add(1, SeqCst) + 1
    }

    fn mkdch() -> Dch {
        let (req_tx, req) = chan(0);
        let (dat_tx, dat) = chan(0);
        Dch {
            req_tx,
            req,
            dat_tx,
            dat,
        }
    }

    fn mkdch2() -> Ps2 {
        [mkdch(), mkdch()]
    }

    // split reads a single demand channel and replicates its output onto two, which may be
    // read at different rates. A process is created at first demand for a rat and dies after
    // the rat has been sent to both outputs. When multiple generations of split exist, the
    // newest will service requests on one channel, which is always renamed to be out[0]; the
    // oldest will service requests on the other channel, out[1]. All generations but the
    // newest hold queued data that has already been sent to out[0]. When data has finally
    // been sent to out[1], a signal on the release-wait channel tells the next newer
    // generation to begin servicing out[1]. (Go shares `out` by pointer; only a generation
    // with no older one left swaps it, before starting the next, so passing it on by value
    // is the same.)
    fn dosplit(inp: Dch, mut out: Ps2, wait: Receiver<i32>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let mut both = false; // do not service both channels
            select! {
                recv(out[0].req) => {}
                recv(wait) => {
                    both = true;
                    let swap = select! {
                        recv(out[0].req) => false,
                        recv(out[1].req) => true,
                    };
                    if swap {
                        out.swap(0, 1);
                    }
                }
            }
            inp.req_tx.send(seqno()).await.unwrap();
            let (release_tx, release) = chan::<i32>(0);
            detach(go!(dosplit(inp.clone(), out.clone(), release)));
            let dat = inp.dat.recv().await.unwrap();
            out[0].dat_tx.send(dat.clone()).await.unwrap();
            if !both {
                wait.recv().await;
            }
            out[1].req.recv().await;
            out[1].dat_tx.send(dat).await.unwrap();
            release_tx.send(0).await.unwrap();
        })
    }

    async fn split(inp: Dch, out: Ps2) {
        let (release_tx, release) = chan::<i32>(0);
        detach(go!(dosplit(inp, out, release)));
        release_tx.send(0).await.unwrap();
    }

    async fn put(dat: Item, out: &Dch) {
        out.req.recv().await;
        out.dat_tx.send(dat).await.unwrap();
    }

    async fn get(inp: &Dch) -> Rat {
        inp.req_tx.send(seqno()).await.unwrap();
        rat(&inp.dat.recv().await.unwrap())
    }

    // Get one rat from each of 2 demand channels
    async fn get2(in0: &Dch, in1: &Dch) -> [Item; 2] {
        let mut req = [Some(&in0.req_tx), Some(&in1.req_tx)];
        let mut dat: [Option<&Receiver<Item>>; 2] = [None, None];
        let mut out: [Option<Item>; 2] = [None, None];
        for _ in 0..4 {
            let s = seqno();
            select! {
                send(req[0], s) -> r => { r.unwrap(); dat[0] = Some(&in0.dat); req[0] = None; }
                send(req[1], s) -> r => { r.unwrap(); dat[1] = Some(&in1.dat); req[1] = None; }
                recv(dat[0]) -> it => { out[0] = it; dat[0] = None; }
                recv(dat[1]) -> it => { out[1] = it; dat[1] = None; }
            }
        }
        out.map(Option::unwrap)
    }

    async fn copy(inp: &Dch, out: &Dch) {
        loop {
            out.req.recv().await;
            let v = get(inp).await;
            out.dat_tx.send(item(v)).await.unwrap();
        }
    }

    async fn repeat(dat: Item, out: Dch) {
        loop {
            put(dat.clone(), &out).await;
        }
    }

    // Integer gcd; needed for rational arithmetic
    fn gcd(u: i64, v: i64) -> i64 {
        if u < 0 {
            return gcd(-u, v);
        }
        if u == 0 {
            return v;
        }
        gcd(v % u, u)
    }

    // Make a rational from two ints and from one int
    fn i2tor(u: i64, v: i64) -> Rat {
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

    fn itor(u: i64) -> Rat {
        i2tor(u, 1)
    }

    const ZERO: Rat = Rat { num: 0, den: 1 };
    const ONE: Rat = Rat { num: 1, den: 1 };
    // End mark
    const FINIS: Rat = Rat { num: 1, den: 0 };

    fn end(u: Rat) -> i64 {
        i64::from(u.den == 0)
    }

    // Operations on rationals
    fn add(u: Rat, v: Rat) -> Rat {
        let g = gcd(u.den, v.den);
        i2tor(
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
        i2tor(-u.num, u.den)
    }

    // Power-series constructors return channels on which power series flow. They start an
    // encapsulated generator that puts the terms of the series on the channel.

    // Make a pair of power series identical to a given power series
    fn split_ps(u: Ps) -> Ps2 {
        let uu = mkdch2();
        detach(go!(split(u, uu.clone())));
        uu
    }

    // Add two power series
    fn add_ps(u: Ps, v: Ps) -> Ps {
        let z = mkdch();
        let zz = z.clone();
        detach(go!(async move {
            loop {
                zz.req.recv().await;
                let uv = get2(&u, &v).await;
                match end(rat(&uv[0])) + 2 * end(rat(&uv[1])) {
                    0 => zz
                        .dat_tx
                        .send(item(add(rat(&uv[0]), rat(&uv[1]))))
                        .await
                        .unwrap(),
                    1 => {
                        zz.dat_tx.send(uv[1].clone()).await.unwrap();
                        copy(&v, &zz).await;
                    }
                    2 => {
                        zz.dat_tx.send(uv[0].clone()).await.unwrap();
                        copy(&u, &zz).await;
                    }
                    _ => zz.dat_tx.send(item(FINIS)).await.unwrap(),
                }
            }
        }));
        z
    }

    // Multiply a power series by a constant
    fn cmul(c: Rat, u: Ps) -> Ps {
        let z = mkdch();
        let zz = z.clone();
        detach(go!(async move {
            let mut done = false;
            while !done {
                zz.req.recv().await;
                let v = get(&u).await;
                if end(v) != 0 {
                    done = true;
                } else {
                    zz.dat_tx.send(item(mul(c, v))).await.unwrap();
                }
            }
            zz.dat_tx.send(item(FINIS)).await.unwrap();
        }));
        z
    }

    // Subtract
    fn sub_ps(u: Ps, v: Ps) -> Ps {
        add_ps(u, cmul(neg(ONE), v))
    }

    fn rep(c: Rat) -> Ps {
        let z = mkdch();
        detach(go!(repeat(item(c), z.clone())));
        z
    }

    // Multiply. The algorithm is
    //	let U = u + x*UU
    //	let V = v + x*VV
    //	then UV = u*v + x*(u*VV+v*UU) + x*x*UU*VV
    fn mul_ps(u: Ps, v: Ps) -> Ps {
        let z = mkdch();
        let zz = z.clone();
        detach(go!(async move {
            zz.req.recv().await;
            let uv = get2(&u, &v).await;
            if end(rat(&uv[0])) != 0 || end(rat(&uv[1])) != 0 {
                zz.dat_tx.send(item(FINIS)).await.unwrap();
            } else {
                zz.dat_tx
                    .send(item(mul(rat(&uv[0]), rat(&uv[1]))))
                    .await
                    .unwrap();
                let [uu0, uu1] = split_ps(u);
                let [vv0, vv1] = split_ps(v);
                let w = add_ps(cmul(rat(&uv[0]), vv0), cmul(rat(&uv[1]), uu0));
                zz.req.recv().await;
                let first = get(&w).await;
                zz.dat_tx.send(item(first)).await.unwrap();
                copy(&add_ps(w, mul_ps(uu1, vv1)), &zz).await;
            }
        }));
        z
    }

    // Differentiate
    fn diff(u: Ps) -> Ps {
        let z = mkdch();
        let zz = z.clone();
        detach(go!(async move {
            zz.req.recv().await;
            let mut v = get(&u).await;
            if end(v) == 0 {
                let mut done = false;
                let mut i = 1;
                while !done {
                    v = get(&u).await;
                    if end(v) != 0 {
                        done = true;
                    } else {
                        zz.dat_tx.send(item(mul(itor(i), v))).await.unwrap();
                        zz.req.recv().await;
                    }
                    i += 1;
                }
            }
            zz.dat_tx.send(item(FINIS)).await.unwrap();
        }));
        z
    }

    // Integrate, with const of integration
    fn integ(c: Rat, u: Ps) -> Ps {
        let z = mkdch();
        let zz = z.clone();
        detach(go!(async move {
            put(item(c), &zz).await;
            let mut done = false;
            let mut i = 1;
            while !done {
                zz.req.recv().await;
                let v = get(&u).await;
                if end(v) != 0 {
                    done = true;
                }
                zz.dat_tx.send(item(mul(i2tor(1, i), v))).await.unwrap();
                i += 1;
            }
            zz.dat_tx.send(item(FINIS)).await.unwrap();
        }));
        z
    }

    // Exponential of a power series with constant term 0
    // (nonzero constant term would make nonrational coefficients)
    // bug: the constant term is simply ignored
    //	Z = exp(U)
    //	DZ = Z*DU
    //	integrate to get Z
    async fn exp(u: Ps) -> Ps {
        let zz = mkdch2();
        split(integ(ONE, mul_ps(zz[0].clone(), diff(u))), zz.clone()).await;
        zz[1].clone()
    }

    // Monomial Substitution: U(c x^n)
    // Each Ui is multiplied by c^i and followed by n-1 zeros
    fn mon_subst(u: Ps, c0: Rat, n: i32) -> Ps {
        let z = mkdch();
        let zz = z.clone();
        detach(go!(async move {
            let mut c = ONE;
            loop {
                zz.req.recv().await;
                let v = get(&u).await;
                zz.dat_tx.send(item(mul(v, c))).await.unwrap();
                c = mul(c, c0);
                if end(v) != 0 {
                    zz.dat_tx.send(item(FINIS)).await.unwrap();
                    break;
                }
                for _ in 1..n {
                    zz.req.recv().await;
                    zz.dat_tx.send(item(ZERO)).await.unwrap();
                }
            }
        }));
        z
    }

    async fn check(u: &Ps, c: Rat, count: usize, str: &str) {
        for _ in 0..count {
            let r = get(u).await;
            assert!(ItemT::eq(&r, &c), "{str}: got {r:?}, should get {c:?}");
        }
    }

    const N: usize = 10;

    async fn checka(u: &Ps, a: &[Rat], str: &str) {
        for &ai in a.iter().take(N) {
            check(u, ai, 1, str).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn main() {
        let ones = rep(ONE);
        let twos = rep(itor(2));
        check(&ones, ONE, 5, "Ones").await;
        check(
            &add_ps(ones.clone(), ones.clone()),
            itor(2),
            0,
            "Add Ones Ones",
        )
        .await; // 1 1 1 1 1
        check(
            &add_ps(ones.clone(), twos.clone()),
            itor(3),
            0,
            "Add Ones Twos",
        )
        .await; // 3 3 3 3 3
        let mut a = [ZERO; N];
        let d = diff(ones.clone());
        for (i, ai) in a.iter_mut().enumerate() {
            *ai = itor(i as i64 + 1);
        }
        checka(&d, &a, "Diff").await; // 1 2 3 4 5
        let inp = integ(ZERO, ones.clone());
        a[0] = ZERO; // integration constant
        for (i, ai) in a.iter_mut().enumerate().skip(1) {
            *ai = i2tor(1, i as i64);
        }
        checka(&inp, &a, "Integ").await; // 0 1 1/2 1/3 1/4 1/5
        check(&cmul(neg(ONE), twos.clone()), itor(-2), 10, "CMul").await; // -1 -1 -1 -1 -1
        check(
            &sub_ps(ones.clone(), twos.clone()),
            itor(-1),
            0,
            "Sub Ones Twos",
        )
        .await; // -1 -1 -1 -1 -1
        let m = mul_ps(ones.clone(), ones.clone());
        for (i, ai) in a.iter_mut().enumerate() {
            *ai = itor(i as i64 + 1);
        }
        checka(&m, &a, "Mul").await; // 1 2 3 4 5
        let e = exp(ones.clone()).await;
        a = [
            itor(1),
            itor(1),
            i2tor(3, 2),
            i2tor(13, 6),
            i2tor(73, 24),
            i2tor(167, 40),
            i2tor(4051, 720),
            i2tor(37633, 5040),
            i2tor(43817, 4480),
            i2tor(4596553, 362880),
        ];
        checka(&e, &a, "Exp").await; // 1 1 3/2 13/6 73/24
        let at = integ(ZERO, mon_subst(ones.clone(), neg(ONE), 2));
        let mut c = 1;
        for (i, ai) in a.iter_mut().enumerate() {
            if i % 2 == 0 {
                *ai = ZERO;
            } else {
                *ai = i2tor(c, i as i64);
                c *= -1;
            }
        }
        checka(&at, &a, "ATan").await; // 0 -1 0 -1/3 0 -1/5
    }
}

// test/chan/select.go
mod select {
    use super::*;

    struct State {
        counter: u32,
        shift: u32,
    }

    impl State {
        fn get_value(&mut self) -> u32 {
            self.counter += 1;
            1 << self.shift
        }
    }

    async fn send(mut a: Option<&Sender<u32>>, mut b: Option<&Sender<u32>>, st: &mut State) -> i32 {
        let mut i = 0;
        loop {
            select! {
                send(a, st.get_value()) -> r => { r.unwrap(); i += 1; a = None; }
                send(b, st.get_value()) -> r => { r.unwrap(); i += 1; b = None; }
                default => break,
            }
            st.shift += 1;
        }
        i
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn main() {
        let mut st = State {
            counter: 0,
            shift: 0,
        };
        let (a, a_rx) = chan::<u32>(1);
        let (b, b_rx) = chan::<u32>(1);
        let v = send(Some(&a), Some(&b), &mut st).await;
        assert_eq!(v, 2, "Send returned {v} != 2");
        let (av, bv) = (a_rx.recv().await.unwrap(), b_rx.recv().await.unwrap());
        assert_eq!(av | bv, 3, "bad values {av} {bv}");
        let v = send(Some(&a), None, &mut st).await;
        assert_eq!(v, 1, "Send returned {v} != 1");
        // Go evaluates every send operand on entry to the select, chosen or not, nil channel
        // or not: counter == 10 there. gocsp evaluates a send value only for the case that
        // fires, after the choice (lazy send values): once per successful send.
        assert_eq!(st.counter, 3, "counter is {}", st.counter);
    }
}

// test/chan/select2.go
mod select2 {
    use super::*;
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;
    use std::sync::atomic::AtomicIsize;

    // Go checks that 100,000 selects do not grow the live heap (runtime.MemStats.Alloc after
    // a GC) by more than 1e5 bytes. Here: bytes allocated minus bytes freed by the two threads
    // taking part (the receiver's current-thread runtime and the sender's OS thread) across
    // the second round, with the channels already built.
    struct Counting;

    static TRACKED_LIVE: AtomicIsize = AtomicIsize::new(0);

    thread_local! {
        static TRACKED: Cell<bool> = const { Cell::new(false) };
    }

    fn tracked() -> bool {
        TRACKED.try_with(Cell::get).unwrap_or(false)
    }

    fn track(on: bool) {
        TRACKED.with(|t| t.set(on));
    }

    // SAFETY: every method forwards to `System` with the caller's arguments unchanged; the
    // counters are atomics and a `const` thread-local, which never allocate.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            if tracked() {
                TRACKED_LIVE.fetch_add(layout.size() as isize, SeqCst);
            }
            // SAFETY: forwarded with this method's own contract.
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            if tracked() {
                TRACKED_LIVE.fetch_sub(layout.size() as isize, SeqCst);
            }
            // SAFETY: forwarded with this method's own contract.
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            if tracked() {
                TRACKED_LIVE.fetch_add(new_size as isize - layout.size() as isize, SeqCst);
            }
            // SAFETY: forwarded with this method's own contract.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static ALLOC: Counting = Counting;

    /// Go: 100,000 per round; reduced for debug builds (each is an OS-thread handoff).
    const N: usize = 10_000;

    fn sender(c: Sender<i32>, n: usize) -> std::thread::JoinHandle<()> {
        std::thread::spawn(move || {
            track(true);
            for _ in 0..n {
                c.send_blocking(1).unwrap();
            }
            track(false);
        })
    }

    async fn receiver(c: &Receiver<i32>, dummy: &Receiver<i32>, n: usize) {
        for _ in 0..n {
            select! {
                recv(c) => {}
                recv(dummy) => panic!("dummy"),
            }
        }
    }

    #[test]
    fn main() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (c_tx, c) = chan::<i32>(0);
        let (_dummy_tx, dummy) = chan::<i32>(0);

        // warm up
        let s = sender(c_tx.clone(), N);
        rt.block_on(receiver(&c, &dummy, N));
        s.join().unwrap();

        // second time shouldn't increase footprint by much
        let before = TRACKED_LIVE.load(SeqCst);
        track(true);
        let s = sender(c_tx.clone(), N);
        rt.block_on(receiver(&c, &dummy, N));
        s.join().unwrap();
        track(false);
        let grown = TRACKED_LIVE.load(SeqCst) - before;
        assert!(
            grown <= 100_000,
            "too much memory for {N} selects: {grown} bytes"
        );
    }
}

// test/chan/select3.go
mod select3 {
    use super::*;
    use std::time::Duration;

    // Go's testBlock runs f in a goroutine and races it against a 0.1 s sleep. Here f runs
    // under tokio's paused clock: the timeout only fires once nothing else can run, so
    // "always blocks" and "never blocks" are decided without real time.
    async fn test_block<F: Future>(always: bool, f: F) {
        let blocked = tokio::time::timeout(Duration::from_millis(100), f)
            .await
            .is_err();
        assert_eq!(
            blocked,
            always,
            "{} block",
            if always {
                "function did not"
            } else {
                "function did"
            }
        );
    }

    fn unreachable() -> ! {
        panic!("control flow shouldn't reach here")
    }

    #[tokio::test(start_paused = true)]
    async fn main() {
        let nilch: Option<&Sender<i32>> = None;
        let nilrx: Option<&Receiver<i32>> = None;
        let (closed_tx, closedch) = chan::<i32>(0);
        closed_tx.close();

        // sending/receiving from a nil channel blocks (a one-case select is how gocsp
        // spells an operation on a nil channel)
        test_block(true, async {
            select! { send(nilch, 7) -> _ => unreachable() }
        })
        .await;
        test_block(true, async {
            select! { recv(nilrx) => unreachable() }
        })
        .await;

        // sending/receiving from a nil channel inside a select is never selected
        select! {
            send(nilch, 7) -> _ => unreachable(),
            default => {}
        }
        select! {
            recv(nilrx) => unreachable(),
            default => {}
        }

        // sending to an async channel with free buffer space never blocks
        test_block(false, async {
            let (ch, _rx) = chan::<i32>(1);
            ch.send(7).await.unwrap();
        })
        .await;

        // receiving from a closed channel never blocks
        test_block(false, async {
            for _ in 0..10 {
                assert_eq!(
                    closedch.recv().await,
                    None,
                    "expected None from closed channel"
                );
            }
        })
        .await;

        // sending to a closed channel panics in Go; gocsp hands the value back.
        assert_eq!(closed_tx.send(7).await.unwrap_err().into_inner(), 7);

        // receiving from a non-ready channel always blocks
        test_block(true, async {
            let (_tx, ch) = chan::<i32>(0);
            ch.recv().await;
        })
        .await;

        // empty selects always block
        test_block(true, async {
            select! {}
        })
        .await;

        // selects with only nil channels always block
        test_block(true, async {
            select! { recv(nilrx) => unreachable() }
        })
        .await;
        test_block(true, async {
            select! { send(nilch, 7) -> _ => unreachable() }
        })
        .await;
        test_block(true, async {
            select! {
                recv(nilrx) => unreachable(),
                send(nilch, 7) -> _ => unreachable(),
            }
        })
        .await;

        // selects with non-ready non-nil channels always block
        test_block(true, async {
            let (_tx, ch) = chan::<i32>(0);
            select! { recv(ch) => unreachable() }
        })
        .await;

        // selects with default cases don't block
        test_block(false, async {
            select! { default => {} }
        })
        .await;
        test_block(false, async {
            select! { recv(nilrx) => unreachable(), default => {} }
        })
        .await;
        test_block(false, async {
            select! { send(nilch, 7) -> _ => unreachable(), default => {} }
        })
        .await;

        // selects with ready channels don't block
        test_block(false, async {
            let (ch, _rx) = chan::<i32>(1);
            select! { send(ch, 7) -> r => r.unwrap(), default => unreachable() }
        })
        .await;
        test_block(false, async {
            let (ch, rx) = chan::<i32>(1);
            ch.send(7).await.unwrap();
            select! { recv(rx) => {}, default => unreachable() }
        })
        .await;

        // selects with closed channels behave like ordinary operations
        test_block(false, async {
            select! { recv(closedch) => {} }
        })
        .await;
        test_block(false, async {
            select! { recv(closedch) -> x => assert_eq!(x, None) }
        })
        .await;
        // (Go panics on a send case on a closed channel; gocsp fires it with the value back.)
        select! { send(closed_tx, 7) -> r => assert_eq!(r.unwrap_err().0, 7) }

        // select should not get confused if it sees itself
        test_block(true, async {
            let (c, c_rx) = chan::<i32>(0);
            select! {
                send(c, 1) -> _ => unreachable(),
                recv(c_rx) => unreachable(),
            }
        })
        .await;
    }
}

// test/chan/select4.go
mod select4 {
    use super::*;

    // Go: `case *f() = <-c1` must not evaluate f() when that case is not chosen. Here the
    // assignment target is in the case's body, which runs only for the chosen case.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn main() {
        struct X {
            a: i32,
        }
        let called = AtomicBool::new(false);
        fn f<'a>(called: &AtomicBool, p: &'a mut i32) -> &'a mut i32 {
            called.store(true, SeqCst);
            p
        }
        let mut spare = 0;
        let mut x = X { a: 0 };
        let (c, c_rx) = chan::<i32>(1);
        let (_c1, c1_rx) = chan::<i32>(0);
        c.send(42).await.unwrap();
        select! {
            recv(c1_rx) -> v => *f(&called, &mut spare) = v.unwrap(),
            recv(c_rx) -> v => x.a = v.unwrap(),
        }
        assert!(!called.load(SeqCst), "BUG: called f");
        assert_eq!(x.a, 42, "BUG: {}", x.a);
    }
}

// test/chan/select5.go
mod select5 {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Mutex;

    // Go's select5.go is a generator: it writes a Go program with one function per path
    // through its templates (recv, send, recvOrder, sendOrder, nonblock), each path picking
    // plain operation or select, default before or after, the form of the receive target, and
    // which dummy / nil-channel cases to add. A `select!` is fixed at compile time, so the
    // paths are written out here by hand, one of each kind; they all run single-goroutine on
    // a buffered channel, as in Go.

    static LOG: Mutex<Vec<i32>> = Mutex::new(Vec::new());

    fn fc<C>(c: C, o: i32) -> C {
        LOG.lock().unwrap().push(o);
        c
    }

    fn fn_(n: i32, o: i32) -> i32 {
        LOG.lock().unwrap().push(o);
        n
    }

    fn fp(p: &mut i32, o: i32) -> &mut i32 {
        LOG.lock().unwrap().push(o);
        p
    }

    fn take_log() -> Vec<i32> {
        std::mem::take(&mut LOG.lock().unwrap())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn main() {
        let (c, c_rx) = chan::<i32>(1);
        let (dummy, dummy_rx) = chan::<i32>(0);
        let nilch: Option<&Sender<i32>> = None;
        let nilrx: Option<&Receiver<i32>> = None;
        let mut m: HashMap<i32, i32> = HashMap::new();
        let mut n = 1;
        let mut x;

        // recv: plain receive.
        c.send(n).await.unwrap();
        x = c_rx.recv().await.unwrap();
        assert_eq!(x, n);
        n += 1;

        // recv: non-blocking select, default before the receive, direct target.
        c.send(n).await.unwrap();
        select! {
            recv(c_rx) -> v => x = v.unwrap(),
            default => panic!("nonblock"),
        }
        assert_eq!(x, n);
        n += 1;

        // recv: indirect target, every dummy and nil case.
        c.send(n).await.unwrap();
        fn f(p: &mut i32) -> &mut i32 {
            p
        }
        select! {
            recv(c_rx) -> v => *f(&mut x) = v.unwrap(),
            send(dummy, 1) -> _ => panic!("dummy send"),
            recv(dummy_rx) => panic!("dummy receive"),
            send(nilch, 1) -> _ => panic!("nilch send"),
            recv(nilrx) => panic!("nilch recv"),
        }
        assert_eq!(x, n);
        n += 1;

        // recv: `y := <-c` and map assignment, with a default after.
        c.send(n).await.unwrap();
        select! {
            recv(c_rx) -> y => { m.insert(13, y.unwrap()); x = m[&13]; }
            recv(dummy_rx) => panic!("dummy receive"),
            default => panic!("nonblock"),
        }
        assert_eq!(x, n);
        n += 1;

        // send: plain, then a select with every dummy and nil case, then non-blocking.
        c.send(n).await.unwrap();
        x = c_rx.recv().await.unwrap();
        assert_eq!(x, n);
        n += 1;
        select! {
            send(c, n) -> r => r.unwrap(),
            send(dummy, 1) -> _ => panic!("dummy send"),
            recv(dummy_rx) => panic!("dummy receive"),
            send(nilch, 1) -> _ => panic!("nilch send"),
            recv(nilrx) => panic!("nilch recv"),
        }
        x = c_rx.recv().await.unwrap();
        assert_eq!(x, n);
        n += 1;
        select! {
            send(c, n) -> r => r.unwrap(),
            default => panic!("nonblock"),
        }
        x = c_rx.recv().await.unwrap();
        assert_eq!(x, n);
        n += 1;

        // recvOrder: operands are evaluated in source order; the receive target only once
        // the case is chosen (Go: "right hand side happens before anything on left hand
        // side"). Unchosen send values are not evaluated in gocsp (Go would log 3 and 6),
        // so the log is still strictly increasing, which is all Go's checkorder asks.
        c.send(n).await.unwrap();
        take_log();
        select! {
            recv(fc(&c_rx, 1)) -> v => *fp(&mut x, 100) = v.unwrap(),
            send(fc(&dummy, 2), fn_(1, 3)) -> _ => panic!("dummy send"),
            recv(fc(&dummy_rx, 4)) => panic!("dummy receive"),
            send(fc(nilch, 5), fn_(1, 6)) -> _ => panic!("nilch send"),
            recv(fc(nilrx, 7)) => panic!("nilch recv"),
        }
        assert_eq!(take_log(), [1, 2, 4, 5, 7, 100]);
        assert_eq!(x, n);
        n += 1;

        // sendOrder: Go evaluates 1..=8 in order (every channel and value on entry). gocsp
        // evaluates the channels in order on entry and only the chosen case's value, after
        // the choice (lazy send values), so `fn(n, 2)` comes last.
        select! {
            send(fc(&c, 1), fn_(n, 2)) -> r => r.unwrap(),
            send(fc(&dummy, 3), fn_(1, 4)) -> _ => panic!("dummy send"),
            recv(fc(&dummy_rx, 5)) => panic!("dummy receive"),
            send(fc(nilch, 6), fn_(1, 7)) -> _ => panic!("nilch send"),
            recv(fc(nilrx, 8)) => panic!("nilch recv"),
        }
        assert_eq!(take_log(), [1, 3, 5, 6, 8, 2]);
        x = c_rx.recv().await.unwrap();
        assert_eq!(x, n);
        n += 1;

        // nonblock: only default can fire; receive targets must not be touched, not even
        // computed (Go: `**(**int)(nil) = <-dummy` must not crash).
        x = n;
        let null_target = || -> &mut i32 { panic!("computed the target of an unchosen case") };
        select! {
            default => {}
            send(dummy, 1) -> _ => panic!("dummy <- 1"),
            send(nilch, 1) -> _ => panic!("nilch <- 1"),
            recv(dummy_rx) => panic!("<-dummy"),
            recv(dummy_rx) -> v => x = v.unwrap(),
            recv(dummy_rx) -> v => *null_target() = v.unwrap(),
            recv(nilrx) => panic!("<-nilch"),
            recv(nilrx) -> v => x = v.unwrap(),
            recv(nilrx) -> v => *null_target() = v.unwrap(),
        }
        assert_eq!(x, n);
    }
}

// test/chan/select6.go
mod select6 {
    use super::*;

    // Issue 2075: a bug in select corrupted channel queues of failed cases if there were
    // multiple waiters on those channels and the select was the last in the queue.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn main() {
        let (c1, c1_rx) = chan::<bool>(0);
        let (c2, c2_rx) = chan::<bool>(0);
        let (c3, c3_rx) = chan::<bool>(0);
        let r = c1_rx.clone();
        detach(go!(async move {
            r.recv().await;
        }));
        let r = c1_rx.clone();
        detach(go!(async move {
            select! {
                recv(r) => panic!("dummy"),
                recv(c2_rx) => c3.send(true).await.unwrap(),
            }
            r.recv().await;
        }));
        detach(go!(async move { c2.send(true).await.unwrap() }));
        c3_rx.recv().await;
        c1.send(true).await.unwrap();
        c1.send(true).await.unwrap();
    }
}

// test/chan/select7.go
mod select7 {
    use super::*;

    // Test select when discarding a value.
    async fn recv1(c: Receiver<i32>) {
        c.recv().await;
    }

    async fn recv2(c: Receiver<i32>) {
        select! { recv(c) => {} }
    }

    async fn recv3(c: Receiver<i32>) {
        let (_c2_tx, c2) = chan::<i32>(0);
        select! {
            recv(c) => {}
            recv(c2) => {}
        }
    }

    async fn send1<F: Future<Output = ()> + Send + 'static>(recv: fn(Receiver<i32>) -> F) {
        let (c, rx) = chan::<i32>(0);
        detach(go!(recv(rx)));
        gocsp::yield_now().await;
        c.send(1).await.unwrap();
    }

    async fn send2<F: Future<Output = ()> + Send + 'static>(recv: fn(Receiver<i32>) -> F) {
        let (c, rx) = chan::<i32>(0);
        detach(go!(recv(rx)));
        gocsp::yield_now().await;
        select! { send(c, 1) -> r => r.unwrap() }
    }

    async fn send3<F: Future<Output = ()> + Send + 'static>(recv: fn(Receiver<i32>) -> F) {
        let (c, rx) = chan::<i32>(0);
        detach(go!(recv(rx)));
        gocsp::yield_now().await;
        let (c2, _c2_rx) = chan::<i32>(0);
        select! {
            send(c, 1) -> r => r.unwrap(),
            send(c2, 1) -> _ => panic!("nobody receives on c2"),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn main() {
        send1(recv1).await;
        send2(recv1).await;
        send3(recv1).await;
        send1(recv2).await;
        send2(recv2).await;
        send3(recv2).await;
        send1(recv3).await;
        send2(recv3).await;
        send3(recv3).await;
    }
}

// test/chan/select8.go
mod select8 {
    use super::*;

    // Test break statements in a select, for 1-, 2- and 3-case selects. Go's `break` leaves
    // the select; in Rust a body leaves a labeled block.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[allow(unreachable_code, reason = "Go's test puts a panic after each break")]
    async fn main() {
        let (ch, ch_rx) = chan::<i32>(0);
        let ch2 = ch.clone();
        detach(go!(async move { while ch2.send(5).await.is_ok() {} }));

        'sel: {
            select! {
                recv(ch_rx) => { break 'sel; panic!("unreachable") }
            }
        }

        'sel: {
            select! {
                default => { break 'sel; panic!("unreachable") }
            }
        }

        'sel: {
            select! {
                recv(ch_rx) => { break 'sel; panic!("unreachable") }
                default => { break 'sel; panic!("unreachable") }
            }
        }

        'sel: {
            select! {
                recv(ch_rx) => { break 'sel; panic!("unreachable") }
                send(ch, 10) -> _ => panic!("unreachable"),
                default => { break 'sel; panic!("unreachable") }
            }
        }
        ch_rx.close();
    }
}

// test/chan/sendstmt.go
mod sendstmt {
    use super::*;

    // Go: `case <-cc <- 2:` sends 2 on the channel received from cc.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn chanchan() {
        let (cc, cc_rx) = chan::<Sender<i32>>(1);
        let (c, c_rx) = chan::<i32>(1);
        cc.send(c).await.unwrap();
        select! {
            send(cc_rx.recv().await.unwrap(), 2) -> r => r.unwrap(),
            default => panic!("nonblock"),
        }
        assert_eq!(c_rx.recv().await, Some(2), "bad receive");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[allow(
        clippy::overly_complex_bool_expr,
        reason = "Go's test is about this expression"
    )]
    async fn sendprec() {
        let (c, c_rx) = chan::<bool>(1);
        // not a syntax error in Go: same as c <- (false || true)
        #[allow(
            clippy::nonminimal_bool,
            reason = "Go's test is about parsing this expression"
        )]
        let v = false || true;
        c.send(v).await.unwrap();
        assert!(c_rx.recv().await.unwrap(), "sent false");
    }
}

// test/chan/sieve.go
mod sieve {
    // The classic prime sieve: a generator goroutine and a daisy chain of filter goroutines
    // on unbuffered channels. Go's program loops forever ("Do not run"); this port stops after
    // the first 100 primes and checks them. The chain's goroutines stay parked, as in Go, and
    // end with the test's runtime.
    use gocsp::{chan, go, Receiver, Sender};

    // Send the sequence 2, 3, 4, ... to channel 'ch'.
    async fn generate(ch: Sender<u32>) {
        let mut i = 2;
        while ch.send(i).await.is_ok() {
            i += 1;
        }
    }

    // Copy the values from channel 'in' to channel 'out', removing those divisible by 'prime'.
    async fn filter(input: Receiver<u32>, out: Sender<u32>, prime: u32) {
        while let Some(i) = input.recv().await {
            if i % prime != 0 && out.send(i).await.is_err() {
                return;
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn main() {
        let (tx, mut ch) = chan::<u32>(0);
        go!(generate(tx));
        let mut primes = Vec::new();
        while primes.len() < 100 {
            let prime = ch.recv().await.expect("the generator never stops");
            primes.push(prime);
            let (tx1, ch1) = chan::<u32>(0);
            go!(filter(ch, tx1, prime));
            ch = ch1;
        }
        let expected: Vec<u32> = (2u32..)
            .filter(|n| (2..*n).take_while(|d| d * d <= *n).all(|d| n % d != 0))
            .take(100)
            .collect();
        assert_eq!(primes, expected);
    }
}

// test/chan/sieve1.go
mod sieve1 {
    use super::*;

    // Send the sequence 2, 3, 4, ... to channel 'ch'.
    async fn generate(ch: Sender<i32>) {
        let mut i = 2;
        while ch.send(i).await.is_ok() {
            i += 1;
        }
    }

    // Copy the values from channel 'in' to channel 'out', removing those divisible by 'prime'.
    async fn filter(inp: Receiver<i32>, out: Sender<i32>, prime: i32) {
        while let Some(i) = inp.recv().await {
            if i % prime != 0 && out.send(i).await.is_err() {
                return;
            }
        }
    }

    // The prime sieve: Daisy-chain Filter processes together.
    async fn sieve(primes: Sender<i32>) {
        let (tx, mut ch) = chan::<i32>(0);
        detach(go!(generate(tx)));
        loop {
            // Note that ch is different on each iteration.
            let Some(prime) = ch.recv().await else { return };
            if primes.send(prime).await.is_err() {
                return;
            }
            let (ch1_tx, ch1) = chan::<i32>(0);
            detach(go!(filter(ch, ch1_tx, prime)));
            ch = ch1;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn main() {
        let (primes_tx, primes) = chan::<i32>(0);
        detach(go!(sieve(primes_tx)));
        let a = [
            2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83,
            89, 97,
        ];
        for want in a {
            assert_eq!(primes.recv().await, Some(want));
        }
        // Go's main returns and the goroutines die with it; closing the output stops the
        // chain here so the runtime shuts down with nothing parked.
        primes.close();
    }
}

// test/chan/sieve2.go
mod sieve2 {
    use super::*;
    use std::cmp::Reverse;
    use std::collections::{BinaryHeap, VecDeque};

    // Generate primes up to 100 using channels, checking the results. This sieve is
    // Eratosthenesque and only considers odd candidates.

    // Return a chan of odd numbers, starting from 5.
    fn odds() -> Receiver<i32> {
        let (out, rx) = chan::<i32>(50);
        detach(go!(async move {
            let mut n = 5;
            while out.send(n).await.is_ok() {
                n += 2;
            }
        }));
        rx
    }

    // Return a chan of odd multiples of the prime number p, starting from p*p.
    fn multiples(p: i32) -> Receiver<i32> {
        let (out, rx) = chan::<i32>(10);
        detach(go!(async move {
            let mut n = p * p;
            while out.send(n).await.is_ok() {
                n += 2 * p;
            }
        }));
        rx
    }

    /// A channel with its head value, ordered by head (Go's `PeekCh` in a heap).
    struct PeekCh {
        head: i32,
        ch: Receiver<i32>,
    }

    impl PartialEq for PeekCh {
        fn eq(&self, other: &Self) -> bool {
            self.head == other.head
        }
    }
    impl Eq for PeekCh {}
    impl PartialOrd for PeekCh {
        fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(other))
        }
    }
    impl Ord for PeekCh {
        fn cmp(&self, other: &Self) -> std::cmp::Ordering {
            self.head.cmp(&other.head)
        }
    }

    // Return a channel to serve as a sending proxy to 'out'. Use a goroutine to receive
    // values from 'out' and store them in an expanding buffer, so that sending to 'out'
    // never blocks. (Go's ring buffer is a VecDeque here; the select with a nil output case
    // while the buffer is empty is Go's.)
    fn sendproxy(out: Sender<i32>) -> Sender<i32> {
        let (proxy, proxy_rx) = chan::<i32>(10);
        detach(go!(async move {
            let mut buf: VecDeque<i32> = VecDeque::with_capacity(16);
            loop {
                // buffer empty: disable output
                let c = if buf.is_empty() { None } else { Some(&out) };
                let e = buf.front().copied().unwrap_or(0);
                select! {
                    recv(proxy_rx) -> v => match v {
                        Some(v) => buf.push_back(v),
                        None => return,
                    },
                    send(c, e) -> r => {
                        if r.is_err() {
                            return;
                        }
                        buf.pop_front();
                    }
                }
            }
        }));
        proxy
    }

    // Return a chan int of primes.
    fn sieve() -> Receiver<i32> {
        // The output values.
        let (out, out_rx) = chan::<i32>(10);
        out.try_send(2).unwrap();
        out.try_send(3).unwrap();

        // The channel of all composites to be eliminated in increasing order.
        let (composites, composites_rx) = chan::<i32>(50);

        // The feedback loop.
        let (primes, primes_rx) = chan::<i32>(10);
        primes.try_send(3).unwrap();

        // Merge channels of multiples of 'primes' into 'composites'.
        detach(go!(async move {
            let mut h: BinaryHeap<Reverse<PeekCh>> = BinaryHeap::new();
            let mut min = 15;
            loop {
                let Some(p) = primes_rx.recv().await else {
                    return;
                };
                let m = multiples(p);
                let head = m.recv().await.unwrap();
                while min < head {
                    if composites.send(min).await.is_err() {
                        return;
                    }
                    let Reverse(mut minchan) = h.pop().unwrap();
                    min = minchan.head;
                    minchan.head = minchan.ch.recv().await.unwrap();
                    h.push(Reverse(minchan));
                }
                while min == head {
                    let Reverse(mut minchan) = h.pop().unwrap();
                    min = minchan.head;
                    minchan.head = minchan.ch.recv().await.unwrap();
                    h.push(Reverse(minchan));
                }
                if composites.send(head).await.is_err() {
                    return;
                }
                let head = m.recv().await.unwrap();
                h.push(Reverse(PeekCh { head, ch: m }));
            }
        }));

        // Sieve out 'composites' from 'candidates'.
        detach(go!(async move {
            // In order to generate the nth prime we only need multiples of primes ≤ sqrt(nth
            // prime), so the merging goroutine receives from 'primes' much slower than this
            // one sends: a proxy goroutine buffers without limit.
            let primes = sendproxy(primes);
            let candidates = odds();
            let mut p = candidates.recv().await.unwrap();
            loop {
                let Some(c) = composites_rx.recv().await else {
                    return;
                };
                while p < c {
                    if primes.send(p).await.is_err() || out.send(p).await.is_err() {
                        return;
                    }
                    p = candidates.recv().await.unwrap();
                }
                if p == c {
                    p = candidates.recv().await.unwrap();
                }
            }
        }));

        out_rx
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn main() {
        let primes = sieve();
        let a = [
            2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83,
            89, 97,
        ];
        for want in a {
            assert_eq!(primes.recv().await, Some(want));
        }
    }
}

// test/chan/zerosize.go
mod zerosize {
    use super::*;

    // Test making channels of a zero-sized type (and, beyond Go's test, moving values).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn main() {
        let _ = chan::<[u8; 0]>(0);
        let (tx, rx) = chan::<[u8; 0]>(1);
        tx.send([]).await.unwrap();
        assert_eq!(rx.recv().await, Some([]));
        let _ = chan::<()>(0);
        let (tx, rx) = chan::<()>(1);
        tx.send(()).await.unwrap();
        assert_eq!(rx.recv().await, Some(()));
    }
}

// src/runtime/chan_test.go
mod chan_test {
    use super::*;
    use gocsp::WaitGroup;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicU32, AtomicUsize};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn test_chan() {
        // Go: 200 capacities (20 with -short); 20 here.
        let n = 20;
        for chan_cap in 0..n {
            {
                // Ensure that receive from empty chan blocks.
                let (c_tx, c) = chan::<i32>(chan_cap);
                let recv1 = Arc::new(AtomicBool::new(false));
                let recv2 = Arc::new(AtomicBool::new(false));
                let (r, flag) = (c.clone(), recv1.clone());
                let h1 = go_parked(async move {
                    r.recv().await;
                    flag.store(true, SeqCst);
                })
                .await;
                let (r, flag) = (c.clone(), recv2.clone());
                let h2 = go_parked(async move {
                    let _ = r.recv().await;
                    flag.store(true, SeqCst);
                })
                .await;
                assert!(
                    !recv1.load(SeqCst) && !recv2.load(SeqCst),
                    "chan[{chan_cap}]: receive from empty chan"
                );
                // Ensure that non-blocking receive does not block.
                select! {
                    recv(c) => panic!("chan[{chan_cap}]: receive from empty chan"),
                    default => {}
                }
                select! {
                    recv(c) -> _ => panic!("chan[{chan_cap}]: receive from empty chan"),
                    default => {}
                }
                c_tx.send(0).await.unwrap();
                c_tx.send(0).await.unwrap();
                h1.await.unwrap();
                h2.await.unwrap();
            }

            {
                // Ensure that send to full chan blocks.
                let (c_tx, c) = chan::<i32>(chan_cap);
                for i in 0..chan_cap {
                    c_tx.send(i as i32).await.unwrap();
                }
                let sent = Arc::new(AtomicU32::new(0));
                let (tx, s) = (c_tx.clone(), sent.clone());
                detach(
                    go_parked(async move {
                        tx.send(0).await.unwrap();
                        s.store(1, SeqCst);
                    })
                    .await,
                );
                assert_eq!(sent.load(SeqCst), 0, "chan[{chan_cap}]: send to full chan");
                // Ensure that non-blocking send does not block.
                select! {
                    send(c_tx, 0) -> _ => panic!("chan[{chan_cap}]: send to full chan"),
                    default => {}
                }
                c.recv().await;
            }

            {
                // Ensure that we receive 0 from closed chan.
                let (c_tx, c) = chan::<i32>(chan_cap);
                for i in 0..chan_cap {
                    c_tx.send(i as i32).await.unwrap();
                }
                c_tx.close();
                for i in 0..chan_cap {
                    assert_eq!(c.recv().await, Some(i as i32), "chan[{chan_cap}]");
                }
                assert_eq!(c.recv().await, None, "chan[{chan_cap}]");
                assert_eq!(c.recv().await, None, "chan[{chan_cap}]");
            }

            {
                // Ensure that close unblocks receive.
                let (c_tx, c) = chan::<i32>(chan_cap);
                let (done_tx, done) = chan::<bool>(0);
                detach(
                    go_parked(async move {
                        let v = c.recv().await;
                        done_tx.send(v.is_none()).await.unwrap();
                    })
                    .await,
                );
                c_tx.close();
                assert!(
                    done.recv().await.unwrap(),
                    "chan[{chan_cap}]: received non zero from closed chan"
                );
            }

            {
                // Send 100 integers, ensure that we receive them non-corrupted in FIFO order.
                let (c_tx, c) = chan::<i32>(chan_cap);
                let tx = c_tx.clone();
                detach(go!(async move {
                    for i in 0..100 {
                        tx.send(i).await.unwrap();
                    }
                }));
                for i in 0..100 {
                    assert_eq!(c.recv().await, Some(i), "chan[{chan_cap}]");
                }

                // Send 1000 integers in 4 goroutines, ensure that we receive what we send.
                const P: usize = 4;
                const L: i32 = 1000;
                for _ in 0..P {
                    let tx = c_tx.clone();
                    detach(go!(async move {
                        for i in 0..L {
                            tx.send(i).await.unwrap();
                        }
                    }));
                }
                let (done_tx, done) = chan::<HashMap<i32, usize>>(0);
                for _ in 0..P {
                    let (rx, done_tx) = (c.clone(), done_tx.clone());
                    detach(go!(async move {
                        let mut recv = HashMap::new();
                        for _ in 0..L {
                            let v = rx.recv().await.unwrap();
                            *recv.entry(v).or_insert(0) += 1;
                        }
                        done_tx.send(recv).await.unwrap();
                    }));
                }
                let mut recv: HashMap<i32, usize> = HashMap::new();
                for _ in 0..P {
                    for (k, v) in done.recv().await.unwrap() {
                        *recv.entry(k).or_insert(0) += v;
                    }
                }
                assert_eq!(recv.len(), L as usize, "chan[{chan_cap}]");
                for v in recv.values() {
                    assert_eq!(*v, P, "chan[{chan_cap}]");
                }
            }

            {
                // Test len/cap.
                let (c_tx, c) = chan::<i32>(chan_cap);
                assert_eq!(
                    (c.len(), c.capacity()),
                    (0, Some(chan_cap)),
                    "chan[{chan_cap}]: bad len/cap"
                );
                for i in 0..chan_cap {
                    c_tx.send(i as i32).await.unwrap();
                }
                assert_eq!(
                    (c.len(), c.capacity()),
                    (chan_cap, Some(chan_cap)),
                    "chan[{chan_cap}]: bad len/cap"
                );
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn test_nonblock_recv_race() {
        // Go: 10,000 (100 with -short).
        let n = 2000;
        for _ in 0..n {
            let (c_tx, c) = chan::<i32>(1);
            c_tx.send(1).await.unwrap();
            let r = c.clone();
            let h = go!(async move {
                select! {
                    recv(r) => {}
                    default => panic!("chan is not ready"),
                }
            });
            c_tx.close();
            c.recv().await;
            h.await.unwrap();
        }
    }

    // This test checks that select acts on the state of the channels at one moment in the
    // execution, not over a smeared time window. From the time the second goroutine is
    // created, at least one of c1 and c2 is always ready for receiving, so its select must
    // never execute the default case.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn test_nonblock_select_race() {
        // Go: 100,000 (1,000 with -short).
        let n = 10_000;
        let (done_tx, done) = chan::<bool>(1);
        for _ in 0..n {
            let (c1_tx, c1) = chan::<i32>(1);
            let (c2_tx, c2) = chan::<i32>(1);
            c1_tx.send(1).await.unwrap();
            let (r1, r2, d) = (c1.clone(), c2.clone(), done_tx.clone());
            detach(go!(async move {
                let ok = select! {
                    recv(r1) => true,
                    recv(r2) => true,
                    default => false,
                };
                d.send(ok).await.unwrap();
            }));
            c2_tx.send(1).await.unwrap();
            select! {
                recv(c1) => {}
                default => {}
            }
            assert!(done.recv().await.unwrap(), "no chan is ready");
        }
    }

    // Same as TestNonblockSelectRace, but close(c2) replaces c2 <- 1.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn test_nonblock_select_race2() {
        // Go: 100,000 (1,000 with -short).
        let n = 10_000;
        let (done_tx, done) = chan::<bool>(1);
        for _ in 0..n {
            let (c1_tx, c1) = chan::<i32>(1);
            let (c2_tx, c2) = chan::<i32>(0);
            c1_tx.send(1).await.unwrap();
            let (r1, r2, d) = (c1.clone(), c2.clone(), done_tx.clone());
            detach(go!(async move {
                let ok = select! {
                    recv(r1) => true,
                    recv(r2) => true,
                    default => false,
                };
                d.send(ok).await.unwrap();
            }));
            c2_tx.close();
            select! {
                recv(c1) => {}
                default => {}
            }
            assert!(done.recv().await.unwrap(), "no chan is ready");
        }
    }

    // Ensure that send/recv on the same chan in select does not crash nor deadlock.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn test_self_select() {
        for chan_cap in [0, 10] {
            let wg = WaitGroup::new();
            wg.add(2);
            let (c_tx, c) = chan::<usize>(chan_cap);
            for p in 0..2usize {
                let (wg, tx, rx) = (wg.clone(), c_tx.clone(), c.clone());
                detach(go!(async move {
                    for i in 0..1000 {
                        if p == 0 || i % 2 == 0 {
                            select! {
                                send(tx, p) -> r => r.unwrap(),
                                recv(rx) -> v => {
                                    if chan_cap == 0 && v == Some(p) {
                                        panic!("self receive");
                                    }
                                }
                            }
                        } else {
                            select! {
                                recv(rx) -> v => {
                                    if chan_cap == 0 && v == Some(p) {
                                        panic!("self receive");
                                    }
                                }
                                send(tx, p) -> r => r.unwrap(),
                            }
                        }
                    }
                    wg.done();
                }));
            }
            wg.wait().await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn test_select_stress() {
        let c: [(Sender<i32>, Receiver<i32>); 4] = [chan(0), chan(0), chan(2), chan(3)];
        // Go: 100,000 (10,000 with -short).
        const N: usize = 3000;
        // There are 4 goroutines that send N values on each of the chans, + 4 goroutines that
        // receive N values on each of the chans, + 1 goroutine that sends N values on each of
        // the chans in a single select, + 1 goroutine that receives N values on each of the
        // chans in a single select. All these sends, receives and selects interact chaotically
        // at runtime, but we are careful that this whole construct does not deadlock.
        let wg = WaitGroup::new();
        wg.add(10);
        for (tx, rx) in &c {
            let (wg1, tx) = (wg.clone(), tx.clone());
            detach(go!(async move {
                for _ in 0..N {
                    tx.send(0).await.unwrap();
                }
                wg1.done();
            }));
            let (wg2, rx) = (wg.clone(), rx.clone());
            detach(go!(async move {
                for _ in 0..N {
                    rx.recv().await;
                }
                wg2.done();
            }));
        }
        let (wg1, mut c1) = (wg.clone(), c.clone().map(|p| Some(p.0)));
        detach(go!(async move {
            let mut n = [0; 4];
            for _ in 0..4 * N {
                select! {
                    send(c1[3].as_ref(), 0) -> r => { r.unwrap(); n[3] += 1; if n[3] == N { c1[3] = None; } }
                    send(c1[2].as_ref(), 0) -> r => { r.unwrap(); n[2] += 1; if n[2] == N { c1[2] = None; } }
                    send(c1[0].as_ref(), 0) -> r => { r.unwrap(); n[0] += 1; if n[0] == N { c1[0] = None; } }
                    send(c1[1].as_ref(), 0) -> r => { r.unwrap(); n[1] += 1; if n[1] == N { c1[1] = None; } }
                }
            }
            wg1.done();
        }));
        let (wg2, mut c1) = (wg.clone(), c.clone().map(|p| Some(p.1)));
        detach(go!(async move {
            let mut n = [0; 4];
            for _ in 0..4 * N {
                select! {
                    recv(c1[0].as_ref()) => { n[0] += 1; if n[0] == N { c1[0] = None; } }
                    recv(c1[1].as_ref()) => { n[1] += 1; if n[1] == N { c1[1] = None; } }
                    recv(c1[2].as_ref()) => { n[2] += 1; if n[2] == N { c1[2] = None; } }
                    recv(c1[3].as_ref()) => { n[3] += 1; if n[3] == N { c1[3] = None; } }
                }
            }
            wg2.done();
        }));
        wg.wait().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn test_select_fairness() {
        const TRIALS: usize = 10_000;
        let (c1_tx, c1) = chan::<u8>(TRIALS + 1);
        let (c2_tx, c2) = chan::<u8>(TRIALS + 1);
        for _ in 0..TRIALS + 1 {
            c1_tx.send(1).await.unwrap();
            c2_tx.send(2).await.unwrap();
        }
        let (_c3_tx, c3) = chan::<u8>(0);
        let (_c4_tx, c4) = chan::<u8>(0);
        let (out_tx, out) = chan::<u8>(0);
        let (done_tx, done) = chan::<u8>(0);
        let h = go!(async move {
            loop {
                let b = select! {
                    recv(c3) -> b => b,
                    recv(c4) -> b => b,
                    recv(c1) -> b => b,
                    recv(c2) -> b => b,
                };
                select! {
                    send(out_tx, b.unwrap()) -> r => r.unwrap(),
                    recv(done) => return,
                }
            }
        });
        let (mut cnt1, mut cnt2) = (0, 0);
        for _ in 0..TRIALS {
            match out.recv().await.unwrap() {
                1 => cnt1 += 1,
                2 => cnt2 += 1,
                b => panic!("unexpected value {b} on channel"),
            }
        }
        // If the select in the goroutine is fair, cnt1 and cnt2 should be about the same
        // value. See if we're more than 10 sigma away from the expected value.
        let mean = TRIALS as f64 * 0.5;
        let variance = TRIALS as f64 * 0.5 * (1.0 - 0.5);
        let stddev = variance.sqrt();
        assert!(
            (cnt1 as f64 - mean).abs() <= 10.0 * stddev,
            "unfair select: in {TRIALS} trials, results were {cnt1}, {cnt2}"
        );
        done_tx.close();
        h.await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn test_chan_send_interface() {
        #[derive(Debug)]
        struct Mt;
        type Any = Box<dyn std::any::Any + Send>;
        let (c, _c_rx) = chan::<Any>(1);
        c.send(Box::new(Mt)).await.unwrap();
        select! {
            send(c, Box::new(Mt) as Any) -> _ => {}
            default => {}
        }
        select! {
            send(c, Box::new(Mt) as Any) -> _ => {}
            send(c, Box::new(&Mt) as Any) -> _ => {}
            default => {}
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn test_pseudo_random_send() {
        let n = 100;
        for chan_cap in [0, n] {
            let (c, c_rx) = chan::<usize>(chan_cap);
            // Go hands the slice back through a locked Mutex; a goroutine's result here.
            let h = go!(async move {
                let mut l = vec![0; n];
                for slot in l.iter_mut() {
                    gocsp::yield_now().await;
                    *slot = c_rx.recv().await.unwrap();
                }
                l
            });
            for _ in 0..n {
                select! {
                    send(c, 1) -> r => r.unwrap(),
                    send(c, 0) -> r => r.unwrap(),
                }
            }
            let l = h.await.unwrap();
            let n1: usize = l.iter().sum();
            let n0 = n - n1;
            assert!(
                n0 > n / 10 && n1 > n / 10,
                "Want pseudorandom, got {n0} zeros and {n1} ones (chan cap {chan_cap})"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn test_multi_consumer() {
        const NWORK: usize = 23;
        // Go: 271,828.
        const NITER: usize = 27_183;
        const PN: [usize; 10] = [2, 3, 7, 11, 13, 17, 19, 23, 27, 31];

        let (q_tx, q) = chan::<usize>(NWORK * 3);
        let (r_tx, r) = chan::<usize>(NWORK * 3);

        // workers
        let wg = WaitGroup::new();
        for w in 0..NWORK {
            wg.add(1);
            let (wg, q, r_tx) = (wg.clone(), q.clone(), r_tx.clone());
            detach(go!(async move {
                while let Some(v) = q.recv().await {
                    // mess with the fifo-ish nature of range
                    if PN[w % PN.len()] == v {
                        gocsp::yield_now().await;
                    }
                    r_tx.send(v).await.unwrap();
                }
                wg.done();
            }));
        }

        // feeder & closer
        let expect = Arc::new(AtomicUsize::new(0));
        let e = expect.clone();
        detach(go!(async move {
            for i in 0..NITER {
                let v = PN[i % PN.len()];
                e.fetch_add(v, SeqCst);
                q_tx.send(v).await.unwrap();
            }
            q_tx.close(); // no more work
            wg.wait().await; // workers done
            r_tx.close(); // ... so there can be no more results
        }));

        // consume & check
        let (mut n, mut s) = (0, 0);
        while let Some(v) = r.recv().await {
            n += 1;
            s += v;
        }
        let expect = expect.load(SeqCst);
        assert!(
            n == NITER && s == expect,
            "Expected sum {expect} (got {s}) from {NITER} iter (saw {n})"
        );
    }

    // TestShrinkStackDuringBlockedSend, TestNoShrinkStackWhileParking, TestSelectStackAdjust:
    // not ported. They test that Go's runtime adjusts pointers into a goroutine's stack when
    // the GC shrinks it while the goroutine is parked in a channel operation. A gocsp task's
    // state is a heap-pinned future that never moves and there is no GC; the channel part
    // they exercise (a parked unbuffered send, a select woken by close) is covered by
    // test_chan and test_select_duplicate_channel.

    // This test makes sure we can queue a G on the same channel multiple times.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn test_select_duplicate_channel() {
        let (c_tx, c) = chan::<i32>(0);
        let (d_tx, d) = chan::<i32>(0);
        let (e_tx, e) = chan::<i32>(0);

        // goroutine A, queued first on c (Go sleeps 1 ms; here: until it is parked)
        let ca = c.clone();
        detach(
            go_parked(async move {
                select! {
                    recv(ca) => {}
                    recv(ca) => {}
                    recv(d) => {}
                }
                e_tx.send(9).await.unwrap();
            })
            .await,
        );

        // goroutine B, queued on c after A
        let cb = c.clone();
        let b = go_parked(async move { cb.recv().await }).await;

        d_tx.send(7).await.unwrap(); // wake up A, it dequeues itself from c.
        e.recv().await; // A tells us it's done
        c_tx.send(8).await.unwrap(); // wake up B.
        assert_eq!(b.await.unwrap(), Some(8));
    }
}
