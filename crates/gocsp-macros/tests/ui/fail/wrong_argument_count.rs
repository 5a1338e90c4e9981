use gocsp::{chan, select};

async fn f() {
    let (tx, rx) = chan::<u32>(1);
    select! {
        send(tx) -> res => drop(res),
    }
    select! {
        recv(rx, 1) -> v => drop(v),
    }
    select! {
        fut() => {}
    }
}

fn main() {
    drop(f());
}
