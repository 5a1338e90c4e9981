// Go's test/chan/perm.go: sending on a receive-only channel does not compile.
// In gocsp the direction is the type: a `Receiver` has no `send`, and `select!` rejects a
// receiver in a `send(..)` case.
#[tokio::main]
async fn main() {
    let (_tx, rx) = gocsp::chan::<i32>(1);
    let _ = rx.send(1).await;
    gocsp::select! {
        send(rx, 2) -> _ => {}
    }
}
