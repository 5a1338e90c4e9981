use gocsp::{chan, select};

async fn f() {
    let (tx, rx) = chan::<u32>(1);
    let number = 5_u32;
    select! {
        recv(number) -> v => drop(v),
        send(tx, 1) -> res => drop(res),
    }
    select! {
        recv(rx) -> v => drop(v),
        send(vec![1_u32], 1) -> res => drop(res),
    }
}

fn main() {
    drop(f());
}
