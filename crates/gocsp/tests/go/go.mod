// The Go twins of crates/gocsp/tests/go_differential.rs: one `package main` program per
// directory, run by that test (which builds them with GOTOOLCHAIN=local, GOPROXY=off).
module gocsp.test/differential

go 1.22
