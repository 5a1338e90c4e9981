//! `WaitQueue`: one of a channel's queues of waiters (`recvq`, `sendq`, `claimed`), and the
//! only code that touches its entries' order.
//!
//! A queue holds entries in arrival order, each with an id unique within its channel. Its
//! owner (`State`, under the channel lock) pushes entries, finds them again by id, removes
//! them, and takes the first entry it can *claim* (`Who::try_claim`): a `Task` always, a
//! select's case only if it wins the select. Entries met on the way that match but cannot be
//! claimed belong to selects that another channel won or that were dropped; the queue drops
//! them (they are stale, and nobody else will look for them: their select removes its entries
//! by id and finds them gone).

use std::collections::VecDeque;

use crate::waiters::{RecvWaiter, SendWaiter, Who};

/// What a queue needs of its entries.
pub(crate) trait Entry {
    /// The entry's id, unique within its channel.
    fn id(&self) -> u64;
    /// Who waits behind the entry.
    fn who(&self) -> &Who;
}

impl<T> Entry for RecvWaiter<T> {
    #[inline]
    fn id(&self) -> u64 {
        self.id
    }
    #[inline]
    fn who(&self) -> &Who {
        &self.who
    }
}

impl<T> Entry for SendWaiter<T> {
    #[inline]
    fn id(&self) -> u64 {
        self.id
    }
    #[inline]
    fn who(&self) -> &Who {
        &self.who
    }
}

/// A FIFO of waiters, found again by id.
pub(crate) struct WaitQueue<E> {
    q: VecDeque<E>,
}

impl<E: Entry> WaitQueue<E> {
    pub(crate) const fn new() -> Self {
        WaitQueue { q: VecDeque::new() }
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.q.is_empty()
    }

    /// How many entries are queued (stale ones included).
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.q.len()
    }

    /// Queues `e` behind every entry (a new waiter: ids grow along the queue).
    #[inline]
    pub(crate) fn push_back(&mut self, e: E) {
        self.q.push_back(e);
    }

    /// Puts `e` back at the head (a waiter returned to the place it was taken from).
    pub(crate) fn push_front(&mut self, e: E) {
        self.q.push_front(e);
    }

    /// Removes the first entry that can be claimed, dropping the stale ones before it.
    #[inline]
    pub(crate) fn claim_first(&mut self) -> Option<E> {
        while let Some(e) = self.q.pop_front() {
            if e.who().try_claim() {
                return Some(e);
            }
        }
        None
    }

    /// Removes the first entry that satisfies `pred` and can be claimed; entries that satisfy
    /// it but are stale are dropped, the others stay in place.
    pub(crate) fn claim_first_where(&mut self, pred: impl Fn(&E) -> bool) -> Option<E> {
        loop {
            let e = self.remove_first_where(&pred)?;
            if e.who().try_claim() {
                return Some(e);
            }
        }
    }

    /// Removes the first entry that satisfies `pred`, without claiming it: for entries that
    /// are always live (`Task`s).
    #[inline]
    pub(crate) fn remove_first_where(&mut self, pred: impl Fn(&E) -> bool) -> Option<E> {
        // Usually the head: skip the search (a `VecDeque` iterator spans two slices).
        let pos = if self.q.front().is_some_and(&pred) {
            0
        } else {
            self.q.iter().position(&pred)?
        };
        remove_at(&mut self.q, pos)
    }

    /// The entry with this id.
    pub(crate) fn get_mut(&mut self, id: u64) -> Option<&mut E> {
        let pos = find(&self.q, id)?;
        self.q.get_mut(pos)
    }

    /// Whether the entry with this id is queued.
    pub(crate) fn contains(&self, id: u64) -> bool {
        find(&self.q, id).is_some()
    }

    /// Removes the entry with this id.
    pub(crate) fn remove(&mut self, id: u64) -> Option<E> {
        let pos = find(&self.q, id)?;
        remove_at(&mut self.q, pos)
    }

    /// Whether any entry satisfies `pred`.
    #[inline]
    pub(crate) fn any(&self, pred: impl FnMut(&E) -> bool) -> bool {
        self.q.iter().any(pred)
    }

    /// Empties the queue, returning its entries in order.
    pub(crate) fn take_all(&mut self) -> impl Iterator<Item = E> {
        std::mem::take(&mut self.q).into_iter()
    }
}

/// Where the entry with `id` sits in a waiter queue. Entries join at the back with fresh,
/// increasing ids, so a queue is nearly always sorted by id, and a binary search finds an
/// entry among the thousand selects that may wait on one popular channel (Go's
/// `BenchmarkChanPopular`), where a scan would make every select's unregistering linear in the
/// queue's length, under the channel's lock. The order can break: a receiver given back to the
/// head of `recvq` (`State::release`) may have been claimed straight from its poll, with a
/// newer id than stale select entries still queued. So a miss falls back to the scan (a hit is
/// exact, as ids are unique), and the answer is right either way; a miss costs the search on
/// top of the scan.
#[inline]
fn find<E: Entry>(q: &VecDeque<E>, id: u64) -> Option<usize> {
    match q.binary_search_by_key(&id, E::id) {
        Ok(pos) => Some(pos),
        Err(_) => q.iter().position(|e| e.id() == id),
    }
}

/// `VecDeque::remove`, with the common case (the head) as a plain `pop_front`.
#[inline]
fn remove_at<E>(q: &mut VecDeque<E>, pos: usize) -> Option<E> {
    if pos == 0 {
        q.pop_front()
    } else {
        q.remove(pos)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::{find, Entry};
    use crate::waiters::Who;

    struct E(u64, Who);
    impl Entry for E {
        fn id(&self) -> u64 {
            self.0
        }
        fn who(&self) -> &Who {
            &self.1
        }
    }

    #[test]
    fn find_locates_entries_in_order_and_out_of_order() {
        let mut q: std::collections::VecDeque<E> =
            (1..=1000).map(|i| E(i * 2, Who::Task(None))).collect();
        for id in [2, 1000, 2000] {
            assert_eq!(find(&q, id), Some(id as usize / 2 - 1));
        }
        assert_eq!(find(&q, 3), None);
        assert_eq!(find(&q, 4000), None);
        // An entry out of order (a binary search misses it) is still found by the scan.
        q.push_front(E(5000, Who::Task(None)));
        assert_eq!(find(&q, 5000), Some(0));
        assert_eq!(find(&q, 1000), Some(500));
    }
}
