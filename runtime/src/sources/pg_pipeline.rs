//! Statements of concurrent calls sent together on one shared Postgres connection.
//!
//! tokio-postgres writes all the statements waiting on a connection in one write whenever its
//! connection task runs. But tokio runs a task woken by the running one next (its "LIFO slot"):
//! the connection task, woken by the first call that queues a statement, runs as soon as that
//! call waits for its answer, and writes that one statement alone. So without help, calls on a
//! shared connection cost one system call each (and one wake-up of the Postgres backend), as if
//! nothing were pipelined. A [`Pipeline`] gathers the statements of the calls that run in the same
//! scheduler round and starts them all from one task, after that round: they go out in one write,
//! and the backend reads them in one read. Under no load the round is empty and a statement goes
//! out at once.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;

use tokio::sync::{oneshot, Notify};
use tokio_postgres::RowStream;

use super::lock;

/// A statement not yet sent: its first poll queues it on the connection, the later ones wait
/// for its answer.
pub type Statement = Pin<Box<dyn Future<Output = Result<RowStream, tokio_postgres::Error>> + Send>>;

/// The statements of one connection waiting to go out together.
pub struct Pipeline {
    shared: Arc<Shared>,
}

struct Shared {
    queue: Mutex<Vec<(Statement, oneshot::Sender<Sent>)>>,
    /// A statement was queued (or the pipeline closed).
    queued: Notify,
    /// The sending task was started (on the first statement).
    running: AtomicBool,
    closed: AtomicBool,
    /// The most statements sent in one round so far.
    widest: AtomicUsize,
}

/// A statement after its first poll: answered already (an error), or waiting for its answer.
enum Sent {
    Done(Result<RowStream, tokio_postgres::Error>),
    Waiting(Statement),
}

impl Default for Pipeline {
    fn default() -> Pipeline {
        Pipeline {
            shared: Arc::new(Shared {
                queue: Mutex::new(Vec::new()),
                queued: Notify::new(),
                running: AtomicBool::new(false),
                closed: AtomicBool::new(false),
                widest: AtomicUsize::new(0),
            }),
        }
    }
}

impl Pipeline {
    /// The most statements sent together in one round so far.
    pub fn widest(&self) -> usize {
        self.shared.widest.load(Ordering::Relaxed)
    }

    /// Send `statement` with the others of this round and wait for its first answer. `None`
    /// when the pipeline stopped before sending it (its connection is being dropped).
    pub async fn send(
        &self,
        statement: Statement,
    ) -> Option<Result<RowStream, tokio_postgres::Error>> {
        let (reply, sent) = oneshot::channel();
        let start = {
            let mut queue = lock(&self.shared.queue);
            queue.push((statement, reply));
            !self.shared.running.swap(true, Ordering::AcqRel)
        };
        if start {
            tokio::spawn(send_rounds(Arc::clone(&self.shared)));
        }
        self.shared.queued.notify_one();
        match sent.await.ok()? {
            Sent::Done(result) => Some(result),
            Sent::Waiting(statement) => Some(statement.await),
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.queued.notify_one();
    }
}

/// The sending task of one connection: once a statement is queued, wait for the rest of the
/// scheduler round (the other calls running now queue theirs), then start every queued
/// statement in one go and hand each back to its call to wait for its answer there.
async fn send_rounds(shared: Arc<Shared>) {
    let shared = Stopped(shared);
    loop {
        shared.queued.notified().await;
        if shared.closed.load(Ordering::Acquire) {
            break;
        }
        tokio::task::yield_now().await;
        let queued = std::mem::take(&mut *lock(&shared.queue));
        shared.widest.fetch_max(queued.len(), Ordering::Relaxed);
        for (mut statement, reply) in queued {
            // the first poll puts the statement on the connection's queue; the connection task
            // runs after this one and writes them all
            let sent = match futures::poll!(statement.as_mut()) {
                Poll::Ready(result) => Sent::Done(result),
                Poll::Pending => Sent::Waiting(statement),
            };
            // a call that went away drops its statement (tokio-postgres skips its answer)
            let _ = reply.send(sent);
        }
    }
}

/// When the sending task ends (the pipeline closed, or its runtime shut down), the calls still
/// waiting learn that their statement was not sent, and the next one starts the task anew.
struct Stopped(Arc<Shared>);

impl std::ops::Deref for Stopped {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        let queued = {
            let mut queue = lock(&self.0.queue);
            self.0.running.store(false, Ordering::Release);
            std::mem::take(&mut *queue)
        };
        drop(queued);
    }
}
