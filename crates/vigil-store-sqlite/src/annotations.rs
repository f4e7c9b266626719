//! The marks catalog, annotations and incidents. Writes run in the writer's transaction, so a
//! record and the journal entry that tells of it are stored together or not at all.

use async_trait::async_trait;
use vigil_store::AnnotationStore;

use crate::SqliteStore;
use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension, Row};
use uuid::Uuid;
use vigil_core::{Annotation, AnnotationSummary, Event, IncidentRef};
use vigil_store::{
    EntryAnnotations, Incident, IncidentKey, IncidentNote, IncidentStatus, Mark, MarkChange,
    NewAnnotation, NewIncident, NewIncidentNote, NewPin, Pin, StoreError, Written,
};

use crate::sql::{from_micros, micros};
use crate::writer::Chain;

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::backend(e)
}

fn uuid_at(row: &Row<'_>, i: usize) -> rusqlite::Result<Uuid> {
    let bytes: [u8; 16] = row.get(i)?;
    Ok(Uuid::from_bytes(bytes))
}

fn conflict(message: String) -> StoreError {
    StoreError::Conflict {
        message,
        index: None,
    }
}

/// The seq of an entry by id.
fn entry_seq(conn: &Connection, id: Uuid) -> Result<u64, StoreError> {
    conn.prepare_cached("SELECT seq FROM events WHERE id = ?")
        .map_err(db)?
        .query_row([id.as_bytes().as_slice()], |r| r.get::<_, i64>(0))
        .optional()
        .map_err(db)?
        .map(|s| s as u64)
        .ok_or_else(|| StoreError::NotFound(format!("entry {id}")))
}

/// Appends the journal entry of a record and returns its seq.
fn journal(conn: &Connection, chain: &mut Chain, event: Event) -> Result<u64, StoreError> {
    let appended = chain.append(conn, std::slice::from_ref(&event))?;
    Ok(appended[0].seq)
}

// The marks catalog.

pub fn marks(conn: &Connection) -> Result<Vec<Mark>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT key, label_fr, label_en, colour FROM marks ORDER BY position, key")
        .map_err(db)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(Mark {
                key: r.get(0)?,
                label_fr: r.get(1)?,
                label_en: r.get(2)?,
                colour: r.get(3)?,
            })
        })
        .map_err(db)?;
    rows.collect::<Result<_, _>>().map_err(db)
}

pub fn change_mark(
    conn: &Connection,
    chain: &mut Chain,
    change: &MarkChange,
    event: Event,
) -> Result<(), StoreError> {
    match change {
        MarkChange::Add(m) => {
            let taken = conn
                .query_row("SELECT 1 FROM marks WHERE key = ?", [&m.key], |_| Ok(()))
                .optional()
                .map_err(db)?
                .is_some();
            if taken {
                return Err(conflict(format!("mark {:?} already exists", m.key)));
            }
            conn.execute(
                "INSERT INTO marks (key, label_fr, label_en, colour, position) \
                 VALUES (?, ?, ?, ?, (SELECT coalesce(max(position), -1) + 1 FROM marks))",
                params![m.key, m.label_fr, m.label_en, m.colour],
            )
            .map_err(db)?;
        }
        MarkChange::Update(m) => {
            let n = conn
                .execute(
                    "UPDATE marks SET label_fr = ?, label_en = ?, colour = ? WHERE key = ?",
                    params![m.label_fr, m.label_en, m.colour, m.key],
                )
                .map_err(db)?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("mark {:?}", m.key)));
            }
        }
        MarkChange::Remove(key) => {
            let used: i64 = conn
                .query_row(
                    "SELECT count(*) FROM annotations, json_each(annotations.marks) \
                     WHERE json_each.value = ?",
                    [key],
                    |r| r.get(0),
                )
                .map_err(db)?;
            if used > 0 {
                return Err(conflict(format!(
                    "mark {key:?} is used by {used} annotation(s) and stays in the catalog; \
                     change its labels instead"
                )));
            }
            let n = conn
                .execute("DELETE FROM marks WHERE key = ?", [key])
                .map_err(db)?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("mark {key:?}")));
            }
        }
    }
    journal(conn, chain, event)?;
    Ok(())
}

/// The marks of `wanted` not in the catalog, as an `Invalid` error naming the valid ones.
fn check_marks(conn: &Connection, wanted: &[String]) -> Result<(), StoreError> {
    let known: Vec<String> = marks(conn)?.into_iter().map(|m| m.key).collect();
    match wanted.iter().find(|m| !known.contains(m)) {
        None => Ok(()),
        Some(m) => Err(StoreError::invalid(
            "marks",
            format!("unknown mark {m:?}; the marks are: {}", known.join(", ")),
        )),
    }
}

// Annotations.

const ANNOTATION: &str = "SELECT a.id, e.id, a.author, a.written_at, a.received_at, a.comment, \
    a.marks, a.supersedes, a.journal_seq, a.entry_seq FROM annotations a JOIN events e ON e.seq = a.entry_seq";

fn annotation_row(r: &Row<'_>) -> rusqlite::Result<(u64, Annotation)> {
    let marks: String = r.get(6)?;
    let supersedes: Option<[u8; 16]> = r.get(7)?;
    Ok((
        r.get::<_, i64>(9)? as u64,
        Annotation {
            id: uuid_at(r, 0)?,
            entry: uuid_at(r, 1)?,
            author: r.get(2)?,
            written_at: from_micros(r.get(3)?),
            received_at: from_micros(r.get(4)?),
            comment: r.get(5)?,
            marks: serde_json::from_str(&marks).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    6,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?,
            supersedes: supersedes.map(Uuid::from_bytes),
            journal_seq: r.get::<_, i64>(8)? as u64,
        },
    ))
}

fn annotation_by_id(conn: &Connection, id: Uuid) -> Result<Option<(u64, Annotation)>, StoreError> {
    conn.prepare_cached(&format!("{ANNOTATION} WHERE a.id = ?"))
        .map_err(db)?
        .query_row([id.as_bytes().as_slice()], annotation_row)
        .optional()
        .map_err(db)
}

pub fn annotate(
    conn: &Connection,
    chain: &mut Chain,
    a: &NewAnnotation,
    event: Event,
) -> Result<(Annotation, Written), StoreError> {
    let seq = entry_seq(conn, a.entry)?;
    if let Some((_, stored)) = annotation_by_id(conn, a.id)? {
        // The time written is not compared: a retry that lets it default gets another "now".
        let sorted = |m: &[String]| {
            let mut m = m.to_vec();
            m.sort();
            m
        };
        let same = stored.entry == a.entry
            && stored.author == a.author
            && stored.comment == a.comment
            && sorted(&stored.marks) == sorted(&a.marks)
            && stored.supersedes == a.supersedes;
        return match same {
            true => Ok((stored, Written::Replayed)),
            false => Err(conflict(format!(
                "annotation {} is already stored with different content",
                a.id
            ))),
        };
    }
    check_marks(conn, &a.marks)?;
    if let Some(old) = a.supersedes {
        match annotation_by_id(conn, old)? {
            Some((of, _)) if of == seq => {}
            Some(_) => {
                return Err(StoreError::invalid(
                    "supersedes",
                    format!("supersedes: annotation {old} is about another entry"),
                ))
            }
            None => {
                return Err(StoreError::invalid(
                    "supersedes",
                    format!("supersedes: there is no annotation {old}"),
                ))
            }
        }
    }
    let journal_seq = journal(conn, chain, event)?;
    conn.execute(
        "INSERT INTO annotations (id, entry_seq, author, written_at, received_at, comment, marks, supersedes, journal_seq) \
         VALUES (?,?,?,?,?,?,?,?,?)",
        params![
            a.id.as_bytes().as_slice(),
            seq as i64,
            a.author,
            micros(&a.written_at),
            chain.now(),
            a.comment,
            serde_json::to_string(&a.marks).expect("strings serialize"),
            a.supersedes.map(|s| s.as_bytes().to_vec()),
            journal_seq as i64,
        ],
    )
    .map_err(db)?;
    let (_, stored) = annotation_by_id(conn, a.id)?.expect("just stored");
    Ok((stored, Written::Created))
}

pub fn annotations(conn: &Connection, entry: Uuid) -> Result<Vec<Annotation>, StoreError> {
    let seq = entry_seq(conn, entry)?;
    Ok(entry_annotations(conn, &[seq])?
        .remove(&seq)
        .map(|n| n.annotations)
        .unwrap_or_default())
}

/// Annotations and incidents of these entries.
pub fn entry_annotations(
    conn: &Connection,
    seqs: &[u64],
) -> Result<HashMap<u64, EntryAnnotations>, StoreError> {
    let (Some(&lo), Some(&hi)) = (seqs.iter().min(), seqs.iter().max()) else {
        return Ok(HashMap::new());
    };
    let wanted: std::collections::HashSet<u64> = seqs.iter().copied().collect();
    let mut out: HashMap<u64, EntryAnnotations> = HashMap::new();
    // Close together (a page of a narrow time range, an index batch): one range. Scattered (a
    // page of a rare match over the whole journal): the seqs themselves, not every annotation
    // between them.
    let close = hi - lo < seqs.len() as u64 * 4;
    let filter = match close {
        true => format!("BETWEEN {lo} AND {hi}"),
        false => format!(
            "IN ({})",
            wanted
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ),
    };
    let mut stmt = conn
        .prepare(&format!(
            "{ANNOTATION} WHERE a.entry_seq {filter} ORDER BY a.journal_seq"
        ))
        .map_err(db)?;
    let rows = stmt.query_map([], annotation_row).map_err(db)?;
    for row in rows {
        let (seq, a) = row.map_err(db)?;
        if wanted.contains(&seq) {
            out.entry(seq).or_default().annotations.push(a);
        }
    }
    let mut stmt = conn
        .prepare(&format!(
            "SELECT p.entry_seq, i.id, i.number, i.title FROM incident_pins p \
             JOIN incidents i ON i.id = p.incident WHERE p.entry_seq {filter} ORDER BY i.number"
        ))
        .map_err(db)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                IncidentRef {
                    id: uuid_at(r, 1)?,
                    number: r.get::<_, i64>(2)? as u64,
                    title: r.get(3)?,
                },
            ))
        })
        .map_err(db)?;
    for row in rows {
        let (seq, i) = row.map_err(db)?;
        if wanted.contains(&seq) {
            out.entry(seq).or_default().incidents.push(i);
        }
    }
    Ok(out)
}

/// What queries see of these entries' annotations and incidents.
pub fn summaries(
    conn: &Connection,
    seqs: &[u64],
) -> Result<HashMap<u64, AnnotationSummary>, StoreError> {
    Ok(entry_annotations(conn, seqs)?
        .into_iter()
        .map(|(seq, n)| (seq, AnnotationSummary::of(&n.annotations, &n.incidents)))
        .collect())
}

/// Entries before `before` annotated or pinned by journal entries in `[from, to]`.
pub fn touched(conn: &Connection, from: u64, to: u64, before: u64) -> Result<Vec<u64>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT entry_seq FROM annotations WHERE journal_seq BETWEEN ?1 AND ?2 AND entry_seq < ?3 \
             UNION SELECT entry_seq FROM incident_pins WHERE journal_seq BETWEEN ?1 AND ?2 AND entry_seq < ?3 \
             ORDER BY 1",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map([from as i64, to as i64, before as i64], |r| {
            r.get::<_, i64>(0).map(|s| s as u64)
        })
        .map_err(db)?;
    rows.collect::<Result<_, _>>().map_err(db)
}

// Incidents.

const INCIDENT: &str = "SELECT i.id, i.number, i.title, i.description, i.author, i.written_at, i.received_at, \
    i.journal_seq, \
    coalesce((SELECT n.status FROM incident_notes n WHERE n.incident = i.id AND n.status IS NOT NULL \
              ORDER BY n.journal_seq DESC LIMIT 1), 'open'), \
    (SELECT count(*) FROM incident_pins p WHERE p.incident = i.id) FROM incidents i";

fn incident_row(r: &Row<'_>) -> rusqlite::Result<Incident> {
    let status: String = r.get(8)?;
    Ok(Incident {
        id: uuid_at(r, 0)?,
        number: r.get::<_, i64>(1)? as u64,
        title: r.get(2)?,
        description: r.get(3)?,
        author: r.get(4)?,
        written_at: from_micros(r.get(5)?),
        received_at: from_micros(r.get(6)?),
        journal_seq: r.get::<_, i64>(7)? as u64,
        status: IncidentStatus::parse(&status).unwrap_or(IncidentStatus::Open),
        entries: r.get::<_, i64>(9)? as u64,
    })
}

pub fn incident(conn: &Connection, key: IncidentKey) -> Result<Incident, StoreError> {
    let found = match key {
        IncidentKey::Id(id) => conn
            .prepare_cached(&format!("{INCIDENT} WHERE i.id = ?"))
            .map_err(db)?
            .query_row([id.as_bytes().as_slice()], incident_row),
        IncidentKey::Number(n) => conn
            .prepare_cached(&format!("{INCIDENT} WHERE i.number = ?"))
            .map_err(db)?
            .query_row([n as i64], incident_row),
    };
    found
        .optional()
        .map_err(db)?
        .ok_or_else(|| StoreError::NotFound(format!("incident {key}")))
}

pub fn incidents(conn: &Connection) -> Result<Vec<Incident>, StoreError> {
    let mut stmt = conn
        .prepare_cached(&format!("{INCIDENT} ORDER BY i.number DESC"))
        .map_err(db)?;
    let rows = stmt.query_map([], incident_row).map_err(db)?;
    rows.collect::<Result<_, _>>().map_err(db)
}

pub fn open_incident(
    conn: &Connection,
    chain: &mut Chain,
    i: &NewIncident,
    event: Event,
) -> Result<(Incident, Written), StoreError> {
    let found = match incident(conn, IncidentKey::Id(i.id)) {
        Ok(stored) => Some(stored),
        Err(StoreError::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    if let Some(stored) = found {
        let same = stored.title == i.title
            && stored.description == i.description
            && stored.author == i.author;
        return match same {
            true => Ok((stored, Written::Replayed)),
            false => Err(conflict(format!(
                "incident {} is already stored with different content",
                i.id
            ))),
        };
    }
    let journal_seq = journal(conn, chain, event)?;
    conn.execute(
        "INSERT INTO incidents (id, number, title, description, author, written_at, received_at, journal_seq) \
         VALUES (?, (SELECT coalesce(max(number), 0) + 1 FROM incidents), ?, ?, ?, ?, ?, ?)",
        params![
            i.id.as_bytes().as_slice(),
            i.title,
            i.description,
            i.author,
            micros(&i.written_at),
            chain.now(),
            journal_seq as i64,
        ],
    )
    .map_err(db)?;
    Ok((incident(conn, IncidentKey::Id(i.id))?, Written::Created))
}

const PIN: &str =
    "SELECT p.id, p.incident, e.id, p.author, p.written_at, p.received_at, p.journal_seq \
    FROM incident_pins p JOIN events e ON e.seq = p.entry_seq";

fn pin_row(r: &Row<'_>) -> rusqlite::Result<Pin> {
    Ok(Pin {
        id: uuid_at(r, 0)?,
        incident: uuid_at(r, 1)?,
        entry: uuid_at(r, 2)?,
        author: r.get(3)?,
        written_at: from_micros(r.get(4)?),
        received_at: from_micros(r.get(5)?),
        journal_seq: r.get::<_, i64>(6)? as u64,
    })
}

pub fn pins(conn: &Connection, incident_id: Uuid) -> Result<Vec<Pin>, StoreError> {
    incident(conn, IncidentKey::Id(incident_id))?;
    let mut stmt = conn
        .prepare_cached(&format!(
            "{PIN} WHERE p.incident = ? ORDER BY p.journal_seq"
        ))
        .map_err(db)?;
    let rows = stmt
        .query_map([incident_id.as_bytes().as_slice()], pin_row)
        .map_err(db)?;
    rows.collect::<Result<_, _>>().map_err(db)
}

pub fn pin(
    conn: &Connection,
    chain: &mut Chain,
    p: &NewPin,
    event: Event,
) -> Result<(Pin, Written), StoreError> {
    let by_id = conn
        .prepare_cached(&format!("{PIN} WHERE p.id = ?"))
        .map_err(db)?
        .query_row([p.id.as_bytes().as_slice()], pin_row)
        .optional()
        .map_err(db)?;
    if let Some(stored) = by_id {
        let same =
            stored.incident == p.incident && stored.entry == p.entry && stored.author == p.author;
        return match same {
            true => Ok((stored, Written::Replayed)),
            false => Err(conflict(format!(
                "pin {} is already stored with different content",
                p.id
            ))),
        };
    }
    incident(conn, IncidentKey::Id(p.incident))?;
    let seq = entry_seq(conn, p.entry)?;
    let already = conn
        .prepare_cached(&format!("{PIN} WHERE p.incident = ? AND p.entry_seq = ?"))
        .map_err(db)?
        .query_row(
            params![p.incident.as_bytes().as_slice(), seq as i64],
            pin_row,
        )
        .optional()
        .map_err(db)?;
    if let Some(stored) = already {
        return Ok((stored, Written::Replayed));
    }
    let journal_seq = journal(conn, chain, event)?;
    conn.execute(
        "INSERT INTO incident_pins (id, incident, entry_seq, author, written_at, received_at, journal_seq) \
         VALUES (?,?,?,?,?,?,?)",
        params![
            p.id.as_bytes().as_slice(),
            p.incident.as_bytes().as_slice(),
            seq as i64,
            p.author,
            micros(&p.written_at),
            chain.now(),
            journal_seq as i64,
        ],
    )
    .map_err(db)?;
    let stored = conn
        .prepare_cached(&format!("{PIN} WHERE p.id = ?"))
        .map_err(db)?
        .query_row([p.id.as_bytes().as_slice()], pin_row)
        .map_err(db)?;
    Ok((stored, Written::Created))
}

const NOTE: &str = "SELECT id, incident, author, written_at, received_at, text, status, journal_seq FROM incident_notes";

fn note_row(r: &Row<'_>) -> rusqlite::Result<IncidentNote> {
    let status: Option<String> = r.get(6)?;
    Ok(IncidentNote {
        id: uuid_at(r, 0)?,
        incident: uuid_at(r, 1)?,
        author: r.get(2)?,
        written_at: from_micros(r.get(3)?),
        received_at: from_micros(r.get(4)?),
        text: r.get(5)?,
        status: status.as_deref().and_then(IncidentStatus::parse),
        journal_seq: r.get::<_, i64>(7)? as u64,
    })
}

pub fn incident_notes(
    conn: &Connection,
    incident_id: Uuid,
) -> Result<Vec<IncidentNote>, StoreError> {
    incident(conn, IncidentKey::Id(incident_id))?;
    let mut stmt = conn
        .prepare_cached(&format!("{NOTE} WHERE incident = ? ORDER BY journal_seq"))
        .map_err(db)?;
    let rows = stmt
        .query_map([incident_id.as_bytes().as_slice()], note_row)
        .map_err(db)?;
    rows.collect::<Result<_, _>>().map_err(db)
}

pub fn add_incident_note(
    conn: &Connection,
    chain: &mut Chain,
    n: &NewIncidentNote,
    event: Event,
) -> Result<(IncidentNote, Written), StoreError> {
    let by_id = |conn: &Connection| {
        conn.prepare_cached(&format!("{NOTE} WHERE id = ?"))
            .map_err(db)?
            .query_row([n.id.as_bytes().as_slice()], note_row)
            .optional()
            .map_err(db)
    };
    if let Some(stored) = by_id(conn)? {
        let same = stored.incident == n.incident
            && stored.author == n.author
            && stored.text == n.text
            && stored.status == n.status;
        return match same {
            true => Ok((stored, Written::Replayed)),
            false => Err(conflict(format!(
                "incident note {} is already stored with different content",
                n.id
            ))),
        };
    }
    incident(conn, IncidentKey::Id(n.incident))?;
    let journal_seq = journal(conn, chain, event)?;
    conn.execute(
        "INSERT INTO incident_notes (id, incident, author, written_at, received_at, text, status, journal_seq) \
         VALUES (?,?,?,?,?,?,?,?)",
        params![
            n.id.as_bytes().as_slice(),
            n.incident.as_bytes().as_slice(),
            n.author,
            micros(&n.written_at),
            chain.now(),
            n.text,
            n.status.map(|s| s.as_str()),
            journal_seq as i64,
        ],
    )
    .map_err(db)?;
    Ok((by_id(conn)?.expect("just stored"), Written::Created))
}

#[async_trait]
impl AnnotationStore for SqliteStore {
    async fn marks(&self) -> Result<Vec<Mark>, StoreError> {
        self.read(marks).await
    }

    async fn change_mark(&self, change: MarkChange, journal: Event) -> Result<(), StoreError> {
        self.write(1, move |conn, chain| {
            change_mark(conn, chain, &change, journal)
        })
        .await
    }

    async fn annotate(
        &self,
        annotation: NewAnnotation,
        journal: Event,
    ) -> Result<(Annotation, Written), StoreError> {
        self.write(1, move |conn, chain| {
            annotate(conn, chain, &annotation, journal)
        })
        .await
    }

    async fn annotations(&self, entry: uuid::Uuid) -> Result<Vec<Annotation>, StoreError> {
        self.read(move |conn| annotations(conn, entry)).await
    }

    async fn annotations_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Annotation>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "{ANNOTATION} WHERE a.journal_seq > ? ORDER BY a.journal_seq LIMIT ?"
                ))
                .map_err(db)?;
            let rows = stmt
                .query_map(
                    rusqlite::params![after.min(i64::MAX as u64) as i64, limit as i64],
                    annotation_row,
                )
                .map_err(db)?;
            rows.map(|r| r.map(|(_, a)| a))
                .collect::<rusqlite::Result<_>>()
                .map_err(db)
        })
        .await
    }

    async fn entry_annotations(
        &self,
        seqs: Vec<u64>,
    ) -> Result<std::collections::HashMap<u64, EntryAnnotations>, StoreError> {
        self.read(move |conn| entry_annotations(conn, &seqs)).await
    }

    async fn open_incident(
        &self,
        incident: NewIncident,
        journal: Event,
    ) -> Result<(Incident, Written), StoreError> {
        self.write(1, move |conn, chain| {
            open_incident(conn, chain, &incident, journal)
        })
        .await
    }

    async fn incidents(&self) -> Result<Vec<Incident>, StoreError> {
        self.read(incidents).await
    }

    async fn incident(&self, key: IncidentKey) -> Result<Incident, StoreError> {
        self.read(move |conn| incident(conn, key)).await
    }

    async fn incident_notes(&self, incident: uuid::Uuid) -> Result<Vec<IncidentNote>, StoreError> {
        self.read(move |conn| incident_notes(conn, incident)).await
    }

    async fn pins(&self, incident: uuid::Uuid) -> Result<Vec<Pin>, StoreError> {
        self.read(move |conn| pins(conn, incident)).await
    }

    async fn pin(&self, pin: NewPin, journal: Event) -> Result<(Pin, Written), StoreError> {
        self.write(1, move |conn, chain| self::pin(conn, chain, &pin, journal))
            .await
    }

    async fn add_incident_note(
        &self,
        note: NewIncidentNote,
        journal: Event,
    ) -> Result<(IncidentNote, Written), StoreError> {
        self.write(1, move |conn, chain| {
            add_incident_note(conn, chain, &note, journal)
        })
        .await
    }
}
