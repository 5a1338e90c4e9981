use gocsp::{chan, select};

async fn f() {
    let (_tx, rx) = chan::<u32>(1);
    select! {
        recv(rx) -> v => drop(v),
        biased;
        default => {}
    }
}

fn main() {
    drop(f());
}
