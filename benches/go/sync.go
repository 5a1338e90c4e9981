package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// wgAddDone: 1,000 goroutines share n wg.Add(1)+wg.Done() pairs on one WaitGroup (Go's
// BenchmarkWaitGroupAddDone with 1,000 goroutines), then main waits for all of them.
func wgAddDone(n int) error {
	const g = 1000
	var wg sync.WaitGroup
	var pairs atomic.Int64
	wg.Add(g)
	for i := 0; i < g; i++ {
		share := n / g
		if i < n%g {
			share++
		}
		go func(share int) {
			for k := 0; k < share; k++ {
				wg.Add(1)
				wg.Done()
			}
			pairs.Add(int64(share))
			wg.Done()
		}(share)
	}
	wg.Wait()
	if pairs.Load() != int64(n) {
		return fmt.Errorf("pairs %d, want %d", pairs.Load(), n)
	}
	return nil
}

// ctxCancelFanout: 10,000 goroutines wait on the Done channel of one context per round; each
// round main cancels it and waits (a WaitGroup) until every waiter has seen it. ns/op is one
// round: one cancel fanned out to 10,000 waiters.
func ctxCancelFanout(n int) error {
	const waiters = 10_000
	ctxs := make([]context.Context, n)
	cancels := make([]context.CancelFunc, n)
	for i := range ctxs {
		ctxs[i], cancels[i] = context.WithCancel(context.Background())
	}
	var wg sync.WaitGroup
	var woke atomic.Int64
	wg.Add(waiters)
	for w := 0; w < waiters; w++ {
		go func() {
			for r := 0; r < n; r++ {
				<-ctxs[r].Done()
				woke.Add(1)
				wg.Done()
			}
		}()
	}
	for r := 0; r < n; r++ {
		cancels[r]()
		wg.Wait()
		if r+1 < n {
			wg.Add(waiters)
		}
	}
	if woke.Load() != int64(n)*waiters {
		return fmt.Errorf("woke %d, want %d", woke.Load(), int64(n)*waiters)
	}
	return nil
}
