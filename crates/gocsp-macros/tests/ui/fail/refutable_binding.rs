use gocsp::{chan, select};

async fn f() {
    let (_tx, rx) = chan::<u32>(1);
    select! {
        recv(rx) -> Some(v) => drop(v),
    }
}

fn main() {
    drop(f());
}
