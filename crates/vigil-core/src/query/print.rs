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
    let strs = |vs: &[String]| vs.to_vec();
    match &c.term {
        Term::Actor(v) => list(f, "actor", strs(v)),
        Term::Section(v) => list(f, "section", strs(v)),
        Term::Mark(v) => list(f, "mark", strs(v)),
        Term::Kind(v) => list(f, "kind", v.iter().map(|k| k.as_str().into()).collect()),
        Term::Severity(v) => list(f, "severity", v.iter().map(|k| k.as_str().into()).collect()),
        Term::Outcome(v) => list(f, "outcome", v.iter().map(|k| k.as_str().into()).collect()),
        Term::Has(v) => list(f, "has", v.iter().map(|k| k.as_str().into()).collect()),
        Term::Action(v) => list(f, "action", v.iter().map(action).collect()),
        Term::Target(v) => list(f, "target", v.iter().map(target).collect()),
        Term::Ip(v) => list(f, "ip", v.iter().map(ip).collect()),
        Term::On(v) => list(
            f,
            "on",
            v.iter().map(|d| d.format("%Y-%m-%d").to_string()).collect(),
        ),
        Term::After(b) => list(f, "after", vec![time_bound(b)]),
        Term::Before(b) => list(f, "before", vec![time_bound(b)]),
        Term::Text { text, quoted } => {
            if *quoted || needs_quotes(text) {
                write_quoted(text, f)
            } else {
                f.write_str(text)
            }
        }
    }
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

/// Whether a value or word must be quoted to parse back as itself.
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
