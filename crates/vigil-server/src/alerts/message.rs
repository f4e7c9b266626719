//! What an alert says, and how each channel shows it: plain text and HTML for email, Telegram's
//! HTML parse mode, Slack blocks, and JSON for webhooks. Everything that came from an event is
//! escaped for the format it goes into.

use chrono::{DateTime, FixedOffset, Utc};
use serde_json::{json, Value};
use vigil_core::StoredEvent;

/// How many of a digest's other entries are listed one per line.
pub const LISTED: usize = 10;
/// Longest shown value (changes, reason, details): longer ones are cut with "…".
const MAX_VALUE_CHARS: usize = 400;

/// One message: a rule's match (or digest of matches), or a test.
#[derive(Debug, Clone)]
pub struct Alert {
    /// The delivery it is for.
    pub delivery: u64,
    /// The rule's name and query (`None` for a test message).
    pub rule: Option<(String, String)>,
    /// The entries, oldest first (empty for a test message); a digest's first ones.
    pub entries: Vec<StoredEvent>,
    /// How many entries it tells of (a digest's may be more than `entries`).
    pub total: u64,
    /// Who asked for a test message, and the channel's name.
    pub test: Option<(String, String)>,
    /// A signed checkpoint published as it was signed (`[integrity] publish`).
    pub checkpoint: Option<vigil_api::SignedCheckpoint>,
    /// The zone shown besides UTC.
    pub tz: FixedOffset,
    /// The store's address for links, without a trailing slash.
    pub public_url: String,
}

/// A labelled line of the message.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// `Who`, `What`, …
    pub label: &'static str,
    /// Plain text.
    pub value: String,
}

impl Alert {
    /// The first line: `CRITICAL bonus.grant by alice in finance (and 14 more)`.
    pub fn headline(&self) -> String {
        if let Some((_, channel)) = &self.test {
            return format!("Vigil test message for channel {channel}");
        }
        if let Some(cp) = &self.checkpoint {
            return format!("Vigil checkpoint: {} entries signed", cp.size);
        }
        let Some(e) = self.entries.first() else {
            return "Vigil alert".into();
        };
        let mut line = format!(
            "{} {} by {} in {}",
            e.event.severity.as_str().to_uppercase(),
            e.event.action,
            e.event.actor.id,
            e.event.section
        );
        if self.others() > 0 {
            line.push_str(&format!(" (and {} more)", self.others()));
        }
        line
    }

    /// The entry's page in the store's API.
    pub fn store_link(&self, e: &StoredEvent) -> String {
        format!("{}/v1/events/{}", self.public_url, e.event.id)
    }

    /// The console's link.
    pub fn console_link(e: &StoredEvent) -> String {
        format!("vigil://event/{}", e.event.id)
    }

    /// The first entry, field by field, in plain text.
    pub fn fields(&self) -> Vec<Field> {
        if let Some((by, channel)) = &self.test {
            return vec![
                Field {
                    label: "Channel",
                    value: channel.clone(),
                },
                Field {
                    label: "Asked by",
                    value: by.clone(),
                },
                Field {
                    label: "What",
                    value: "If you read this, alerts reach this channel.".into(),
                },
            ];
        }
        if let Some(cp) = &self.checkpoint {
            let signed = chrono::DateTime::parse_from_rfc3339(&cp.signed_at)
                .map(|t| format!("{} ({})", self.when(&t.to_utc()), cp.signed_at))
                .unwrap_or_else(|_| cp.signed_at.clone());
            return vec![
                Field {
                    label: "Entries",
                    value: format!("1 to {}", cp.size),
                },
                Field {
                    label: "Root",
                    value: cp.root.clone(),
                },
                Field {
                    label: "Signed",
                    value: signed,
                },
                Field {
                    label: "Key",
                    value: cp.key_id.clone(),
                },
                Field {
                    label: "Signature",
                    value: cp.signature.clone(),
                },
                Field {
                    label: "Signed text",
                    value: cp.text.clone(),
                },
                Field {
                    label: "What",
                    value: "Keep this message: with the store's public key it proves what the \
                            journal held (vigil verify --checkpoint)."
                        .into(),
                },
            ];
        }
        let Some(e) = self.entries.first() else {
            return Vec::new();
        };
        let ev = &e.event;
        let mut out = Vec::new();
        let mut push = |label, value: String| out.push(Field { label, value });
        let mut who = ev.actor.id.clone();
        if let Some(name) = &ev.actor.name {
            who.push_str(&format!(" ({name})"));
        }
        if let Some(role) = &ev.actor.role {
            who.push_str(&format!(", {role}"));
        }
        push("Who", who);
        if let Some(p) = &ev.on_behalf_of {
            let mut acting = match &p.kind {
                Some(kind) => format!("{kind} {}", p.id),
                None => p.id.clone(),
            };
            if let Some(name) = &p.name {
                acting.push_str(&format!(" ({name})"));
            }
            push("Acting as", acting);
        }
        push(
            "What",
            format!(
                "{} ({}, {}, {})",
                ev.action, ev.kind, ev.severity, ev.outcome
            ),
        );
        push("Where", ev.section.clone());
        if let Some(c) = &ev.correlation_id {
            push("Action id", c.clone());
        }
        if let Some(t) = &ev.target {
            let mut target = format!("{} {}", t.kind, t.id);
            if let Some(name) = &t.name {
                target.push_str(&format!(" ({name})"));
            }
            push("Target", target);
        }
        push("When", self.when(&ev.occurred_at));
        if let Some(ip) = ev.ip {
            push("IP", ip.to_string());
        }
        for c in ev.changes.iter().flatten() {
            push(
                "Change",
                cut(&format!(
                    "{}: {} → {}",
                    c.field,
                    shown(&c.before),
                    shown(&c.after)
                )),
            );
        }
        if let Some(reason) = &ev.reason {
            push("Reason", cut(reason));
        }
        if let Some((name, q)) = &self.rule {
            push("Rule", format!("{name} ({q})"));
        }
        out
    }

    /// `2026-11-27 06:04:23 UTC (07:04:23 +01:00)`.
    pub fn when(&self, t: &DateTime<Utc>) -> String {
        let utc = t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
        if self.tz.local_minus_utc() == 0 {
            return utc;
        }
        let local = t.with_timezone(&self.tz);
        format!("{utc} ({} {})", local.format("%Y-%m-%d %H:%M:%S"), self.tz)
    }

    /// One line per other entry of a digest (at most [`LISTED`]).
    pub fn more_lines(&self) -> Vec<String> {
        self.entries
            .iter()
            .skip(1)
            .take(LISTED)
            .map(|e| {
                let ev = &e.event;
                let target = ev
                    .target
                    .as_ref()
                    .map(|t| format!(" {} {}", t.kind, t.id))
                    .unwrap_or_default();
                format!(
                    "{} {} {} in {}{}",
                    ev.occurred_at.format("%Y-%m-%d %H:%M:%S UTC"),
                    ev.actor.id,
                    ev.action,
                    ev.section,
                    target
                )
            })
            .collect()
    }

    /// How many entries besides the first.
    fn others(&self) -> u64 {
        self.total.max(self.entries.len() as u64).saturating_sub(1)
    }

    /// How many others a digest has beyond the listed lines.
    fn unlisted(&self) -> u64 {
        self.others().saturating_sub(self.more_lines().len() as u64)
    }

    /// The email's plain-text part (also the body of any channel that shows plain text).
    pub fn text(&self) -> String {
        let mut out = format!("{}\n\n", self.headline());
        for f in self.fields() {
            out.push_str(&format!("{}: {}\n", f.label, f.value));
        }
        if let Some(e) = self.entries.first() {
            out.push_str(&format!(
                "Entry: {}\n       {}\n",
                Self::console_link(e),
                self.store_link(e)
            ));
        }
        let more = self.more_lines();
        if !more.is_empty() {
            out.push_str(&format!("\nAnd {} more:\n", self.others()));
            for line in more {
                out.push_str(&format!("- {line}\n"));
            }
            if self.unlisted() > 0 {
                out.push_str(&format!("… and {} others\n", self.unlisted()));
            }
        }
        out
    }

    /// The email's HTML part.
    pub fn html(&self) -> String {
        let mut rows = String::new();
        for f in self.fields() {
            rows.push_str(&format!(
                "<tr><th align=\"left\" valign=\"top\" style=\"padding:2px 12px 2px 0\">{}</th><td style=\"white-space:pre-wrap\">{}</td></tr>\n",
                html_escape(f.label),
                html_escape(&f.value)
            ));
        }
        if let Some(e) = self.entries.first() {
            let link = self.store_link(e);
            rows.push_str(&format!(
                "<tr><th align=\"left\" valign=\"top\">Entry</th><td><a href=\"{}\">{}</a><br>{}</td></tr>\n",
                html_escape(&link),
                html_escape(&link),
                html_escape(&Self::console_link(e))
            ));
        }
        let mut more = String::new();
        let lines = self.more_lines();
        if !lines.is_empty() {
            more.push_str(&format!("<p>And {} more:</p>\n<ul>\n", self.others()));
            for line in lines {
                more.push_str(&format!("<li>{}</li>\n", html_escape(&line)));
            }
            more.push_str("</ul>\n");
            if self.unlisted() > 0 {
                more.push_str(&format!("<p>… and {} others</p>\n", self.unlisted()));
            }
        }
        format!(
            "<!DOCTYPE html>\n<html><body style=\"font-family:sans-serif\">\n<h2>{}</h2>\n<table>\n{rows}</table>\n{more}</body></html>\n",
            html_escape(&self.headline())
        )
    }

    /// Telegram `sendMessage` text in HTML parse mode (at most 4096 characters).
    pub fn telegram(&self) -> String {
        let mut out = format!("<b>{}</b>\n", html_escape(&self.headline()));
        for f in self.fields() {
            out.push_str(&format!(
                "<b>{}:</b> {}\n",
                html_escape(f.label),
                html_escape(&f.value)
            ));
        }
        if let Some(e) = self.entries.first() {
            let link = self.store_link(e);
            out.push_str(&format!(
                "<a href=\"{}\">Open the entry</a> · <code>{}</code>\n",
                html_escape(&link),
                html_escape(&Self::console_link(e))
            ));
        }
        let lines = self.more_lines();
        if !lines.is_empty() {
            out.push_str(&format!("\n<b>And {} more:</b>\n", self.others()));
            for line in lines {
                out.push_str(&format!("• {}\n", html_escape(&line)));
            }
            if self.unlisted() > 0 {
                out.push_str(&format!("… and {} others\n", self.unlisted()));
            }
        }
        if telegram_len(&out) > 4096 {
            // Cut the plain version instead: cutting HTML could leave a tag open.
            let mut plain = String::new();
            let mut units = 0;
            for c in self.text().chars() {
                // Escaping can only add entities, each counted as one: 4000 units stay below.
                units += c.len_utf16();
                if units > 4000 {
                    break;
                }
                plain.push(c);
            }
            return format!("{}\n…", html_escape(&plain));
        }
        out
    }

    /// A Slack incoming-webhook payload: `text` for notifications, and blocks.
    pub fn slack(&self) -> Value {
        let headline = self.headline();
        let mut blocks = vec![json!({
            "type": "header",
            "text": {"type": "plain_text", "text": cut_to(&headline, 150), "emoji": false}
        })];
        // Slack takes at most 10 fields: the changes go in one.
        let mut merged: Vec<Field> = Vec::new();
        for f in self.fields() {
            match merged
                .iter_mut()
                .find(|m| m.label == "Changes" && f.label == "Change")
            {
                Some(m) => m.value = format!("{}\n{}", m.value, f.value),
                None if f.label == "Change" => merged.push(Field {
                    label: "Changes",
                    value: f.value,
                }),
                None => merged.push(f),
            }
        }
        let fields: Vec<Value> = merged
            .into_iter()
            .take(10)
            .map(|f| {
                json!({"type": "mrkdwn", "text": format!("*{}*\n{}", f.label, slack_escape(&cut_to(&f.value, 1900)))})
            })
            .collect();
        if !fields.is_empty() {
            blocks.push(json!({"type": "section", "fields": fields}));
        }
        if let Some(e) = self.entries.first() {
            blocks.push(json!({
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": format!(
                    "<{}|Open the entry> · `{}`",
                    slack_escape(&self.store_link(e)),
                    Self::console_link(e)
                )}]
            }));
        }
        let lines = self.more_lines();
        if !lines.is_empty() {
            let mut text = format!("*And {} more:*\n", self.others());
            for line in lines {
                text.push_str(&format!("• {}\n", slack_escape(&cut_to(&line, 200))));
            }
            if self.unlisted() > 0 {
                text.push_str(&format!("… and {} others", self.unlisted()));
            }
            blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": text}}));
        }
        json!({ "text": slack_escape(&headline), "blocks": blocks })
    }

    /// A generic webhook's JSON body: the entries whole, as the API shows them.
    pub fn webhook(&self) -> Value {
        json!({
            "delivery": self.delivery,
            "headline": self.headline(),
            "rule": self.rule.as_ref().map(|(name, q)| json!({"name": name, "q": q})),
            "test": self.test.is_some(),
            "checkpoint": self.checkpoint,
            "total": self.total.max(self.entries.len() as u64),
            "entries": self.entries,
            "links": self.entries.first().map(|e| json!({
                "console": Self::console_link(e),
                "store": self.store_link(e),
            })),
        })
    }
}

/// The length Telegram counts: UTF-16 code units of the text after parsing its HTML (tags take
/// no room, an entity such as `&amp;` is one).
pub fn telegram_len(html: &str) -> usize {
    let (mut n, mut in_tag, mut in_entity) = (0, false, false);
    for c in html.chars() {
        match c {
            '<' if !in_entity => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if in_tag => {}
            '&' => {
                in_entity = true;
                n += 1;
            }
            ';' if in_entity => in_entity = false,
            _ if in_entity => {}
            c => n += c.len_utf16(),
        }
    }
    n
}

/// A JSON value for a person: strings as they are, the rest as JSON.
fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "(none)".into(),
        other => other.to_string(),
    }
}

fn cut(s: &str) -> String {
    cut_to(s, MAX_VALUE_CHARS)
}

fn cut_to(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// Escapes text for HTML content and attribute values (email and Telegram).
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for Slack's mrkdwn: `&`, `<` and `>` (so no link or mention can be forged).
pub fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_core::validate::event_from_json;

    fn entry(seq: u64, actor: &str, reason: &str) -> StoredEvent {
        let event = event_from_json(
            &json!({
                "id": format!("0190a1b2-0000-7000-8000-{seq:012}"),
                "occurred_at": "2026-11-27T02:59:16.123456Z",
                "actor": {"id": actor, "name": "Zoé <admin>", "role": "support"},
                "action": "bonus.grant",
                "kind": "change",
                "section": "bonuses",
                "severity": "critical",
                "target": {"type": "player", "id": "4411", "name": "جان دوبون"},
                "changes": [{"field": "balance", "before": "100.10", "after": 600}],
                "ip": "10.1.2.3",
                "reason": reason,
            }),
            uuid::Uuid::now_v7,
        )
        .unwrap();
        StoredEvent {
            salt: None,
            seq,
            received_at: event.occurred_at,
            hash: String::new(),
            event,
        }
    }

    fn alert(entries: Vec<StoredEvent>) -> Alert {
        Alert {
            delivery: 7,
            rule: Some(("critical".into(), "severity:critical".into())),
            total: entries.len() as u64,
            entries,
            test: None,
            checkpoint: None,
            tz: "+01:00".parse().unwrap(),
            public_url: "http://vigil.example:7878".into(),
        }
    }

    #[test]
    fn a_message_says_who_what_where_when_and_links_the_entry() {
        let text = alert(vec![entry(1, "alice", "VIP goodwill")]).text();
        for needle in [
            "CRITICAL bonus.grant by alice in bonuses",
            "Who: alice (Zoé <admin>), support",
            "Target: player 4411 (جان دوبون)",
            "When: 2026-11-27 02:59:16 UTC (2026-11-27 03:59:16 +01:00)",
            "IP: 10.1.2.3",
            "Change: balance: 100.10 → 600",
            "Reason: VIP goodwill",
            "vigil://event/0190a1b2-0000-7000-8000-000000000001",
            "http://vigil.example:7878/v1/events/0190a1b2-0000-7000-8000-000000000001",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
        }
    }

    #[test]
    fn user_text_is_escaped_for_each_format() {
        let a = alert(vec![entry(1, "<b>eve</b>", "<script>x</script> & <@U123>")]);
        let tg = a.telegram();
        assert!(
            tg.contains("&lt;script&gt;x&lt;/script&gt; &amp; &lt;@U123&gt;"),
            "{tg}"
        );
        assert!(!tg.contains("<script>") && !tg.contains("<b>eve"));
        let html = a.html();
        assert!(html.contains("Zoé &lt;admin&gt;") && !html.contains("<script>"));
        let slack = a.slack().to_string();
        assert!(
            slack.contains("&lt;@U123&gt;") && !slack.contains("<@U123>"),
            "{slack}"
        );
    }

    #[test]
    fn a_digest_lists_the_rest() {
        let entries: Vec<_> = (1..=15).map(|i| entry(i, &format!("op{i}"), "r")).collect();
        let a = alert(entries);
        assert!(a.headline().ends_with("(and 14 more)"));
        let text = a.text();
        assert!(text.contains("And 14 more:"));
        assert_eq!(text.matches("\n- ").count(), LISTED);
        assert!(text.contains("… and 4 others"));
        let slack = a.slack();
        assert_eq!(slack["blocks"][0]["text"]["text"], a.headline());
        // A digest that kept 11 entries of 40 counts them all.
        let mut kept = alert((1..=11).map(|i| entry(i, "op", "r")).collect());
        kept.total = 40;
        assert!(kept.headline().ends_with("(and 39 more)"));
        assert!(kept.text().contains("And 39 more:") && kept.text().contains("… and 29 others"));
    }

    #[test]
    fn slack_keeps_every_field_when_there_are_many_changes() {
        let mut e = entry(1, "alice", "the reason");
        e.event.changes = Some(
            (0..8)
                .map(|i| vigil_core::Change {
                    field: format!("f{i}"),
                    before: json!(i),
                    after: json!(i + 1),
                })
                .collect(),
        );
        let slack = alert(vec![e]).slack();
        let fields = slack["blocks"][1]["fields"].as_array().unwrap();
        let texts: Vec<&str> = fields.iter().map(|f| f["text"].as_str().unwrap()).collect();
        assert!(
            texts
                .iter()
                .any(|t| t.starts_with("*Changes*\nf0: 0 → 1\nf1: 1 → 2")
                    && t.ends_with("f7: 7 → 8")),
            "{texts:?}"
        );
        assert!(
            texts.iter().any(|t| t.starts_with("*Reason*"))
                && texts.iter().any(|t| t.starts_with("*Rule*"))
        );
    }

    #[test]
    fn telegram_stays_within_its_limit() {
        let name = "<".repeat(250);
        let long = "&🎰".repeat(10_000);
        let entries: Vec<_> = (1..=12).map(|i| entry(i, &name, &long)).collect();
        let tg = alert(entries).telegram();
        assert!(telegram_len(&tg) <= 4096, "{}", telegram_len(&tg));
        assert!(telegram_len(&tg) > 3000, "cut, not emptied");
        assert_eq!(telegram_len("<b>a &amp; b</b>"), 5);
        assert_eq!(telegram_len("🎰"), 2, "Telegram counts UTF-16 code units");
    }
}
