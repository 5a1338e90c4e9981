// Go's test/chan/perm.go: receiving from a send-only channel does not compile.
// In gocsp the direction is the type: a `Sender` has no `recv`.
#[tokio::main]
async fn main() {
    let (tx, _rx) = gocsp::chan::<i32>(1);
    let _ = tx.recv().await;
}
