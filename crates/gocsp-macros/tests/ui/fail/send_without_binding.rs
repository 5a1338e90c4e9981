use gocsp::{chan, select};

async fn f() {
    let (tx, _rx) = chan::<u32>(1);
    select! {
        send(tx, 1) => {}
    }
}

fn main() {
    drop(f());
}
