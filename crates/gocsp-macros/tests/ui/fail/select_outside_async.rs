use gocsp::{chan, select};

fn f() {
    let (_tx, rx) = chan::<u32>(1);
    select! {
        recv(rx) -> v => drop(v),
    }
}

fn main() {
    f();
}
