use std::cell::RefCell;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use tokio::time::Instant;

use super::*;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// Remote-write's defaults (500 ms doubling to 60 s) without jitter, so a
/// schedule is exact.
fn fixed(budget: Option<Duration>) -> Policy {
    Policy {
        budget,
        ..Policy::new(secs(0.5), secs(60.0)).with_jitter(0.0)
    }
}

/// The `Date` of RFC 9110's examples and the same instant in Unix seconds.
const EXAMPLE_DATE: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
const EXAMPLE_UNIX: u64 = 784_111_777;

fn at(unix: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(unix)
}

// --- Retry-After parsing -------------------------------------------------

#[test]
fn retry_after_delta_seconds() {
    let now = SystemTime::now();
    for (raw, want) in [("7", 7), (" 7 ", 7), ("007", 7), ("120", 120), ("0", 0)] {
        assert_eq!(
            parse_retry_after(raw, now),
            Some(Duration::from_secs(want)),
            "{raw:?}"
        );
    }
}

#[test]
fn retry_after_negative_fractional_and_garbage_are_no_hint() {
    let now = SystemTime::now();
    for raw in [
        "-1",
        "-0",
        "-3600",
        "+5",
        "1.5",
        "7 s",
        "0x10",
        "",
        "   ",
        "soon",
        "Sun, 06 Nov 1994",
        "Sun, 06 Nov 1994 25:49:37 GMT",
        "in a minute",
    ] {
        assert_eq!(parse_retry_after(raw, now), None, "{raw:?}");
    }
}

#[test]
fn retry_after_huge_values_are_long_waits_not_garbage() {
    let now = SystemTime::now();
    assert_eq!(
        parse_retry_after("4000000000", now),
        Some(Duration::from_secs(4_000_000_000))
    );
    assert_eq!(
        parse_retry_after("18446744073709551615", now),
        Some(Duration::from_secs(u64::MAX))
    );
    assert_eq!(
        parse_retry_after("99999999999999999999999999", now),
        Some(Duration::from_secs(u64::MAX))
    );
}

#[test]
fn retry_after_http_dates_in_all_three_formats() {
    let now = at(EXAMPLE_UNIX - 10);
    for raw in [
        EXAMPLE_DATE,
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
    ] {
        assert_eq!(
            parse_retry_after(raw, now),
            Some(Duration::from_secs(10)),
            "{raw:?}"
        );
    }
}

#[test]
fn retry_after_dates_now_or_past_are_zero() {
    assert_eq!(
        parse_retry_after(EXAMPLE_DATE, at(EXAMPLE_UNIX)),
        Some(Duration::ZERO)
    );
    assert_eq!(
        parse_retry_after(EXAMPLE_DATE, at(EXAMPLE_UNIX + 3600)),
        Some(Duration::ZERO)
    );
}

#[test]
fn retry_after_from_headers() {
    let mut h = HeaderMap::new();
    assert_eq!(retry_after(&h), None);
    assert_eq!(Hint::from_headers(&h), Hint::default());
    h.insert(RETRY_AFTER, HeaderValue::from_static("120"));
    assert_eq!(retry_after(&h), Some(Duration::from_secs(120)));
    assert_eq!(
        Hint::from_headers(&h).retry_after,
        Some(Duration::from_secs(120))
    );
    h.insert(RETRY_AFTER, HeaderValue::from_bytes(b"\xff12").unwrap());
    assert_eq!(retry_after(&h), None);
    let future = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(100));
    h.insert(RETRY_AFTER, HeaderValue::from_str(&future).unwrap());
    let hint = retry_after(&h).unwrap();
    assert!(hint > secs(98.0) && hint <= secs(100.0), "{hint:?}");
}

#[test]
fn until_unix_time_adds_a_second_and_never_goes_negative() {
    let now = at(1_000);
    assert_eq!(until_unix_time(1_010, now), Duration::from_secs(11));
    assert_eq!(until_unix_time(1_000, now), Duration::from_secs(1));
    assert_eq!(until_unix_time(10, now), Duration::ZERO);
    assert!(until_unix_time(u64::MAX, now) > Duration::from_secs(1 << 40));
}

// --- Backoff and the max() rule -----------------------------------------

#[test]
fn backoff_doubles_from_min_and_is_capped() {
    let p = Policy::new(secs(0.5), secs(5.0));
    let bases: Vec<f64> = (0..7).map(|r| p.base_backoff(r).as_secs_f64()).collect();
    assert_eq!(bases, [0.5, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0]);
    assert_eq!(p.base_backoff(u32::MAX), secs(5.0));
    let huge = Policy::new(Duration::from_secs(u64::MAX / 2), Duration::MAX);
    assert_eq!(huge.base_backoff(40), Duration::MAX);
    // A max below min is raised to min.
    assert_eq!(Policy::new(secs(2.0), secs(1.0)).base_backoff(3), secs(2.0));
}

#[test]
fn jitter_takes_up_to_its_fraction_off_the_base() {
    let p = Policy::new(secs(1.0), secs(60.0));
    assert_eq!(p.backoff(3, 0.0), secs(4.0));
    let longest_cut = p.backoff(3, 0.999_999_999);
    assert!(longest_cut > secs(2.0) && longest_cut < secs(2.000_001));
    let draws: std::collections::BTreeSet<Duration> =
        (0..50).map(|_| p.backoff(3, fastrand::f64())).collect();
    assert!(draws.len() > 1, "jitter varies the delay");
    assert!(draws.iter().all(|d| *d >= secs(2.0) && *d <= secs(4.0)));
    for (jitter, low) in [
        (0.0, 4.0),
        (1.0, 0.0),
        (7.0, 0.0),
        (-1.0, 4.0),
        (f64::NAN, 4.0),
    ] {
        let p = p.with_jitter(jitter);
        assert!(
            p.backoff(3, 0.999_999_999) >= secs(low).saturating_sub(secs(1e-6)),
            "{jitter}"
        );
        assert!(p.backoff(3, 0.999_999_999) <= secs(4.0), "{jitter}");
    }
}

fn hint(retry_after: f64) -> Hint {
    Hint {
        retry_after: Some(secs(retry_after)),
        ..Hint::default()
    }
}

#[test]
fn a_hint_never_shortens_the_backoff() {
    let p = fixed(None);
    // Retry 3: own backoff 2 s.
    assert_eq!(p.decide(3, &Hint::default(), 0.0, None), Ok(secs(2.0)));
    assert_eq!(p.decide(3, &hint(0.0), 0.0, None), Ok(secs(2.0)));
    assert_eq!(p.decide(3, &hint(1.0), 0.0, None), Ok(secs(2.0)));
    assert_eq!(p.decide(3, &hint(7.0), 0.0, None), Ok(secs(7.0)));
    // A hint longer than max_backoff is still honoured.
    assert_eq!(p.decide(3, &hint(600.0), 0.0, None), Ok(secs(600.0)));
    let reset = Hint {
        retry_after: Some(secs(3.0)),
        not_before: Some(secs(9.0)),
        min_backoff: None,
    };
    assert_eq!(p.decide(3, &reset, 0.0, None), Ok(secs(9.0)));
}

#[test]
fn a_hint_beyond_the_time_left_ends_the_retries() {
    let p = fixed(None);
    let left = Some(secs(4.0));
    assert_eq!(
        p.decide(1, &hint(3600.0), 0.0, left),
        Err(GiveUpReason::HintBeyondBudget {
            hint: secs(3600.0),
            remaining: secs(4.0)
        })
    );
    let huge = Hint {
        retry_after: Some(Duration::from_secs(u64::MAX)),
        ..Hint::default()
    };
    assert!(matches!(
        p.decide(1, &huge, 0.0, left),
        Err(GiveUpReason::HintBeyondBudget { .. })
    ));
    let reset = Hint {
        not_before: Some(secs(5.0)),
        ..Hint::default()
    };
    assert!(matches!(
        p.decide(1, &reset, 0.0, left),
        Err(GiveUpReason::HintBeyondBudget { .. })
    ));
    // Exactly the time left still fits.
    assert_eq!(p.decide(1, &hint(4.0), 0.0, left), Ok(secs(4.0)));
}

#[test]
fn own_backoff_beyond_the_time_left_is_out_of_time() {
    let p = fixed(None);
    assert_eq!(
        p.decide(4, &hint(0.0), 0.0, Some(secs(3.0))),
        Err(GiveUpReason::OutOfTime {
            wait: secs(4.0),
            remaining: secs(3.0)
        })
    );
    // No time left: even a zero backoff stops.
    let zero = Policy::new(Duration::ZERO, Duration::ZERO);
    assert!(matches!(
        zero.decide(1, &Hint::default(), 0.0, Some(Duration::ZERO)),
        Err(GiveUpReason::OutOfTime { .. })
    ));
}

#[test]
fn min_backoff_is_a_floor_capped_at_max_and_not_a_server_hint() {
    // GitHub: a rate limit without hints waits at least 60 s, capped by
    // GITHUB_RETRY_MAX_MS.
    let floor = Hint {
        min_backoff: Some(secs(60.0)),
        ..Hint::default()
    };
    let p = Policy::new(secs(1.0), secs(30.0)).with_jitter(0.0);
    assert_eq!(p.decide(1, &floor, 0.0, None), Ok(secs(30.0)));
    let p = Policy::new(secs(1.0), secs(120.0)).with_jitter(0.0);
    assert_eq!(p.decide(1, &floor, 0.0, None), Ok(secs(60.0)));
    assert_eq!(
        p.decide(1, &floor, 0.0, Some(secs(10.0))),
        Err(GiveUpReason::OutOfTime {
            wait: secs(60.0),
            remaining: secs(10.0)
        })
    );
}

#[test]
fn attempts_bound_counts_the_first_attempt() {
    let p = fixed(None).with_max_attempts(3);
    assert!(p.decide(2, &Hint::default(), 0.0, None).is_ok());
    assert_eq!(
        p.decide(3, &Hint::default(), 0.0, None),
        Err(GiveUpReason::Attempts { max: 3 })
    );
    assert_eq!(fixed(None).with_max_retries(3).max_attempts, Some(4));
    assert_eq!(
        fixed(None)
            .with_max_attempts(0)
            .decide(1, &Hint::default(), 0.0, None),
        Err(GiveUpReason::Attempts { max: 1 })
    );
}

#[test]
fn remaining_is_the_first_of_budget_and_deadline() {
    let start = Instant::now();
    let now = start + secs(1.0);
    assert_eq!(fixed(None).remaining(start, now), None);
    assert_eq!(
        fixed(Some(secs(4.0))).remaining(start, now),
        Some(secs(3.0))
    );
    let both = fixed(Some(secs(4.0))).with_deadline(Some(start + secs(2.0)));
    assert_eq!(both.remaining(start, now), Some(secs(1.0)));
    let passed = fixed(None).with_deadline(Some(start));
    assert_eq!(passed.remaining(start, now), Some(Duration::ZERO));
    // A std Instant converts.
    let std_deadline = fixed(None).with_deadline(Some(std::time::Instant::now()));
    assert!(std_deadline.deadline.is_some());
    assert_eq!(
        fixed(None).with_deadline(None::<Instant>).deadline,
        None::<Instant>
    );
}

// --- The driver, on tokio's paused clock ------------------------------------

/// What a fake server saw: the offset of each attempt from the start.
struct Calls {
    start: Instant,
    at: RefCell<Vec<Duration>>,
}

impl Calls {
    fn new() -> Self {
        Calls {
            start: Instant::now(),
            at: RefCell::new(Vec::new()),
        }
    }

    fn record(&self) {
        self.at.borrow_mut().push(self.start.elapsed());
    }

    fn offsets(&self) -> Vec<f64> {
        self.at.borrow().iter().map(Duration::as_secs_f64).collect()
    }
}

/// A receiver that answers every request `429` with the given headers.
fn always_429<'a>(
    calls: &'a Calls,
    headers: &'a HeaderMap,
) -> impl FnMut(u32) -> std::future::Ready<Attempt<(), u16>> + 'a {
    move |_| {
        calls.record();
        std::future::ready(Attempt::Retry {
            error: 429,
            hint: Hint::from_headers(headers),
        })
    }
}

/// Runs `policy` against attempts that all end in `outcome`: the attempt
/// offsets and how the driver gave up.
async fn failing(
    policy: &Policy,
    outcome: impl Fn() -> Attempt<(), &'static str>,
) -> (Vec<f64>, GaveUp<&'static str>) {
    let calls = Calls::new();
    let result = run(policy, |_| {
        calls.record();
        std::future::ready(outcome())
    })
    .await;
    (calls.offsets(), result.unwrap_err())
}

fn retry_after_header(value: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
    h
}

#[tokio::test(start_paused = true)]
async fn case_429_retry_after_zero_with_4s_budget_follows_the_backoff() {
    let calls = Calls::new();
    let headers = retry_after_header("0");
    let mut seen = Vec::new();
    let result = run_observed(
        &fixed(Some(secs(4.0))),
        |r: &Retrying<'_, u16>| seen.push((r.attempt, r.delay, r.hint, *r.error)),
        always_429(&calls, &headers),
    )
    .await;
    // Waits 0.5, 1, 2 s; the next 4 s wait would pass the budget.
    assert_eq!(calls.offsets(), [0.0, 0.5, 1.5, 3.5]);
    assert_eq!(
        seen,
        [
            (1, secs(0.5), Some(Duration::ZERO), 429),
            (2, secs(1.0), Some(Duration::ZERO), 429),
            (3, secs(2.0), Some(Duration::ZERO), 429),
        ]
    );
    let gave_up = result.unwrap_err();
    assert_eq!(
        gave_up,
        GaveUp {
            error: 429,
            attempts: 4,
            reason: GiveUpReason::OutOfTime {
                wait: secs(4.0),
                remaining: secs(0.5)
            }
        }
    );
    assert_eq!(calls.start.elapsed(), secs(3.5));
}

#[tokio::test(start_paused = true)]
async fn case_429_retry_after_zero_with_jitter_is_a_handful_of_attempts() {
    let headers = retry_after_header("0");
    for _ in 0..50 {
        let calls = Calls::new();
        let policy = Policy::new(secs(0.5), secs(60.0)).with_budget(secs(4.0));
        let result = run(&policy, always_429(&calls, &headers)).await;
        let attempts = calls.offsets().len();
        // Jitter between half and all of 0.5, 1, 2, 4 s: 4 or 5 attempts.
        assert!((4..=5).contains(&attempts), "{:?}", calls.offsets());
        assert_eq!(result.unwrap_err().attempts as usize, attempts);
        assert!(calls.start.elapsed() <= secs(4.0));
    }
}

#[tokio::test(start_paused = true)]
async fn case_429_retry_after_a_past_date_is_no_shorter_than_the_backoff() {
    let calls = Calls::new();
    let past = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(3600));
    let headers = retry_after_header(&past);
    let result = run(&fixed(Some(secs(4.0))), always_429(&calls, &headers)).await;
    assert_eq!(calls.offsets(), [0.0, 0.5, 1.5, 3.5]);
    assert_eq!(result.unwrap_err().attempts, 4);
}

#[tokio::test(start_paused = true)]
async fn garbage_and_negative_retry_after_follow_the_backoff() {
    for value in ["-5", "soon", "1.5"] {
        let calls = Calls::new();
        let headers = retry_after_header(value);
        let _ = run(&fixed(Some(secs(4.0))), always_429(&calls, &headers)).await;
        assert_eq!(calls.offsets(), [0.0, 0.5, 1.5, 3.5], "{value}");
    }
}

#[tokio::test(start_paused = true)]
async fn retry_after_one_hour_with_4s_budget_stops_after_the_first_attempt() {
    let calls = Calls::new();
    let headers = retry_after_header("3600");
    let mut observed = 0;
    let gave_up = run_observed(
        &fixed(Some(secs(4.0))),
        |_: &Retrying<'_, u16>| observed += 1,
        always_429(&calls, &headers),
    )
    .await
    .unwrap_err();
    assert_eq!(calls.offsets(), [0.0]);
    assert_eq!(observed, 0);
    assert_eq!(gave_up.attempts, 1);
    assert_eq!(
        gave_up.reason,
        GiveUpReason::HintBeyondBudget {
            hint: secs(3600.0),
            remaining: secs(4.0)
        }
    );
    assert_eq!(
        gave_up.to_string(),
        "429; gave up after 1 attempt(s): the server asked to wait 3600 s, more than the 4.0 s left of the retry budget"
    );
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_longer_than_the_backoff_is_waited() {
    let calls = Calls::new();
    let headers = retry_after_header("2");
    let _ = run(
        &fixed(Some(secs(10.0))).with_max_attempts(3),
        always_429(&calls, &headers),
    )
    .await;
    // max(2 s, 0.5 s) then max(2 s, 1 s).
    assert_eq!(calls.offsets(), [0.0, 2.0, 4.0]);
}

#[tokio::test(start_paused = true)]
async fn ratelimit_reset_is_a_minimum_wait() {
    let calls = Calls::new();
    let result = run(&fixed(Some(secs(60.0))), |n| {
        calls.record();
        std::future::ready(if n == 1 {
            Attempt::Retry {
                error: "rate limited",
                hint: Hint {
                    not_before: Some(secs(10.0)),
                    ..Hint::default()
                },
            }
        } else {
            Attempt::Done(n)
        })
    })
    .await;
    assert_eq!(result, Ok(2));
    assert_eq!(calls.offsets(), [0.0, 10.0]);
}

#[tokio::test(start_paused = true)]
async fn attempts_bound_without_time_bound() {
    // The Pushgateway's shape: 3 attempts, 1 s doubling, no jitter.
    let policy = Policy::new(secs(1.0), Duration::MAX)
        .with_jitter(0.0)
        .with_max_attempts(3);
    let (offsets, gave_up) = failing(&policy, || Attempt::retry("HTTP 503")).await;
    assert_eq!(offsets, [0.0, 1.0, 3.0]);
    assert_eq!(gave_up.reason, GiveUpReason::Attempts { max: 3 });
    assert_eq!(
        gave_up.to_string(),
        "HTTP 503; gave up after 3 attempt(s): the limit of 3 attempt(s) is reached"
    );
}

#[tokio::test(start_paused = true)]
async fn deadline_ends_before_the_attempts_bound() {
    let policy = fixed(None)
        .with_max_attempts(10)
        .with_deadline(Some(Instant::now() + secs(2.0)));
    let (offsets, gave_up) = failing(&policy, || Attempt::retry("timeout")).await;
    assert_eq!(offsets, [0.0, 0.5, 1.5]);
    assert!(matches!(gave_up.reason, GiveUpReason::OutOfTime { .. }));
    assert_eq!(
        gave_up.to_string(),
        "timeout; gave up after 3 attempt(s): waiting 2.0 s more would pass the retry deadline (0.5 s left)"
    );
}

#[tokio::test(start_paused = true)]
async fn a_final_failure_returns_at_once() {
    let (offsets, gave_up) = failing(&fixed(Some(secs(60.0))), || Attempt::Fail("HTTP 401")).await;
    assert_eq!(offsets, [0.0]);
    assert_eq!(gave_up.reason, GiveUpReason::NotRetryable);
    assert_eq!(gave_up.to_string(), "HTTP 401");
    assert_eq!(gave_up.into_inner(), "HTTP 401");
}

#[tokio::test(start_paused = true)]
async fn success_after_retries_reports_attempt_numbers() {
    let mut numbers = Vec::new();
    let mut retries = Vec::new();
    let result = run_observed(
        &fixed(None).with_max_retries(3),
        |r: &Retrying<'_, &str>| retries.push((r.attempt, r.delay)),
        |n| {
            numbers.push(n);
            async move {
                tokio::task::yield_now().await;
                if n < 3 {
                    Attempt::retry("HTTP 502")
                } else {
                    Attempt::Done(format!("delivered in {n}"))
                }
            }
        },
    )
    .await;
    assert_eq!(result.as_deref(), Ok("delivered in 3"));
    assert_eq!(numbers, [1, 2, 3]);
    assert_eq!(retries, [(1, secs(0.5)), (2, secs(1.0))]);
}

#[test]
fn gave_up_is_an_error_with_its_cause_as_source() {
    #[derive(Debug, thiserror::Error)]
    #[error("boom")]
    struct Boom;
    let e = GaveUp {
        error: Boom,
        attempts: 2,
        reason: GiveUpReason::Attempts { max: 2 },
    };
    let dyn_error: &dyn std::error::Error = &e;
    assert_eq!(dyn_error.source().unwrap().to_string(), "boom");
}

#[test]
fn the_driver_future_is_send_when_the_attempt_is() {
    fn assert_send<T: Send>(_: &T) {}
    let policy = fixed(None);
    let future = run_observed(
        &policy,
        |r: &Retrying<'_, String>| tracing::warn!(attempt = r.attempt, "retrying"),
        |n| async move {
            tokio::task::yield_now().await;
            Attempt::<u32, String>::Done(n)
        },
    );
    assert_send(&future);
}
