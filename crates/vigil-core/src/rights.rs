//! Roles and rights: what a signed-in user may see and do, and how personal data is masked for
//! those who may not see it.
//!
//! A [`Role`] grants [`Right`]s within a scope (a [`Query`]; the empty query is every entry).
//! A user has one or more roles; [`Grants::of`] folds them into one answer per right, each the
//! union of the scopes of the roles that grant it. The server turns the grants into typed
//! capabilities once per request.
//!
//! ```
//! use vigil_core::rights::{builtin, Grants, Right, Role};
//! let finance: Role = Role::new("finance-auditor", [Right::Read, Right::Export],
//!     "section:finance".parse().unwrap());
//! let viewer = builtin("viewer").unwrap();
//! let grants = Grants::of([&finance, &viewer]);
//! assert!(grants.read.is_all(), "the viewer reads everything");
//! assert!(!grants.export.is_all() && !grants.export.is_none(), "exports only finance");
//! assert!(grants.unmask.is_none(), "neither role unmasks personal data");
//! ```

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde_json::Value;

use crate::annotation::AnnotationSummary;
use crate::event::{Event, StoredEvent};
use crate::query::{Clause, Query, Term};
use crate::text;

/// One thing a role can allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Right {
    /// Search, read and follow entries (within the role's scope).
    Read,
    /// See personal data unmasked: whole IP addresses, target names, personal fields.
    Unmask,
    /// Comment, mark, open incidents and pin entries (within the scope).
    Annotate,
    /// Supersede (correct) an annotation someone else wrote (within the scope); authors may
    /// always correct their own.
    Review,
    /// Export entries to files (within the scope).
    Export,
    /// Manage alert rules and channels.
    Alerts,
    /// Manage the marks catalog.
    Marks,
    /// Manage users, roles and ingest keys.
    Accounts,
}

impl Right {
    /// Every right, in the order they are listed.
    pub const ALL: &'static [Right] = &[
        Right::Read,
        Right::Unmask,
        Right::Annotate,
        Right::Review,
        Right::Export,
        Right::Alerts,
        Right::Marks,
        Right::Accounts,
    ];

    /// The name used on the API and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Right::Read => "read",
            Right::Unmask => "unmask",
            Right::Annotate => "annotate",
            Right::Review => "review",
            Right::Export => "export",
            Right::Alerts => "alerts",
            Right::Marks => "marks",
            Right::Accounts => "accounts",
        }
    }

    /// Parses a name.
    pub fn parse(name: &str) -> Option<Right> {
        Self::ALL.iter().copied().find(|r| r.as_str() == name)
    }

    /// Every name, comma-separated (for error messages).
    pub fn choices() -> String {
        Self::ALL
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Whether the role's scope bounds this right (the managing rights are not about entries).
    pub fn is_scoped(self) -> bool {
        matches!(
            self,
            Right::Read | Right::Unmask | Right::Annotate | Right::Review | Right::Export
        )
    }
}

impl std::fmt::Display for Right {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role: rights within a scope.
#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    /// Its name.
    pub name: String,
    /// What it allows.
    pub rights: BTreeSet<Right>,
    /// The entries its entry rights reach (the empty query: all of them).
    pub scope: Query,
}

impl Role {
    /// A role.
    pub fn new(name: &str, rights: impl IntoIterator<Item = Right>, scope: Query) -> Role {
        Role {
            name: name.to_owned(),
            rights: rights.into_iter().collect(),
            scope,
        }
    }
}

/// The names of the built-in roles.
pub const BUILTIN: &[&str] = &["admin", "auditor", "investigator", "viewer"];

/// A built-in role: admin (everything), auditor (read all, unmasked, annotate, review others'
/// annotations, export), investigator (read all, unmasked, annotate), viewer (read with
/// personal data masked).
pub fn builtin(name: &str) -> Option<Role> {
    use Right::*;
    let rights: &[Right] = match name {
        "admin" => Right::ALL,
        "auditor" => &[Read, Unmask, Annotate, Review, Export],
        "investigator" => &[Read, Unmask, Annotate],
        "viewer" => &[Read],
        _ => return None,
    };
    Some(Role::new(name, rights.iter().copied(), Query::all()))
}

/// Checks a role name: 1 to 64 lowercase letters, digits, `.`, `_` or `-`, starting with a
/// letter.
pub fn check_role_name(name: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "role name {name:?} must be 1 to 64 lowercase letters, digits, '.', '_' or '-', \
             starting with a letter"
        ))
    }
}

/// Parses a comma-separated list of rights (`read,annotate,export`).
pub fn parse_rights(list: &str) -> Result<BTreeSet<Right>, String> {
    let mut rights = BTreeSet::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match Right::parse(name) {
            Some(r) => rights.insert(r),
            None => {
                return Err(format!(
                    "{name:?} is not a right; the rights are: {}",
                    Right::choices()
                ))
            }
        };
    }
    if rights.is_empty() {
        return Err(format!(
            "a role needs at least one right: {}",
            Right::choices()
        ));
    }
    Ok(rights)
}

/// The entries a right reaches: none, all, or those matching any of some queries.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Scope {
    /// No entry.
    #[default]
    Nothing,
    /// Every entry.
    All,
    /// The entries that match at least one of these queries.
    Any(Vec<Query>),
}

impl Scope {
    /// Adds a role's scope to the union, its dates read in UTC (see [`Query::in_utc`]).
    pub fn add(&mut self, scope: &Query) {
        let scope = &scope.in_utc();
        match self {
            Scope::All => {}
            _ if scope.clauses.is_empty() => *self = Scope::All,
            Scope::Nothing => *self = Scope::Any(vec![scope.clone()]),
            Scope::Any(queries) => {
                if !queries.contains(scope) {
                    queries.push(scope.clone())
                }
            }
        }
    }

    /// Whether no entry is reached.
    pub fn is_none(&self) -> bool {
        matches!(self, Scope::Nothing)
    }

    /// Whether every entry is reached.
    pub fn is_all(&self) -> bool {
        matches!(self, Scope::All)
    }

    /// The clause that limits a query to this scope (`None` for every entry; a clause that
    /// matches nothing for no entry).
    pub fn clause(&self) -> Option<Clause> {
        let queries = match self {
            Scope::All => return None,
            Scope::Nothing => Vec::new(),
            Scope::Any(queries) => queries.clone(),
        };
        Some(Clause {
            negated: false,
            term: Term::Any(queries),
        })
    }

    /// `query`, limited to this scope: a query can only narrow a scope.
    pub fn narrow(&self, mut query: Query) -> Query {
        if let Some(c) = self.clause() {
            query.clauses.insert(0, c);
        }
        query
    }

    /// Whether what annotations add can change whether an entry is within the scope.
    pub fn uses_annotations(&self) -> bool {
        match self {
            Scope::Any(queries) => queries.iter().any(Query::uses_annotations),
            Scope::All | Scope::Nothing => false,
        }
    }

    /// Whether the entry (with what its annotations amount to) is within the scope. Dates in scopes are read in UTC.
    pub fn contains(&self, e: &Event, summary: &AnnotationSummary) -> bool {
        match self {
            Scope::All => true,
            Scope::Nothing => false,
            Scope::Any(queries) => queries
                .iter()
                .any(|q| q.matches_annotated(e, summary, &chrono::Utc)),
        }
    }
}

/// What a user's roles allow, right by right.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Grants {
    /// Entries they may read.
    pub read: Scope,
    /// Entries whose personal data they see unmasked (among those they read).
    pub unmask: Scope,
    /// Entries they may annotate (among those they read).
    pub annotate: Scope,
    /// Entries whose annotations by others they may supersede (among those they annotate).
    pub review: Scope,
    /// Entries they may export (among those they read).
    pub export: Scope,
    /// May manage alert rules and channels.
    pub alerts: bool,
    /// May manage the marks catalog.
    pub marks: bool,
    /// May manage users, roles and ingest keys.
    pub accounts: bool,
}

impl Grants {
    /// The union of what the roles allow.
    pub fn of<'a>(roles: impl IntoIterator<Item = &'a Role>) -> Grants {
        let mut g = Grants::default();
        for role in roles {
            for right in &role.rights {
                match right {
                    Right::Read => g.read.add(&role.scope),
                    Right::Unmask => g.unmask.add(&role.scope),
                    Right::Annotate => g.annotate.add(&role.scope),
                    Right::Review => g.review.add(&role.scope),
                    Right::Export => g.export.add(&role.scope),
                    Right::Alerts => g.alerts = true,
                    Right::Marks => g.marks = true,
                    Right::Accounts => g.accounts = true,
                }
            }
        }
        g
    }

    /// The rights held at all (on some entries at least), in [`Right::ALL`] order.
    pub fn rights(&self) -> Vec<Right> {
        Right::ALL
            .iter()
            .copied()
            .filter(|r| match r {
                Right::Read => !self.read.is_none(),
                Right::Unmask => !self.unmask.is_none(),
                Right::Annotate => !self.annotate.is_none(),
                Right::Review => !self.review.is_none(),
                Right::Export => !self.export.is_none(),
                Right::Alerts => self.alerts,
                Right::Marks => self.marks,
                Right::Accounts => self.accounts,
            })
            .collect()
    }

    /// `query` as a reader with these grants may ask it: where they read entries masked, its
    /// full-text terms match only the words they see (see [`hidden_words`]): within the
    /// entries they see unmasked the whole text, elsewhere the masked entry's.
    pub fn as_seen(&self, query: Query) -> Query {
        if self.unmask.is_all() {
            return query;
        }
        let unmasked = self.unmask.clause();
        query.map_terms(&|term| match term {
            Term::Text { text, quoted, .. } => {
                let masked = Term::Text {
                    text: text.clone(),
                    quoted: *quoted,
                    as_masked: true,
                };
                match &unmasked {
                    Some(Clause {
                        term: Term::Any(scopes),
                        ..
                    }) if !scopes.is_empty() => {
                        let clear = Clause {
                            negated: false,
                            term: Term::Text {
                                text: text.clone(),
                                quoted: *quoted,
                                as_masked: false,
                            },
                        };
                        Some(Term::Any(vec![
                            Query {
                                clauses: vec![unmasked.clone().expect("a scope"), clear],
                            },
                            Query {
                                clauses: vec![Clause {
                                    negated: false,
                                    term: masked,
                                }],
                            },
                        ]))
                    }
                    _ => Some(masked),
                }
            }
            _ => None,
        })
    }

    /// Whether every entry these grants read is read unmasked. Only then may a reader be shown
    /// the entries' chain hashes: a hash covers the clear entry, so with the hash of the entry
    /// before (or after) it, a reader of a masked entry could try the 256 last octets of its IP
    /// or a dictionary of names until one matches, and recover what masking hides.
    pub fn reads_unmasked(&self) -> bool {
        self.unmask.is_all() || self.unmask == self.read
    }
}

/// What masked text shows instead of the value.
pub const MASKED: &str = "[masked]";

/// The personal fields that can be listed for masking besides the IP and the target's name:
/// `actor.name`, `user_agent`, `reason`, `session_id`, `changes.FIELD` (its before and after)
/// and `details.KEY` (a top-level key of the details).
pub fn check_personal_field(path: &str) -> Result<(), String> {
    let ok = matches!(
        path,
        "target.name" | "on_behalf_of.name" | "actor.name" | "user_agent" | "reason" | "session_id"
    ) || path
        .strip_prefix("changes.")
        .or_else(|| path.strip_prefix("details."))
        .is_some_and(|rest| !rest.is_empty());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{path:?} is not a field that can be masked: target.name, actor.name, user_agent, \
             reason, session_id, changes.FIELD or details.KEY"
        ))
    }
}

/// The network an IP address is masked to: its /24 (IPv4) or /48 (IPv6).
pub fn masked_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            IpAddr::from([a, b, c, 0])
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::from([s[0], s[1], s[2], 0, 0, 0, 0, 0])
        }
    }
}

/// A query as a reader without `unmask` may see it in Vigil's own entries (the journal of the
/// journal records searches, exports and alert rules with their query text): the words of
/// full-text terms masked, and `ip:` addresses widened to the /24 or /48 such a reader sees.
/// `None` when nothing would change, or when the text is not a query (the entries' masking
/// then hides such a text whole).
pub fn masked_query(text: &str) -> Option<Query> {
    let query: Query = text.parse().ok()?;
    let masked = mask_clauses(&query);
    (masked != query).then_some(masked)
}

fn mask_clauses(q: &Query) -> Query {
    q.map_terms(&|term| match term {
        Term::Text { .. } => Some(Term::Text {
            text: MASKED.into(),
            quoted: true,
            as_masked: false,
        }),
        Term::Ip(nets) => Some(Term::Ip(
            nets.iter()
                .map(|n| {
                    let wide = if n.addr().is_ipv4() { 24 } else { 48 };
                    if n.prefix_len() <= wide {
                        *n
                    } else {
                        ipnet::IpNet::new(masked_ip(n.addr()), wide).map_or(*n, |w| w.trunc())
                    }
                })
                .collect(),
        )),
        _ => None,
    })
}

/// Masks the query text that Vigil's own entries carry: a search's `q`, an export's `query` and
/// its `filters` (the same clauses in words), a role's or an export's `scope`, an alert rule's
/// `rule.q`.
fn mask_query_text(e: &mut Event) -> Vec<String> {
    let mut masked = Vec::new();
    if e.section != "vigil" {
        return masked;
    }
    let Some(details) = e.details.as_mut() else {
        return masked;
    };
    let tz = details
        .get("time_zone")
        .and_then(Value::as_str)
        .and_then(|z| z.parse::<chrono::FixedOffset>().ok())
        .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).expect("UTC"));
    let mut text_at = |value: Option<&mut Value>, path: &str| -> Option<Query> {
        let Some(Value::String(text)) = value else {
            return None;
        };
        let q = match masked_query(text) {
            Some(q) => q,
            // Not a query (it did not parse): nothing of it can be shown safely.
            None if text.parse::<Query>().is_err() && !text.trim().is_empty() => {
                *text = MASKED.into();
                masked.push(path.to_owned());
                return None;
            }
            None => return None,
        };
        *text = q.to_string();
        masked.push(path.to_owned());
        Some(q)
    };
    text_at(details.get_mut("q"), "details.q");
    // A role's scope (`role.create`), or an export's scope in words (its About), which is not
    // a query and is then masked whole if it has anything to mask.
    text_at(details.get_mut("scope"), "details.scope");
    if let Some(q) = text_at(details.get_mut("query"), "details.query") {
        if details.contains_key("filters") {
            details.insert("filters".into(), Value::from(q.describe(&tz)));
        }
    }
    if let Some(rule) = details.get_mut("rule").and_then(Value::as_object_mut) {
        text_at(rule.get_mut("q"), "details.rule.q");
    }
    masked
}

/// The prefix length an IP address is masked to.
pub fn masked_prefix(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => 24,
        IpAddr::V6(_) => 48,
    }
}

/// Masks an entry's personal data in place: the IP to its network (/24 or /48), the target's
/// name, and each listed personal field that it has. Returns the paths masked (`ip`,
/// `target.name`, `changes.email`, …), empty if nothing was. (Whoever reads some entries
/// masked gets no hashes: see [`Grants::reads_unmasked`].)
pub fn mask(entry: &mut StoredEvent, personal: &[String]) -> Vec<String> {
    // The salt would let the reader test guesses of what is masked.
    entry.salt = None;
    mask_event(&mut entry.event, personal)
}

/// [`mask`] for an event alone.
pub fn mask_event(e: &mut Event, personal: &[String]) -> Vec<String> {
    let mut masked = Vec::new();
    let hide = |v: &mut Value| {
        if !v.is_null() {
            *v = Value::String(MASKED.into())
        }
    };
    if let Some(ip) = e.ip {
        e.ip = Some(masked_ip(ip));
        masked.push("ip".to_owned());
    }
    masked.extend(mask_query_text(e));
    if let Some(name) = e.target.as_mut().and_then(|t| t.name.as_mut()) {
        *name = MASKED.into();
        masked.push("target.name".to_owned());
    }
    if let Some(name) = e.on_behalf_of.as_mut().and_then(|p| p.name.as_mut()) {
        *name = MASKED.into();
        masked.push("on_behalf_of.name".to_owned());
    }
    for path in personal {
        let hit = match path.as_str() {
            "target.name" | "on_behalf_of.name" => false,
            "actor.name" => e.actor.name.as_mut().map(|v| *v = MASKED.into()).is_some(),
            "user_agent" => e.user_agent.as_mut().map(|v| *v = MASKED.into()).is_some(),
            "reason" => e.reason.as_mut().map(|v| *v = MASKED.into()).is_some(),
            "session_id" => e.session_id.as_mut().map(|v| *v = MASKED.into()).is_some(),
            other => {
                if let Some(field) = other.strip_prefix("changes.") {
                    let mut hit = false;
                    for c in e.changes.iter_mut().flatten().filter(|c| c.field == field) {
                        hide(&mut c.before);
                        hide(&mut c.after);
                        hit = true;
                    }
                    hit
                } else if let Some(key) = other.strip_prefix("details.") {
                    e.details
                        .as_mut()
                        .and_then(|d| d.get_mut(key))
                        .map(hide)
                        .is_some()
                } else {
                    false
                }
            }
        };
        if hit && !masked.contains(path) {
            masked.push(path.clone());
        }
    }
    masked
}

/// The words of an entry's full text that a reader without the unmask right does not see: the
/// words of its personal fields that neither the rest of the entry nor its `comments` hold. A
/// search by such a reader must not find the entry by them (it would confirm a masked value);
/// the search index keeps them beside the full text for that.
pub fn hidden_words(e: &Event, personal: &[String], comments: &[String]) -> Vec<String> {
    if e.section == "vigil" {
        // Vigil's own entries mask parts of query texts: as the masked entry reads.
        return hidden_by_masking(e, personal, comments);
    }
    let mut hidden: Vec<String> = Vec::new();
    let mut visible: std::collections::HashSet<String> = std::collections::HashSet::new();
    text::searchable_parts(e, |part, s| {
        if masks_part(part, personal) {
            hidden.extend(text::tokens(s));
        } else {
            visible.extend(text::tokens(s));
        }
    });
    if hidden.is_empty() {
        return hidden;
    }
    visible.extend(comments.iter().flat_map(|c| text::tokens(c)));
    hidden.retain(|w| !visible.contains(w));
    hidden.sort_unstable();
    hidden.dedup();
    hidden
}

/// Whether masking with these personal fields hides a part of the searchable text (outside
/// Vigil's own entries, whose query texts are masked in part: see [`hidden_words`]).
pub fn masks_part(part: text::Part<'_>, personal: &[String]) -> bool {
    let listed = |prefix: &str, name: &str| {
        personal
            .iter()
            .any(|p| p.strip_prefix(prefix) == Some(name))
    };
    match part {
        text::Part::Plain => false,
        text::Part::TargetName | text::Part::BehalfName => true,
        text::Part::ActorName => personal.iter().any(|p| p == "actor.name"),
        text::Part::Reason => personal.iter().any(|p| p == "reason"),
        text::Part::Change(field) => listed("changes.", field),
        text::Part::Detail(key) => listed("details.", key),
    }
}

/// [`hidden_words`] by masking a copy of the entry: the words of the clear entry that the
/// masked one and the comments do not hold.
fn hidden_by_masking(e: &Event, personal: &[String], comments: &[String]) -> Vec<String> {
    let mut seen = e.clone();
    let masked = mask_event(&mut seen, personal);
    // The IP is not full text: masking only it hides no word.
    if masked.iter().all(|m| m == "ip") {
        return Vec::new();
    }
    let visible: std::collections::HashSet<String> = text::tokens(&text::searchable(&seen))
        .into_iter()
        .chain(comments.iter().flat_map(|c| text::tokens(c)))
        .collect();
    let mut hidden: Vec<String> = text::tokens(&text::searchable(e))
        .into_iter()
        .filter(|w| !visible.contains(w))
        .collect();
    hidden.sort_unstable();
    hidden.dedup();
    hidden
}

/// Whether a query asks about a narrower IP range than masking shows (a whole address, say):
/// a masked reader could learn an address by trying them.
pub fn probes_ip(query: &Query) -> bool {
    query.clauses.iter().any(|c| match &c.term {
        Term::Ip(nets) => nets
            .iter()
            .any(|n| n.prefix_len() > masked_prefix(n.network())),
        Term::Any(queries) => queries.iter().any(probes_ip),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_text_is_masked_where_it_could_name_someone() {
        let m =
            masked_query(r#"ip:203.0.113.7,10.0.0.0/8 "Elodie" actor:bob -ip:2001:db8::1 word"#)
                .unwrap();
        assert_eq!(
            m.to_string(),
            r#"ip:203.0.113.0/24,10.0.0.0/8 "[masked]" actor:bob -ip:"2001:db8::/48" "[masked]""#
        );
        assert!(masked_query("section:finance actor:bob after:2026-11-05").is_none());
        assert!(masked_query("ip:10.0.0.0/8").is_none());
        assert!(masked_query("colour:red").is_none(), "not a query");
    }

    #[test]
    fn a_scopes_dates_are_read_in_utc_whatever_the_readers_zone() {
        let q: Query = "after:2026-11-05 -on:2026-11-10 before:2026-12-01T08:00"
            .parse()
            .unwrap();
        let utc = q.in_utc().to_string();
        assert_eq!(
            utc,
            r#"after:"2026-11-05T00:00:00Z" -(after:"2026-11-10T00:00:00Z" before:"2026-11-11T00:00:00Z") before:"2026-12-01T08:00:00Z""#
        );
    }

    fn entry(json: serde_json::Value) -> StoredEvent {
        let mut base = serde_json::json!({
            "seq": 1, "received_at": "2026-11-26T10:00:00Z", "hash": "ab",
            "id": "0192b7a0-0000-7000-8000-000000000001", "occurred_at": "2026-11-26T10:00:00Z",
            "actor": {"id": "m.dupont", "name": "Marie Dupont"}, "action": "player.update",
            "kind": "change", "section": "players", "severity": "info", "outcome": "success",
        });
        base.as_object_mut()
            .unwrap()
            .extend(json.as_object().unwrap().clone());
        serde_json::from_value(base).unwrap()
    }

    #[test]
    fn hidden_words_are_those_only_personal_fields_hold() {
        let e = entry(serde_json::json!({
            "target": {"type": "player", "id": "7", "name": "Élodie Martin"},
            "changes": [{"field": "email", "before": "e@zorglub.net", "after": null}],
            "reason": "Martin asked",
            "ip": "203.0.113.7",
        }));
        let personal = vec!["changes.email".to_owned()];
        assert_eq!(
            hidden_words(&e.event, &personal, &[]),
            ["e", "elodie", "net", "zorglub"]
        );
        // A comment names her: the word is visible, it is no longer hidden.
        assert_eq!(
            hidden_words(&e.event, &personal, &["Elodie called back".to_owned()]),
            ["e", "net", "zorglub"]
        );
        // The same words as masking a copy of the entry finds.
        let mut wide = e.clone();
        wide.event.actor.name = Some("Jean Valjean".into());
        wide.event.details = Some(
            serde_json::json!({"player_name": "Jean", "note": ["valjean", 24601]})
                .as_object()
                .unwrap()
                .clone(),
        );
        let listed = vec![
            "actor.name".to_owned(),
            "details.player_name".to_owned(),
            "reason".to_owned(),
            "changes.email".to_owned(),
        ];
        for (event, fields) in [(&e, &personal), (&wide, &listed)] {
            assert_eq!(
                hidden_words(&event.event, fields, &[]),
                hidden_by_masking(&event.event, fields, &[])
            );
        }
        assert_eq!(
            hidden_words(&wide.event, &listed, &[]),
            ["asked", "e", "elodie", "jean", "martin", "net", "zorglub"]
        );
        // Only the IP to mask: no word hidden.
        let plain = entry(serde_json::json!({"ip": "203.0.113.7"}));
        assert!(hidden_words(&plain.event, &personal, &[]).is_empty());
    }

    #[test]
    fn a_masked_readers_words_match_the_entry_as_they_see_it() {
        let finance: Query = "section:finance".parse().unwrap();
        let g = Grants::of(&[
            Role::new("r", [Right::Read], Query::default()),
            Role::new("u", [Right::Unmask], finance),
        ]);
        assert!(!g.reads_unmasked());
        let q = g.as_seen("elodie -martin".parse().unwrap());
        let named = entry(serde_json::json!({
            "section": "players",
            "target": {"type": "player", "id": "7", "name": "Elodie Martin"},
        }));
        let mut seen = named.event.clone();
        mask_event(&mut seen, &[]);
        let none = AnnotationSummary::default();
        let utc = chrono::Utc;
        assert!(!q.matches_seen(&named.event, &seen, &none, &utc));
        let mut fin = named.clone();
        fin.event.section = "finance".into();
        fin.event.target.as_mut().unwrap().name = Some("Elodie".into());
        let mut fin_seen = fin.event.clone();
        mask_event(&mut fin_seen, &[]);
        assert!(
            q.matches_seen(&fin.event, &fin_seen, &none, &utc),
            "unmasked in finance: the clear text counts"
        );
        let all = Grants::of(&[builtin("auditor").unwrap()]);
        assert!(all.reads_unmasked());
        let plain: Query = "elodie".parse().unwrap();
        assert_eq!(all.as_seen(plain.clone()), plain);
    }

    #[test]
    fn masking_hides_addresses_names_and_listed_fields_only() {
        let mut e = entry(serde_json::json!({
            "ip": "203.0.113.77",
            "target": {"type": "player", "id": "p1", "name": "Алиса «Ω» 🎰"},
            "changes": [{"field": "email", "before": "a@x.io", "after": null},
                        {"field": "status", "before": "active", "after": "blocked"}],
            "details": {"phone": "+33 6", "vip": true},
        }));
        let masked = mask(
            &mut e,
            &[
                "changes.email".into(),
                "details.phone".into(),
                "reason".into(),
            ],
        );
        assert_eq!(
            masked,
            ["ip", "target.name", "changes.email", "details.phone"]
        );
        assert_eq!(e.event.ip.unwrap().to_string(), "203.0.113.0");
        assert_eq!(
            e.event.target.as_ref().unwrap().name.as_deref(),
            Some(MASKED)
        );
        let changes = e.event.changes.as_ref().unwrap();
        assert_eq!(changes[0].before, MASKED);
        assert_eq!(
            changes[0].after,
            Value::Null,
            "an absent value stays absent"
        );
        assert_eq!(changes[1].after, "blocked");
        let details = e.event.details.as_ref().unwrap();
        assert_eq!(details["phone"], MASKED);
        assert_eq!(details["vip"], true);
        assert_eq!(e.event.actor.name.as_deref(), Some("Marie Dupont"));

        let mut v6 = entry(serde_json::json!({"ip": "2001:db8:abcd:12::1"}));
        assert_eq!(mask(&mut v6, &[]), ["ip"]);
        assert_eq!(v6.event.ip.unwrap().to_string(), "2001:db8:abcd::");
    }

    #[test]
    fn grants_are_the_union_of_roles_right_by_right() {
        let finance = Role::new(
            "finance",
            [Right::Read, Right::Export],
            "section:finance".parse().unwrap(),
        );
        let bonuses = Role::new(
            "bonuses",
            [Right::Read, Right::Unmask],
            "section:bonuses".parse().unwrap(),
        );
        let g = Grants::of([&finance, &bonuses]);
        let fin = entry(serde_json::json!({"section": "finance"}));
        let bon = entry(serde_json::json!({"section": "bonuses"}));
        let other = entry(serde_json::json!({"section": "players"}));
        let none = AnnotationSummary::default();
        assert!(g.read.contains(&fin.event, &none) && g.read.contains(&bon.event, &none));
        assert!(!g.read.contains(&other.event, &none));
        assert!(g.export.contains(&fin.event, &none) && !g.export.contains(&bon.event, &none));
        assert!(g.unmask.contains(&bon.event, &none) && !g.unmask.contains(&fin.event, &none));
        assert!(g.annotate.is_none() && !g.accounts);
        assert_eq!(g.rights(), [Right::Read, Right::Unmask, Right::Export]);

        let narrowed = g.read.narrow("actor:m.dupont".parse().unwrap());
        assert_eq!(
            narrowed.to_string(),
            "(section:finance) OR (section:bonuses) actor:m.dupont"
        );
        assert!(narrowed.matches(&fin.event, &chrono::Utc));
        assert!(!narrowed.matches(&other.event, &chrono::Utc));
        assert!(!Scope::Nothing
            .narrow(Query::all())
            .matches(&fin.event, &chrono::Utc));
    }

    #[test]
    fn names_rights_and_fields_are_checked() {
        assert!(check_role_name("finance-auditor").is_ok());
        assert!(check_role_name("Finance").is_err() && check_role_name("").is_err());
        assert_eq!(
            parse_rights("read, export")
                .unwrap()
                .into_iter()
                .collect::<Vec<_>>(),
            [Right::Read, Right::Export]
        );
        assert!(parse_rights("read,fly")
            .unwrap_err()
            .contains("\"fly\" is not a right"));
        assert!(parse_rights("").is_err());
        assert!(check_personal_field("changes.email").is_ok());
        assert!(check_personal_field("changes.").is_err() && check_personal_field("ip").is_err());
        assert!(probes_ip(&"ip:203.0.113.7".parse().unwrap()));
        assert!(!probes_ip(&"ip:203.0.113.0/24".parse().unwrap()));
        assert!(probes_ip(&"ip:2001:db8::/64".parse().unwrap()));
    }
}
