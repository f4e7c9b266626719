//! Text → [`Query`], with the column of the first error.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use ipnet::IpNet;

use super::{ActionPattern, Clause, Has, Query, QueryError, TargetPattern, Term, TimeBound};
use crate::event::{Kind, Outcome, Severity};

/// The qualifiers, as written before the colon.
pub(crate) const QUALIFIERS: &[&str] = &[
    "actor",
    "section",
    "kind",
    "action",
    "severity",
    "outcome",
    "target",
    "ip",
    "after",
    "before",
    "on",
    "mark",
    "has",
    "incident",
    "sender",
    "behalf",
    "request",
    "correlation",
];

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    _src: &'a str,
}

/// A value as written, with its 1-based column.
struct Raw {
    text: String,
    column: usize,
}

fn err<T>(column: usize, message: impl Into<String>) -> Result<T, QueryError> {
    Err(QueryError {
        column,
        message: message.into(),
    })
}

pub(crate) fn parse(src: &str) -> Result<Query, QueryError> {
    let mut p = Parser {
        chars: src.chars().collect(),
        pos: 0,
        _src: src,
    };
    let mut clauses = Vec::new();
    loop {
        p.skip_spaces();
        if p.at_end() {
            return Ok(Query { clauses });
        }
        clauses.push(p.clause()?);
    }
}

impl Parser<'_> {
    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn column(&self) -> usize {
        self.pos + 1
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn clause(&mut self) -> Result<Clause, QueryError> {
        let start = self.column();
        let negated = self.peek() == Some('-');
        if negated {
            self.pos += 1;
            if self.peek().is_none_or(char::is_whitespace) {
                return err(start, "'-' must be followed by a term, e.g. -actor:bot");
            }
        }
        let term = if self.peek() == Some('"') {
            let raw = self.quoted()?;
            self.expect_term_end()?;
            text_term(raw, true)?
        } else {
            let word_start = self.column();
            let word = self.bare(|c| c == ':')?;
            if self.peek() == Some(':') {
                self.pos += 1;
                self.qualifier(&word, word_start)?
            } else {
                text_term(
                    Raw {
                        text: word,
                        column: word_start,
                    },
                    false,
                )?
            }
        };
        Ok(Clause { negated, term })
    }

    /// Characters up to whitespace, a quote or `stop`. A quote inside is an error.
    fn bare(&mut self, stop: impl Fn(char) -> bool) -> Result<String, QueryError> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if c.is_whitespace() || stop(c) {
                break;
            }
            if c == '"' {
                return err(
                    self.column(),
                    "unexpected '\"': quote the whole value or phrase",
                );
            }
            out.push(c);
            self.pos += 1;
        }
        Ok(out)
    }

    /// A "quoted string" with `\"` and `\\` escapes; the cursor is on the opening quote.
    fn quoted(&mut self) -> Result<Raw, QueryError> {
        let column = self.column();
        self.pos += 1;
        let mut text = String::new();
        loop {
            match self.peek() {
                None => return err(column, "unclosed '\"'"),
                Some('"') => {
                    self.pos += 1;
                    return Ok(Raw { text, column });
                }
                Some('\\') if matches!(self.chars.get(self.pos + 1), Some('"' | '\\')) => {
                    text.push(self.chars[self.pos + 1]);
                    self.pos += 2;
                }
                Some(c) => {
                    text.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn expect_term_end(&self) -> Result<(), QueryError> {
        match self.peek() {
            Some(c) if !c.is_whitespace() => {
                err(self.column(), "expected a space after the closing quote")
            }
            _ => Ok(()),
        }
    }

    /// `v1,v2,…` after `name:`.
    fn values(&mut self, name: &str) -> Result<Vec<Raw>, QueryError> {
        let mut out = Vec::new();
        loop {
            let column = self.column();
            let raw = if self.peek() == Some('"') {
                self.quoted()?
            } else {
                Raw {
                    text: self.bare(|c| c == ',')?,
                    column,
                }
            };
            if raw.text.is_empty() {
                return err(column, format!("{name}: needs a value"));
            }
            out.push(raw);
            match self.peek() {
                Some(',') => self.pos += 1,
                None => return Ok(out),
                Some(c) if c.is_whitespace() => return Ok(out),
                Some(_) => return err(self.column(), "expected ',' or a space after the value"),
            }
        }
    }

    fn qualifier(&mut self, name: &str, column: usize) -> Result<Term, QueryError> {
        if !QUALIFIERS.contains(&name) {
            return err(
                column,
                format!(
                    "unknown qualifier '{name}:' (known: {}); quote it to search for the text",
                    QUALIFIERS.join(", ")
                ),
            );
        }
        let values = self.values(name)?;
        let strings = |vs: Vec<Raw>| vs.into_iter().map(|r| r.text).collect();
        Ok(match name {
            "actor" => Term::Actor(strings(values)),
            "section" => Term::Section(strings(values)),
            "sender" => Term::Sender(strings(values)),
            "behalf" => Term::Behalf(strings(values)),
            "request" => Term::Request(strings(values)),
            "correlation" => Term::Correlation(strings(values)),
            "mark" => Term::Mark(strings(values)),
            "incident" => {
                Term::Incident(values.into_iter().map(|r| r.text.to_lowercase()).collect())
            }
            "kind" => Term::Kind(enums(values, name, Kind::choices())?),
            "severity" => Term::Severity(enums(values, name, Severity::choices())?),
            "outcome" => Term::Outcome(enums(values, name, Outcome::choices())?),
            "action" => Term::Action(values.into_iter().map(action).collect::<Result<_, _>>()?),
            "target" => Term::Target(values.into_iter().map(target).collect::<Result<_, _>>()?),
            "ip" => Term::Ip(values.into_iter().map(ip).collect::<Result<_, _>>()?),
            "after" => Term::After(time_bound(single(values, name)?)?),
            "before" => Term::Before(time_bound(single(values, name)?)?),
            "on" => Term::On(values.into_iter().map(date).collect::<Result<_, _>>()?),
            "has" => Term::Has(values.into_iter().map(has).collect::<Result<_, _>>()?),
            _ => unreachable!("every qualifier in QUALIFIERS has an arm"),
        })
    }
}

fn text_term(raw: Raw, quoted: bool) -> Result<Term, QueryError> {
    if crate::text::tokens(&raw.text).is_empty() {
        let what = if quoted {
            "a quoted phrase"
        } else {
            "a search word"
        };
        return err(
            raw.column,
            format!("{what} needs at least one letter or digit"),
        );
    }
    Ok(Term::Text {
        text: raw.text,
        quoted,
        as_masked: false,
    })
}

fn enums<T: std::str::FromStr>(
    values: Vec<Raw>,
    name: &str,
    choices: String,
) -> Result<Vec<T>, QueryError> {
    values
        .into_iter()
        .map(|r| match r.text.parse() {
            Ok(v) => Ok(v),
            Err(_) => err(
                r.column,
                format!("{name}: '{}' is not one of: {choices}", r.text),
            ),
        })
        .collect()
}

fn single(mut values: Vec<Raw>, name: &str) -> Result<Raw, QueryError> {
    if values.len() > 1 {
        return err(values[1].column, format!("{name}: takes one value"));
    }
    Ok(values.remove(0))
}

fn action(r: Raw) -> Result<ActionPattern, QueryError> {
    match r.text.find('*') {
        None => Ok(ActionPattern::Exact(r.text)),
        Some(i) if i == r.text.len() - 1 => Ok(ActionPattern::Prefix(r.text[..i].to_owned())),
        Some(i) => err(
            r.column + r.text[..i].chars().count(),
            "action: '*' only at the end, as a prefix",
        ),
    }
}

fn target(r: Raw) -> Result<TargetPattern, QueryError> {
    match r.text.split_once('/') {
        None => Ok(TargetPattern::Id(r.text)),
        Some(("", _)) => err(
            r.column,
            "target: type before '/' is empty, e.g. target:player/12345",
        ),
        Some((_, "")) => err(
            r.column,
            "target: id after '/' is empty (use type/* for any)",
        ),
        Some((kind, "*")) => Ok(TargetPattern::Type(kind.to_owned())),
        Some((kind, id)) => Ok(TargetPattern::Exact {
            kind: kind.to_owned(),
            id: id.to_owned(),
        }),
    }
}

fn ip(r: Raw) -> Result<IpNet, QueryError> {
    if let Ok(net) = r.text.parse::<IpNet>() {
        return Ok(net);
    }
    match r.text.parse::<std::net::IpAddr>() {
        Ok(addr) => Ok(IpNet::from(addr)),
        Err(_) => err(
            r.column,
            format!("ip: '{}' is not an IP address or CIDR range", r.text),
        ),
    }
}

fn has(r: Raw) -> Result<Has, QueryError> {
    match Has::ALL.iter().find(|h| h.as_str() == r.text) {
        Some(h) => Ok(*h),
        None => {
            let choices: Vec<_> = Has::ALL.iter().map(|h| h.as_str()).collect();
            err(
                r.column,
                format!("has: '{}' is not one of: {}", r.text, choices.join(", ")),
            )
        }
    }
}

/// `YYYY-MM-DD` with a year of four digits (chrono alone takes `-026-11-01` for year -26,
/// which the printer cannot write back).
fn plain_day(day: &str) -> bool {
    let b = day.as_bytes();
    b.len() == 10 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-'
}

fn date(r: Raw) -> Result<NaiveDate, QueryError> {
    match NaiveDate::parse_from_str(&r.text, "%Y-%m-%d") {
        Ok(d) if plain_day(&r.text) => Ok(d),
        _ => err(r.column, format!("'{}' is not a date (YYYY-MM-DD)", r.text)),
    }
}

/// `2026-11-01`, `2026-11-20T12:00`, `…T12:00:05.123`, optionally with `Z` or `±HH:MM`.
fn time_bound(r: Raw) -> Result<TimeBound, QueryError> {
    let bad = || {
        err(
            r.column,
            format!("'{}' is not a date or time (2026-11-01, 2026-11-20T12:00, or RFC 3339 with an offset)", r.text),
        )
    };
    let Some((day, time)) = r.text.split_once('T') else {
        return date(r).map(TimeBound::Date);
    };
    if !plain_day(day) {
        return bad();
    }
    let (clock, offset) = match time.find(['Z', 'z', '+', '-']) {
        Some(i) => time.split_at(i),
        None => (time, ""),
    };
    let clock = if clock.len() == 5 {
        format!("{clock}:00")
    } else {
        clock.to_owned()
    };
    if offset.is_empty() {
        return match NaiveDateTime::parse_from_str(
            &format!("{day}T{clock}"),
            "%Y-%m-%dT%H:%M:%S%.f",
        ) {
            Ok(t) => Ok(TimeBound::Local(t)),
            Err(_) => bad(),
        };
    }
    match DateTime::parse_from_rfc3339(&format!("{day}T{clock}{offset}")) {
        Ok(t) => Ok(TimeBound::Exact(t)),
        Err(_) => bad(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column_of(q: &str) -> (usize, String) {
        let e = parse(q).unwrap_err();
        (e.column, e.message)
    }

    #[test]
    fn parses_every_qualifier() {
        let q = parse(
            r#"actor:alice section:finance,bonuses kind:change action:bonus.* severity:critical target:player/12345 ip:203.0.113.0/24 outcome:denied mark:"player request" has:comment after:2026-11-01 before:2026-11-20T12:00 on:2026-11-05 -actor:batch-bot "manual bonus" refund"#,
        )
        .unwrap();
        assert_eq!(q.clauses.len(), 16);
        assert_eq!(
            q.clauses[3].term,
            Term::Action(vec![ActionPattern::Prefix("bonus.".into())])
        );
        assert!(q.clauses[13].negated);
        assert_eq!(
            q.clauses[14].term,
            Term::Text {
                text: "manual bonus".into(),
                quoted: true,
                as_masked: false,
            }
        );
    }

    #[test]
    fn errors_point_at_the_column() {
        assert_eq!(column_of("actor:alice colour:red").0, 13);
        assert_eq!(column_of("kind:change,edit").0, 13);
        assert_eq!(column_of("section:").0, 9);
        assert_eq!(column_of("ip:10.0.0.300").0, 4);
        assert_eq!(column_of(r#"refund "manual bonus"#).0, 8);
        assert_eq!(column_of("after:yesterday").0, 7);
        assert_eq!(column_of("action:bo*nus").0, 10);
        assert_eq!(column_of("a - b").0, 3);
        assert_eq!(column_of("ré after:2026-1").0, 10);
        assert!(column_of("after:2026-11-01,2026-11-02")
            .1
            .contains("takes one value"));
    }

    #[test]
    fn times_take_several_forms() {
        let b = |s: &str| {
            time_bound(Raw {
                text: s.into(),
                column: 1,
            })
            .unwrap()
        };
        assert!(matches!(b("2026-11-20"), TimeBound::Date(_)));
        assert!(matches!(b("2026-11-20T12:00"), TimeBound::Local(_)));
        assert!(matches!(b("2026-11-20T12:00:05.25"), TimeBound::Local(_)));
        assert!(matches!(b("2026-11-20T12:00Z"), TimeBound::Exact(_)));
        assert!(matches!(
            b("2026-11-20T12:00:00-05:00"),
            TimeBound::Exact(_)
        ));
    }
}
