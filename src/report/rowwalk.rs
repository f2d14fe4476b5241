//! The fast path of the naming rule for per-user rows: a serde visitor that
//! walks one NDJSON line straight from its bytes (borrowed strings, no
//! `serde_json::Value`), resolving each numeric leaf to an interned series
//! id of [`crate::report::naming::map_object`]'s naming rule.
//!
//! Names, label sets and series are computed once, on first sight, by the
//! very functions of [`crate::report::naming`], and cached in a schema trie keyed
//! by (context, field name): the steady state of a row is a hash lookup per
//! field and per array element, and no allocation (but a copy of
//! `user_login` for per-user series). Anything unusual (a
//! duplicate key, an escaped label, a type the slow path would reject) makes
//! the walk give up with [`Walked::Fallback`], and the caller maps that row
//! the slow, exact way; so the results are those of `map_object`.

use std::collections::HashMap;
use std::fmt;

use chrono::NaiveDate;
use rustc_hash::FxHashMap;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::model::{Labels, SeriesKey};
use crate::report::breakdowns::Breakdowns;
use crate::report::naming::{
    array_parts, is_bookkeeping, is_element_id, leaf_metric, object_path, push_label,
};
use crate::report::quantity::is_quantity;

/// What kind of JSON container a context is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CtxKind {
    /// The row or an object nested in objects (`walk_object`).
    Object,
    /// An element of such an array (`top`), or an object nested in one.
    Element { top: bool },
}

#[derive(Debug)]
struct Ctx {
    kind: CtxKind,
    /// Object: the metric path so far; array / element: the name prefix.
    path: String,
    /// Array / element: the `_by_<dims>` suffix.
    suffix: String,
    fields: FxHashMap<Box<str>, u32>,
    /// The field ids of the last object of this context, in key order:
    /// rows of one report list their keys in the same order, so the key at
    /// position `i` is first compared with `order[i]` (no hashing).
    order: Vec<u32>,
}

#[derive(Debug)]
struct Field {
    name: Box<str>,
    bookkeeping: bool,
    /// An identifying `*_id` of an array element: a label.
    id_label: bool,
    /// 1: the row's `user_id`, 2: the row's `day`.
    identity: u8,
    stamp: u64,
    leaf: Option<u32>,
    object: Option<u32>,
    array: Option<u32>,
}

#[derive(Debug)]
struct Leaf {
    /// The metric name id; [`NO_NAME`] for a field name without a letter
    /// or digit, which names no series.
    name: u32,
    factor: f64,
    /// A quantity ([`is_quantity`]).
    additive: bool,
}

/// [`Leaf::name`] of a field that names no series.
const NO_NAME: u32 = u32::MAX;

/// A leaf of the last walked row: series id, value, and whether its field
/// is a quantity.
pub(crate) type LeafValue = (u32, f64, bool);

/// Identity of a walked row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Walked {
    /// The row was walked; its quantity leaves are in
    /// [`RowMapper::leaves`] (empty when `skipped`).
    Row {
        /// `user_id`.
        user: Option<u64>,
        /// `day` (`None`: absent, null, or not a date).
        day: Option<NaiveDate>,
        /// True when the user was not wanted and the rest of the row was
        /// only checked, not mapped.
        skipped: bool,
        /// `user_id` was a string (its text, not its number, names the user).
        user_text: bool,
    },
    /// Map this row the slow way.
    Fallback,
}

/// The interning walker (see the module documentation).
#[derive(Debug)]
pub(crate) struct RowMapper {
    base_labels: Labels,
    ctxs: Vec<Ctx>,
    fields: Vec<Field>,
    leaves_info: Vec<Leaf>,
    names: Vec<String>,
    name_ids: HashMap<String, u32>,
    labelsets: Vec<Labels>,
    labelset_ids: HashMap<Labels, u32>,
    raw_labelsets: FxHashMap<Box<[u8]>, u32>,
    scratch: Vec<u8>,
    series: Vec<(u32, u32)>,
    series_ids: FxHashMap<u64, u32>,
    series_by_key: HashMap<SeriesKey, u32>,
    stamp: u64,
    pending: Vec<(u32, f64, bool)>,
    /// Leaves of the last walked row; quantities only unless `keep_all`.
    pub(crate) leaves: Vec<LeafValue>,
    /// Keep non-additive leaves too (per-user series keep their first value).
    keep_all: bool,
    /// Rows without `user_id` are skipped (the team join) or mapped.
    require_user: bool,
    /// The last row's `user_login`, when it was a string.
    pub(crate) login: Option<String>,
    /// By name id: whether the caller has the name's help text.
    help_known: Vec<bool>,
    /// By series id: the stamp of the last row that had the series.
    series_stamp: Vec<u64>,
    /// The breakdowns walked; the row's fields of the others are skipped.
    breakdowns: Breakdowns,
    /// The last `day` text read and its date.
    last_day: Option<(String, Option<NaiveDate>)>,
}

impl RowMapper {
    /// A mapper for series named `<prefix>…` carrying `base_labels`.
    pub(crate) fn new(prefix: &str, base_labels: &Labels) -> Self {
        let mut m = RowMapper {
            base_labels: base_labels.clone(),
            ctxs: Vec::new(),
            fields: Vec::new(),
            leaves_info: Vec::new(),
            names: Vec::new(),
            name_ids: HashMap::new(),
            labelsets: Vec::new(),
            labelset_ids: HashMap::new(),
            raw_labelsets: FxHashMap::default(),
            scratch: Vec::new(),
            series: Vec::new(),
            series_ids: FxHashMap::default(),
            series_by_key: HashMap::new(),
            stamp: 0,
            pending: Vec::new(),
            leaves: Vec::new(),
            keep_all: false,
            require_user: true,
            login: None,
            help_known: Vec::new(),
            series_stamp: Vec::new(),
            breakdowns: Breakdowns::ALL,
            last_day: None,
        };
        m.new_ctx(CtxKind::Object, prefix.to_string(), String::new());
        // Label set 0: the base labels.
        let base = SeriesKey::new("", base_labels.clone()).labels;
        m.labelsets.push(base.clone());
        m.labelset_ids.insert(base, 0);
        m
    }

    /// A mapper for per-user series: non-additive leaves are kept, rows
    /// without `user_id` are mapped, and `user_login` is captured.
    pub(crate) fn for_users(prefix: &str, base_labels: &Labels) -> Self {
        let mut m = RowMapper::new(prefix, base_labels);
        m.keep_all = true;
        m.require_user = false;
        m
    }

    /// Walks only `breakdowns` of each row (as
    /// [`crate::report::naming::map_row_leaves`] maps them); set before the
    /// first row.
    pub(crate) fn with_breakdowns(mut self, breakdowns: Breakdowns) -> Self {
        self.breakdowns = breakdowns;
        self
    }

    fn new_ctx(&mut self, kind: CtxKind, path: String, suffix: String) -> u32 {
        self.ctxs.push(Ctx {
            kind,
            path,
            suffix,
            fields: FxHashMap::default(),
            order: Vec::new(),
        });
        (self.ctxs.len() - 1) as u32
    }

    /// Number of distinct series seen.
    pub(crate) fn series_count(&self) -> usize {
        self.series.len()
    }

    /// A series' metric name, label-set id and labels, borrowed.
    pub(crate) fn series_parts(&self, id: u32) -> Option<(&str, u32, &Labels)> {
        let &(name, labels) = self.series.get(id as usize)?;
        Some((
            self.names.get(name as usize)?,
            labels,
            self.labelsets.get(labels as usize)?,
        ))
    }

    /// Number of distinct label sets seen.
    pub(crate) fn labelset_count(&self) -> usize {
        self.labelsets.len()
    }

    /// Records that the caller has the help text of metric `name`; until
    /// then, rows with a series of that name fail [`RowMapper::leaves_exact`].
    pub(crate) fn mark_help_known(&mut self, name: &str) {
        let id = self.name_id(name) as usize;
        if self.help_known.len() <= id {
            self.help_known.resize(id + 1, false);
        }
        self.help_known[id] = true;
    }

    /// True when the last walked row's [`RowMapper::leaves`] can be taken
    /// as they are: no series twice in the row and every name's help known.
    /// Otherwise the row needs the exact path.
    pub(crate) fn leaves_exact(&mut self) -> bool {
        let stamp = self.next_stamp();
        if self.series_stamp.len() < self.series.len() {
            self.series_stamp.resize(self.series.len(), 0);
        }
        for &(series, _, _) in &self.leaves {
            let slot = &mut self.series_stamp[series as usize];
            let name = self.series[series as usize].0 as usize;
            if *slot == stamp || !self.help_known.get(name).copied().unwrap_or(false) {
                return false;
            }
            *slot = stamp;
        }
        true
    }

    /// The name id of a metric name (interned on first sight).
    pub(crate) fn name_id(&mut self, name: &str) -> u32 {
        if let Some(id) = self.name_ids.get(name) {
            return *id;
        }
        self.names.push(name.to_string());
        let id = (self.names.len() - 1) as u32;
        self.name_ids.insert(name.to_string(), id);
        id
    }

    /// The id of a series given by its key (as built by `map_object`).
    pub(crate) fn series_for_key(&mut self, key: &SeriesKey) -> u32 {
        if let Some(id) = self.series_by_key.get(key) {
            return *id;
        }
        let name = self.name_id(&key.name);
        let labels = self.labelset_id(&key.labels);
        self.register_series(name, labels, key.clone())
    }

    /// The id of a (sorted) label set, interned on first sight.
    fn labelset_id(&mut self, labels: &Labels) -> u32 {
        if let Some(id) = self.labelset_ids.get(labels) {
            return *id;
        }
        self.labelsets.push(labels.clone());
        let id = (self.labelsets.len() - 1) as u32;
        self.labelset_ids.insert(labels.clone(), id);
        id
    }

    fn register_series(&mut self, name: u32, labels: u32, key: SeriesKey) -> u32 {
        self.series.push((name, labels));
        let id = (self.series.len() - 1) as u32;
        self.series_ids
            .insert((u64::from(name) << 32) | u64::from(labels), id);
        self.series_by_key.insert(key, id);
        id
    }

    fn series_of(&mut self, name: u32, labels: u32) -> u32 {
        let packed = (u64::from(name) << 32) | u64::from(labels);
        if let Some(id) = self.series_ids.get(&packed) {
            return *id;
        }
        let key = SeriesKey {
            name: self.names[name as usize].clone(),
            labels: self.labelsets[labels as usize].clone(),
        };
        if let Some(id) = self.series_by_key.get(&key).copied() {
            self.series_ids.insert(packed, id);
            return id;
        }
        self.register_series(name, labels, key)
    }

    /// The field `name` at key position `pos` of an object of context
    /// `ctx`: [`RowMapper::field`], tried first against the field at that
    /// position in the context's last object.
    fn field_at(&mut self, ctx: u32, pos: usize, name: &str) -> u32 {
        let predicted = self.ctxs[ctx as usize].order.get(pos).copied();
        if let Some(id) = predicted {
            if *self.fields[id as usize].name == *name {
                return id;
            }
        }
        let id = self.field(ctx, name);
        let order = &mut self.ctxs[ctx as usize].order;
        if pos < order.len() {
            order[pos] = id;
        } else if pos == order.len() {
            order.push(id);
        }
        id
    }

    /// The field `name` of context `ctx`.
    fn field(&mut self, ctx: u32, name: &str) -> u32 {
        if let Some(id) = self.ctxs[ctx as usize].fields.get(name) {
            return *id;
        }
        let identity = match (ctx, name) {
            (0, "user_id") => 1,
            (0, "day") => 2,
            (0, "user_login") => 3,
            _ => 0,
        };
        let id_label =
            self.ctxs[ctx as usize].kind == (CtxKind::Element { top: true }) && is_element_id(name);
        // A breakdown that is off is skipped like bookkeeping.
        let off = ctx == 0 && self.breakdowns.skips_field(name);
        self.fields.push(Field {
            name: name.into(),
            bookkeeping: (is_bookkeeping(name) && !id_label) || off,
            id_label,
            identity,
            stamp: 0,
            leaf: None,
            object: None,
            array: None,
        });
        let id = (self.fields.len() - 1) as u32;
        self.ctxs[ctx as usize].fields.insert(name.into(), id);
        id
    }

    /// Marks `field` seen in the object of `stamp`; false when it already was
    /// (a duplicate key).
    fn first_sight(&mut self, field: u32, stamp: u64) -> bool {
        let f = &mut self.fields[field as usize];
        if f.stamp == stamp {
            return false;
        }
        f.stamp = stamp;
        true
    }

    fn next_stamp(&mut self) -> u64 {
        self.stamp += 1;
        self.stamp
    }

    /// The leaf of a numeric `field` in `ctx`.
    fn leaf(&mut self, ctx: u32, field: u32) -> u32 {
        if let Some(l) = self.fields[field as usize].leaf {
            return l;
        }
        let c = &self.ctxs[ctx as usize];
        let key = &self.fields[field as usize].name;
        let additive = is_quantity(key);
        let (name, factor) = match leaf_metric(&c.path, key, &c.suffix) {
            Some((name, factor)) => (self.name_id(&name), factor),
            None => (NO_NAME, 1.0),
        };
        self.leaves_info.push(Leaf {
            name,
            factor,
            additive,
        });
        let id = (self.leaves_info.len() - 1) as u32;
        self.fields[field as usize].leaf = Some(id);
        id
    }

    /// The context of an object-valued `field` of `ctx`.
    fn object_ctx(&mut self, ctx: u32, field: u32) -> u32 {
        if let Some(c) = self.fields[field as usize].object {
            return c;
        }
        let c = &self.ctxs[ctx as usize];
        let key = &self.fields[field as usize].name;
        let path = object_path(&c.path, key);
        let (kind, suffix) = match c.kind {
            CtxKind::Object => (CtxKind::Object, String::new()),
            CtxKind::Element { .. } => (CtxKind::Element { top: false }, c.suffix.clone()),
        };
        let id = self.new_ctx(kind, path, suffix);
        self.fields[field as usize].object = Some(id);
        id
    }

    /// The element context of an array-valued `field` of object `ctx`.
    fn array_element_ctx(&mut self, ctx: u32, field: u32) -> u32 {
        if let Some(c) = self.fields[field as usize].array {
            return c;
        }
        let c = &self.ctxs[ctx as usize];
        let key = &self.fields[field as usize].name;
        let (prefix, suffix) = array_parts(&c.path, key);
        let element = self.new_ctx(CtxKind::Element { top: true }, prefix, suffix);
        self.fields[field as usize].array = Some(element);
        element
    }

    /// The label set of an array element of `ctx` with these string fields.
    fn element_labels(&mut self, ctx: u32, strings: &mut [(&str, LabelValue<'_>)]) -> u32 {
        use std::io::Write as _;
        strings.sort_unstable_by(|a, b| a.0.cmp(b.0));
        self.scratch.clear();
        self.scratch.extend_from_slice(&ctx.to_le_bytes());
        for (k, v) in strings.iter() {
            self.scratch.extend_from_slice(k.as_bytes());
            self.scratch.push(0);
            match v {
                LabelValue::Text(t) => self.scratch.extend_from_slice(t.as_bytes()),
                LabelValue::Unsigned(n) => {
                    let _ = write!(self.scratch, "{n}");
                }
                LabelValue::Signed(n) => {
                    let _ = write!(self.scratch, "{n}");
                }
            }
            self.scratch.push(0);
        }
        if let Some(id) = self.raw_labelsets.get(self.scratch.as_slice()) {
            return *id;
        }
        let mut labels = self.base_labels.clone();
        for (k, v) in strings.iter() {
            match v {
                LabelValue::Text(t) => push_label(&mut labels, k, t),
                LabelValue::Unsigned(n) => push_label(&mut labels, k, &n.to_string()),
                LabelValue::Signed(n) => push_label(&mut labels, k, &n.to_string()),
            }
        }
        let labels = SeriesKey::new("", labels).labels;
        let id = self.labelset_id(&labels);
        self.raw_labelsets
            .insert(self.scratch.clone().into_boxed_slice(), id);
        id
    }

    /// Walks one row. `wants` says whether a user's row is worth mapping.
    pub(crate) fn walk(&mut self, line: &[u8], wants: &dyn Fn(u64) -> bool) -> Walked {
        self.walk_with(line, wants, None)
    }

    /// [`RowMapper::walk`] for per-user rows: once a non-empty `user_login`
    /// is read and `keep_login` refuses it (a user the cap drops), the rest
    /// of the row is only checked (parsed, `user_id` and `day` read), not
    /// mapped, and the row comes back `skipped` with [`RowMapper::login`].
    pub(crate) fn walk_logins(&mut self, line: &[u8], keep_login: &dyn Fn(&str) -> bool) -> Walked {
        self.walk_with(line, &|_| true, Some(keep_login))
    }

    fn walk_with(
        &mut self,
        line: &[u8],
        wants: &dyn Fn(u64) -> bool,
        keep_login: Option<&dyn Fn(&str) -> bool>,
    ) -> Walked {
        self.leaves.clear();
        self.pending.clear();
        self.login = None;
        let mut walker = Walker {
            m: self,
            wants,
            keep_login,
            user: None,
            user_text: false,
            day: None,
            skip: false,
        };
        let mut de = serde_json::Deserializer::from_slice(line);
        let walked = ObjectSeed {
            w: &mut walker,
            ctx: 0,
        }
        .deserialize(&mut de)
        .and_then(|()| de.end());
        match walked {
            Ok(()) => Walked::Row {
                user: walker.user,
                day: walker.day,
                skipped: walker.skip,
                user_text: walker.user_text,
            },
            Err(_) => {
                self.leaves.clear();
                Walked::Fallback
            }
        }
    }
}

struct Walker<'m, 'w> {
    m: &'m mut RowMapper,
    wants: &'w dyn Fn(u64) -> bool,
    keep_login: Option<&'w dyn Fn(&str) -> bool>,
    user: Option<u64>,
    user_text: bool,
    day: Option<NaiveDate>,
    skip: bool,
}

fn give_up<E: de::Error>() -> E {
    E::custom("row needs the exact path")
}

/// A map key, borrowed when it has no escapes.
enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(s) => s,
            Key::Owned(s) => s,
        }
    }
}

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Key<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Key::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Key::Owned(v.to_string()))
    }
}

/// Visitor methods that accept a JSON number and ignore it.
macro_rules! ignore_numbers {
    () => {
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
    };
}

/// Visitor methods that accept a boolean, string or null and ignore it
/// (they produce no series).
macro_rules! ignore_other_scalars {
    () => {
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_none<E>(self) -> Result<(), E> {
            Ok(())
        }
    };
}

/// Visitor methods of a seed whose value is an `Option`: a boolean or a
/// null is `None`.
macro_rules! none_for_bool_and_null {
    () => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    };
}

/// Skips any value, checking it like a full parse would (strings must be
/// UTF-8), unlike `IgnoredAny`.
struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    ignore_numbers!();
    ignore_other_scalars!();
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Skip)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(KeySeed)?.is_some() {
            map.next_value_seed(Skip)?;
        }
        Ok(())
    }
}

/// `user_id`: a number, a string without escapes (digits or not), or
/// null; with whether it was a non-empty string.
struct UserIdSeed;

impl<'de> DeserializeSeed<'de> for UserIdSeed {
    type Value = (Option<u64>, bool);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UserIdSeed {
    type Value = (Option<u64>, bool);
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a user id")
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok((Some(v), false))
    }
    // Escaped strings are refused, as by the identity parse (borrowed `&str`).
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok((v.trim().parse().ok(), !v.is_empty()))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok((None, false))
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok((None, false))
    }
}

/// `user_login`: a string, or a boolean or null (which name nobody);
/// anything else sends the row to the exact path.
struct LoginSeed;

impl<'de> DeserializeSeed<'de> for LoginSeed {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LoginSeed {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a login")
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    none_for_bool_and_null!();
    // A number, object or array under `user_login` is data for the naming
    // rule: the exact path maps it.
}

/// `day`: a string without escapes, or null. `last` remembers the last
/// text parsed and its date (every row of a report has the same day).
struct DaySeed<'a> {
    last: &'a mut Option<(String, Option<NaiveDate>)>,
}

impl<'de> DeserializeSeed<'de> for DaySeed<'_> {
    type Value = Option<NaiveDate>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DaySeed<'_> {
    type Value = Option<NaiveDate>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a day")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        if let Some((text, day)) = self.last.as_ref() {
            if text == v {
                return Ok(*day);
            }
        }
        let day = NaiveDate::parse_from_str(v, "%Y-%m-%d").ok();
        *self.last = Some((v.to_string(), day));
        Ok(day)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// An object: the row (`ctx` 0) or one nested in objects.
struct ObjectSeed<'a, 'm, 'w> {
    w: &'a mut Walker<'m, 'w>,
    ctx: u32,
}

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let w = self.w;
        let ctx = self.ctx;
        let stamp = w.m.next_stamp();
        let (mut seen_user, mut seen_day) = (false, false);
        let mut pos = 0;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let key = key.as_str();
            if w.skip {
                // The rest of a row nobody wants: only the identity matters.
                match key {
                    // A user dropped by the cap: its user id is read like
                    // the exact path's identity parse would.
                    "user_id" if !seen_user && !w.m.require_user => {
                        seen_user = true;
                        (w.user, w.user_text) = map.next_value_seed(UserIdSeed)?;
                    }
                    // A second identity field: a duplicate key, which the
                    // exact path's identity parse refuses. Teams read only
                    // `user_id` and `day` (RowIdentity): their `user_login`
                    // is like any other field.
                    "user_id" => return Err(give_up()),
                    "user_login" if !w.m.require_user => return Err(give_up()),
                    "day" if !seen_day => {
                        seen_day = true;
                        w.day = map.next_value_seed(DaySeed {
                            last: &mut w.m.last_day,
                        })?;
                    }
                    "day" => return Err(give_up()),
                    // The exact path parses a dropped user's row completely
                    // (UTF-8 checked): so does this.
                    _ if !w.m.require_user => map.next_value_seed(Skip)?,
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                continue;
            }
            let field = w.m.field_at(ctx, pos, key);
            pos += 1;
            if !w.m.first_sight(field, stamp) {
                return Err(give_up());
            }
            let f = &w.m.fields[field as usize];
            match f.identity {
                1 => {
                    seen_user = true;
                    (w.user, w.user_text) = map.next_value_seed(UserIdSeed)?;
                    if w.m.require_user && !w.user.is_some_and(|u| (w.wants)(u)) {
                        w.skip = true;
                        w.m.leaves.clear();
                        w.m.pending.clear();
                    }
                    continue;
                }
                2 => {
                    seen_day = true;
                    w.day = map.next_value_seed(DaySeed {
                        last: &mut w.m.last_day,
                    })?;
                    continue;
                }
                3 if !w.m.require_user => {
                    w.m.login = map.next_value_seed(LoginSeed)?;
                    let dropped = match (&w.m.login, w.keep_login) {
                        (Some(login), Some(keep)) => !login.is_empty() && !keep(login),
                        _ => false,
                    };
                    if dropped {
                        w.skip = true;
                        w.m.leaves.clear();
                        w.m.pending.clear();
                    }
                    continue;
                }
                _ => {}
            }
            if f.bookkeeping {
                map.next_value_seed(Skip)?;
            } else {
                map.next_value_seed(ObjectValue { w, ctx, field })?;
            }
        }
        if ctx == 0 && !seen_user && w.m.require_user {
            // No user id: no team member.
            w.skip = true;
            w.m.leaves.clear();
        }
        Ok(())
    }
}

/// A field value inside an object context.
struct ObjectValue<'a, 'm, 'w> {
    w: &'a mut Walker<'m, 'w>,
    ctx: u32,
    field: u32,
}

impl<'de> DeserializeSeed<'de> for ObjectValue<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl ObjectValue<'_, '_, '_> {
    fn number(self, v: f64) {
        let m = &mut *self.w.m;
        let leaf = m.leaf(self.ctx, self.field);
        let l = &m.leaves_info[leaf as usize];
        if (l.additive || m.keep_all) && v.is_finite() && l.name != NO_NAME {
            let (name, value, quantity) = (l.name, v * l.factor, l.additive);
            let series = m.series_of(name, 0);
            m.leaves.push((series, value, quantity));
        }
    }
}

impl<'de> Visitor<'de> for ObjectValue<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.number(v as f64);
        Ok(())
    }
    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.number(v as f64);
        Ok(())
    }
    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        self.number(v);
        Ok(())
    }
    ignore_other_scalars!();
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let ctx = self.w.m.object_ctx(self.ctx, self.field);
        ObjectSeed { w: self.w, ctx }.visit_map(map)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let element = self.w.m.array_element_ctx(self.ctx, self.field);
        while seq
            .next_element_seed(ElementSeed {
                w: &mut *self.w,
                ctx: element,
            })?
            .is_some()
        {}
        Ok(())
    }
}

/// An array element: an object (whose string fields become labels), or
/// anything else (ignored).
struct ElementSeed<'a, 'm, 'w> {
    w: &'a mut Walker<'m, 'w>,
    ctx: u32,
}

impl<'de> DeserializeSeed<'de> for ElementSeed<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

const MAX_ELEMENT_LABELS: usize = 8;

impl<'de> Visitor<'de> for ElementSeed<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array element")
    }
    ignore_numbers!();
    ignore_other_scalars!();
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        Skip.visit_seq(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let w = self.w;
        let ctx = self.ctx;
        let top = w.m.ctxs[ctx as usize].kind == CtxKind::Element { top: true };
        let stamp = w.m.next_stamp();
        let start = w.m.pending.len();
        let mut strings: [(&'de str, LabelValue<'de>); MAX_ELEMENT_LABELS] =
            [("", LabelValue::Text("")); MAX_ELEMENT_LABELS];
        let mut n = 0usize;
        let mut pos = 0;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let field = w.m.field_at(ctx, pos, key.as_str());
            pos += 1;
            if !w.m.first_sight(field, stamp) {
                return Err(give_up());
            }
            let f = &w.m.fields[field as usize];
            if f.bookkeeping {
                map.next_value_seed(Skip)?;
                continue;
            }
            let got = if f.id_label {
                map.next_value_seed(IdSeed)?
            } else {
                map.next_value_seed(ElementValue {
                    w: &mut *w,
                    ctx,
                    field,
                })?
                .map(LabelValue::Text)
            };
            if let Some(value) = got {
                if top {
                    let Key::Borrowed(k) = key else {
                        return Err(give_up());
                    };
                    if n == MAX_ELEMENT_LABELS {
                        return Err(give_up());
                    }
                    strings[n] = (k, value);
                    n += 1;
                }
            }
        }
        if top {
            let labels = w.m.element_labels(ctx, &mut strings[..n]);
            let m = &mut *w.m;
            for i in start..m.pending.len() {
                let (name, value, quantity) = m.pending[i];
                let series = m.series_of(name, labels);
                m.leaves.push((series, value, quantity));
            }
            m.pending.truncate(start);
        }
        Ok(())
    }
}

/// The value of a label: a borrowed string, or an integer id.
#[derive(Debug, Clone, Copy)]
enum LabelValue<'de> {
    Text(&'de str),
    Unsigned(u64),
    Signed(i64),
}

/// An array element's identifying `*_id`: a string without escapes or an
/// integer is a label value; a float, boolean, null, object or array is no
/// label (and no leaf); an escaped string sends the row to the exact path.
struct IdSeed;

impl<'de> DeserializeSeed<'de> for IdSeed {
    type Value = Option<LabelValue<'de>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for IdSeed {
    type Value = Option<LabelValue<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an element id")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(LabelValue::Text(v)))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Err(give_up())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(LabelValue::Unsigned(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(LabelValue::Signed(v)))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    none_for_bool_and_null!();
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Skip.visit_seq(seq).map(|()| None)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Skip.visit_map(map).map(|()| None)
    }
}

/// A field value inside an element: a number (leaf), a string (a label when
/// the element is an array's), an object (nested), the rest ignored.
struct ElementValue<'a, 'm, 'w> {
    w: &'a mut Walker<'m, 'w>,
    ctx: u32,
    field: u32,
}

impl<'de> DeserializeSeed<'de> for ElementValue<'_, '_, '_> {
    type Value = Option<&'de str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl ElementValue<'_, '_, '_> {
    fn number(self, v: f64) {
        let m = &mut *self.w.m;
        let leaf = m.leaf(self.ctx, self.field);
        let l = &m.leaves_info[leaf as usize];
        if (l.additive || m.keep_all) && v.is_finite() && l.name != NO_NAME {
            m.pending.push((l.name, v * l.factor, l.additive));
        }
    }
}

impl<'de> Visitor<'de> for ElementValue<'_, '_, '_> {
    type Value = Option<&'de str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    none_for_bool_and_null!();
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Skip.visit_seq(seq).map(|()| None)
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        self.number(v as f64);
        Ok(None)
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        self.number(v as f64);
        Ok(None)
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        self.number(v);
        Ok(None)
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        // An escaped string: a label only in a top element, where the slow
        // path takes over; elsewhere ignored.
        if self.w.m.ctxs[self.ctx as usize].kind == (CtxKind::Element { top: true }) {
            Err(give_up())
        } else {
            Ok(None)
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let ctx = self.w.m.object_ctx(self.ctx, self.field);
        NestedSeed { w: self.w, ctx }.visit_map(map).map(|()| None)
    }
}

/// An object nested in an array element: numeric leaves only.
struct NestedSeed<'a, 'm, 'w> {
    w: &'a mut Walker<'m, 'w>,
    ctx: u32,
}

impl<'de> Visitor<'de> for NestedSeed<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let w = self.w;
        let ctx = self.ctx;
        let stamp = w.m.next_stamp();
        let mut pos = 0;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let field = w.m.field_at(ctx, pos, key.as_str());
            pos += 1;
            if !w.m.first_sight(field, stamp) {
                return Err(give_up());
            }
            if w.m.fields[field as usize].bookkeeping {
                map.next_value_seed(Skip)?;
                continue;
            }
            map.next_value_seed(ElementValue {
                w: &mut *w,
                ctx,
                field,
            })?;
        }
        Ok(())
    }
}
