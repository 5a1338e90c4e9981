use gocsp::{chan, select};

async fn f() {
    let (tx, _rx) = chan::<u32>(1);
    select! {
        send(tx, "not a number") -> res => drop(res),
    }
}

fn main() {
    drop(f());
}
