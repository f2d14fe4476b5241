//! The one retry primitive of every outgoing HTTP client (GitHub API, signed
//! report links, Pushgateway, remote-write).
//!
//! A caller describes its bounds once in a [`Policy`] (exponential backoff
//! with jitter, at most so many attempts and/or a deadline or budget) and
//! hands [`run`] (or [`run_observed`]) a closure that makes one attempt and
//! classifies its outcome as an [`Attempt`]: done, retryable (with what the
//! server said about waiting, a [`Hint`]) or final. Callers keep only that
//! classification; the waiting, and every `tokio::time::sleep` of a retry
//! loop, lives here.
//!
//! The rule for server hints (`Retry-After`, GitHub's `x-ratelimit-reset`):
//! wait `max(hint, own backoff)`. A hint of 0, a date in the past, a negative
//! number or garbage never shortens the backoff; a hint longer than what is
//! left of the deadline or budget ends the retries at once, with the last
//! error and [`GiveUpReason::HintBeyondBudget`].

#![deny(missing_docs)]

use std::fmt;
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use tokio::time::Instant;

/// How one call is retried. Build it with [`Policy::new`] and the `with_*`
/// methods, or fill the fields.
///
/// The wait before retry `n` (1 = the first retry) is the base backoff
/// `min_backoff · 2^(n-1)`, capped at `max_backoff`, less a random part of
/// up to `jitter` of it: uniformly in `[base · (1 - jitter), base]`. It
/// never exceeds `max_backoff`; only a server [`Hint`] can make a wait
/// longer. The retries end at the first of: `max_attempts` attempts made,
/// the `deadline`, or `budget` spent since [`run`] started. With neither an
/// attempt nor a time bound, the call is retried until it succeeds or fails
/// for good.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Policy {
    /// Base backoff before the first retry. Zero makes every own backoff
    /// zero, so only use it with `max_attempts`.
    pub min_backoff: Duration,
    /// Longest backoff of our own choosing (before jitter is subtracted).
    pub max_backoff: Duration,
    /// Fraction of each backoff that is random, from 0 (none: fixed delays)
    /// to 1 (anything from 0 to the base). Values outside `0..=1` are
    /// clamped, NaN counts as 0.
    pub jitter: f64,
    /// Most attempts in all, the first one included (`Some(1)`: no retry;
    /// `Some(0)` counts as 1: the first attempt is always made). `None`: no
    /// attempt bound.
    pub max_attempts: Option<u32>,
    /// Most time from the start of [`run`] until the last retry may begin,
    /// attempts and waits included. `None`: no budget.
    pub budget: Option<Duration>,
    /// Instant after which no retry may begin (e.g. the end of a refresh).
    /// `std::time::Instant` converts with `.into()`. `None`: no deadline.
    pub deadline: Option<Instant>,
}

/// Default [`Policy::jitter`]: each backoff is between half and all of its
/// base ("equal jitter").
pub const DEFAULT_JITTER: f64 = 0.5;

impl Policy {
    /// Backoff from `min_backoff` doubling up to `max_backoff` (a `max`
    /// below `min` is raised to `min`), [`DEFAULT_JITTER`], no attempt or
    /// time bound yet.
    pub fn new(min_backoff: Duration, max_backoff: Duration) -> Self {
        Policy {
            min_backoff,
            max_backoff: max_backoff.max(min_backoff),
            jitter: DEFAULT_JITTER,
            max_attempts: None,
            budget: None,
            deadline: None,
        }
    }

    /// At most `attempts` attempts in all, the first one included.
    pub fn with_max_attempts(self, attempts: u32) -> Self {
        Policy {
            max_attempts: Some(attempts),
            ..self
        }
    }

    /// At most `retries` retries after the first attempt
    /// (`GITHUB_MAX_RETRIES`), i.e. `retries + 1` attempts.
    pub fn with_max_retries(self, retries: u32) -> Self {
        self.with_max_attempts(retries.saturating_add(1))
    }

    /// No retry begins later than `budget` after [`run`] started
    /// (`REMOTE_WRITE_MAX_RETRY_SECONDS`).
    pub fn with_budget(self, budget: Duration) -> Self {
        Policy {
            budget: Some(budget),
            ..self
        }
    }

    /// No retry begins after `deadline`; `None` leaves the policy without a
    /// deadline. Accepts `std::time::Instant` and `tokio::time::Instant`.
    pub fn with_deadline(self, deadline: Option<impl Into<Instant>>) -> Self {
        Policy {
            deadline: deadline.map(Into::into),
            ..self
        }
    }

    /// The fraction of each backoff that is random (see [`Policy::jitter`]).
    pub fn with_jitter(self, jitter: f64) -> Self {
        Policy { jitter, ..self }
    }

    /// The base backoff before retry `retry` (1 = the first retry; 0 counts
    /// as 1), before jitter: `min_backoff · 2^(retry-1)`, capped at
    /// `max_backoff`. Saturates instead of overflowing.
    pub fn base_backoff(&self, retry: u32) -> Duration {
        let doublings = retry.saturating_sub(1).min(31);
        self.min_backoff
            .saturating_mul(1u32 << doublings)
            .min(self.max_backoff.max(self.min_backoff))
    }

    /// The jitter fraction clamped to `0..=1` (NaN: 0).
    fn jitter_fraction(&self) -> f64 {
        if self.jitter.is_nan() {
            0.0
        } else {
            self.jitter.clamp(0.0, 1.0)
        }
    }

    /// Own backoff before retry `retry` given a random `unit` in `[0, 1)`.
    fn backoff(&self, retry: u32, unit: f64) -> Duration {
        let base = self.base_backoff(retry);
        base.saturating_sub(base.mul_f64(self.jitter_fraction() * unit.clamp(0.0, 1.0)))
    }

    /// The time left before the first of deadline and budget, `None` when
    /// the policy has neither.
    fn remaining(&self, started: Instant, now: Instant) -> Option<Duration> {
        let by_budget = self
            .budget
            .map(|b| b.saturating_sub(now.saturating_duration_since(started)));
        let by_deadline = self.deadline.map(|d| d.saturating_duration_since(now));
        match (by_budget, by_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The wait before retry `retry` after a failure with `hint`, or why
    /// there is no retry. `unit` is the random draw for the jitter,
    /// `remaining` the time left ([`Policy::remaining`]).
    fn decide(
        &self,
        retry: u32,
        hint: &Hint,
        unit: f64,
        remaining: Option<Duration>,
    ) -> Result<Duration, GiveUpReason> {
        if let Some(max) = self.max_attempts {
            if retry >= max.max(1) {
                return Err(GiveUpReason::Attempts { max: max.max(1) });
            }
        }
        let floor = hint.min_backoff.unwrap_or_default().min(self.max_backoff);
        let own = self.backoff(retry, unit).max(floor);
        let server = hint.server();
        let wait = own.max(server.unwrap_or_default());
        match (remaining, server) {
            (Some(left), Some(hint)) if hint > left => Err(GiveUpReason::HintBeyondBudget {
                hint,
                remaining: left,
            }),
            (Some(left), _) if wait > left || left.is_zero() => Err(GiveUpReason::OutOfTime {
                wait,
                remaining: left,
            }),
            _ => Ok(wait),
        }
    }
}

/// What a failed attempt tells about the earliest useful retry. All fields
/// are lower bounds combined by `max()` with the policy's own backoff, so a
/// zero or missing value never shortens a wait. The default is no hint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hint {
    /// The server's `Retry-After`, parsed by [`parse_retry_after`] (or
    /// [`retry_after`] from the headers). Longer than the time left: the
    /// retries end.
    pub retry_after: Option<Duration>,
    /// Another server statement of when to come back, e.g. GitHub's
    /// `x-ratelimit-reset` when `x-ratelimit-remaining` is 0 (see
    /// [`until_unix_time`]). Same rule as `retry_after`.
    pub not_before: Option<Duration>,
    /// The caller's own smallest backoff for this kind of failure (GitHub
    /// asks for at least 60 s after a rate limit without a hint). Capped at
    /// [`Policy::max_backoff`]; not a server hint, so it never ends the
    /// retries with [`GiveUpReason::HintBeyondBudget`].
    pub min_backoff: Option<Duration>,
}

impl Hint {
    /// A hint carrying only the `Retry-After` of `headers` (none when the
    /// header is missing or unusable).
    pub fn from_headers(headers: &HeaderMap) -> Self {
        Hint {
            retry_after: retry_after(headers),
            ..Hint::default()
        }
    }

    /// The longest server hint (`retry_after`, `not_before`), if any.
    pub fn server(&self) -> Option<Duration> {
        match (self.retry_after, self.not_before) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

/// The outcome of one attempt, as the caller classifies it.
#[derive(Debug)]
pub enum Attempt<T, E> {
    /// Success: [`run`] returns `Ok(T)`.
    Done(T),
    /// A failure worth retrying (rate limit, 5xx, timeout, connection
    /// failure), with what the server said about waiting.
    Retry {
        /// The failure; returned in [`GaveUp`] if no retry follows.
        error: E,
        /// Server hints and the caller's minimum backoff.
        hint: Hint,
    },
    /// A failure that retrying cannot fix: [`run`] returns it at once with
    /// [`GiveUpReason::NotRetryable`].
    Fail(E),
}

impl<T, E> Attempt<T, E> {
    /// A retryable failure without any hint.
    pub fn retry(error: E) -> Self {
        Attempt::Retry {
            error,
            hint: Hint::default(),
        }
    }
}

/// Why [`run`] stopped without success.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GiveUpReason {
    /// The attempt returned [`Attempt::Fail`].
    NotRetryable,
    /// [`Policy::max_attempts`] attempts were made.
    Attempts {
        /// The attempt bound that was reached.
        max: u32,
    },
    /// The server asked for a wait longer than what is left of the
    /// deadline or budget, so retrying within it is pointless.
    HintBeyondBudget {
        /// The server's wait.
        hint: Duration,
        /// Time that was left.
        remaining: Duration,
    },
    /// The next wait (own backoff, or a server hint that still fit but
    /// combined with it did not) would run past the deadline or budget, or
    /// no time is left.
    OutOfTime {
        /// The wait that would have been needed.
        wait: Duration,
        /// Time that was left.
        remaining: Duration,
    },
}

impl fmt::Display for GiveUpReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            GiveUpReason::NotRetryable => write!(f, "not retryable"),
            GiveUpReason::Attempts { max } => write!(f, "the limit of {max} attempt(s) is reached"),
            GiveUpReason::HintBeyondBudget { hint, remaining } => write!(
                f,
                "the server asked to wait {} s, more than the {} s left of the retry budget",
                seconds(hint),
                seconds(remaining)
            ),
            GiveUpReason::OutOfTime { wait, remaining } => write!(
                f,
                "waiting {} s more would pass the retry deadline ({} s left)",
                seconds(wait),
                seconds(remaining)
            ),
        }
    }
}

/// A duration as seconds for messages: whole seconds from 10 s on, else
/// one decimal.
fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 10.0 {
        format!("{s:.0}")
    } else {
        format!("{s:.1}")
    }
}

/// A call that did not succeed: the last error, how many attempts were
/// made and why no further attempt followed. `Display` is the error,
/// followed by the attempts and reason unless the error was final anyway.
#[derive(Debug, PartialEq, Eq)]
pub struct GaveUp<E> {
    /// The error of the last attempt.
    pub error: E,
    /// Attempts made (at least 1).
    pub attempts: u32,
    /// Why no further attempt followed.
    pub reason: GiveUpReason,
}

impl<E> GaveUp<E> {
    /// The last error, without attempts and reason.
    pub fn into_inner(self) -> E {
        self.error
    }
}

impl<E: fmt::Display> fmt::Display for GaveUp<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason {
            GiveUpReason::NotRetryable => write!(f, "{}", self.error),
            reason => write!(
                f,
                "{}; gave up after {} attempt(s): {reason}",
                self.error, self.attempts
            ),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for GaveUp<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// One retry about to wait, as the observer of [`run_observed`] sees it
/// (to count retries and log).
#[derive(Debug)]
pub struct Retrying<'a, E> {
    /// The attempt that failed (1 = the first); the next is `attempt + 1`.
    pub attempt: u32,
    /// How long [`run_observed`] now sleeps.
    pub delay: Duration,
    /// The longest server hint of the failure, if any ([`Hint::server`]).
    pub hint: Option<Duration>,
    /// The failure.
    pub error: &'a E,
}

/// Calls `attempt` (with the attempt number, 1-based) until it returns
/// [`Attempt::Done`] or [`Attempt::Fail`], or the policy allows no further
/// retry; waits between attempts as described in [`Policy`] and [`Hint`].
///
/// Errors: [`GaveUp`] with the last error, the attempts made and the
/// [`GiveUpReason`]. The closure is never called again after it returned
/// `Done` or `Fail`, and no wait runs past the deadline or budget.
pub async fn run<T, E, F, Fut>(policy: &Policy, attempt: F) -> Result<T, GaveUp<E>>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Attempt<T, E>>,
{
    run_observed(policy, |_: &Retrying<'_, E>| {}, attempt).await
}

/// [`run`], calling `observe` once before each wait (not when giving up),
/// e.g. to count retries by reason and log the failure.
pub async fn run_observed<T, E, F, Fut, O>(
    policy: &Policy,
    mut observe: O,
    mut attempt: F,
) -> Result<T, GaveUp<E>>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Attempt<T, E>>,
    O: FnMut(&Retrying<'_, E>),
{
    let started = Instant::now();
    let mut number = 1u32;
    loop {
        let (error, hint) = match attempt(number).await {
            Attempt::Done(value) => return Ok(value),
            Attempt::Fail(error) => {
                return Err(GaveUp {
                    error,
                    attempts: number,
                    reason: GiveUpReason::NotRetryable,
                })
            }
            Attempt::Retry { error, hint } => (error, hint),
        };
        let remaining = policy.remaining(started, Instant::now());
        let delay = match policy.decide(number, &hint, fastrand::f64(), remaining) {
            Ok(delay) => delay,
            Err(reason) => {
                return Err(GaveUp {
                    error,
                    attempts: number,
                    reason,
                })
            }
        };
        observe(&Retrying {
            attempt: number,
            delay,
            hint: hint.server(),
            error: &error,
        });
        drop(error);
        tokio::time::sleep(delay).await;
        number = number.saturating_add(1);
    }
}

/// A `Retry-After` value as a wait from `now` (RFC 9110 §10.2.3):
/// delta-seconds (`"120"`) or an HTTP date (IMF-fixdate, RFC 850 or asctime,
/// parsed by the `httpdate` crate).
///
/// Returns `Some(0)` for `"0"` and dates not after `now`, `None` for
/// anything else that is not a valid value (negative or fractional numbers,
/// a sign, garbage, an empty value). Seconds too large for a `u64` saturate
/// to `u64::MAX` seconds: a huge value is a long wait, not garbage. Never
/// capped: the caller's deadline decides what is too long.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The `Retry-After` header of a response as a wait from now
/// ([`parse_retry_after`]); `None` when it is missing, not text or not a
/// valid value.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, SystemTime::now())
}

/// The wait from `now` until the Unix time `epoch_seconds` (GitHub's
/// `x-ratelimit-reset`), plus one second so the window has surely reset;
/// zero for a time in the past, [`Duration::MAX`] for one the system clock
/// cannot represent.
pub fn until_unix_time(epoch_seconds: u64, now: SystemTime) -> Duration {
    match UNIX_EPOCH.checked_add(Duration::from_secs(epoch_seconds)) {
        Some(reset) => reset
            .duration_since(now)
            .map(|d| d.saturating_add(Duration::from_secs(1)))
            .unwrap_or(Duration::ZERO),
        // Beyond what the platform's clock can represent: as long as it gets.
        None => Duration::MAX,
    }
}

#[cfg(test)]
mod tests;
