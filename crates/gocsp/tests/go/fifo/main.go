// Command fifo checks, as Go's test/chan/fifo.go does, that a channel delivers in FIFO
// order, and prints the sequence it saw: first through a buffered channel, then through an
// unbuffered one read by a daisy chain of goroutines, each of which takes one value and
// then lets the next one in.
//
// Rust twin: `fifo` in crates/gocsp/tests/go_differential.rs.
package main

import "fmt"

const n = 20

func asynchFifo() {
	ch := make(chan int, n)
	for i := 0; i < n; i++ {
		ch <- i * i
	}
	for i := 0; i < n; i++ {
		fmt.Printf("async %d: %d\n", i, <-ch)
	}
}

// link waits for its turn on in, takes one value from ch, prints it and passes the turn on.
func link(ch <-chan int, id int, in <-chan int, out chan<- int) {
	turn := <-in
	v := <-ch
	fmt.Printf("sync link %d (turn %d): %d\n", id, turn, v)
	out <- turn + 1
}

func synchFifo() {
	ch := make(chan int)
	first := make(chan int)
	in := first
	for i := 0; i < n; i++ {
		out := make(chan int)
		go link(ch, i, in, out)
		in = out
	}
	first <- 0
	for i := 0; i < n; i++ {
		ch <- 100 + i
	}
	fmt.Printf("sync done after %d turns\n", <-in)
}

func main() {
	asynchFifo()
	synchFifo()
}
