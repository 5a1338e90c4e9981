// Command tour runs the deterministic parts of the concurrency chapter of the Go tour
// (go.dev/tour/concurrency) and of gocsp's own tour: what they print does not depend on
// scheduling or timing (where a result arrives in a racy order, it is sorted first).
//
// This program was written for gocsp's differential test.
//
// Rust twin: `tour` in crates/gocsp/tests/go_differential.rs.
package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Channels: two goroutines sum halves of a slice.
func sumHalves() {
	s := []int{7, 2, 8, -9, 4, 0}
	sum := func(s []int, c chan<- int) {
		t := 0
		for _, v := range s {
			t += v
		}
		c <- t
	}
	c := make(chan int)
	go sum(s[:len(s)/2], c)
	go sum(s[len(s)/2:], c)
	x, y := <-c, <-c
	fmt.Printf("sum: halves %d and %d, total %d\n", min(x, y), max(x, y), x+y)
}

// Buffered channels.
func buffered() {
	ch := make(chan int, 2)
	ch <- 1
	ch <- 2
	fmt.Printf("buffered: len %d cap %d\n", len(ch), cap(ch))
	select {
	case ch <- 3:
		fmt.Println("buffered: sent a third value?")
	default:
		fmt.Println("buffered: full, the third send would block")
	}
	a := <-ch
	b := <-ch
	fmt.Printf("buffered: %d %d\n", a, b)
}

// Range and close.
func fibonacci(n int, c chan<- int) {
	x, y := 0, 1
	for i := 0; i < n; i++ {
		c <- x
		x, y = y, x+y
	}
	close(c)
}

func rangeClose() {
	c := make(chan int, 10)
	go fibonacci(cap(c), c)
	var got []string
	for i := range c {
		got = append(got, fmt.Sprint(i))
	}
	v, ok := <-c
	fmt.Printf("range: %s; then %d %v\n", strings.Join(got, " "), v, ok)
}

// Select: fibonacci until quit.
func selectFib() {
	c := make(chan int)
	quit := make(chan int)
	done := make(chan []string)
	go func() {
		var got []string
		for i := 0; i < 10; i++ {
			got = append(got, fmt.Sprint(<-c))
		}
		quit <- 0
		done <- got
	}()
	x, y := 0, 1
	for running := true; running; {
		select {
		case c <- x:
			x, y = y, x+y
		case <-quit:
			running = false
		}
	}
	fmt.Printf("select: %s; quit with x = %d\n", strings.Join(<-done, " "), x)
}

// Default selection, without the clock: a nil channel is never ready.
func defaultSelection() {
	var never chan int
	c := make(chan int, 1)
	for i := 0; i < 3; i++ {
		select {
		case v := <-c:
			fmt.Printf("default: received %d\n", v)
		case <-never:
			fmt.Println("default: a nil channel fired?")
		default:
			fmt.Println("default: nothing ready")
			c <- 10 + i
		}
	}
}

// Equivalent binary trees.
type tree struct {
	left  *tree
	value int
	right *tree
}

func insert(t *tree, v int) *tree {
	if t == nil {
		return &tree{nil, v, nil}
	}
	if v < t.value {
		t.left = insert(t.left, v)
	} else {
		t.right = insert(t.right, v)
	}
	return t
}

// newTree holds k, 2k, ..., 10k, inserted in an order that depends on seed.
func newTree(k, seed int) *tree {
	var t *tree
	for i := 0; i < 10; i++ {
		t = insert(t, ((i*seed)%10+1)*k)
	}
	return t
}

func walk(t *tree, ch chan<- int) {
	var rec func(t *tree)
	rec = func(t *tree) {
		if t == nil {
			return
		}
		rec(t.left)
		ch <- t.value
		rec(t.right)
	}
	rec(t)
	close(ch)
}

func same(t1, t2 *tree) bool {
	c1, c2 := make(chan int), make(chan int)
	go walk(t1, c1)
	go walk(t2, c2)
	for {
		v1, ok1 := <-c1
		v2, ok2 := <-c2
		if ok1 != ok2 || v1 != v2 {
			return false
		}
		if !ok1 {
			return true
		}
	}
}

func trees() {
	ch := make(chan int)
	go walk(newTree(1, 3), ch)
	var got []string
	for v := range ch {
		got = append(got, fmt.Sprint(v))
	}
	fmt.Printf("walk: %s\n", strings.Join(got, " "))
	fmt.Printf("same(1, 1): %v, same(1, 2): %v, same(3 seed 7, 3 seed 9): %v\n",
		same(newTree(1, 3), newTree(1, 7)), same(newTree(1, 3), newTree(2, 3)),
		same(newTree(3, 7), newTree(3, 9)))
}

// sync.Mutex: a counter incremented by 1000 goroutines.
func mutexCounter() {
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	for i := 0; i < 1000; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mu.Lock()
			counts["somekey"]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	fmt.Printf("mutex: somekey = %d\n", counts["somekey"])
}

// Web crawler, over a fake fetcher, fetching each URL once, in parallel.
type page struct {
	body string
	urls []string
}

var fetcher = map[string]page{
	"https://golang.org/": {"The Go Programming Language",
		[]string{"https://golang.org/pkg/", "https://golang.org/cmd/"}},
	"https://golang.org/pkg/": {"Packages",
		[]string{"https://golang.org/", "https://golang.org/cmd/",
			"https://golang.org/pkg/fmt/", "https://golang.org/pkg/os/"}},
	"https://golang.org/pkg/fmt/": {"Package fmt",
		[]string{"https://golang.org/", "https://golang.org/pkg/"}},
	"https://golang.org/pkg/os/": {"Package os",
		[]string{"https://golang.org/", "https://golang.org/pkg/"}},
}

func crawler() {
	var mu sync.Mutex
	seen := map[string]bool{}
	var results []string
	var wg sync.WaitGroup
	var crawl func(url string, depth int)
	crawl = func(url string, depth int) {
		defer wg.Done()
		if depth <= 0 {
			return
		}
		mu.Lock()
		if seen[url] {
			mu.Unlock()
			return
		}
		seen[url] = true
		p, ok := fetcher[url]
		if ok {
			results = append(results, fmt.Sprintf("found: %s %q", url, p.body))
		} else {
			results = append(results, fmt.Sprintf("not found: %s", url))
		}
		mu.Unlock()
		for _, u := range p.urls {
			wg.Add(1)
			go crawl(u, depth-1)
		}
	}
	wg.Add(1)
	go crawl("https://golang.org/", 4)
	wg.Wait()
	sort.Strings(results)
	for _, r := range results {
		fmt.Printf("crawl: %s\n", r)
	}
}

// sync.WaitGroup: ten goroutines add 1..10 to a total.
func waitGroup() {
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for i := 1; i <= 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mu.Lock()
			total += i
			mu.Unlock()
		}()
	}
	wg.Wait()
	fmt.Printf("waitgroup: total %d\n", total)
}

// context: cancel one context, every worker watching it stops; a timeout expires.
func contexts() {
	ctx, cancel := context.WithCancel(context.Background())
	results := make(chan string)
	for w := 1; w <= 3; w++ {
		go func() {
			<-ctx.Done()
			results <- fmt.Sprintf("worker %d stopped: %v", w, ctx.Err())
		}()
	}
	child, cancelChild := context.WithCancel(ctx)
	defer cancelChild()
	cancel()
	var got []string
	for i := 0; i < 3; i++ {
		got = append(got, <-results)
	}
	sort.Strings(got)
	for _, r := range got {
		fmt.Printf("context: %s\n", r)
	}
	<-child.Done()
	fmt.Printf("context: child of the cancelled one: %v\n", child.Err())
	tctx, tcancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer tcancel()
	<-tctx.Done()
	fmt.Printf("context: with timeout: %v\n", tctx.Err())
}

// errgroup (golang.org/x/sync/errgroup, written out with the standard library so that the
// program builds offline): the first error cancels the group's context.
func errGroup() {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	var mu sync.Mutex
	stopped := 0
	for _, url := range []string{"/a", "/b", "/broken", "/d", "/e"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if url == "/broken" {
				once.Do(func() {
					first = errors.New("GET " + url + ": 500 Internal Server Error")
					cancel()
				})
				return
			}
			<-ctx.Done()
			mu.Lock()
			stopped++
			mu.Unlock()
		}()
	}
	wg.Wait()
	cancel()
	fmt.Printf("errgroup: wait returned %q; %d others stopped by the cancel\n", first, stopped)
}

func main() {
	sumHalves()
	buffered()
	rangeClose()
	selectFib()
	defaultSelection()
	trees()
	mutexCounter()
	crawler()
	waitGroup()
	contexts()
	errGroup()
}
