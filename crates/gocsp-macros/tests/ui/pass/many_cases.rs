//! Selects with 1, 2, 8 and 64 cases: each case can fire, and the right body runs.
#![deny(warnings)]

use gocsp::{chan, select, Receiver, Sender};

async fn select_1(rxs: &[Receiver<u32>]) -> (usize, Option<u32>) {
    select! {
        recv(rxs[0]) -> v => (0, v),
    }
}

async fn select_2(rxs: &[Receiver<u32>]) -> (usize, Option<u32>) {
    select! {
        recv(rxs[0]) -> v => (0, v),
        recv(rxs[1]) -> v => (1, v),
    }
}

async fn select_8(rxs: &[Receiver<u32>]) -> (usize, Option<u32>) {
    select! {
        recv(rxs[0]) -> v => (0, v),
        recv(rxs[1]) -> v => (1, v),
        recv(rxs[2]) -> v => (2, v),
        recv(rxs[3]) -> v => (3, v),
        recv(rxs[4]) -> v => (4, v),
        recv(rxs[5]) -> v => (5, v),
        recv(rxs[6]) -> v => (6, v),
        recv(rxs[7]) -> v => (7, v),
    }
}

async fn select_64(rxs: &[Receiver<u32>]) -> (usize, Option<u32>) {
    select! {
        recv(rxs[0]) -> v => (0, v),
        recv(rxs[1]) -> v => (1, v),
        recv(rxs[2]) -> v => (2, v),
        recv(rxs[3]) -> v => (3, v),
        recv(rxs[4]) -> v => (4, v),
        recv(rxs[5]) -> v => (5, v),
        recv(rxs[6]) -> v => (6, v),
        recv(rxs[7]) -> v => (7, v),
        recv(rxs[8]) -> v => (8, v),
        recv(rxs[9]) -> v => (9, v),
        recv(rxs[10]) -> v => (10, v),
        recv(rxs[11]) -> v => (11, v),
        recv(rxs[12]) -> v => (12, v),
        recv(rxs[13]) -> v => (13, v),
        recv(rxs[14]) -> v => (14, v),
        recv(rxs[15]) -> v => (15, v),
        recv(rxs[16]) -> v => (16, v),
        recv(rxs[17]) -> v => (17, v),
        recv(rxs[18]) -> v => (18, v),
        recv(rxs[19]) -> v => (19, v),
        recv(rxs[20]) -> v => (20, v),
        recv(rxs[21]) -> v => (21, v),
        recv(rxs[22]) -> v => (22, v),
        recv(rxs[23]) -> v => (23, v),
        recv(rxs[24]) -> v => (24, v),
        recv(rxs[25]) -> v => (25, v),
        recv(rxs[26]) -> v => (26, v),
        recv(rxs[27]) -> v => (27, v),
        recv(rxs[28]) -> v => (28, v),
        recv(rxs[29]) -> v => (29, v),
        recv(rxs[30]) -> v => (30, v),
        recv(rxs[31]) -> v => (31, v),
        recv(rxs[32]) -> v => (32, v),
        recv(rxs[33]) -> v => (33, v),
        recv(rxs[34]) -> v => (34, v),
        recv(rxs[35]) -> v => (35, v),
        recv(rxs[36]) -> v => (36, v),
        recv(rxs[37]) -> v => (37, v),
        recv(rxs[38]) -> v => (38, v),
        recv(rxs[39]) -> v => (39, v),
        recv(rxs[40]) -> v => (40, v),
        recv(rxs[41]) -> v => (41, v),
        recv(rxs[42]) -> v => (42, v),
        recv(rxs[43]) -> v => (43, v),
        recv(rxs[44]) -> v => (44, v),
        recv(rxs[45]) -> v => (45, v),
        recv(rxs[46]) -> v => (46, v),
        recv(rxs[47]) -> v => (47, v),
        recv(rxs[48]) -> v => (48, v),
        recv(rxs[49]) -> v => (49, v),
        recv(rxs[50]) -> v => (50, v),
        recv(rxs[51]) -> v => (51, v),
        recv(rxs[52]) -> v => (52, v),
        recv(rxs[53]) -> v => (53, v),
        recv(rxs[54]) -> v => (54, v),
        recv(rxs[55]) -> v => (55, v),
        recv(rxs[56]) -> v => (56, v),
        recv(rxs[57]) -> v => (57, v),
        recv(rxs[58]) -> v => (58, v),
        recv(rxs[59]) -> v => (59, v),
        recv(rxs[60]) -> v => (60, v),
        recv(rxs[61]) -> v => (61, v),
        recv(rxs[62]) -> v => (62, v),
        recv(rxs[63]) -> v => (63, v),
    }
}

/// Sends to each of `n` channels in turn and checks that exactly its case fires.
async fn check(n: usize) {
    let (txs, rxs): (Vec<Sender<u32>>, Vec<Receiver<u32>>) = (0..n).map(|_| chan(1)).unzip();
    for (i, tx) in txs.iter().enumerate() {
        let v = i as u32 * 10;
        tx.send(v).await.unwrap();
        let got = match n {
            1 => select_1(&rxs).await,
            2 => select_2(&rxs).await,
            8 => select_8(&rxs).await,
            _ => select_64(&rxs).await,
        };
        assert_eq!(got, (i, Some(v)));
    }
}

async fn run() {
    for n in [1, 2, 8, 64] {
        check(n).await;
    }
}

fn main() {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(run());
}
