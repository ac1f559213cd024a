//! A value you can read now and watch change: the state every recipe handle publishes.
//!
//! [`StateCell`] is the writer side, held by a recipe's handle or driver; [`StateWatch`] is a
//! reader, a [`Stream`] of values plus [`StateWatch::get`]. The semantics are tokio's `watch`
//! channel, without tokio (the engine has no runtime of its own):
//!
//! - a new watch yields the **current value first**, then each change;
//! - no change is missed between reading and waiting: a watch remembers the version it last
//!   yielded, and a change made at any moment after that is seen on the next poll;
//! - a slow watch sees the **latest** value and may skip intermediate ones;
//! - the stream ends once the cell is dropped (after yielding a last value it had not seen).
//!
//! ```text
//!   StateCell::set ──► version += 1, wake every waiting watch
//!   StateWatch::poll_next:
//!       seen != version ─► Ready(Some(current)), seen = version
//!       cell dropped    ─► Ready(None)
//!       otherwise       ─► register waker, Pending
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use futures::Stream;

/// What the cell and its watches share.
struct Shared<T> {
    value: T,
    /// Bumped on every change; a watch compares it with the version it last yielded.
    version: u64,
    /// Set when the cell is dropped: no value will change again.
    closed: bool,
    /// The wakers of the watches waiting for a change, by watch id (a re-poll replaces).
    wakers: BTreeMap<u64, Waker>,
    next_id: u64,
}

fn lock<T>(shared: &Mutex<Shared<T>>) -> MutexGuard<'_, Shared<T>> {
    // A panic while the lock is held can only come from a `T::clone`; the state stays valid.
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The writer side of a watched value. Dropping it ends every [`StateWatch`] of it.
pub struct StateCell<T> {
    shared: Arc<Mutex<Shared<T>>>,
}

impl<T: Clone> StateCell<T> {
    /// A cell holding `value`.
    pub fn new(value: T) -> Self {
        StateCell {
            shared: Arc::new(Mutex::new(Shared {
                value,
                version: 0,
                closed: false,
                wakers: BTreeMap::new(),
                next_id: 0,
            })),
        }
    }

    /// The current value.
    pub fn get(&self) -> T {
        lock(&self.shared).value.clone()
    }

    /// Replaces the value and wakes every watch, even if the value is equal to the old one.
    pub fn set(&self, value: T) {
        self.update(|old| {
            *old = value;
            true
        });
    }

    /// Replaces the value if it differs from the current one; returns whether it did.
    pub fn set_if_changed(&self, value: T) -> bool
    where
        T: PartialEq,
    {
        self.update(|old| {
            let changed = *old != value;
            if changed {
                *old = value;
            }
            changed
        })
    }

    /// Runs `f` on the value in place; if it returns true the change is published (watches
    /// wake). Returns what `f` returned.
    pub fn update(&self, f: impl FnOnce(&mut T) -> bool) -> bool {
        let wakers = {
            let mut shared = lock(&self.shared);
            if !f(&mut shared.value) {
                return false;
            }
            shared.version += 1;
            std::mem::take(&mut shared.wakers)
        };
        // Woken outside the lock: a waker may poll its watch at once.
        wakers.into_values().for_each(Waker::wake);
        true
    }

    /// A new watch; its first item is the current value.
    pub fn watch(&self) -> StateWatch<T> {
        StateWatch::register(&self.shared, None)
    }
}

impl<T> Drop for StateCell<T> {
    fn drop(&mut self) {
        let wakers = {
            let mut shared = lock(&self.shared);
            shared.closed = true;
            std::mem::take(&mut shared.wakers)
        };
        wakers.into_values().for_each(Waker::wake);
    }
}

impl<T: fmt::Debug> fmt::Debug for StateCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StateCell")
            .field(&lock(&self.shared).value)
            .finish()
    }
}

/// A reader of a [`StateCell`]: a [`Stream`] that yields the current value first, then the
/// latest value after each change (intermediate values may be skipped), and ends when the cell
/// is dropped. Cloning gives a watch that has seen what this one has seen.
pub struct StateWatch<T> {
    shared: Arc<Mutex<Shared<T>>>,
    id: u64,
    /// The version last yielded; `None` before the first item.
    seen: Option<u64>,
}

impl<T: Clone> StateWatch<T> {
    fn register(shared: &Arc<Mutex<Shared<T>>>, seen: Option<u64>) -> Self {
        let id = {
            let mut locked = lock(shared);
            locked.next_id += 1;
            locked.next_id
        };
        StateWatch {
            shared: Arc::clone(shared),
            id,
            seen,
        }
    }

    /// The current value (does not count as yielded: the stream still yields it if unseen).
    pub fn get(&self) -> T {
        lock(&self.shared).value.clone()
    }

    /// Waits for a value (the current one included) for which `pred` holds and returns it;
    /// `None` if the cell is dropped first.
    pub async fn wait_for(&mut self, mut pred: impl FnMut(&T) -> bool) -> Option<T> {
        use futures::StreamExt;
        if let Some(value) = Some(self.get()).filter(&mut pred) {
            return Some(value);
        }
        while let Some(value) = self.next().await {
            if pred(&value) {
                return Some(value);
            }
        }
        None
    }
}

impl<T: Clone> Stream for StateWatch<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        let mut shared = lock(&this.shared);
        if this.seen != Some(shared.version) {
            this.seen = Some(shared.version);
            return Poll::Ready(Some(shared.value.clone()));
        }
        if shared.closed {
            return Poll::Ready(None);
        }
        shared.wakers.insert(this.id, cx.waker().clone());
        Poll::Pending
    }
}

impl<T: Clone> Clone for StateWatch<T> {
    fn clone(&self) -> Self {
        StateWatch::register(&self.shared, self.seen)
    }
}

impl<T> Drop for StateWatch<T> {
    fn drop(&mut self) {
        lock(&self.shared).wakers.remove(&self.id);
    }
}

impl<T: fmt::Debug> fmt::Debug for StateWatch<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateWatch")
            .field("value", &lock(&self.shared).value)
            .field("seen", &self.seen)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::task::noop_waker;
    use futures::StreamExt;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    fn poll<T: Clone>(watch: &mut StateWatch<T>, waker: &Waker) -> Poll<Option<T>> {
        Pin::new(watch).poll_next(&mut Context::from_waker(waker))
    }

    /// A waker that counts its wake-ups.
    struct Counter(AtomicUsize);
    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_new_watch_yields_the_current_value_first_then_waits() {
        let cell = StateCell::new(1);
        cell.set(2);
        let mut watch = cell.watch();
        let waker = noop_waker();
        assert_eq!(poll(&mut watch, &waker), Poll::Ready(Some(2)));
        assert_eq!(poll(&mut watch, &waker), Poll::Pending);
    }

    #[test]
    fn a_change_between_reading_and_waiting_is_not_lost() {
        let cell = StateCell::new("idle");
        let mut watch = cell.watch();
        let waker = noop_waker();
        assert_eq!(poll(&mut watch, &waker), Poll::Ready(Some("idle")));
        // The change lands before the watch waits again: the next poll sees it.
        cell.set("held");
        assert_eq!(poll(&mut watch, &waker), Poll::Ready(Some("held")));
    }

    #[test]
    fn a_waiting_watch_is_woken_by_a_change_and_by_the_drop() {
        let cell = StateCell::new(0);
        let mut watch = cell.watch();
        let counter = Arc::new(Counter(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&counter));
        assert_eq!(poll(&mut watch, &waker), Poll::Ready(Some(0)));
        assert_eq!(poll(&mut watch, &waker), Poll::Pending);
        cell.set(1);
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert_eq!(poll(&mut watch, &waker), Poll::Ready(Some(1)));
        assert_eq!(poll(&mut watch, &waker), Poll::Pending);
        drop(cell);
        assert_eq!(counter.0.load(Ordering::SeqCst), 2);
        assert_eq!(poll(&mut watch, &waker), Poll::Ready(None));
    }

    #[test]
    fn a_slow_watch_skips_to_the_latest_value_then_ends_after_the_drop() {
        let cell = StateCell::new(0);
        let mut watch = cell.watch();
        for value in 1..=5 {
            cell.set(value);
        }
        drop(cell);
        let seen: Vec<i32> = futures::executor::block_on(watch.by_ref().collect());
        assert_eq!(seen, vec![5]);
        assert_eq!(watch.get(), 5);
    }

    #[test]
    fn set_if_changed_publishes_only_changes() {
        let cell = StateCell::new(7);
        let mut watch = cell.watch();
        let waker = noop_waker();
        assert_eq!(poll(&mut watch, &waker), Poll::Ready(Some(7)));
        assert!(!cell.set_if_changed(7));
        assert_eq!(poll(&mut watch, &waker), Poll::Pending);
        assert!(cell.set_if_changed(8));
        assert_eq!(poll(&mut watch, &waker), Poll::Ready(Some(8)));
        // `set` publishes even an equal value.
        cell.set(8);
        assert_eq!(poll(&mut watch, &waker), Poll::Ready(Some(8)));
    }

    #[test]
    fn a_clone_has_seen_what_its_original_has_seen() {
        let cell = StateCell::new('a');
        let mut watch = cell.watch();
        let waker = noop_waker();
        assert_eq!(poll(&mut watch, &waker), Poll::Ready(Some('a')));
        let mut clone = watch.clone();
        assert_eq!(poll(&mut clone, &waker), Poll::Pending);
        cell.set('b');
        assert_eq!(poll(&mut clone, &waker), Poll::Ready(Some('b')));
        assert_eq!(poll(&mut watch, &waker), Poll::Ready(Some('b')));
    }

    #[test]
    fn wait_for_checks_the_current_value_then_each_change() {
        let cell = StateCell::new(0);
        let mut watch = cell.watch();
        assert_eq!(
            futures::executor::block_on(watch.wait_for(|v| *v == 0)),
            Some(0)
        );
        let thread = std::thread::spawn(move || {
            (1..=3).for_each(|v| cell.set(v));
        });
        let found = futures::executor::block_on(watch.wait_for(|v| *v == 3));
        thread.join().unwrap();
        assert_eq!(found, Some(3));
        // The cell is gone: nothing more will come.
        assert_eq!(
            futures::executor::block_on(watch.wait_for(|_| true)),
            Some(3)
        );
        assert_eq!(
            futures::executor::block_on(watch.wait_for(|v| *v == 9)),
            None
        );
    }
}
