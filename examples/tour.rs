//! The tour (being written).
fn main() {}
