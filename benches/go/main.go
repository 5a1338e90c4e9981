// The Go side of gocsp's comparison (`cargo xtask bench`): the same workloads as
// benches/src/bin/compare.rs, timed the same way, printed one per line as
//
//	name<TAB>ns_per_op
//
// (and `park_1m_mem<TAB>bytes_per_goroutine` for the memory figure). Every workload checks
// its result and the program exits non-zero if one is wrong, so a broken run cannot look fast.
//
//	go run . [-workers N] [-quick] [-filter SUBSTR] [-reps R]
//
// -workers sets GOMAXPROCS (the Rust side uses the same number of runtime workers).
// Workloads marked "port of" follow the benchmark of that name in Go's
// src/runtime/chan_test.go, with b.N replaced by a fixed count and RunParallel by
// GOMAXPROCS goroutines sharing it.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"
)

type workload struct {
	name string
	// n is the number of operations in a full run (divided by 10 under -quick unless fixed).
	n     int
	fixed bool // n is part of the workload's definition (e.g. 1,000,000 parked goroutines)
	once  bool // too heavy to repeat: one run regardless of -reps
	run   func(n int) error
}

// extra carries secondary figures a workload measures (memory per goroutine).
var extra []string

func main() {
	workers := flag.Int("workers", 0, "GOMAXPROCS (0: leave as is, i.e. all cores or $GOMAXPROCS)")
	quick := flag.Bool("quick", false, "divide operation counts by 10 (for trying things out)")
	filter := flag.String("filter", "", "run only workloads whose name contains this")
	reps := flag.Int("reps", 3, "runs per workload; the fastest is reported")
	list := flag.Bool("list", false, "print the workload names and exit")
	flag.Parse()
	if *workers > 0 {
		runtime.GOMAXPROCS(*workers)
	}
	procs := runtime.GOMAXPROCS(0)
	fmt.Fprintf(os.Stderr, "go: %s, GOMAXPROCS=%d\n", runtime.Version(), procs)

	failed := false
	for _, w := range workloads() {
		if *list {
			fmt.Println(w.name)
			continue
		}
		if *filter != "" && !strings.Contains(w.name, *filter) {
			continue
		}
		n := w.n
		if *quick && !w.fixed {
			n /= 10
		}
		r := *reps
		if w.once || r < 1 {
			r = 1
		}
		var times []float64
		var err error
		for i := 0; i < r && err == nil; i++ {
			extra = extra[:0]
			runtime.GC()
			start := time.Now()
			err = w.run(n)
			times = append(times, float64(time.Since(start).Nanoseconds())/float64(n))
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "go: %s FAILED: %v\n", w.name, err)
			failed = true
			continue
		}
		sort.Float64s(times)
		fmt.Printf("%s\t%.1f\n", w.name, times[0])
		for _, e := range extra {
			fmt.Println(e)
		}
	}
	if failed {
		os.Exit(1)
	}
}

func workloads() []workload {
	return []workload{
		{name: "pingpong_chan0", n: 200_000, run: pingPong},
		{name: "spsc_chan0", n: 200_000, run: func(n int) error { return mpmc(n, 0, 1, 1) }},
		{name: "spsc_chan1", n: 500_000, run: func(n int) error { return mpmc(n, 1, 1, 1) }},
		{name: "spsc_chan128", n: 2_000_000, run: func(n int) error { return mpmc(n, 128, 1, 1) }},
		{name: "mpsc4_chan128", n: 2_000_000, run: func(n int) error { return mpmc(n, 128, 4, 1) }},
		{name: "mpmc4_chan128", n: 2_000_000, run: func(n int) error { return mpmc(n, 128, 4, 4) }},
		{name: "fanin_select4", n: 1_000_000, run: fanInSelect},
		{name: "select_uncontended", n: 2_000_000, run: selectUncontended},
		{name: "select_nonblock", n: 2_000_000, run: selectNonblock},
		{name: "select_prodcons", n: 1_000_000, run: selectProdCons},
		{name: "select_sync_contended", n: 500_000, run: selectSyncContended},
		{name: "spawn_wg_100k", n: 100_000, fixed: true, run: spawnWaitGroup},
		{name: "park_1m", n: 1_000_000, fixed: true, once: true, run: park},
		{name: "sieve_3000", n: 1, fixed: true, once: true, run: sieve},
		{name: "worker_pool_8x1m", n: 1_000_000, run: workerPool},
		{name: "chan_popular", n: 100, run: chanPopular},
		{name: "chan_sem", n: 2_000_000, run: chanSem},
		{name: "wg_adddone_1k", n: 2_000_000, run: wgAddDone},
		{name: "ctx_cancel_10k", n: 100, run: ctxCancelFanout},
	}
}
