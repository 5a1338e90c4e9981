// Command primes runs the concurrent prime sieve to its 3000th prime and prints every
// 100th prime. Unlike ./sieve, its channels are buffered and it tears the chain down
// cleanly: on quit the generator closes its output, every filter ranges over its input
// until that is closed and drained and then closes its own output, main drains the last
// channel, and waits for all 3001 goroutines (generator and filters) to finish.
//
// Rust twin: `primes` in crates/gocsp/tests/go_differential.rs.
package main

import (
	"fmt"
	"sync"
)

const (
	count  = 3000
	buffer = 32
)

func generate(out chan<- int, quit <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	defer close(out)
	for i := 2; ; i++ {
		select {
		case out <- i:
		case <-quit:
			return
		}
	}
}

func filter(in <-chan int, out chan<- int, prime int, wg *sync.WaitGroup) {
	defer wg.Done()
	defer close(out)
	for i := range in {
		if i%prime != 0 {
			out <- i
		}
	}
}

func main() {
	var wg sync.WaitGroup
	quit := make(chan struct{})
	ch := make(chan int, buffer)
	wg.Add(1)
	go generate(ch, quit, &wg)
	for n := 1; n <= count; n++ {
		prime := <-ch
		if n%100 == 0 {
			fmt.Printf("prime %d: %d\n", n, prime)
		}
		next := make(chan int, buffer)
		wg.Add(1)
		go filter(ch, next, prime, &wg)
		ch = next
	}
	close(quit)
	// What is still in flight drains through the chain; how much depends on timing.
	last := 0
	for p := range ch {
		if p <= last {
			panic("the sieve is out of order")
		}
		last = p
	}
	wg.Wait()
	fmt.Printf("all %d goroutines stopped\n", count+1)
}
