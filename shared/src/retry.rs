//! Riding out a JetStream leader election: a write that fails for a transient reason (no
//! responders while a stream has no leader, an ack that timed out, a dropped connection) is
//! retried with backoff until a give-up time, usually the command's deadline. Every write retried
//! this way is idempotent: publishes carry a message id the stream deduplicates, KV writes are
//! compare-and-set.

use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::context::{PublishError, PublishErrorKind};
use tokio::time::Instant;

/// First pause between attempts; it doubles up to [`MAX_DELAY`].
const FIRST_DELAY: Duration = Duration::from_millis(50);
const MAX_DELAY: Duration = Duration::from_secs(1);

/// Whether an error may go away by itself (worth another attempt).
pub trait Transient {
    fn is_transient(&self) -> bool;
}

impl Transient for PublishError {
    fn is_transient(&self) -> bool {
        !matches!(
            self.kind(),
            PublishErrorKind::WrongLastSequence
                | PublishErrorKind::WrongLastMessageId
                | PublishErrorKind::MaxPayloadExceeded
        )
    }
}

impl Transient for crate::Error {
    fn is_transient(&self) -> bool {
        match self {
            Self::Kv { source, .. } => !source
                .downcast_ref::<PublishError>()
                .is_some_and(|e| e.kind() == PublishErrorKind::MaxPayloadExceeded),
            Self::NotConverged { .. } => true,
            _ => false,
        }
    }
}

/// Runs `op` until it succeeds, fails for good, or `give_up_at` would pass before the next
/// attempt; `what` names the operation in the log.
pub async fn until<T, E, F, Fut>(give_up_at: Instant, what: &str, mut op: F) -> Result<T, E>
where
    E: Transient + std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut delay = FIRST_DELAY;
    let mut attempt = 1u32;
    loop {
        match op().await {
            Err(e) if e.is_transient() && Instant::now() + delay < give_up_at => {
                tracing::warn!(what, attempt, retry_in_ms = delay.as_millis() as u64, error = %e, "transient NATS error; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_DELAY);
                attempt += 1;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[derive(Debug)]
    struct Flaky(bool);
    impl Transient for Flaky {
        fn is_transient(&self) -> bool {
            self.0
        }
    }
    impl std::fmt::Display for Flaky {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "flaky (transient: {})", self.0)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn transient_errors_are_retried_until_success() {
        let calls = AtomicU32::new(0);
        let out = until(Instant::now() + Duration::from_secs(10), "test", || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 3 { Err(Flaky(true)) } else { Ok(7) }
        })
        .await;
        assert_eq!(out.ok(), Some(7));
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_errors_and_the_give_up_time_end_the_retries() {
        let calls = AtomicU32::new(0);
        let out: Result<(), _> = until(Instant::now() + Duration::from_secs(10), "test", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(Flaky(false))
        })
        .await;
        assert!(out.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1, "a permanent error is not retried");

        let started = Instant::now();
        let out: Result<(), _> =
            until(started + Duration::from_secs(3), "test", || async { Err(Flaky(true)) }).await;
        assert!(out.is_err());
        assert!(started.elapsed() <= Duration::from_secs(3), "never past the give-up time");
    }
}
