use gocsp::{chan, select};

async fn f() {
    let (_tx, rx) = chan::<u32>(1);
    let ready = true;
    select! {
        recv(rx) -> v => drop(v),
        default(std::time::Duration::from_secs(1)) => {}
    }
    select! {
        recv(rx) -> v => drop(v),
        default -> x => drop(x),
    }
    select! {
        recv(rx) -> v => drop(v),
        default if ready => {}
    }
}

fn main() {
    drop(f());
}
