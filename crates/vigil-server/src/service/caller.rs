//! Who is asking, and the capabilities that prove a right was checked.
//!
//! A [`Caller`] is a signed-in user (from a session token, `super::sessions::authenticate`) or
//! the command line's operator ([`Caller::operator`]: whoever can open the database file can
//! change it anyway, which is how the first admin is made). A capability ([`CanRead`],
//! [`Annotator`], [`Exporter`], [`AlertsAdmin`], [`MarksAdmin`], [`AccountsAdmin`]) can only be
//! made by [`Capability::check`], which refuses a caller whose roles lack its right; the
//! service's functions take one, so none can be reached without the check.

use vigil_core::rights::{self, Grants, Right, Role};
use vigil_store::StoreError;

use super::{Fault, Refusal};
use crate::config::PrivacyConfig;
use crate::state::AppState;

/// The session a caller signed in with.
#[derive(Debug, Clone)]
pub struct SessionRef {
    /// Its token's hash (for sign-out).
    pub token_hash: Vec<u8>,
    /// When it ends.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Someone asking: their name, roles and what the roles allow, right by right.
///
/// Only two ways make one, so a capability cannot be minted elsewhere: signing in
/// ([`super::sessions::authenticate`]) and the command line's [`Caller::operator`].
#[derive(Debug, Clone)]
pub struct Caller {
    /// The login name (`--by` for the operator).
    pub(crate) name: String,
    /// Role names.
    pub(crate) roles: Vec<String>,
    /// What the roles allow.
    pub(crate) grants: Grants,
    /// The session, for a signed-in user.
    pub(crate) session: Option<SessionRef>,
    /// Where the request came from (nothing for the command line).
    pub(crate) client: ClientInfo,
}

/// Where a request came from: the address of the connection's other end (a proxy's, behind
/// one) and the user agent it gave. Recorded on the entries Vigil writes about its users.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// The peer's address.
    pub ip: Option<std::net::IpAddr>,
    /// The `User-Agent` header, at most 512 characters.
    pub user_agent: Option<String>,
}

impl Caller {
    /// The command line's operator, named as the journal will show them: every right on every
    /// entry, unmasked.
    pub fn operator(by: &str) -> Caller {
        let admin = rights::builtin("admin").expect("admin is a built-in role");
        Caller {
            name: by.to_owned(),
            roles: vec![admin.name.clone()],
            grants: Grants::of(&[admin]),
            session: None,
            client: ClientInfo::default(),
        }
    }

    /// `query` limited to the entries this caller may read.
    /// Its full-text terms match only the words the caller sees (see
    /// [`vigil_core::rights::Grants::as_seen`]).
    pub fn scoped(&self, query: vigil_core::Query) -> vigil_core::Query {
        self.grants.read.narrow(self.grants.as_seen(query))
    }

    /// The event masked as this caller sees it, when they do not see every entry unmasked:
    /// what their full-text terms are matched against in memory ([`vigil_core::Query::matches_seen`]).
    pub fn seen(
        &self,
        privacy: &PrivacyConfig,
        e: &vigil_core::Event,
    ) -> Option<vigil_core::Event> {
        if self.grants.unmask.is_all() {
            return None;
        }
        let mut seen = e.clone();
        rights::mask_event(&mut seen, &privacy.personal_fields);
        Some(seen)
    }

    /// The names of the rights held.
    pub fn rights(&self) -> Vec<String> {
        self.grants
            .rights()
            .iter()
            .map(|r| r.as_str().to_owned())
            .collect()
    }

    /// Refuses a query that would let a reader of masked data find a whole IP address by
    /// trying addresses (an `ip:` narrower than the /24 or /48 they see).
    pub fn check_query(&self, query: &vigil_core::Query) -> Result<(), MaskedIpProbe> {
        if !self.grants.unmask.is_all() && rights::probes_ip(query) {
            return Err(MaskedIpProbe);
        }
        Ok(())
    }

    /// Whether this caller is shown the entries' chain hashes: only when every entry they read
    /// is unmasked for them. A hash covers the clear entry, so beside a neighbour's hash it
    /// would let a reader of a masked entry test guesses of its masked values (the 256 last
    /// octets of an IP, a dictionary of names). Entries, exports and the live tail carry an
    /// empty `hash` for everyone else.
    pub fn sees_hashes(&self) -> bool {
        self.grants.reads_unmasked()
    }

    /// Whether this caller sees the entry unmasked.
    pub fn unmasks(&self, entry: &vigil_core::Annotated) -> bool {
        self.grants.unmask.is_all()
            || self
                .grants
                .unmask
                .contains(&entry.entry.event, &entry.summary())
    }

    /// Whether the entry is one this caller may read.
    pub fn may_read(&self, entry: &vigil_core::Annotated) -> bool {
        self.grants
            .read
            .contains(&entry.entry.event, &entry.summary())
    }

    /// Masks the personal data of the entries this caller may not see unmasked, and withholds
    /// every entry's chain hash from a caller who reads some entries masked (see
    /// [`Caller::sees_hashes`]).
    pub fn present(&self, privacy: &PrivacyConfig, entries: &mut [vigil_core::Annotated]) {
        if self.grants.unmask.is_all() {
            return;
        }
        let withhold = !self.sees_hashes();
        for e in entries {
            if withhold {
                e.entry.hash.clear();
            }
            if !self.grants.unmask.contains(&e.entry.event, &e.summary()) {
                e.masked = rights::mask(&mut e.entry, &privacy.personal_fields);
            }
        }
    }
}

/// A query asking about a narrower IP range than a masked reader sees.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "searching by an IP range narrower than /24 (IPv4) or /48 (IPv6) needs the unmask right: \
     without it, addresses are shown masked"
)]
pub struct MaskedIpProbe;

impl Refusal for MaskedIpProbe {
    fn fault(&self) -> Fault {
        Fault::Forbidden
    }
    fn code(&self) -> &'static str {
        "forbidden"
    }
    fn field(&self) -> Option<&str> {
        Some("q")
    }
}

/// A right the caller's roles do not grant.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Denied(pub String);

impl Refusal for Denied {
    fn fault(&self) -> Fault {
        Fault::Forbidden
    }
    fn code(&self) -> &'static str {
        "forbidden"
    }
}

impl Denied {
    /// "`doing` needs the `right` right, which none of `caller`'s roles (…) grants".
    pub fn right(caller: &Caller, doing: &str, right: Right) -> Denied {
        Denied(format!(
            "{doing} needs the {right} right, which none of {:?}'s roles ({}) grants",
            caller.name,
            caller.roles.join(", ")
        ))
    }
}

/// A capability: made only by checking that a caller holds its right.
pub trait Capability: Sized + std::ops::Deref<Target = Caller> {
    /// The caller as this capability, if their roles grant its right (on some entries, for the
    /// entry rights, whose scope the operation then applies).
    fn check(caller: Caller) -> Result<Self, Denied>;

    /// The caller, for what outlives the request (a live tail).
    fn into_caller(self) -> Caller;
}

/// Defines a capability: a caller whose roles grant `$right`.
macro_rules! capability {
    ($(#[$doc:meta])* $name:ident, $right:expr, $doing:literal, |$g:ident| $held:expr) => {
        $(#[$doc])*
        ///
        /// Only [`Capability::check`] makes one (the field is private): holding it proves the
        /// check.
        #[derive(Debug, Clone)]
        pub struct $name(Caller);

        impl std::ops::Deref for $name {
            type Target = Caller;
            fn deref(&self) -> &Caller {
                &self.0
            }
        }

        impl Capability for $name {
            fn check(caller: Caller) -> Result<Self, Denied> {
                let $g = &caller.grants;
                if !$held {
                    return Err(Denied::right(&caller, $doing, $right));
                }
                Ok($name(caller))
            }

            fn into_caller(self) -> Caller {
                self.0
            }
        }
    };
}

capability!(
    /// May read entries (within the read scope).
    CanRead, Right::Read, "reading the journal", |g| !g.read.is_none()
);
capability!(
    /// May annotate, open incidents, pin entries and write notes (within the annotate scope).
    Annotator, Right::Annotate, "annotating", |g| !g.annotate.is_none()
);
capability!(
    /// May export entries (within the export scope).
    Exporter, Right::Export, "exporting", |g| !g.export.is_none() && !g.read.is_none()
);
capability!(
    /// May manage alert rules and channels.
    AlertsAdmin, Right::Alerts, "managing alerts", |g| g.alerts
);
capability!(
    /// May manage the marks catalog.
    MarksAdmin, Right::Marks, "managing the marks catalog", |g| g.marks
);
capability!(
    /// May manage users, roles and ingest keys.
    AccountsAdmin, Right::Accounts, "managing users, roles and keys", |g| g.accounts
);

/// May see the senders and their gaps (`GET /v1/senders`): who reads the whole journal, or
/// manages ingest keys. (A reader limited to some entries would learn of senders and volumes
/// beyond them.)
///
/// Only [`Capability::check`] makes one.
#[derive(Debug, Clone)]
pub struct SendersReader(Caller);

impl std::ops::Deref for SendersReader {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.0
    }
}

impl Capability for SendersReader {
    fn check(caller: Caller) -> Result<Self, Denied> {
        let g = &caller.grants;
        if !(g.read.is_all() || g.accounts) {
            return Err(Denied(format!(
                "listing the senders needs the read right over the whole journal, or the \
                 accounts right, which none of {:?}'s roles ({}) grants",
                caller.name,
                caller.roles.join(", ")
            )));
        }
        Ok(SendersReader(caller))
    }

    fn into_caller(self) -> Caller {
        self.0
    }
}

/// A sending system with a valid ingest key: may append events. Made only by
/// [`super::sessions::authenticate_key`].
#[derive(Debug, Clone)]
pub struct Ingester {
    /// The key's name.
    pub(crate) key: String,
    /// The only sections it may send under; empty: any.
    pub(crate) sections: Vec<String>,
}

impl Ingester {
    /// The name of the key it sent.
    pub fn key_name(&self) -> &str {
        &self.key
    }
}

/// What a user's roles allow: built-in roles from the code, custom ones from the store (read
/// on each request, so that a change made by the CLI beside a running server holds at once).
pub async fn grants_of(state: &AppState, roles: &[String]) -> Result<Grants, StoreError> {
    let mut defined: Vec<Role> = roles.iter().filter_map(|r| rights::builtin(r)).collect();
    if defined.len() < roles.len() {
        for stored in state.store.roles().await? {
            if roles.contains(&stored.name) {
                defined.push(role_of(&stored)?);
            }
        }
    }
    Ok(Grants::of(&defined))
}

/// A stored role as rights and a scope.
pub fn role_of(stored: &vigil_store::RoleRecord) -> Result<Role, StoreError> {
    let scope = stored
        .scope
        .parse()
        .map_err(|e| StoreError::backend(UnreadableScope(stored.name.clone(), e)))?;
    let rights = stored.rights.iter().filter_map(|r| Right::parse(r));
    Ok(Role::new(&stored.name, rights, scope))
}

/// A stored role whose scope does not parse (written by an older or damaged store).
#[derive(Debug, thiserror::Error)]
#[error("role {0:?} has a scope that does not parse: {1}")]
struct UnreadableScope(String, vigil_core::QueryError);
