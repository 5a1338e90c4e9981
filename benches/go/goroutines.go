package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// spawnWaitGroup: start n goroutines that each add their index to a counter, wait for all.
func spawnWaitGroup(n int) error {
	var wg sync.WaitGroup
	var sum atomic.Int64
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			sum.Add(int64(i))
			wg.Done()
		}(i)
	}
	wg.Wait()
	if want := int64(n) * int64(n-1) / 2; sum.Load() != want {
		return fmt.Errorf("sum %d, want %d", sum.Load(), want)
	}
	return nil
}

// rssBytes reads the resident set size of this process from /proc/self/status.
func rssBytes() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return -1
}

// park: n goroutines each block receiving on their own unbuffered channel; once all have
// started, the RSS growth per goroutine is recorded (park_1m_mem), then each is sent its
// index, checks it and exits. ns/op covers spawn, park, wake-up and exit of one goroutine.
func park(n int) error {
	runtime.GC()
	before := rssBytes()
	chans := make([]chan int, n)
	var started, finished sync.WaitGroup
	var bad atomic.Int64
	started.Add(n)
	finished.Add(n)
	for i := range chans {
		ch := make(chan int)
		chans[i] = ch
		go func(i int) {
			started.Done()
			if <-ch != i {
				bad.Add(1)
			}
			finished.Done()
		}(i)
	}
	started.Wait()
	after := rssBytes()
	extra = append(extra, fmt.Sprintf("park_1m_mem\t%.1f", float64(after-before)/float64(n)))
	for i, ch := range chans {
		ch <- i
	}
	finished.Wait()
	if bad.Load() != 0 {
		return fmt.Errorf("%d goroutines received the wrong value", bad.Load())
	}
	return nil
}

// sieve: the concurrent prime sieve (Go's classic, test/chan/sieve1.go) up to the 3,000th
// prime, 27449, on unbuffered channels. One run is one op. As in sieve1.go the generator
// and filters are left blocked when main stops reading (Rust's side ends them by dropping
// the last receiver); a select on a quit channel would tax every message instead.
func sieve(n int) error {
	const count = 3000
	var last int
	for r := 0; r < n; r++ {
		ch := make(chan int)
		go generate(ch)
		for i := 0; i < count; i++ {
			prime := <-ch
			last = prime
			ch1 := make(chan int)
			go filter(ch, ch1, prime)
			ch = ch1
		}
	}
	if last != 27449 {
		return fmt.Errorf("3000th prime %d, want 27449", last)
	}
	return nil
}

func generate(ch chan<- int) {
	for i := 2; ; i++ {
		ch <- i
	}
}

func filter(in <-chan int, out chan<- int, prime int) {
	for {
		i := <-in
		if i%prime != 0 {
			out <- i
		}
	}
}

// workerPool: 8 workers read jobs from a channel of capacity 128 and send results to
// another; a feeder goroutine sends n jobs; the sum of results is checked.
func workerPool(n int) error {
	const workers = 8
	jobs := make(chan int, 128)
	results := make(chan int, 128)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				results <- j * 2
			}
		}()
	}
	go func() {
		for i := 1; i <= n; i++ {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		close(results)
	}()
	total := 0
	for r := range results {
		total += r
	}
	if want := n * (n + 1); total != want {
		return fmt.Errorf("sum %d, want %d", total, want)
	}
	return nil
}
