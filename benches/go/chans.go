package main

import "fmt"

// pingPong: two goroutines bounce a counter over two unbuffered channels; n round trips.
func pingPong(n int) error {
	ping := make(chan int)
	pong := make(chan int)
	go func() {
		for v := range ping {
			pong <- v + 1
		}
		close(pong)
	}()
	v := 0
	for i := 0; i < n; i++ {
		ping <- v
		v = <-pong
	}
	close(ping)
	if v != n {
		return fmt.Errorf("counter %d after %d round trips", v, n)
	}
	return nil
}

// mpmc: p producers send n values in total (1..=n) over one channel of capacity c, read by
// q consumers; the sum of everything received must be n(n+1)/2. p = q = 1 is SPSC.
func mpmc(n, c, p, q int) error {
	ch := make(chan int, c)
	sums := make(chan int, q)
	for w := 0; w < q; w++ {
		go func() {
			s := 0
			for v := range ch {
				s += v
			}
			sums <- s
		}()
	}
	done := make(chan struct{}, p)
	for w := 0; w < p; w++ {
		go func(w int) {
			// producer w sends w+1, w+1+p, w+1+2p, ... up to n
			for v := w + 1; v <= n; v += p {
				ch <- v
			}
			done <- struct{}{}
		}(w)
	}
	for w := 0; w < p; w++ {
		<-done
	}
	close(ch)
	total := 0
	for w := 0; w < q; w++ {
		total += <-sums
	}
	if want := n * (n + 1) / 2; total != want {
		return fmt.Errorf("sum %d, want %d", total, want)
	}
	return nil
}

// fanInSelect: 4 producers, each on its own channel of capacity 128, n values in total;
// one consumer selects over the 4 channels, setting each to nil once it is closed.
func fanInSelect(n int) error {
	const k = 4
	var chs [k]chan int
	for i := range chs {
		chs[i] = make(chan int, 128)
		go func(i int) {
			for v := i + 1; v <= n; v += k {
				chs[i] <- v
			}
			close(chs[i])
		}(i)
	}
	a, b, c, d := chs[0], chs[1], chs[2], chs[3]
	total, open := 0, k
	for open > 0 {
		select {
		case v, ok := <-a:
			if !ok {
				a = nil
				open--
			}
			total += v
		case v, ok := <-b:
			if !ok {
				b = nil
				open--
			}
			total += v
		case v, ok := <-c:
			if !ok {
				c = nil
				open--
			}
			total += v
		case v, ok := <-d:
			if !ok {
				d = nil
				open--
			}
			total += v
		}
	}
	if want := n * (n + 1) / 2; total != want {
		return fmt.Errorf("sum %d, want %d", total, want)
	}
	return nil
}

// chanPopular: port of BenchmarkChanPopular. 1000 goroutines each select on a shared
// channel that never fires and on their own channel; n rounds of one send to each.
// ns/op is per round (1000 sends), as in Go's benchmark.
func chanPopular(n int) error {
	const k = 1000
	c := make(chan bool)
	done := make(chan int)
	var a []chan bool
	for j := 0; j < k; j++ {
		d := make(chan bool)
		a = append(a, d)
		go func() {
			got := 0
			for i := 0; i < n; i++ {
				select {
				case <-c:
				case <-d:
					got++
				}
			}
			done <- got
		}()
	}
	for i := 0; i < n; i++ {
		for _, d := range a {
			d <- true
		}
	}
	for j := 0; j < k; j++ {
		if got := <-done; got != n {
			return fmt.Errorf("a goroutine received %d, want %d", got, n)
		}
	}
	return nil
}
