//! gocsp channels over a real `nats-server` (started per test by `support::server`, on a free
//! loopback port): core and JetStream bridges, their faults, and the peer processes the
//! multi-process tests start. No mocks: a missing `nats-server` fails the tests with a message
//! saying how to install it.

mod core;
mod faults;
mod jetstream;
mod peer;
mod support;
