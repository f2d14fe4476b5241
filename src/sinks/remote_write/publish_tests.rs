//! Publishes decoded on the receiver's side: requests streamed from the
//! model (many capped requests, every series once), stale markers after
//! series disappear, the re-send of what was last published, the rule for
//! a series in two sets, external labels and time order in `report-day`.

use std::collections::BTreeMap;

use super::*;
use crate::sinks::view::{Publication, ScopeView};

/// Every series the receiver got, as (sorted labels → [(value bits,
/// timestamp)] in arrival order).
type Landed = BTreeMap<Vec<(String, String)>, Vec<(u64, i64)>>;

fn landed(requests: &[Captured]) -> Landed {
    let mut out = Landed::new();
    for r in requests {
        for s in r.decoded().timeseries {
            let labels = s.labels.into_iter().map(|l| (l.name, l.value)).collect();
            let entry: &mut Vec<(u64, i64)> = out.entry(labels).or_default();
            entry.extend(s.samples.iter().map(|x| (x.value.to_bits(), x.timestamp)));
        }
    }
    out
}

fn labels(name: &str, pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .chain([("__name__".to_string(), name.to_string())])
        .collect();
    out.sort();
    out
}

/// The family and team of team series `i` of [`teams`].
fn team_series(i: usize) -> (&'static str, String) {
    let family = ["copilot_team_a", "copilot_team_b", "copilot_team_c"][i % 3];
    (family, format!("t{i:04}"))
}

/// A scope whose newest day has `n` team series over three families
/// (`team` = 0..n), plus the given current values.
fn teams(scope: &Scope, n: usize, value: f64, current: &[(&str, f64)]) -> Arc<ScopeData> {
    let mut data = ScopeData::new(scope.clone());
    let (label, scope_name) = scope.label();
    let mut day = SampleSet::new();
    for i in 0..n {
        let (family, team) = team_series(i);
        day.insert(
            key(family, &[(&label, &scope_name), ("team", &team)]),
            value + i as f64,
            "Team",
        );
    }
    data.days.insert(days_ago(1), day);
    for (name, v) in current {
        data.current
            .insert(key(name, &[(&label, &scope_name)]), *v, "Current");
    }
    Arc::new(data)
}

fn health(scope: &Scope, ok: f64) -> SampleSet {
    let mut set = SampleSet::new();
    set.insert(
        SeriesKey::new("copilot_exporter_collect_success", vec![scope.label()]),
        ok,
        "Success",
    );
    set
}

fn round(scope: &Scope, data: &Arc<ScopeData>, now: SystemTime) -> Publication {
    let mut own = SampleSet::new();
    own.insert(
        key("copilot_exporter_build_info", &[("version", "1")]),
        1.0,
        "",
    );
    Publication {
        scopes: vec![ScopeView {
            scope: scope.clone(),
            data: Some(data.clone()),
            fresh: true,
            health: health(scope, 1.0),
        }],
        families: Vec::new(),
        health: own,
        now,
    }
}

/// One publish over many capped requests: every series of every set
/// (newest day, current values, health, self-metrics) arrives exactly
/// once with its value, no request over the cap, each request with the
/// metadata of exactly its own families.
#[tokio::test]
async fn a_publish_over_many_capped_requests_sends_every_series_exactly_once() {
    let rx = Receiver::ok().await;
    let sink = capped_sink(&rx, 7);
    let sink = sink.with_external_labels(
        &crate::sinks::labels::ExternalLabels::parse("cluster=eu-1").unwrap(),
    );
    let scope = Scope::enterprise("e");
    let data = teams(&scope, 200, 0.0, &[("copilot_seats_total", 42.0)]);
    let summary = sink
        .publish_round(&round(&scope, &data, now()))
        .await
        .unwrap();

    let requests = rx.requests();
    assert_eq!(requests.len(), 203usize.div_ceil(7));
    for r in &requests {
        let req = r.decoded();
        assert!(encode::request_samples(&req) <= 7);
        let mut own: Vec<String> = req
            .timeseries
            .iter()
            .flat_map(|s| s.labels.iter().filter(|l| l.name == "__name__"))
            .map(|l| l.value.clone())
            .collect();
        own.sort();
        own.dedup();
        let meta: Vec<String> = req
            .metadata
            .iter()
            .map(|m| m.metric_family_name.clone())
            .collect();
        assert_eq!(meta, own);
    }
    let got = landed(&requests);
    let ts = unix_ms(now());
    let mut want = Landed::new();
    let ext = |mut l: Vec<(String, String)>| {
        l.push(("cluster".into(), "eu-1".into()));
        l.sort();
        l
    };
    for i in 0..200 {
        let (family, team) = team_series(i);
        want.insert(
            ext(labels(family, &[("enterprise", "e"), ("team", &team)])),
            vec![((i as f64).to_bits(), ts)],
        );
    }
    want.insert(
        ext(labels("copilot_seats_total", &[("enterprise", "e")])),
        vec![(42f64.to_bits(), ts)],
    );
    want.insert(
        ext(labels(
            "copilot_exporter_collect_success",
            &[("enterprise", "e")],
        )),
        vec![(1f64.to_bits(), ts)],
    );
    want.insert(
        ext(labels("copilot_exporter_build_info", &[("version", "1")])),
        vec![(1f64.to_bits(), ts)],
    );
    assert_eq!(got, want);
    assert_eq!(summary.samples_sent(), 203);
}

/// After series disappear (a new model without some teams), the next
/// publish sends each of them one stale marker, stamped with its time;
/// series still present get none, and a publish of the same data again
/// sends no marker.
#[tokio::test]
async fn rw1_17_stale_markers_over_capped_requests_after_series_disappear() {
    let rx = Receiver::ok().await;
    let sink = capped_sink(&rx, 5);
    let scope = Scope::org("o");
    let first = teams(&scope, 60, 0.0, &[("copilot_seats_total", 1.0)]);
    sink.publish_round(&round(&scope, &first, now()))
        .await
        .unwrap();
    let sent_first = rx.requests().len();

    // Teams 40..60 and the seats are gone; values changed.
    let second = teams(&scope, 40, 100.0, &[]);
    let later = now() + Duration::from_secs(3600);
    let summary = sink
        .publish_round(&round(&scope, &second, later))
        .await
        .unwrap();
    assert_eq!(summary.scope(&scope).unwrap().stale_markers, 21);
    let got = landed(&rx.requests()[sent_first..]);
    let stale: Vec<&Vec<(String, String)>> = got
        .iter()
        .filter(|(_, s)| s.iter().any(|(bits, _)| *bits == encode::STALE_NAN_BITS))
        .map(|(l, _)| l)
        .collect();
    assert_eq!(stale.len(), 21);
    assert!(stale
        .iter()
        .any(|l| *l == &labels("copilot_seats_total", &[("org", "o")])));
    for i in 40..60 {
        let (family, team) = team_series(i);
        let l = labels(family, &[("org", "o"), ("team", &team)]);
        assert_eq!(
            got.get(&l),
            Some(&vec![(encode::STALE_NAN_BITS, unix_ms(later))]),
            "team {i}"
        );
    }
    assert_eq!(got.len(), 40 + 2 + 21, "live once, each stale once");

    // The same data again: nothing vanished.
    let before = rx.requests().len();
    let summary = sink
        .publish_round(&round(&scope, &second, later + Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!(summary.scope(&scope).unwrap().stale_markers, 0);
    let again = landed(&rx.requests()[before..]);
    assert!(again
        .values()
        .all(|s| s.iter().all(|(bits, _)| *bits != encode::STALE_NAN_BITS)));
}

/// The periodic re-send sends what was last published — after the model
/// changed, the new model's series and values, not the old ones, and no
/// stale marker — stamped with the re-send's time, capped like a publish.
#[tokio::test]
async fn the_resend_sends_the_last_publish_newly_stamped_after_the_model_changed() {
    let rx = Receiver::ok().await;
    let sink = capped_sink(&rx, 4);
    let scope = Scope::org("o");
    sink.resend(now()).await.unwrap();
    assert!(rx.requests().is_empty(), "nothing before the first publish");

    let first = teams(&scope, 30, 0.0, &[("copilot_seats_total", 1.0)]);
    sink.publish_round(&round(&scope, &first, now()))
        .await
        .unwrap();
    let second = teams(&scope, 10, 500.0, &[("copilot_seats_total", 2.0)]);
    let t2 = now() + Duration::from_secs(3600);
    sink.publish_round(&round(&scope, &second, t2))
        .await
        .unwrap();
    drop(second);
    let before = rx.requests().len();
    let t3 = t2 + Duration::from_secs(60);
    sink.resend(t3).await.unwrap();

    let requests = &rx.requests()[before..];
    assert_eq!(requests.len(), 13usize.div_ceil(4));
    assert!(requests
        .iter()
        .all(|r| encode::request_samples(&r.decoded()) <= 4));
    let got = landed(requests);
    let mut want = Landed::new();
    for i in 0..10 {
        let (family, team) = team_series(i);
        let l = labels(family, &[("org", "o"), ("team", &team)]);
        want.insert(l, vec![((500.0 + i as f64).to_bits(), unix_ms(t3))]);
    }
    want.insert(
        labels("copilot_seats_total", &[("org", "o")]),
        vec![(2f64.to_bits(), unix_ms(t3))],
    );
    want.insert(
        labels("copilot_exporter_collect_success", &[("org", "o")]),
        vec![(1f64.to_bits(), unix_ms(t3))],
    );
    want.insert(
        labels("copilot_exporter_build_info", &[("version", "1")]),
        vec![(1f64.to_bits(), unix_ms(t3))],
    );
    assert_eq!(got, want);
}

/// The same series in the newest day and the current values: sent once,
/// with the newest day's value, and counted.
#[tokio::test]
async fn a_series_in_two_sets_of_a_publish_is_sent_once_and_counted() {
    let rx = Receiver::ok().await;
    let (sink, _) = new_sink(test_config(rx.url()));
    let scope = Scope::org("o");
    let data = teams(&scope, 3, 0.0, &[]);
    let mut data = (*data).clone();
    data.current.insert(
        key("copilot_team_a", &[("org", "o"), ("team", "t0000")]),
        9.0,
        "",
    );
    let summary = sink.publish(&[Arc::new(data)], now()).await.unwrap();
    let s = summary.scope(&scope).unwrap();
    assert_eq!(s.series_duplicate, 1);
    assert_eq!(s.samples_sent, 3);
    let got = landed(&rx.requests());
    assert_eq!(
        got[&labels("copilot_team_a", &[("org", "o"), ("team", "t0000")])],
        vec![(0f64.to_bits(), unix_ms(now()))]
    );
}

/// `report-day`: the settled days carry the external labels too, and every
/// series' samples arrive in time order (RW1-15) over the whole publish.
#[tokio::test]
async fn report_day_history_carries_external_labels_and_keeps_time_order() {
    let rx = Receiver::ok().await;
    let mut config = report_day_config(rx.url(), None);
    config.max_samples_per_request = 2;
    let (sink, _) = new_sink(config);
    let sink = sink.with_external_labels(
        &crate::sinks::labels::ExternalLabels::parse("cluster=eu-1").unwrap(),
    );
    sink.publish(&[scope_data(Scope::org("o"), 8)], now())
        .await
        .unwrap();
    let got = landed(&rx.requests());
    assert!(!got.is_empty());
    let mut days = 0;
    for (labels, samples) in &got {
        assert!(
            labels.contains(&("cluster".to_string(), "eu-1".to_string())),
            "{labels:?}"
        );
        let ts: Vec<i64> = samples.iter().map(|s| s.1).collect();
        assert!(ts.windows(2).all(|w| w[0] < w[1]), "{labels:?}: {ts:?}");
        days = days.max(ts.len());
    }
    assert_eq!(days, 6, "days 3..=8 ago are settled");
}
