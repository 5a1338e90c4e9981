package main

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// split runs body(share) on GOMAXPROCS goroutines whose shares add up to n, like
// testing.B.RunParallel, and waits for them.
func split(n int, body func(share int)) {
	p := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for i := 0; i < p; i++ {
		share := n / p
		if i < n%p {
			share++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			body(share)
		}()
	}
	wg.Wait()
}

// selectUncontended: port of BenchmarkSelectUncontended.
func selectUncontended(n int) error {
	var bad atomic.Int64
	split(n, func(share int) {
		myc1 := make(chan int, 1)
		myc2 := make(chan int, 1)
		myc1 <- 0
		for i := 0; i < share; i++ {
			select {
			case <-myc1:
				myc2 <- 0
			case <-myc2:
				myc1 <- 0
			}
		}
		if len(myc1)+len(myc2) != 1 {
			bad.Add(1)
		}
	})
	if bad.Load() != 0 {
		return fmt.Errorf("token lost or duplicated")
	}
	return nil
}

// selectNonblock: port of BenchmarkSelectNonblock (four non-blocking selects per op).
func selectNonblock(n int) error {
	myc1 := make(chan int)
	myc2 := make(chan int)
	myc3 := make(chan int, 1)
	myc4 := make(chan int, 1)
	var fired atomic.Int64
	split(n, func(share int) {
		f := int64(0)
		for i := 0; i < share; i++ {
			select {
			case <-myc1:
				f++
			default:
			}
			select {
			case myc2 <- 0:
				f++
			default:
			}
			select {
			case <-myc3:
				f++
			default:
			}
			select {
			case myc4 <- 0:
			default:
			}
		}
		fired.Add(f)
	})
	// Nothing ever sends to myc1/myc3 or receives from myc2: those cases never fire.
	if fired.Load() != 0 || len(myc4) != 1 {
		return fmt.Errorf("a case fired that cannot be ready")
	}
	return nil
}

// selectProdCons: port of BenchmarkSelectProdCons: GOMAXPROCS producer/consumer pairs on
// one channel of capacity 128, each select also waiting on a timer and a close channel that
// never fire, with 100 iterations of local work per message.
func selectProdCons(n int) error {
	procs := runtime.GOMAXPROCS(0)
	var remaining atomic.Int64
	remaining.Store(int64(n))
	myc := make(chan int, 128)
	myclose := make(chan bool)
	c := make(chan int, 2*procs)
	for p := 0; p < procs; p++ {
		go func() {
			foo := 0
			mytimer := time.After(time.Hour)
			sent := 0
			for remaining.Add(-1) >= 0 {
				for i := 0; i < 100; i++ {
					foo *= 2
					foo /= 2
				}
				select {
				case myc <- 1:
					sent++
				case <-mytimer:
				case <-myclose:
				}
			}
			myc <- 0
			c <- sent + foo
		}()
		go func() {
			foo := 0
			mytimer := time.After(time.Hour)
			got := 0
		loop:
			for {
				select {
				case v := <-myc:
					if v == 0 {
						break loop
					}
					got++
				case <-mytimer:
				case <-myclose:
				}
				for i := 0; i < 100; i++ {
					foo *= 2
					foo /= 2
				}
			}
			c <- -got - foo
		}()
	}
	balance := 0
	for p := 0; p < 2*procs; p++ {
		balance += <-c
	}
	// A consumer may stop at another producer's 0 and leave values; drain what is left.
	for len(myc) > 0 {
		if v := <-myc; v == 1 {
			balance--
		}
	}
	if balance != 0 {
		return fmt.Errorf("sent and received differ by %d", balance)
	}
	return nil
}

// selectSyncContended: port of BenchmarkSelectSyncContended.
func selectSyncContended(n int) error {
	myc1 := make(chan int)
	myc2 := make(chan int)
	myc3 := make(chan int)
	done := make(chan int)
	var got atomic.Int64
	split(n, func(share int) {
		go func() {
			for {
				select {
				case myc1 <- 1:
				case myc2 <- 1:
				case myc3 <- 1:
				case <-done:
					return
				}
			}
		}()
		s := 0
		for i := 0; i < share; i++ {
			select {
			case v := <-myc1:
				s += v
			case v := <-myc2:
				s += v
			case v := <-myc3:
				s += v
			}
		}
		got.Add(int64(s))
	})
	close(done)
	if got.Load() != int64(n) {
		return fmt.Errorf("received %d, want %d", got.Load(), n)
	}
	return nil
}

// chanSem: port of BenchmarkChanSem: a channel of capacity GOMAXPROCS used as a semaphore.
func chanSem(n int) error {
	type empty struct{}
	myc := make(chan empty, runtime.GOMAXPROCS(0))
	split(n, func(share int) {
		for i := 0; i < share; i++ {
			myc <- empty{}
			<-myc
		}
	})
	if len(myc) != 0 {
		return fmt.Errorf("semaphore left with %d tokens", len(myc))
	}
	return nil
}
