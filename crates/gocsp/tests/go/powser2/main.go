// Command powser2 is ./powser1 with the coefficients carried as interface values (`any`
// holding a *rat, asserted back on receipt), as Go's test/chan/powser2.go does, and with the
// rest of McIlroy's operations: multiplication by x^n, monomials, shift, the binomial series,
// reciprocal and substitution. The reciprocal and the substitution are series defined in
// terms of themselves, fed back through split.
//
// This program was written for gocsp's differential test (it is not a copy of Go's file).
//
// Rust twin: `powser2` in crates/gocsp/tests/go_differential.rs.
package main

import (
	"fmt"
	"strings"
)

type rat struct{ num, den int64 }

func (r *rat) String() string {
	if r.den == 1 {
		return fmt.Sprint(r.num)
	}
	return fmt.Sprintf("%d/%d", r.num, r.den)
}

// item is what flows on a series' data channel: always a *rat.
type item = any

func gcd(u, v int64) int64 {
	if u < 0 {
		return gcd(-u, v)
	}
	if u == 0 {
		return v
	}
	return gcd(v%u, u)
}

func frac(u, v int64) *rat {
	g := gcd(u, v)
	if v > 0 {
		return &rat{u / g, v / g}
	}
	return &rat{-u / g, -v / g}
}

func whole(u int64) *rat { return frac(u, 1) }

var (
	zero  = whole(0)
	one   = whole(1)
	finis = &rat{1, 0}
)

func isEnd(u *rat) bool { return u.den == 0 }

func add(u, v *rat) *rat {
	g := gcd(u.den, v.den)
	return frac(u.num*(v.den/g)+v.num*(u.den/g), u.den*(v.den/g))
}

func mul(u, v *rat) *rat {
	g1 := gcd(u.num, v.den)
	g2 := gcd(u.den, v.num)
	return &rat{(u.num / g1) * (v.num / g2), (u.den / g2) * (v.den / g1)}
}

func neg(u *rat) *rat    { return frac(-u.num, u.den) }
func sub(u, v *rat) *rat { return add(u, neg(v)) }
func inv(u *rat) *rat    { return frac(u.den, u.num) }
func ratOf(it item) *rat { return it.(*rat) }
func mk() ps             { return ps{make(chan struct{}), make(chan item)} }
func put(c *rat, z ps)   { <-z.req; z.dat <- item(c) }
func get(u ps) *rat      { u.req <- struct{}{}; return ratOf(<-u.dat) }
func subPS(u, v ps) ps   { return addPS(u, cmul(neg(one), v)) }
func xmul(u ps) ps       { return monmul(u, 1) }

type ps struct {
	req chan struct{}
	dat chan item
}

func get2(u, v ps) [2]*rat {
	req := [2]chan struct{}{u.req, v.req}
	dat := [2]chan item{}
	var out [2]item
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
	return [2]*rat{ratOf(out[0]), ratOf(out[1])}
}

func forward(u, z ps) {
	for {
		<-z.req
		z.dat <- get(u)
	}
}

// split: see ../powser1.
func split(u ps) [2]ps {
	out := [2]ps{mk(), mk()}
	first := make(chan struct{})
	go splitGen(u, out, first)
	first <- struct{}{}
	return out
}

func splitGen(u ps, out [2]ps, turn chan struct{}) {
	var fast, slow ps
	older := true
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

func repeat(c *rat) ps {
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

func cmul(c *rat, u ps) ps {
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

// monmul is U * x^n.
func monmul(u ps, n int) ps {
	z := mk()
	go func() {
		for ; n > 0; n-- {
			put(zero, z)
		}
		forward(u, z)
	}()
	return z
}

// mon is the monomial c * x^n (a finite series).
func mon(c *rat, n int) ps {
	z := mk()
	go func() {
		if c.num != 0 {
			for ; n > 0; n-- {
				put(zero, z)
			}
			put(c, z)
		}
		put(finis, z)
	}()
	return z
}

// shift is c + x*U.
func shift(c *rat, u ps) ps {
	z := mk()
	go func() {
		put(c, z)
		forward(u, z)
	}()
	return z
}

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

// binom is (1+x)^c; finite when c is a natural number.
func binom(c *rat) ps {
	z := mk()
	go func() {
		// Coefficient n is c(c-1)...(c-n+1)/n!; for a natural c it is 0 from n = c+1 on.
		t := one
		for n := int64(1); t.num != 0; n++ {
			put(t, z)
			t = mul(mul(t, c), frac(1, n))
			c = sub(c, one)
		}
		put(finis, z)
	}()
	return z
}

// recip is 1/U: with U = u + x*UU and 1/U = z + x*ZZ, z = 1/u and ZZ = -UU*(z + x*ZZ)/u.
func recip(u ps) ps {
	z := mk()
	go func() {
		<-z.req
		r := inv(get(u))
		z.dat <- r
		feedback := mk()
		zz := split(mulPS(cmul(neg(r), u), shift(r, feedback)))
		go forward(zz[0], feedback)
		forward(zz[1], z)
	}()
	return z
}

// subst is U(V) for V with constant term 0: with U = u + x*UU, U(V) = u + VV*UU(V) where
// V = x*VV.
func subst(u, v ps) ps {
	z := mk()
	go func() {
		vv := split(v)
		<-z.req
		x := get(u)
		z.dat <- x
		if isEnd(x) {
			return
		}
		if isEnd(get(vv[0])) {
			put(finis, z)
			return
		}
		forward(mulPS(vv[0], subst(u, vv[1])), z)
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
	printn("Ones", ones, 5)
	printn("Xmul", xmul(ones), 6)
	printn("Monmul 3", monmul(twos, 3), 6)
	printn("Mon 2/3 x^4", mon(frac(2, 3), 4), 10)
	printn("Shift 5", shift(whole(5), twos), 5)
	printn("Binom 3", binom(whole(3)), 10)
	printn("Binom 1/2", binom(frac(1, 2)), 8)
	printn("Binom -1", binom(whole(-1)), 8)
	printn("Mul Binom 3 Twos", mulPS(binom(whole(3)), twos), 6)
	printn("Recip Ones", recip(ones), 8)
	printn("Recip Binom 1/2", recip(binom(frac(1, 2))), 8)
	printn("Subst Ones Xmul Ones", subst(ones, xmul(ones)), 8)
	printn("Subst Binom 1/2 Mon x", subst(binom(frac(1, 2)), mon(one, 1)), 6)
	printn("Sub Ones Ones", subPS(ones, ones), 5)
}
