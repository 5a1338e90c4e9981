//! The transaction pipeline of [`transactions`](crate::transactions) across processes: the
//! authentication, balance-check and transfer stages each run in a process of their own,
//! connected by JetStream channels (`gocsp::nats::jetstream`). The ledger (the bank's book) and
//! the audit stay in the coordinating process, which starts the stages, kills one of them with
//! `SIGKILL` mid-run, restarts it, and checks that the audit still balances.
//!
//! Why nothing is lost or applied twice:
//! - a stage takes each transaction as a [`Delivery`](gocsp::nats::jetstream::Delivery) and
//!   acknowledges it only after its output is stored downstream, so a killed stage's
//!   unfinished work is redelivered to its restarted self;
//! - every output is published with a message id derived from the transaction id, so the
//!   output of a redelivered (and so re-processed) transaction is stored once;
//! - the ledger applies a transfer at most once per transaction id and answers a repeated
//!   request with the recorded outcome.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{pull, AckPolicy};
use async_nats::jetstream::{self as js, stream};
use futures_util::StreamExt;
use gocsp::nats::jetstream::{self, JetStreamSender};
use gocsp::nats::Json;
use gocsp::{chan, go, Receiver, Sender};

use crate::transactions::{generate, secret, Outcome, Reason, Transaction};
use crate::{outln, Out};

/// The stream every stage's channel lives in.
pub const STREAM: &str = "TXN";
/// The stages, in pipeline order; each is a process and a durable consumer of this name.
pub const STAGES: [&str; 3] = ["auth", "balance", "transfer"];
const SUBMITTED: &str = "txn.submitted";
const AUTHENTICATED: &str = "txn.authenticated";
const CHECKED: &str = "txn.checked";
const RESULTS: &str = "txn.results";
/// How long a killed stage's unacknowledged transactions wait before redelivery.
const ACK_WAIT: Duration = Duration::from_secs(2);
/// Goroutines per stage process, all receiving from the stage's one JetStream receiver.
const WORKERS: usize = 4;

/// What one run does.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Transactions submitted.
    pub transactions: u64,
    /// Accounts, each opened with `opening` cents.
    pub accounts: u32,
    /// Opening balance of every account, in cents.
    pub opening: i64,
    /// The stage killed with `SIGKILL` and restarted, if any.
    pub kill: Option<&'static str>,
    /// How many results the audit has seen when the kill comes.
    pub kill_after: usize,
    /// How long the run may take before the audit gives up waiting.
    pub limit: Duration,
}

impl Default for Settings {
    /// 5,000 transactions over 10 accounts of 100,000 cents; the transfer stage is killed
    /// after 1,500 results.
    fn default() -> Self {
        Settings {
            transactions: 5_000,
            accounts: 10,
            opening: 100_000,
            kill: Some("transfer"),
            kill_after: 1_500,
            limit: Duration::from_secs(120),
        }
    }
}

/// The audit's findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistributedAudit {
    /// Transactions submitted.
    pub submitted: usize,
    /// Transactions with an outcome.
    pub accounted: usize,
    /// Transactions approved.
    pub approved: usize,
    /// Rejections by reason.
    pub rejected: BTreeMap<Reason, usize>,
    /// The sum of all balances before.
    pub total_before: i64,
    /// The sum of all balances after.
    pub total_after: i64,
    /// Results stored more than once (a stage re-processed a redelivered transaction and the
    /// stream's de-duplication did not catch it); all copies must agree.
    pub duplicate_results: usize,
    /// Every copy of a transaction's result carries the same outcome.
    pub duplicates_agree: bool,
    /// Transactions a stage process received again (the killed stage's unfinished work), per
    /// stage, as the stage processes report them.
    pub redelivered: BTreeMap<String, usize>,
    /// The final balances equal the initial ones plus the approved transfers, replayed.
    pub replay_matches: bool,
    /// No balance is negative.
    pub no_overdraft: bool,
    /// The stage that was killed and restarted, and when.
    pub killed: Option<String>,
}

impl DistributedAudit {
    /// Whether every check holds.
    pub fn holds(&self) -> bool {
        self.accounted == self.submitted
            && self.total_before == self.total_after
            && self.duplicates_agree
            && self.replay_matches
            && self.no_overdraft
            && self.approved + self.rejected.values().sum::<usize>() == self.submitted
    }
}

/// Requests to the ledger goroutine, the only owner of the balances.
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

/// The ledger: owns `balances`, serves one request at a time (so a transfer is atomic), and
/// remembers each transfer's outcome by transaction id (so a repeated request is answered, not
/// applied again).
async fn ledger(mut balances: BTreeMap<u32, i64>, ops: Receiver<LedgerOp>) {
    let mut done: HashMap<u64, Result<(), Reason>> = HashMap::new();
    while let Some(op) = ops.recv().await {
        match op {
            LedgerOp::Balance { account, reply } => {
                let _ = reply.send(balances.get(&account).copied()).await;
            }
            LedgerOp::Transfer { tx, reply } => {
                let res = *done
                    .entry(tx.id)
                    .or_insert_with(|| match balances.get(&tx.from) {
                        Some(&b) if b >= tx.amount => {
                            *balances.get_mut(&tx.from).expect("checked") -= tx.amount;
                            *balances.get_mut(&tx.to).expect("authenticated") += tx.amount;
                            Ok(())
                        }
                        _ => Err(Reason::InsufficientFundsAtTransfer),
                    });
                let _ = reply.send(res).await;
            }
            LedgerOp::Snapshot { reply } => {
                let _ = reply.send(balances.clone()).await;
            }
        }
    }
}

async fn ask<R>(ledger: &Sender<LedgerOp>, op: impl FnOnce(Sender<R>) -> LedgerOp) -> R {
    let (reply, answer) = chan(1);
    if ledger.send(op(reply)).await.is_err() {
        panic!("the ledger outlives the run");
    }
    answer.recv().await.expect("the ledger always answers")
}

/// Serves the ledger to the stage processes: NATS requests on `txn-ledger.*` become
/// [`LedgerOp`]s on the ledger's channel, and the answers go back to each request's reply
/// subject. Request/reply is a remote procedure call, not a channel, so it uses async-nats's
/// subscription directly.
async fn serve_ledger(client: async_nats::Client, ledger: Sender<LedgerOp>) {
    let mut requests = client
        .subscribe("txn-ledger.*")
        .await
        .expect("subscribe to ledger requests");
    while let Some(msg) = requests.next().await {
        let Some(reply_to) = msg.reply.clone() else {
            continue;
        };
        let answer = match msg.subject.as_str() {
            "txn-ledger.balance" => {
                let account: u32 = serde_json::from_slice(&msg.payload).expect("an account");
                let balance = ask(&ledger, |reply| LedgerOp::Balance { account, reply }).await;
                serde_json::to_vec(&balance)
            }
            "txn-ledger.transfer" => {
                let tx: Transaction = serde_json::from_slice(&msg.payload).expect("a transaction");
                let res = ask(&ledger, |reply| LedgerOp::Transfer { tx, reply }).await;
                serde_json::to_vec(&res)
            }
            other => panic!("unknown ledger request {other}"),
        };
        let _ = client
            .publish(reply_to, answer.expect("encodes").into())
            .await;
    }
}

/// A stage process's request to the ledger, retried until answered (the ledger is idempotent
/// per transaction, so a retry is harmless).
async fn ledger_request<Q: serde::Serialize, A: serde::de::DeserializeOwned>(
    client: &async_nats::Client,
    subject: &'static str,
    request: &Q,
) -> A {
    let payload = serde_json::to_vec(request).expect("encodes");
    loop {
        match client.request(subject, payload.clone().into()).await {
            Ok(msg) => return serde_json::from_slice(&msg.payload).expect("a ledger answer"),
            Err(_) => gocsp::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Sends until the stream has stored the value (a failed publish hands it back; the message id
/// makes a resend harmless).
async fn store<T>(tx: &JetStreamSender<T, Json>, mut value: T)
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    loop {
        match tx.send(value).await {
            Ok(_) => return,
            Err(gocsp::SendError(back)) => {
                value = back;
                gocsp::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Authentication and validation: the checks of the in-process pipeline.
fn authenticate(tx: &Transaction, accounts: u32) -> Result<(), Reason> {
    let known = |a: u32| (1..=accounts).contains(&a);
    if !known(tx.from) || !known(tx.to) {
        Err(Reason::UnknownAccount)
    } else if secret(tx.from) != tx.token {
        Err(Reason::BadToken)
    } else if tx.amount <= 0 {
        Err(Reason::InvalidAmount)
    } else if tx.from == tx.to {
        Err(Reason::SameAccount)
    } else {
        Ok(())
    }
}

/// One stage process: takes transactions from its durable consumer, does its step, stores the
/// output (the next stage's channel, or the results), and only then acknowledges. Runs until
/// the process is killed.
///
/// # Panics
///
/// When `name` is not one of [`STAGES`], or the stream and consumers do not exist.
pub async fn stage(name: &str, url: &str, accounts: u32) {
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connect(url)
        .await
        .expect("connect");
    let js = js::new(client.clone());
    let consumer: js::consumer::PullConsumer = js
        .get_stream(STREAM)
        .await
        .expect("the coordinator created the stream")
        .get_consumer(name)
        .await
        .expect("the coordinator created the consumer");
    let input = jetstream::deliveries::<Transaction>(&consumer)
        .await
        .expect("bind the consumer");
    let next_subject = match name {
        "auth" => Some(AUTHENTICATED),
        "balance" => Some(CHECKED),
        "transfer" => None,
        other => panic!("unknown stage {other}"),
    };
    let stage_name = name.to_string();
    let next = next_subject.map(|s| {
        let stage_name = stage_name.clone();
        jetstream::sender::<Transaction>(&js, s)
            .with_msg_id(move |tx| format!("{stage_name}-{}", tx.id))
    });
    let results = jetstream::sender::<(Transaction, Outcome)>(&js, RESULTS)
        .with_msg_id(|(tx, _)| format!("result-{}", tx.id));

    let workers: Vec<_> = (0..WORKERS)
        .map(|i| {
            let (input, next, results, client) =
                (input.clone(), next.clone(), results.clone(), client.clone());
            let stage_name = stage_name.clone();
            go!(name = format!("{stage_name}-{i}"), async move {
                while let Some(d) = input.recv().await {
                    let tx = *d.value();
                    if d.delivered() > 1 {
                        // Work a killed predecessor took and did not finish: tell the
                        // coordinator, which counts these lines.
                        println!("redelivered {} {}", tx.id, d.delivered());
                    }
                    let verdict = match stage_name.as_str() {
                        "auth" => authenticate(&tx, accounts),
                        "balance" => {
                            let balance: Option<i64> =
                                ledger_request(&client, "txn-ledger.balance", &tx.from).await;
                            if balance.unwrap_or(0) < tx.amount {
                                Err(Reason::InsufficientFunds)
                            } else {
                                Ok(())
                            }
                        }
                        _ => ledger_request(&client, "txn-ledger.transfer", &tx).await,
                    };
                    match (verdict, &next) {
                        (Ok(()), Some(next)) => store(next, tx).await,
                        (Ok(()), None) => store(&results, (tx, Outcome::Approved)).await,
                        (Err(r), _) => store(&results, (tx, Outcome::Rejected(r))).await,
                    }
                    // Only now is the transaction done here: a kill before this line makes
                    // the server deliver it again.
                    let _ = d.ack().await;
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.await;
    }
}

/// A stage process's `main`: `args` are what [`run_with`] passes to `launch` (stage, server
/// URL, number of accounts).
///
/// # Panics
///
/// On arguments [`run_with`] did not make.
pub async fn stage_main(args: &[String]) {
    let [name, url, accounts] = args else {
        panic!("stage arguments: <stage> <url> <accounts>, got {args:?}");
    };
    stage(name, url, accounts.parse().expect("a number of accounts")).await;
}

/// Kills its process with `SIGKILL` when dropped.
struct StageProcess(Child);

/// Counts the `redelivered` lines a stage process prints, on a thread of its own.
fn count_redeliveries(
    child: &mut Child,
    stage: &str,
    counts: &Arc<Mutex<BTreeMap<String, usize>>>,
) {
    let Some(stdout) = child.stdout.take() else {
        return;
    };
    let (stage, counts) = (stage.to_string(), counts.clone());
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.starts_with("redelivered ") {
                *counts
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(stage.clone())
                    .or_default() += 1;
            }
        }
    });
}

impl Drop for StageProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the pipeline against the server at `url`: creates the stream and the consumers, starts
/// the ledger, starts each stage process with `launch(args)` — a command that calls
/// [`stage_main`] with these `args` (stage, server URL, accounts) — submits the transactions,
/// kills and restarts `settings.kill` mid-run, and audits the results.
pub async fn run_with(
    out: &Out,
    url: &str,
    launch: &dyn Fn(&[String]) -> Command,
    settings: &Settings,
) -> DistributedAudit {
    let client = async_nats::connect(url).await.expect("connect");
    let js = js::new(client.clone());
    let _ = js.delete_stream(STREAM).await; // a fresh run on a reused server
    js.create_stream(stream::Config {
        name: STREAM.into(),
        subjects: vec!["txn.>".into()],
        ..Default::default()
    })
    .await
    .expect("create the stream");
    let mut consumers = HashMap::new();
    for (name, subject) in [
        ("auth", SUBMITTED),
        ("balance", AUTHENTICATED),
        ("transfer", CHECKED),
        ("audit", RESULTS),
    ] {
        let consumer = js
            .get_stream(STREAM)
            .await
            .expect("stream")
            .create_consumer(pull::Config {
                durable_name: Some(name.into()),
                filter_subject: subject.into(),
                ack_policy: AckPolicy::Explicit,
                ack_wait: ACK_WAIT,
                ..Default::default()
            })
            .await
            .expect("create a consumer");
        consumers.insert(name, consumer);
    }

    let balances: BTreeMap<u32, i64> = (1..=settings.accounts)
        .map(|a| (a, settings.opening))
        .collect();
    let total_before: i64 = balances.values().sum();
    let (ledger_tx, ledger_rx) = chan::<LedgerOp>(64);
    go!(name = "ledger", ledger(balances.clone(), ledger_rx));
    go!(
        name = "ledger-server",
        serve_ledger(client.clone(), ledger_tx.clone())
    );
    client.flush().await.expect("flush");

    let redeliveries: Arc<Mutex<BTreeMap<String, usize>>> = Arc::new(Mutex::new(
        STAGES.iter().map(|s| (s.to_string(), 0)).collect(),
    ));
    let spawn = |stage: &str| {
        let args = [
            stage.to_string(),
            url.to_string(),
            settings.accounts.to_string(),
        ];
        let mut child = launch(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start a stage process");
        count_redeliveries(&mut child, stage, &redeliveries);
        StageProcess(child)
    };
    let mut processes: HashMap<&str, StageProcess> =
        STAGES.iter().map(|&s| (s, spawn(s))).collect();
    outln!(
        out,
        "stages {} started as processes {:?}",
        STAGES.join(" → "),
        STAGES.map(|s| processes[s].0.id())
    );

    let txs = generate(settings.transactions, settings.accounts, 42);
    let submit = jetstream::sender::<Transaction>(&js, SUBMITTED)
        .with_msg_id(|tx| format!("submitted-{}", tx.id));
    let per_client = txs.len().div_ceil(8).max(1);
    for (c, chunk) in txs.chunks(per_client).enumerate() {
        let (submit, chunk) = (submit.clone(), chunk.to_vec());
        go!(name = format!("client-{c}"), async move {
            for tx in chunk {
                store(&submit, tx).await;
            }
        });
    }

    let results = jetstream::receiver::<(Transaction, Outcome)>(&consumers["audit"])
        .await
        .expect("bind the audit consumer");
    let mut outcomes: HashMap<u64, Vec<Outcome>> = HashMap::new();
    let mut killed = None;
    let deadline = Instant::now() + settings.limit;
    while outcomes.len() < txs.len() {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            outln!(
                out,
                "gave up waiting: {} of {} accounted for",
                outcomes.len(),
                txs.len()
            );
            break;
        };
        let Ok(Some((tx, outcome))) = tokio::time::timeout(left, results.recv()).await else {
            continue;
        };
        outcomes.entry(tx.id).or_default().push(outcome);
        if let (Some(stage), None) = (settings.kill, &killed) {
            if outcomes.len() >= settings.kill_after {
                let pid = processes[stage].0.id();
                drop(processes.remove(stage)); // SIGKILL, mid-run
                outln!(
                    out,
                    "killed stage {stage} (pid {pid}, SIGKILL) after {} results; restarting it",
                    outcomes.len()
                );
                processes.insert(stage, spawn(stage));
                killed = Some(stage.to_string());
            }
        }
    }
    drop(processes);

    let final_balances = ask(&ledger_tx, |reply| LedgerOp::Snapshot { reply }).await;
    let mut replay = balances;
    let (mut approved, mut rejected, mut duplicate_results) = (0, BTreeMap::new(), 0);
    let mut duplicates_agree = true;
    for (tx, seen) in txs
        .iter()
        .filter_map(|t| outcomes.get(&t.id).map(|o| (t, o)))
    {
        duplicate_results += seen.len() - 1;
        duplicates_agree &= seen.iter().all(|o| *o == seen[0]);
        match seen[0] {
            Outcome::Approved => {
                approved += 1;
                *replay.get_mut(&tx.from).expect("known") -= tx.amount;
                *replay.get_mut(&tx.to).expect("known") += tx.amount;
            }
            Outcome::Rejected(r) => *rejected.entry(r).or_insert(0) += 1,
        }
    }
    let redelivered = redeliveries
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let total_after: i64 = final_balances.values().sum();
    let audit = DistributedAudit {
        submitted: txs.len(),
        accounted: outcomes.len(),
        approved,
        rejected,
        total_before,
        total_after,
        duplicate_results,
        duplicates_agree,
        redelivered,
        replay_matches: replay == final_balances,
        no_overdraft: final_balances.values().all(|&b| b >= 0),
        killed,
    };

    outln!(
        out,
        "{} transactions, {} accounts of {} cents",
        audit.submitted,
        settings.accounts,
        settings.opening
    );
    outln!(out, "approved: {}", audit.approved);
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
        "accounted for: {} of {}; duplicate results: {} (identical: {})",
        audit.accounted,
        audit.submitted,
        audit.duplicate_results,
        audit.duplicates_agree
    );
    outln!(
        out,
        "redelivered after the kill, per stage: {:?}",
        audit.redelivered
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
