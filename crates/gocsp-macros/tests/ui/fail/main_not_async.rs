#[gocsp::main]
fn main() {}
