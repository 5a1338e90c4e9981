//! A financial-transaction server, Go style: "do not communicate by sharing memory; share
//! memory by communicating". Transactions flow through authentication → balance check →
//! transfer stages connected by channels, each stage a pool of goroutines; the balances belong
//! to one ledger goroutine that every other goroutine talks to over a channel. A final audit
//! checks that no money appeared or vanished and that every transaction is accounted for.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use gocsp::{chan, go, Receiver, Sender};

use crate::{outln, Out};

/// A transfer request as a client submits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Transaction {
    /// Unique id.
    pub id: u64,
    /// Account debited.
    pub from: u32,
    /// Account credited.
    pub to: u32,
    /// Amount in cents; must be positive.
    pub amount: i64,
    /// The secret of `from`, proving the client may debit it.
    pub token: u64,
}

/// Why a transaction was rejected.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Reason {
    /// The token is not the debited account's secret.
    BadToken,
    /// An account does not exist.
    UnknownAccount,
    /// The amount is zero or negative.
    InvalidAmount,
    /// `from == to`.
    SameAccount,
    /// The balance check found too little money.
    InsufficientFunds,
    /// The money was there at the balance check but gone at transfer time (another
    /// transaction debited the account in between): the ledger re-checks atomically.
    InsufficientFundsAtTransfer,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reason::BadToken => "authentication failed",
            Reason::UnknownAccount => "unknown account",
            Reason::InvalidAmount => "invalid amount",
            Reason::SameAccount => "transfer to the same account",
            Reason::InsufficientFunds => "insufficient funds",
            Reason::InsufficientFundsAtTransfer => "insufficient funds at transfer time",
        })
    }
}

/// What happened to one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Outcome {
    /// The money moved.
    Approved,
    /// The money did not move, for this reason.
    Rejected(Reason),
}

/// Messages to the ledger goroutine, the only owner of the balances.
enum LedgerOp {
    Balance {
        account: u32,
        reply: Sender<Option<i64>>,
    },
    Transfer {
        tx: Transaction,
        reply: Sender<Result<(), Reason>>,
    },
    Snapshot {
        reply: Sender<BTreeMap<u32, i64>>,
    },
}

/// The ledger: owns `balances`; serves requests one at a time, so every transfer is atomic
/// without a lock.
async fn ledger(mut balances: BTreeMap<u32, i64>, ops: Receiver<LedgerOp>) {
    while let Some(op) = ops.recv().await {
        match op {
            LedgerOp::Balance { account, reply } => {
                let _ = reply.send(balances.get(&account).copied()).await;
            }
            LedgerOp::Transfer { tx, reply } => {
                let res = match balances.get(&tx.from) {
                    Some(&b) if b >= tx.amount => {
                        *balances.get_mut(&tx.from).expect("checked") -= tx.amount;
                        *balances.get_mut(&tx.to).expect("authenticated") += tx.amount;
                        Ok(())
                    }
                    _ => Err(Reason::InsufficientFundsAtTransfer),
                };
                let _ = reply.send(res).await;
            }
            LedgerOp::Snapshot { reply } => {
                let _ = reply.send(balances.clone()).await;
            }
        }
    }
}

/// Asks the ledger and waits for its answer over a one-slot reply channel.
async fn ask<R>(ledger: &Sender<LedgerOp>, op: impl FnOnce(Sender<R>) -> LedgerOp) -> R {
    let (reply, answer) = chan(1);
    if ledger.send(op(reply)).await.is_err() {
        panic!("the ledger outlives every stage");
    }
    answer.recv().await.expect("the ledger always answers")
}

/// The secret of an account (a stand-in for real credentials).
pub fn secret(account: u32) -> u64 {
    u64::from(account).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5EED
}

/// Stage 1: authentication and validation.
async fn authenticate(
    input: Receiver<Transaction>,
    next: Sender<Transaction>,
    results: Sender<(Transaction, Outcome)>,
    accounts: std::sync::Arc<HashMap<u32, u64>>,
) {
    while let Some(tx) = input.recv().await {
        let verdict = match (accounts.get(&tx.from), accounts.get(&tx.to)) {
            (Some(&s), Some(_)) if s != tx.token => Err(Reason::BadToken),
            (Some(_), Some(_)) if tx.amount <= 0 => Err(Reason::InvalidAmount),
            (Some(_), Some(_)) if tx.from == tx.to => Err(Reason::SameAccount),
            (Some(_), Some(_)) => Ok(()),
            _ => Err(Reason::UnknownAccount),
        };
        let sent = match verdict {
            Ok(()) => next.send(tx).await.is_ok(),
            Err(r) => results.send((tx, Outcome::Rejected(r))).await.is_ok(),
        };
        if !sent {
            return;
        }
    }
}

/// Stage 2: balance check (early rejection; the ledger re-checks at transfer).
async fn check_balance(
    input: Receiver<Transaction>,
    next: Sender<Transaction>,
    results: Sender<(Transaction, Outcome)>,
    ledger: Sender<LedgerOp>,
) {
    while let Some(tx) = input.recv().await {
        let balance = ask(&ledger, |reply| LedgerOp::Balance {
            account: tx.from,
            reply,
        })
        .await;
        let sent = if balance.unwrap_or(0) < tx.amount {
            let outcome = Outcome::Rejected(Reason::InsufficientFunds);
            results.send((tx, outcome)).await.is_ok()
        } else {
            next.send(tx).await.is_ok()
        };
        if !sent {
            return;
        }
    }
}

/// Stage 3: the transfer itself, done by the ledger.
async fn transfer(
    input: Receiver<Transaction>,
    results: Sender<(Transaction, Outcome)>,
    ledger: Sender<LedgerOp>,
) {
    while let Some(tx) = input.recv().await {
        let res = ask(&ledger, |reply| LedgerOp::Transfer { tx, reply }).await;
        let outcome = match res {
            Ok(()) => Outcome::Approved,
            Err(r) => Outcome::Rejected(r),
        };
        if results.send((tx, outcome)).await.is_err() {
            return;
        }
    }
}

/// A small deterministic pseudo-random generator (so every run is checkable).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

/// `n` transactions between `accounts` accounts, some of them invalid on purpose: bad
/// tokens, unknown accounts, non-positive amounts, self-transfers, overdrafts.
pub fn generate(n: u64, accounts: u32, seed: u64) -> Vec<Transaction> {
    let mut rng = Lcg(seed);
    (1..=n)
        .map(|id| {
            // Account `accounts + 1` does not exist.
            let from = 1 + rng.next(u64::from(accounts) + 1) as u32;
            let to = 1 + rng.next(u64::from(accounts) + 1) as u32;
            let amount = match rng.next(20) {
                0 => -(rng.next(100) as i64),
                _ => 1 + rng.next(40_000) as i64,
            };
            let token = if rng.next(25) == 0 {
                0xBAD
            } else {
                secret(from)
            };
            Transaction {
                id,
                from,
                to,
                amount,
                token,
            }
        })
        .collect()
}

/// The audit's findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    /// Transactions submitted.
    pub submitted: usize,
    /// Transactions approved.
    pub approved: usize,
    /// Rejections by reason.
    pub rejected: BTreeMap<Reason, usize>,
    /// The sum of all balances before.
    pub total_before: i64,
    /// The sum of all balances after.
    pub total_after: i64,
    /// Every id got exactly one outcome.
    pub every_id_once: bool,
    /// The final balances equal the initial ones plus the approved transfers, replayed.
    pub replay_matches: bool,
    /// No balance is negative.
    pub no_overdraft: bool,
}

impl Audit {
    /// Whether every check holds.
    pub fn holds(&self) -> bool {
        self.total_before == self.total_after
            && self.every_id_once
            && self.replay_matches
            && self.no_overdraft
            && self.approved + self.rejected.values().sum::<usize>() == self.submitted
    }
}

/// Runs `txs` through the pipeline from `clients` concurrent client goroutines, with
/// `accounts` accounts of `opening` cents each, and audits the result.
pub async fn run_with(
    out: &Out,
    txs: Vec<Transaction>,
    accounts: u32,
    opening: i64,
    clients: usize,
) -> Audit {
    let balances: BTreeMap<u32, i64> = (1..=accounts).map(|a| (a, opening)).collect();
    let total_before: i64 = balances.values().sum();
    let secrets: std::sync::Arc<HashMap<u32, u64>> =
        std::sync::Arc::new((1..=accounts).map(|a| (a, secret(a))).collect());

    let (ledger_tx, ledger_rx) = chan::<LedgerOp>(64);
    go!(name = "ledger", ledger(balances.clone(), ledger_rx));

    let (submit_tx, submit_rx) = chan::<Transaction>(16);
    let (auth_tx, auth_rx) = chan::<Transaction>(16);
    let (checked_tx, checked_rx) = chan::<Transaction>(16);
    let (results_tx, results) = chan::<(Transaction, Outcome)>(64);
    for i in 0..4 {
        go!(
            name = "authenticate",
            authenticate(
                submit_rx.clone(),
                auth_tx.clone(),
                results_tx.clone(),
                secrets.clone()
            )
        );
        go!(
            name = "check_balance",
            check_balance(
                auth_rx.clone(),
                checked_tx.clone(),
                results_tx.clone(),
                ledger_tx.clone()
            )
        );
        if i < 2 {
            go!(
                name = "transfer",
                transfer(checked_rx.clone(), results_tx.clone(), ledger_tx.clone())
            );
        }
    }
    // Only the stages hold senders now: each channel closes when the stage feeding it is
    // done, so the end of input ripples down to `results`.
    drop((
        auth_tx, checked_tx, results_tx, submit_rx, auth_rx, checked_rx,
    ));

    let submitted = txs.len();
    let per_client = submitted.div_ceil(clients.max(1)).max(1);
    for (c, chunk) in txs.chunks(per_client).enumerate() {
        let (submit, chunk) = (submit_tx.clone(), chunk.to_vec());
        go!(name = format!("client-{c}"), async move {
            for tx in chunk {
                submit
                    .send(tx)
                    .await
                    .expect("the authentication stage is running");
            }
        });
    }
    drop(submit_tx);

    let mut outcomes: HashMap<u64, Vec<Outcome>> = HashMap::new();
    let mut replay = balances;
    let mut approved = 0;
    let mut rejected = BTreeMap::new();
    while let Some((tx, outcome)) = results.recv().await {
        match outcome {
            Outcome::Approved => {
                approved += 1;
                *replay.get_mut(&tx.from).expect("known") -= tx.amount;
                *replay.get_mut(&tx.to).expect("known") += tx.amount;
            }
            Outcome::Rejected(r) => *rejected.entry(r).or_insert(0) += 1,
        }
        outcomes.entry(tx.id).or_default().push(outcome);
    }
    let final_balances = ask(&ledger_tx, |reply| LedgerOp::Snapshot { reply }).await;
    drop(ledger_tx); // the ledger's loop ends

    let total_after: i64 = final_balances.values().sum();
    let audit = Audit {
        submitted,
        approved,
        rejected,
        total_before,
        total_after,
        every_id_once: outcomes.len() == submitted
            && outcomes.values().all(|o| o.len() == 1)
            && txs.iter().all(|t| outcomes.contains_key(&t.id)),
        replay_matches: replay == final_balances,
        no_overdraft: final_balances.values().all(|&b| b >= 0),
    };

    outln!(
        out,
        "{submitted} transactions from {clients} clients, {accounts} accounts of {opening} cents"
    );
    outln!(out, "approved: {approved}");
    for (reason, n) in &audit.rejected {
        outln!(out, "rejected: {n:>5}  {reason}");
    }
    outln!(
        out,
        "money before: {total_before}  after: {total_after}  {}",
        if total_before == total_after {
            "(unchanged)"
        } else {
            "(CHANGED!)"
        }
    );
    outln!(
        out,
        "every transaction accounted for exactly once: {}",
        audit.every_id_once
    );
    outln!(
        out,
        "final balances equal the approved transfers replayed: {}",
        audit.replay_matches
    );
    outln!(out, "no account overdrawn: {}", audit.no_overdraft);
    outln!(
        out,
        "audit {}",
        if audit.holds() { "PASSED" } else { "FAILED" }
    );
    audit
}

/// [`run_with`]: 5,000 transactions from 8 clients over 10 accounts of 100,000 cents.
pub async fn run(out: &Out) -> Audit {
    run_with(out, generate(5_000, 10, 42), 10, 100_000, 8).await
}
