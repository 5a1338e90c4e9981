use gocsp::select;

async fn f() {
    let number = 5_u32;
    select! {
        fut(number) -> v => drop(v),
    }
}

fn main() {
    drop(f());
}
