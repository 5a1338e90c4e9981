// Command sieve prints the first 100 primes, one per line, found by the concurrent prime
// sieve in the style of Go's test/chan/sieve1.go: a generator goroutine and one filter
// goroutine per prime found so far, joined by unbuffered channels. The sieve itself is a
// goroutine that hands each prime to main on its own channel.
//
// Rust twin: `sieve` in crates/gocsp/tests/go_differential.rs.
package main

import "fmt"

// generate sends 2, 3, 4, ... on ch, forever.
func generate(ch chan<- int) {
	for i := 2; ; i++ {
		ch <- i
	}
}

// filter passes on what it receives, except the multiples of prime.
func filter(in <-chan int, out chan<- int, prime int) {
	for {
		if i := <-in; i%prime != 0 {
			out <- i
		}
	}
}

// sieve sends the primes in increasing order on primes, forever.
func sieve(primes chan<- int) {
	ch := make(chan int)
	go generate(ch)
	for {
		prime := <-ch
		primes <- prime
		next := make(chan int)
		go filter(ch, next, prime)
		ch = next
	}
}

func main() {
	primes := make(chan int)
	go sieve(primes)
	for i := 0; i < 100; i++ {
		fmt.Println(<-primes)
	}
}
