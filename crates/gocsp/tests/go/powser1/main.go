// Command powser1 prints the leading terms of power series computed the way Doug McIlroy's
// "Squinting at Power Series" does, and Go's test/chan/powser1.go after it: a power series
// is a goroutine that produces one rational coefficient per demand. A demand is a send on
// the series' req channel; the coefficient comes back on its dat channel (both unbuffered).
// A coefficient with denominator 0 marks the end of a finite series.
//
// This program was written for gocsp's differential test (it is not a copy of Go's file);
// it prints, where Go's test only checks.
//
// Rust twin: `powser1` in crates/gocsp/tests/go_differential.rs.
package main

import (
	"fmt"
	"strings"
)

type rat struct{ num, den int64 }

func (r rat) String() string {
	if r.den == 1 {
		return fmt.Sprint(r.num)
	}
	return fmt.Sprintf("%d/%d", r.num, r.den)
}

func gcd(u, v int64) int64 {
	if u < 0 {
		return gcd(-u, v)
	}
	if u == 0 {
		return v
	}
	return gcd(v%u, u)
}

func frac(u, v int64) rat {
	g := gcd(u, v)
	if v > 0 {
		return rat{u / g, v / g}
	}
	return rat{-u / g, -v / g}
}

func whole(u int64) rat { return frac(u, 1) }

var (
	zero  = whole(0)
	one   = whole(1)
	finis = rat{1, 0}
)

func isEnd(u rat) bool { return u.den == 0 }

func add(u, v rat) rat {
	g := gcd(u.den, v.den)
	return frac(u.num*(v.den/g)+v.num*(u.den/g), u.den*(v.den/g))
}

func mul(u, v rat) rat {
	g1 := gcd(u.num, v.den)
	g2 := gcd(u.den, v.num)
	return rat{(u.num / g1) * (v.num / g2), (u.den / g2) * (v.den / g1)}
}

func neg(u rat) rat { return frac(-u.num, u.den) }

// ps is a power series: demand a coefficient on req, receive it on dat.
type ps struct {
	req chan struct{}
	dat chan rat
}

func mk() ps { return ps{make(chan struct{}), make(chan rat)} }

// get demands and receives the next coefficient of u.
func get(u ps) rat {
	u.req <- struct{}{}
	return <-u.dat
}

// put waits for a demand on z and answers it with c.
func put(c rat, z ps) {
	<-z.req
	z.dat <- c
}

// get2 gets one coefficient from each of u and v, serving them in whatever order they are
// ready: a nil channel disables its select case.
func get2(u, v ps) [2]rat {
	req := [2]chan struct{}{u.req, v.req}
	dat := [2]chan rat{}
	var out [2]rat
	for n := 0; n < 4; n++ {
		select {
		case req[0] <- struct{}{}:
			req[0], dat[0] = nil, u.dat
		case req[1] <- struct{}{}:
			req[1], dat[1] = nil, v.dat
		case out[0] = <-dat[0]:
			dat[0] = nil
		case out[1] = <-dat[1]:
			dat[1] = nil
		}
	}
	return out
}

// forward answers every demand on z with the next coefficient of u.
func forward(u, z ps) {
	for {
		<-z.req
		z.dat <- get(u)
	}
}

// split makes two series that both read like u; each coefficient is fetched from u once.
// One goroutine per coefficient: generation k fetches coefficient k at the first demand on
// either output, answers it, starts generation k+1, and holds the coefficient until the
// other output has asked for it too. Generation k+1 may answer the faster output early, but
// the slower output is served only once generation k has let go (signal on release).
func split(u ps) [2]ps {
	out := [2]ps{mk(), mk()}
	first := make(chan struct{})
	go splitGen(u, out, first)
	first <- struct{}{}
	return out
}

func splitGen(u ps, out [2]ps, turn chan struct{}) {
	var fast, slow ps
	older := true // the previous generation still holds a coefficient for one output
	select {
	case <-out[0].req:
		fast, slow = out[0], out[1]
	case <-turn:
		older = false
		select {
		case <-out[0].req:
			fast, slow = out[0], out[1]
		case <-out[1].req:
			fast, slow = out[1], out[0]
		}
	}
	c := get(u)
	release := make(chan struct{})
	go splitGen(u, [2]ps{fast, slow}, release)
	fast.dat <- c
	if older {
		<-turn
	}
	<-slow.req
	slow.dat <- c
	release <- struct{}{}
}

// repeat is the series c, c, c, ...
func repeat(c rat) ps {
	z := mk()
	go func() {
		for {
			put(c, z)
		}
	}()
	return z
}

func addPS(u, v ps) ps {
	z := mk()
	go func() {
		for {
			<-z.req
			uv := get2(u, v)
			switch {
			case !isEnd(uv[0]) && !isEnd(uv[1]):
				z.dat <- add(uv[0], uv[1])
			case !isEnd(uv[0]):
				z.dat <- uv[0]
				forward(u, z)
			case !isEnd(uv[1]):
				z.dat <- uv[1]
				forward(v, z)
			default:
				z.dat <- finis
			}
		}
	}()
	return z
}

func cmul(c rat, u ps) ps {
	z := mk()
	go func() {
		for {
			<-z.req
			x := get(u)
			if isEnd(x) {
				z.dat <- finis
				return
			}
			z.dat <- mul(c, x)
		}
	}()
	return z
}

func subPS(u, v ps) ps { return addPS(u, cmul(neg(one), v)) }

// mulPS: with U = u + x*UU and V = v + x*VV, UV = u*v + x*(u*VV + v*UU) + x*x*UU*VV.
func mulPS(u, v ps) ps {
	z := mk()
	go func() {
		<-z.req
		uv := get2(u, v)
		if isEnd(uv[0]) || isEnd(uv[1]) {
			z.dat <- finis
			return
		}
		z.dat <- mul(uv[0], uv[1])
		uu, vv := split(u), split(v)
		w := addPS(cmul(uv[0], vv[0]), cmul(uv[1], uu[0]))
		<-z.req
		z.dat <- get(w)
		forward(addPS(w, mulPS(uu[1], vv[1])), z)
	}()
	return z
}

func diff(u ps) ps {
	z := mk()
	go func() {
		<-z.req
		if !isEnd(get(u)) {
			for i := int64(1); ; i++ {
				x := get(u)
				if isEnd(x) {
					break
				}
				z.dat <- mul(whole(i), x)
				<-z.req
			}
		}
		z.dat <- finis
	}()
	return z
}

func integ(c rat, u ps) ps {
	z := mk()
	go func() {
		put(c, z)
		for i := int64(1); ; i++ {
			<-z.req
			x := get(u)
			if isEnd(x) {
				z.dat <- finis
				return
			}
			z.dat <- mul(frac(1, i), x)
		}
	}()
	return z
}

// exp of a series with constant term 0: Z = exp(U) satisfies Z' = Z*U', so Z is the
// integral of Z*U' with constant 1 -- a series defined in terms of itself, through split.
func exp(u ps) ps {
	feedback := mk()
	z := integ(one, mulPS(feedback, diff(u)))
	zz := split(z)
	go forward(zz[0], feedback)
	return zz[1]
}

// monSubst is U(c*x^n): coefficient i is multiplied by c^i and followed by n-1 zeros.
func monSubst(u ps, c rat, n int) ps {
	z := mk()
	go func() {
		ci := one
		for {
			<-z.req
			x := get(u)
			if isEnd(x) {
				z.dat <- finis
				return
			}
			z.dat <- mul(x, ci)
			ci = mul(ci, c)
			for i := 1; i < n; i++ {
				put(zero, z)
			}
		}
	}()
	return z
}

func printn(name string, u ps, n int) {
	var terms []string
	for ; n > 0; n-- {
		x := get(u)
		if isEnd(x) {
			terms = append(terms, "end")
			break
		}
		terms = append(terms, x.String())
	}
	fmt.Printf("%s: %s\n", name, strings.Join(terms, " "))
}

func main() {
	ones := repeat(one)
	twos := repeat(whole(2))
	printn("Ones", ones, 10)
	printn("Twos", twos, 10)
	printn("Add", addPS(ones, twos), 10)
	printn("Diff", diff(ones), 10)
	printn("Integ", integ(zero, ones), 10)
	printn("CMul", cmul(neg(one), ones), 10)
	printn("Sub", subPS(ones, twos), 10)
	printn("Mul", mulPS(ones, ones), 10)
	printn("Exp", exp(ones), 15)
	printn("MonSubst", monSubst(ones, neg(one), 2), 10)
	printn("ATan", integ(zero, monSubst(ones, neg(one), 2)), 10)
	printn("Mul (Ones-1) Twos", mulPS(subPS(ones, monSubst(ones, zero, 1)), twos), 6)
}
