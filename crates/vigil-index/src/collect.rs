//! Collectors that read columns directly: time bounds, histogram buckets and value counts.

use std::collections::HashMap;
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{ColumnValues, StrColumn};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use crate::schema::{SEQ, SEVERITY, TIME};

fn time_column(segment: &SegmentReader) -> tantivy::Result<Arc<dyn ColumnValues<i64>>> {
    Ok(segment.fast_fields().i64(TIME)?.first_or_default_col(0))
}

/// The earliest and latest occurred_at among matches.
pub struct TimeBounds;

/// Per segment state of [`TimeBounds`].
pub struct TimeBoundsSegment {
    time: Arc<dyn ColumnValues<i64>>,
    bounds: Option<(i64, i64)>,
}

impl Collector for TimeBounds {
    type Fruit = Option<(i64, i64)>;
    type Child = TimeBoundsSegment;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<TimeBoundsSegment> {
        Ok(TimeBoundsSegment {
            time: time_column(segment)?,
            bounds: None,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Option<(i64, i64)>>) -> tantivy::Result<Option<(i64, i64)>> {
        Ok(fruits
            .into_iter()
            .flatten()
            .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1))))
    }
}

impl SegmentCollector for TimeBoundsSegment {
    type Fruit = Option<(i64, i64)>;

    fn collect(&mut self, doc: DocId, _: Score) {
        let t = self.time.get_val(doc);
        self.bounds = Some(
            self.bounds
                .map_or((t, t), |(lo, hi)| (lo.min(t), hi.max(t))),
        );
    }

    fn harvest(self) -> Self::Fruit {
        self.bounds
    }
}

/// Counts (all, critical) per bucket of `width` µs starting at `start`.
pub struct Buckets {
    /// Start of the first bucket.
    pub start: i64,
    /// Width of a bucket in µs.
    pub width: i64,
    /// Number of buckets.
    pub count: usize,
}

/// Per segment state of [`Buckets`].
pub struct BucketsSegment {
    time: Arc<dyn ColumnValues<i64>>,
    severity: Option<(StrColumn, u64)>,
    start: i64,
    width: i64,
    counts: Vec<(u64, u64)>,
}

impl Collector for Buckets {
    type Fruit = Vec<(u64, u64)>;
    type Child = BucketsSegment;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<BucketsSegment> {
        let severity = match segment.fast_fields().str(SEVERITY)? {
            Some(col) => col.dictionary().term_ord("critical")?.map(|ord| (col, ord)),
            None => None,
        };
        Ok(BucketsSegment {
            time: time_column(segment)?,
            severity,
            start: self.start,
            width: self.width,
            counts: vec![(0, 0); self.count],
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<(u64, u64)>>) -> tantivy::Result<Vec<(u64, u64)>> {
        let mut out = vec![(0, 0); self.count];
        for fruit in fruits {
            for (o, (n, c)) in out.iter_mut().zip(fruit) {
                o.0 += n;
                o.1 += c;
            }
        }
        Ok(out)
    }
}

impl SegmentCollector for BucketsSegment {
    type Fruit = Vec<(u64, u64)>;

    fn collect(&mut self, doc: DocId, _: Score) {
        let i = (self.time.get_val(doc) - self.start).div_euclid(self.width);
        let Some(slot) = usize::try_from(i).ok().and_then(|i| self.counts.get_mut(i)) else {
            return;
        };
        slot.0 += 1;
        if let Some((col, critical)) = &self.severity {
            if col.ords().first(doc) == Some(*critical) {
                slot.1 += 1;
            }
        }
    }

    fn harvest(self) -> Self::Fruit {
        self.counts
    }
}

/// How many matches have each value of a keyword field.
pub struct Counts {
    /// The field's name.
    pub field: &'static str,
}

/// Per segment state of [`Counts`]: counts by term ordinal.
pub struct CountsSegment {
    column: Option<StrColumn>,
    counts: Vec<u64>,
}

impl Collector for Counts {
    type Fruit = HashMap<String, u64>;
    type Child = CountsSegment;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<CountsSegment> {
        let column = segment.fast_fields().str(self.field)?;
        let counts = vec![0; column.as_ref().map_or(0, |c| c.num_terms())];
        Ok(CountsSegment { column, counts })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(
        &self,
        fruits: Vec<HashMap<String, u64>>,
    ) -> tantivy::Result<HashMap<String, u64>> {
        let mut out = HashMap::new();
        for fruit in fruits {
            for (k, v) in fruit {
                *out.entry(k).or_default() += v;
            }
        }
        Ok(out)
    }
}

impl SegmentCollector for CountsSegment {
    type Fruit = HashMap<String, u64>;

    fn collect(&mut self, doc: DocId, _: Score) {
        if let Some(col) = &self.column {
            // Every value of the entry (an entry has several marks).
            for ord in col.ords().values_for_doc(doc) {
                self.counts[ord as usize] += 1;
            }
        }
    }

    fn harvest(self) -> Self::Fruit {
        let mut out = HashMap::new();
        let Some(col) = self.column else { return out };
        let mut text = String::new();
        for (ord, n) in self.counts.into_iter().enumerate().filter(|(_, n)| *n > 0) {
            if col.ord_to_str(ord as u64, &mut text).unwrap_or(false) {
                out.insert(std::mem::take(&mut text), n);
            }
        }
        out
    }
}

/// The (occurred_at, seq) of every match with occurred_at in `[from, to)`, in no order.
pub struct Keys {
    /// Inclusive start, µs.
    pub from: i64,
    /// Exclusive end, µs.
    pub to: i64,
}

/// Per segment state of [`Keys`].
pub struct KeysSegment {
    time: Arc<dyn ColumnValues<i64>>,
    seq: Arc<dyn ColumnValues<u64>>,
    from: i64,
    to: i64,
    keys: Vec<(i64, u64)>,
}

impl Collector for Keys {
    type Fruit = Vec<(i64, u64)>;
    type Child = KeysSegment;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<KeysSegment> {
        Ok(KeysSegment {
            time: time_column(segment)?,
            seq: segment.fast_fields().u64(SEQ)?.first_or_default_col(0),
            from: self.from,
            to: self.to,
            keys: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<(i64, u64)>>) -> tantivy::Result<Vec<(i64, u64)>> {
        Ok(fruits.concat())
    }
}

impl SegmentCollector for KeysSegment {
    type Fruit = Vec<(i64, u64)>;

    fn collect(&mut self, doc: DocId, _: Score) {
        let t = self.time.get_val(doc);
        if t >= self.from && t < self.to {
            self.keys.push((t, self.seq.get_val(doc)));
        }
    }

    fn harvest(self) -> Self::Fruit {
        self.keys
    }
}
