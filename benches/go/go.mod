module gocsp/benches/go

go 1.22
