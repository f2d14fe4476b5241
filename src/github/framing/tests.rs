//! Framing: every framing, every chunking, every fault.

use super::*;
use crate::synth::{entity_day, user_row, Rng};
use proptest::prelude::*;
use serde_json::{json, Value};

/// An owned [`Row`].
#[derive(Debug, Clone, PartialEq)]
enum Out {
    Value(u64, Vec<u8>),
    TooLong(u64),
    Invalid(u64, String),
}

type Framed = (Vec<Out>, Result<FramingStats, FramingError>);

fn frame(input: &[u8], chunk: usize, max: usize) -> Framed {
    let mut r = FramingReader::new(max);
    let mut out = Vec::new();
    let mut push = |row: Row<'_>| {
        out.push(match row {
            Row::Value(n, b) => Out::Value(n, b.to_vec()),
            Row::TooLong(n) => Out::TooLong(n),
            Row::Invalid(n, why) => Out::Invalid(n, why),
        })
    };
    for c in input.chunks(chunk.max(1)) {
        r.feed(c, &mut push);
    }
    let end = r.finish(&mut push);
    (out, end)
}

/// Frames `input` in every chunking from 1 byte to the whole (all sizes
/// up to 70 bytes, then a spread) and requires the same result.
fn frame_all(input: &[u8], max: usize) -> Framed {
    let whole = frame(input, input.len(), max);
    let mut sizes: Vec<usize> = (1..=70).collect();
    sizes.extend([97, 128, 255, 256, 1000, 4096, 65_536]);
    for size in sizes.into_iter().filter(|s| *s < input.len()) {
        assert_eq!(frame(input, size, max), whole, "chunks of {size} bytes");
    }
    whole
}

fn values(framed: &Framed) -> Vec<Value> {
    framed
        .0
        .iter()
        .map(|o| match o {
            Out::Value(_, b) => serde_json::from_slice(b).expect("a framed row parses"),
            other => panic!("not a value: {other:?}"),
        })
        .collect()
}

fn ok(framed: &Framed) -> FramingStats {
    framed.1.clone().expect("the file frames")
}

/// Every framing of `rows` the reader must read alike.
fn framings(rows: &[Value]) -> Vec<(&'static str, Vec<u8>)> {
    let compact: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
    let pretty: Vec<String> = rows
        .iter()
        .map(|r| serde_json::to_string_pretty(r).unwrap_or_default())
        .collect();
    let array = Value::Array(rows.to_vec());
    let mut out = vec![
        (
            "ndjson",
            compact.iter().map(|l| format!("{l}\n")).collect::<String>(),
        ),
        (
            "ndjson-crlf-blank",
            format!("\r\n{}", compact.join("\r\n\r\n")),
        ),
        ("pretty", pretty.join("\n")),
        (
            "pretty-crlf",
            pretty.join("\n").replace('\n', "\r\n") + "\r\n",
        ),
        ("concatenated", compact.join(" ")),
        ("array", array.to_string()),
        (
            "array-pretty",
            serde_json::to_string_pretty(&array).unwrap_or_default(),
        ),
        ("array-lines", format!("[\n{}\n]\n", compact.join(",\n"))),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.into_bytes()))
    .collect::<Vec<_>>();
    let with_bom: Vec<_> = out
        .iter()
        .map(|(_, v)| ("bom", [BOM.as_slice(), v].concat()))
        .collect();
    out.extend(with_bom);
    out
}

fn tricky_rows() -> Vec<Value> {
    let mut user = Vec::new();
    user_row(&mut user, &mut Rng(7), 1_000_001, "2026-05-07");
    let user: Value = serde_json::from_slice(&user).unwrap_or_default();
    vec![
        json!({"day": "2026-05-07", "s": "}{][\"\\", "t": "a\nb\r\n{", "u": "\\\\\"", "e": []}),
        user,
        json!({"k": "日本語 ✓", "nested": [{"a": [1, 2, {"b": "]"}]}, {}], "n": -1.5e3, "z": null}),
        json!({"day_totals": [{"day": "2026-05-06", "x": 1}, {"day": "2026-05-07", "x": 2}]}),
    ]
}

#[test]
fn every_framing_and_chunking_gives_the_same_rows() {
    let rows = tricky_rows();
    for (name, input) in framings(&rows) {
        let framed = frame_all(&input, 1 << 20);
        assert_eq!(values(&framed), rows, "{name}");
        let stats = ok(&framed);
        assert_eq!(
            (stats.rows, stats.invalid, stats.too_long),
            (4, 0, 0),
            "{name}"
        );
        assert_eq!(stats.bytes, input.len() as u64, "{name}");
    }
}

#[test]
fn framings_are_recognised() {
    let rows = tricky_rows();
    let expect = [
        ("ndjson", Framing::Lines),
        ("ndjson-crlf-blank", Framing::Lines),
        ("pretty", Framing::Documents),
        ("concatenated", Framing::Documents),
        ("array", Framing::Array),
        ("array-pretty", Framing::Array),
    ];
    let all = framings(&rows);
    for (name, framing) in expect {
        let input = &all.iter().find(|(n, _)| *n == name).expect("framing").1;
        assert_eq!(ok(&frame(input, 4096, 1 << 20)).framing, framing, "{name}");
    }
    // A first row that fits its line does not stop pretty documents.
    let framed = frame_all(b"{}\n{\n  \"a\": [\n    1\n  ]\n}\n", 100);
    assert_eq!(values(&framed), [json!({}), json!({"a": [1]})]);
    assert_eq!(ok(&framed).framing, Framing::Lines);
    assert_eq!(ok(&frame(b"", 1, 100)).framing, Framing::Empty);
    assert_eq!(ok(&frame(b" \r\n\n", 1, 100)).rows, 0);
}

/// A 28-day entity report as one pretty-printed document (2-space
/// indented, like `report-28day-pretty-document`) is one row.
#[test]
fn pretty_28_day_document_is_one_row() {
    let mut rng = Rng(3);
    let days: Vec<Value> = (1..=28)
        .map(|d| {
            let mut b = Vec::new();
            entity_day(&mut b, &mut rng, &format!("2026-11-{d:02}"), 10 + d);
            serde_json::from_slice(&b).unwrap_or_default()
        })
        .collect();
    let doc = json!({
        "report_start_day": "2026-11-01",
        "report_end_day": "2026-11-28",
        "organization_id": "90001",
        "day_totals": days,
    });
    let text = serde_json::to_vec_pretty(&doc).unwrap_or_default();
    let framed = frame_all(&text, 1 << 20);
    assert_eq!(values(&framed), std::slice::from_ref(&doc));
    let stats = ok(&framed);
    assert_eq!(stats.framing, Framing::Documents);
    assert_eq!(
        stats.lines,
        text.iter().filter(|b| **b == b'\n').count() as u64 + 1
    );
    // The limit is per row: the document is one value.
    let framed = frame(&text, 4096, text.len() - 1);
    assert_eq!(framed.0, [Out::TooLong(1)]);
    assert_eq!(ok(&framed).too_long, 1);
    let framed = frame(&text, 4096, text.len());
    assert_eq!(values(&framed), [doc]);
}

#[test]
fn an_html_page_is_not_json() {
    let page = b"<!DOCTYPE html>\n<html>\n<head><title>Access blocked</title></head>\n<body>\n<h1>Blocked</h1>\n</body>\n</html>\n";
    for input in [
        &page[..],
        &[BOM.as_slice(), page].concat(),
        b"\n  <html>{\"a\":1}\n",
    ] {
        let framed = frame_all(input, 1 << 20);
        assert!(framed.0.is_empty());
        assert!(matches!(framed.1, Err(FramingError::NotJson(ref s)) if s.starts_with('<')));
    }
    for text in [&b"Service Unavailable"[..], b"}", b"\xEF\xBB"] {
        assert!(matches!(
            frame(text, 1, 100).1,
            Err(FramingError::NotJson(_))
        ));
    }
    let mut r = FramingReader::new(100);
    r.feed(b"  <html>", &mut |_| {});
    assert!(r.is_not_json());
}

#[test]
fn a_cut_off_transfer_is_truncated() {
    let rows = tricky_rows();
    for (name, input) in framings(&rows) {
        let whole = frame(&input, input.len(), 1 << 20);
        // Cut inside the last row (or the array): never a success.
        let last_close = input.iter().rposition(|b| *b == b'}').unwrap_or(0);
        for cut in [last_close, last_close - 1, last_close - 7] {
            let framed = frame(&input[..cut], 64, 1 << 20);
            assert!(
                matches!(framed.1, Err(FramingError::Truncated { .. })),
                "{name} cut at {cut}: {:?}",
                framed.1
            );
            // What came before is the same rows.
            assert!(whole.0.starts_with(&framed.0), "{name}");
        }
    }
    assert_eq!(
        frame(b"{\"a\":1}\n{\"b\":[1,", 3, 100).1,
        Err(FramingError::Truncated {
            ordinal: 2,
            line: 2
        })
    );
    assert_eq!(
        frame(b"[{\"a\":1},\n{\"b\":2}", 3, 100).1,
        Err(FramingError::Truncated {
            ordinal: 0,
            line: 2
        })
    );
    assert!(matches!(
        frame(b"\"abc", 2, 100).1,
        Err(FramingError::Truncated { .. })
    ));
    // A cut right after a complete NDJSON line cannot be seen.
    assert_eq!(ok(&frame(b"{\"a\":1}\n{\"b\":2}\n", 5, 100)).rows, 2);
    assert_eq!(ok(&frame(b"{\"a\":1}\n{\"b\":2}", 5, 100)).rows, 2);
}

#[test]
fn strings_hide_brackets_quotes_and_escapes() {
    let input = br#"{"a":"}}]]","b":"\"{","c":"\\","d":"\\\"}"} {"e":"[\u005d"}"#;
    let framed = frame_all(input, 100);
    assert_eq!(
        values(&framed),
        [
            json!({"a":"}}]]","b":"\"{","c":"\\","d":"\\\"}"}),
            json!({"e":"[]"})
        ]
    );
}

#[test]
fn too_long_values_are_skipped_without_buffering() {
    let big = format!("{{\"x\":\"{}\",\"y\":[{{}}]}}", "z".repeat(100_000));
    let inputs = [
        format!("{{\"a\":1}}\n{big}\n{{\"b\":2}}\n"),
        format!("{{\"a\":1}}\n\n{big}"),
        format!("{{\n\"a\":1}}\n{big}\n{{\"b\":2}}"),
        format!("[{{\"a\":1}},{big},{{\"b\":2}}]"),
    ];
    for (k, input) in inputs.iter().enumerate() {
        let framed = frame_all(input.as_bytes(), 1000);
        let too_long = framed
            .0
            .iter()
            .filter(|o| matches!(o, Out::TooLong(2)))
            .count();
        assert_eq!(too_long, 1, "input {k}: {:?}", framed.0);
        let stats = ok(&framed);
        assert_eq!(stats.too_long, 1, "input {k}");
        assert_eq!(stats.rows as usize, framed.0.len() - 1, "input {k}");
        // Fed in small chunks, the reader never keeps more than the limit.
        let mut r = FramingReader::new(1000);
        for c in input.as_bytes().chunks(100) {
            r.feed(c, &mut |_| {});
            assert!(
                r.buf.capacity() <= 64 * 1024 && r.buf.len() <= 1001,
                "input {k}"
            );
        }
    }
}

#[test]
fn invalid_values_are_reported_and_skipped() {
    // NDJSON: a bad line is one invalid row, a cut-off row (which may
    // span lines, like a pretty document) ends where a line starts with
    // `{`: the next row.
    let input =
        b"{\"a\":1}\nnot json\n{\"b\":\n  [1,2]\n\"s\"\n{\"c\":3}\r\n{\"d\":\"x\ny\"}\n{\"e\":5}";
    let framed = frame_all(input, 100);
    assert_eq!(framed.0[0], Out::Value(1, b"{\"a\":1}".to_vec()));
    assert!(
        matches!(&framed.0[1], Out::Invalid(2, why) if why == "line 2: \"not\" is not a value")
    );
    assert!(
        matches!(&framed.0[2], Out::Invalid(3, why) if why.starts_with("line 3: not complete"))
    );
    assert_eq!(framed.0[3], Out::Value(4, b"{\"c\":3}".to_vec()));
    assert!(
        matches!(&framed.0[4], Out::Invalid(5, why) if why == "line 7: line break inside a string")
    );
    // The rest of the broken line is a line of its own (as with
    // `LineSplitter`).
    assert!(matches!(&framed.0[5], Out::Invalid(6, why) if why.starts_with("line 8:")));
    assert_eq!(framed.0[6], Out::Value(7, b"{\"e\":5}".to_vec()));
    assert_eq!(framed.0.len(), 7);
    let stats = ok(&framed);
    assert_eq!(
        (stats.rows, stats.invalid, stats.framing),
        (3, 4, Framing::Lines)
    );
    // A line of NDJSON in another shape is scanned.
    let framed = frame_all(
        b"{\"a\":1}\n[{\"b\":2}, {\"c\":3}]\n{\"d\":4} {\"e\":5}",
        100,
    );
    assert_eq!(values(&framed).len(), 5);

    // Documents: a mismatched bracket; a line break inside a string.
    let input = b"{\n  \"a\": [1}\n  \"junk\": 2\n}\n{\n  \"b\": \"x\n y\"\n}\n{\n  \"c\": 3\n}\n";
    let framed = frame_all(input, 100);
    assert!(matches!(&framed.0[0], Out::Invalid(1, why) if why == "line 1: unexpected '}'"));
    assert!(
        matches!(&framed.0[1], Out::Invalid(2, why) if why.contains("line break inside a string"))
    );
    assert_eq!(
        values(&(framed.0[2..].to_vec(), Ok(FramingStats::default()))),
        [json!({"c": 3})]
    );
    assert_eq!(ok(&framed).invalid, 2);

    // Array: a bad element; the next elements and the close still read.
    let input = b"[\n{\"a\":1},\n{\"b\":]},\n{\"c\":3}\n]\n{\"d\":4}";
    let framed = frame_all(input, 100);
    assert_eq!(framed.0.len(), 4);
    assert!(matches!(&framed.0[1], Out::Invalid(2, why) if why.contains("line 3")));
    assert_eq!(framed.0[2], Out::Value(3, b"{\"c\":3}".to_vec()));
    assert_eq!(framed.0[3], Out::Value(4, b"{\"d\":4}".to_vec()));
    // A missing comma between elements; a trailing comma is tolerated.
    let framed = frame_all(b"[{\"a\":1} {\"b\":2}\n,{\"c\":3},]", 100);
    assert!(matches!(&framed.0[1], Out::Invalid(2, why) if why.contains("',' is missing")));
    assert_eq!(framed.0[2], Out::Value(3, b"{\"c\":3}".to_vec()));
    assert!(framed.1.is_ok());
    // Hostile nesting is bounded.
    let deep = "[".repeat(MAX_DEPTH + 1);
    let framed = frame(format!("{deep}\n{{\"a\":1}}").as_bytes(), 64, 1 << 20);
    assert!(matches!(&framed.0[0], Out::Invalid(1, why) if why.contains("nested deeper")));
}

#[test]
fn top_level_scalars_are_values_for_the_caller_to_judge() {
    let framed = frame_all(b"\"report not ready\"", 100);
    assert_eq!(values(&framed), [json!("report not ready")]);
    let framed = frame_all(b"12 true null [3]", 100);
    assert_eq!(
        values(&framed),
        [json!(12), json!(true), json!(null), json!(3)]
    );
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
        "[a-z{}\\[\\]\"\\\\\n\r\t ,:é✓]{0,12}".prop_map(Value::from),
        any::<i32>().prop_map(|i| Value::from(f64::from(i) / 4.0)),
    ]
}

fn tree() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_{}\"]{1,8}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn row() -> impl Strategy<Value = Value> {
    prop::collection::btree_map("[a-z_]{1,10}", tree(), 0..6)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    /// Any set of rows gives identical parsed rows in every framing and
    /// every chunking.
    #[test]
    fn any_rows_in_any_framing(rows in prop::collection::vec(row(), 1..6), chunk in 1usize..300) {
        for (name, input) in framings(&rows) {
            let framed = frame(&input, chunk, 1 << 20);
            prop_assert_eq!(&values(&framed), &rows, "{}", name);
            prop_assert_eq!(ok(&framed).rows, rows.len() as u64, "{}", name);
        }
    }
}
