//! The index's schema and how a journal entry becomes a document.

use std::net::{IpAddr, Ipv6Addr};

use tantivy::schema::{
    Field, IndexRecordOption, IpAddrOptions, NumericOptions, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{PreTokenizedString, Token};
use tantivy::TantivyDocument;
use vigil_core::{AnnotationSummary, StoredEvent};

/// Field names, used for fast-field access by name.
pub const SEQ: &str = "seq";
/// occurred_at, µs since the epoch.
pub const TIME: &str = "t";
/// The severity (for critical counts).
pub const SEVERITY: &str = "severity";
/// Marks of the entry's annotations.
pub const MARK: &str = "mark";

/// The fields of the schema.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    pub seq: Field,
    pub time: Field,
    pub actor: Field,
    pub section: Field,
    /// Who handed the entry to the store (absent on entries from before senders).
    pub sender: Field,
    pub kind: Field,
    /// `on_behalf_of.id`.
    pub behalf: Field,
    pub request: Field,
    pub correlation: Field,
    pub action: Field,
    pub severity: Field,
    pub outcome: Field,
    pub target_type: Field,
    pub target_id: Field,
    pub target: Field,
    pub ip: Field,
    pub has: Field,
    pub mark: Field,
    pub incident: Field,
    pub text: Field,
    /// The words of the full text that readers without the unmask right do not see.
    pub hidden: Field,
}

/// Positions left between the event's text and each comment, so that no phrase spans two.
const COMMENT_GAP: usize = 100;

/// An exact-match keyword: indexed whole, with a columnar copy for facets.
fn keyword(fast: bool) -> TextOptions {
    let indexing = TextFieldIndexing::default()
        .set_tokenizer("raw")
        .set_index_option(IndexRecordOption::Basic)
        .set_fieldnorms(false);
    let options = TextOptions::default().set_indexing_options(indexing);
    if fast {
        options.set_fast("raw")
    } else {
        options
    }
}

/// Builds the schema and returns it with its fields.
pub fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let numeric = NumericOptions::default().set_fast();
    // Indexed too: an entry's document is replaced (found by seq) when it is annotated.
    let seq = NumericOptions::default().set_fast().set_indexed();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("raw")
            .set_index_option(IndexRecordOption::WithFreqsAndPositions)
            .set_fieldnorms(false),
    );
    let fields = Fields {
        seq: b.add_u64_field(SEQ, seq),
        time: b.add_i64_field(TIME, numeric),
        actor: b.add_text_field("actor", keyword(true)),
        section: b.add_text_field("section", keyword(true)),
        sender: b.add_text_field("sender", keyword(false)),
        kind: b.add_text_field("kind", keyword(true)),
        behalf: b.add_text_field("behalf", keyword(false)),
        request: b.add_text_field("request", keyword(false)),
        correlation: b.add_text_field("correlation", keyword(false)),
        action: b.add_text_field("action", keyword(true)),
        severity: b.add_text_field(SEVERITY, keyword(true)),
        outcome: b.add_text_field("outcome", keyword(true)),
        target_type: b.add_text_field("target_type", keyword(true)),
        target_id: b.add_text_field("target_id", keyword(false)),
        target: b.add_text_field("target", keyword(false)),
        ip: b.add_ip_addr_field("ip", IpAddrOptions::default().set_fast().set_indexed()),
        has: b.add_text_field("has", keyword(false)),
        mark: b.add_text_field(MARK, keyword(true)),
        incident: b.add_text_field("incident", keyword(false)),
        text: b.add_text_field("text", text),
        hidden: b.add_text_field("hidden", keyword(false)),
    };
    (b.build(), fields)
}

/// IPv4 as IPv4-mapped IPv6, the form the index keeps.
pub fn ipv6(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// The document of one entry with what its annotations add. Full-text is pre-tokenized with
/// [`vigil_core::text::tokens`], so the index and the in-memory evaluation of a query fold words
/// the same way. The words that masking with the `personal` fields hides are also kept apart.
pub fn document(
    f: &Fields,
    s: &StoredEvent,
    summary: &AnnotationSummary,
    personal: &[String],
) -> TantivyDocument {
    let e = &s.event;
    let mut doc = TantivyDocument::new();
    doc.add_u64(f.seq, s.seq);
    doc.add_i64(f.time, e.occurred_at.timestamp_micros());
    doc.add_text(f.actor, &e.actor.id);
    doc.add_text(f.section, &e.section);
    if let Some(sender) = &e.sender {
        doc.add_text(f.sender, sender);
    }
    doc.add_text(f.kind, e.kind.as_str());
    if let Some(p) = &e.on_behalf_of {
        doc.add_text(f.behalf, &p.id);
        doc.add_text(f.has, "behalf");
    }
    if let Some(r) = &e.request_id {
        doc.add_text(f.request, r);
    }
    if let Some(c) = &e.correlation_id {
        doc.add_text(f.correlation, c);
    }
    doc.add_text(f.action, &e.action);
    doc.add_text(f.severity, e.severity.as_str());
    doc.add_text(f.outcome, e.outcome.as_str());
    if let Some(t) = &e.target {
        doc.add_text(f.target_type, &t.kind);
        doc.add_text(f.target_id, &t.id);
        doc.add_text(f.target, format!("{}/{}", t.kind, t.id));
        doc.add_text(f.has, "target");
    }
    if let Some(ip) = e.ip {
        doc.add_ip_addr(f.ip, ipv6(ip));
        doc.add_text(f.has, "ip");
    }
    if e.changes.as_ref().is_some_and(|c| !c.is_empty()) {
        doc.add_text(f.has, "changes");
    }
    if e.reason.is_some() {
        doc.add_text(f.has, "reason");
    }
    if e.details.is_some() {
        doc.add_text(f.has, "details");
    }
    for m in &summary.marks {
        doc.add_text(f.mark, m);
    }
    if !summary.marks.is_empty() {
        doc.add_text(f.has, "mark");
    }
    if !summary.comments.is_empty() {
        doc.add_text(f.has, "comment");
    }
    for i in &summary.incidents {
        doc.add_text(f.incident, i);
    }
    // The event's text as one string (tokenized once, as before there were hidden words), and
    // beside it the parts that masking hides.
    let own = e.section == "vigil";
    let mut text = String::new();
    let mut masked_text = String::new();
    vigil_core::text::searchable_parts(e, |part, s| {
        text.push_str(s);
        text.push('\n');
        if !own && vigil_core::rights::masks_part(part, personal) {
            masked_text.push_str(s);
            masked_text.push('\n');
        }
    });
    let words = vigil_core::text::tokens(&text);
    let comments: Vec<Vec<String>> = summary
        .comments
        .iter()
        .map(|c| vigil_core::text::tokens(c))
        .collect();
    if own {
        // Vigil's own entries mask parts of query texts: as the masked entry reads.
        for word in vigil_core::rights::hidden_words(e, personal, &summary.comments) {
            doc.add_text(f.hidden, &word);
        }
    } else if !masked_text.is_empty() {
        // A word is hidden when every time it occurs in the entry is in a masked part (the
        // parts' words are the text's words in order) and no comment has it. Few words are
        // masked: counting beats hashing the whole text.
        let masked_words = vigil_core::text::tokens(&masked_text);
        let count = |list: &[String], w: &str| list.iter().filter(|x| x.as_str() == w).count();
        let mut hidden: Vec<&str> = masked_words
            .iter()
            .map(String::as_str)
            .filter(|w| {
                count(&words, w) == count(&masked_words, w)
                    && !comments.iter().any(|c| c.iter().any(|x| x == w))
            })
            .collect();
        hidden.sort_unstable();
        hidden.dedup();
        for word in hidden {
            doc.add_text(f.hidden, word);
        }
    }
    let mut tokens: Vec<Token> = Vec::new();
    let mut position = 0;
    let texts = std::iter::once(words).chain(comments);
    for (n, text) in texts.enumerate() {
        if n > 0 {
            position += COMMENT_GAP;
        }
        for word in text {
            tokens.push(Token {
                offset_from: 0,
                offset_to: 0,
                position,
                text: word,
                position_length: 1,
            });
            position += 1;
        }
    }
    doc.add_pre_tokenized_text(
        f.text,
        PreTokenizedString {
            text: String::new(),
            tokens,
        },
    );
    doc
}
