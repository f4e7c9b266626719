//! [`Query`] → text that parses back to the same query.

use std::fmt::{self, Write};

use chrono::{SecondsFormat, Timelike};

use super::{ActionPattern, Clause, Query, TargetPattern, Term, TimeBound};

pub(crate) fn write_query(q: &Query, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    for (i, clause) in q.clauses.iter().enumerate() {
        if i > 0 {
            f.write_char(' ')?;
        }
        write_clause(clause, f)?;
    }
    Ok(())
}

fn write_clause(c: &Clause, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if c.negated {
        f.write_char('-')?;
    }
    let list = |f: &mut fmt::Formatter<'_>, name: &str, values: Vec<String>| -> fmt::Result {
        write!(f, "{name}:")?;
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                f.write_char(',')?;
            }
            write_value(v, f)?;
        }
        Ok(())
    };
    match &c.term {
        Term::Any(queries) => {
            for (i, q) in queries.iter().enumerate() {
                if i > 0 {
                    f.write_str(" OR ")?;
                }
                write!(f, "({q})")?;
            }
            Ok(())
        }
        Term::Text { text, quoted, .. } => {
            // A bare word is read up to a space or ':' only (commas and backslashes are part of
            // it): written bare whenever it reads back so, since quoting makes it a phrase.
            if *quoted || !reads_back_bare(text, c.negated) {
                write_quoted(text, f)
            } else {
                f.write_str(text)
            }
        }
        term => list(
            f,
            term.qualifier()
                .expect("every term but text has a qualifier"),
            term.values(),
        ),
    }
}

impl Term {
    /// The qualifier this term is written with (`actor`, `after`, …); `None` for full text.
    pub fn qualifier(&self) -> Option<&'static str> {
        Some(match self {
            Term::Actor(_) => "actor",
            Term::Section(_) => "section",
            Term::Sender(_) => "sender",
            Term::Behalf(_) => "behalf",
            Term::Request(_) => "request",
            Term::Correlation(_) => "correlation",
            Term::Kind(_) => "kind",
            Term::Action(_) => "action",
            Term::Severity(_) => "severity",
            Term::Outcome(_) => "outcome",
            Term::Target(_) => "target",
            Term::Ip(_) => "ip",
            Term::After(_) => "after",
            Term::Before(_) => "before",
            Term::On(_) => "on",
            Term::Mark(_) => "mark",
            Term::Has(_) => "has",
            Term::Incident(_) => "incident",
            Term::Text { .. } | Term::Any(_) => return None,
        })
    }

    /// The values as written (unquoted): each OR-ed value of a qualifier, or the text itself.
    pub fn values(&self) -> Vec<String> {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        match self {
            Term::Actor(v)
            | Term::Section(v)
            | Term::Sender(v)
            | Term::Behalf(v)
            | Term::Request(v)
            | Term::Correlation(v)
            | Term::Mark(v)
            | Term::Incident(v) => v.clone(),
            Term::Kind(v) => names(&v.iter().map(|k| k.as_str()).collect::<Vec<_>>()),
            Term::Severity(v) => names(&v.iter().map(|k| k.as_str()).collect::<Vec<_>>()),
            Term::Outcome(v) => names(&v.iter().map(|k| k.as_str()).collect::<Vec<_>>()),
            Term::Has(v) => names(&v.iter().map(|k| k.as_str()).collect::<Vec<_>>()),
            Term::Action(v) => v.iter().map(action).collect(),
            Term::Target(v) => v.iter().map(target).collect(),
            Term::Ip(v) => v.iter().map(ip).collect(),
            Term::On(v) => v.iter().map(|d| d.format("%Y-%m-%d").to_string()).collect(),
            Term::After(b) | Term::Before(b) => vec![time_bound(b)],
            Term::Text { text, .. } => vec![text.clone()],
            Term::Any(queries) => queries.iter().map(|q| q.to_string()).collect(),
        }
    }
}

/// A value as the query language needs it written: quoted (with `\"` and `\\` escaped) when it
/// holds spaces, commas, colons, quotes or backslashes, starts with `-` or is empty.
pub fn quote_if_needed(s: &str) -> String {
    struct Value<'a>(&'a str);
    impl fmt::Display for Value<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write_value(self.0, f)
        }
    }
    Value(s).to_string()
}

/// Always quoted, for phrases.
pub fn quote(s: &str) -> String {
    struct Quoted<'a>(&'a str);
    impl fmt::Display for Quoted<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write_quoted(self.0, f)
        }
    }
    Quoted(s).to_string()
}

fn action(a: &ActionPattern) -> String {
    match a {
        ActionPattern::Exact(s) => s.clone(),
        ActionPattern::Prefix(s) => format!("{s}*"),
    }
}

fn target(t: &TargetPattern) -> String {
    match t {
        TargetPattern::Exact { kind, id } => format!("{kind}/{id}"),
        TargetPattern::Type(kind) => format!("{kind}/*"),
        TargetPattern::Id(id) => id.clone(),
    }
}

fn ip(net: &ipnet::IpNet) -> String {
    if net.prefix_len() == net.max_prefix_len() {
        net.addr().to_string()
    } else {
        net.to_string()
    }
}

fn time_bound(b: &TimeBound) -> String {
    match b {
        TimeBound::Date(d) => d.format("%Y-%m-%d").to_string(),
        TimeBound::Local(t) if t.nanosecond() == 0 && t.second() == 0 => {
            t.format("%Y-%m-%dT%H:%M").to_string()
        }
        TimeBound::Local(t) => t.format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
        TimeBound::Exact(t) => t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
    }
}

/// Whether the parser reads `s`, written as it is, back as one bare full-text word. A leading
/// `-` reads as a negation, except after the one of a negated clause (`--x` is "not `-x`").
fn reads_back_bare(s: &str, negated: bool) -> bool {
    !s.is_empty()
        && (negated || !s.starts_with('-'))
        && !s
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | ':'))
}

/// Whether a qualifier's value must be quoted to parse back as itself.
fn needs_quotes(s: &str) -> bool {
    s.is_empty()
        || s.starts_with('-')
        || s.chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | ',' | ':' | '\\'))
}

fn write_value(s: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if needs_quotes(s) {
        write_quoted(s, f)
    } else {
        f.write_str(s)
    }
}

fn write_quoted(s: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        if matches!(c, '"' | '\\') {
            f.write_char('\\')?;
        }
        f.write_char(c)?;
    }
    f.write_char('"')
}
