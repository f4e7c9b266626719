//! Sessions: signing in (with the lockout and a decoy hash, so that an unknown user and a wrong
//! password cost the same), signing out, and turning a bearer token into a [`Caller`] or an
//! [`Ingester`]. Each sign-in, failure, lock and sign-out is journaled with what it changes.

use chrono::{DateTime, Utc};
use serde_json::json;
use vigil_api::{Login, LoginAnswer, Me, MeAnswer};
use vigil_core::{Kind, Outcome, Severity};
use vigil_store::{NewSession, StoreError};

use super::caller::{grants_of, Caller, ClientInfo, Ingester, SessionRef};
use super::credentials::{self, KEY_PREFIX, TOKEN_PREFIX};
use super::running::{ADDRESS_FAILURES, ADDRESS_WINDOW};
use super::{Fault, OwnEntry, Refusal};
use crate::state::AppState;

/// Five failed sign-ins within 15 minutes lock the name for 15 minutes.
pub const LOCKOUT: vigil_store::LockoutPolicy = vigil_store::LockoutPolicy {
    failures: 5,
    window: chrono::Duration::minutes(15),
    lock_for: chrono::Duration::minutes(15),
};

/// Password checks running at once.
static PASSWORD_CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// Why a sign-in or a credential was refused.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// No valid session or key: unknown, expired, revoked, or a wrong password.
    #[error("{0}")]
    Unauthenticated(String),
    /// A valid credential of the wrong kind (an ingest key used to read, a token to ingest).
    #[error("{0}")]
    WrongCredential(String),
    /// Too many failed sign-ins for this name.
    #[error(
        "too many failed sign-ins for {name:?}: signing in is locked until {}; try again then, or ask an admin to run 'vigil user unlock {name}'",
        vigil_core::event::micros::format(until)
    )]
    Locked {
        /// The name tried.
        name: String,
        /// When the lock ends.
        until: DateTime<Utc>,
    },
    /// Too many failed sign-ins from this address, whatever the names.
    #[error(
        "too many failed sign-ins from your address: signing in from it is locked until {}; try again then",
        vigil_core::event::micros::format(until)
    )]
    AddressLocked {
        /// When the lock ends.
        until: DateTime<Utc>,
    },
    /// The right password for an account an admin disabled.
    #[error("the account {0:?} is disabled: ask an admin to enable it (vigil user enable {0})")]
    Disabled(String),
    /// A wrong current password when changing one's own.
    #[error("old_password: that is not your current password")]
    WrongPassword,
    /// A new password that breaks the rules.
    #[error("new_password: {0}")]
    BadPassword(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Refusal for SessionError {
    fn fault(&self) -> Fault {
        match self {
            SessionError::Unauthenticated(_) => Fault::Unauthenticated,
            SessionError::WrongCredential(_) => Fault::Forbidden,
            SessionError::Locked { .. } | SessionError::AddressLocked { .. } => Fault::Locked,
            SessionError::Disabled(_) | SessionError::WrongPassword => Fault::Forbidden,
            SessionError::BadPassword(_) => Fault::Invalid,
            SessionError::Store(e) => e.fault(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            SessionError::Unauthenticated(_) => "unauthorized",
            SessionError::WrongCredential(_) => "forbidden",
            SessionError::Locked { .. } | SessionError::AddressLocked { .. } => "locked",
            SessionError::Disabled(_) => "disabled",
            SessionError::WrongPassword => "wrong_password",
            SessionError::BadPassword(_) => "invalid",
            SessionError::Store(e) => e.code(),
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            SessionError::Locked { .. } => Some("name"),
            SessionError::WrongPassword => Some("old_password"),
            SessionError::BadPassword(_) => Some("new_password"),
            SessionError::Store(e) => e.field(),
            _ => None,
        }
    }
}

/// The signed-in user a session token stands for, with what their roles allow now.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Caller, SessionError> {
    if token.starts_with(KEY_PREFIX) {
        return Err(SessionError::WrongCredential(
            "ingest keys can only send events (POST /v1/events); sign in to read".into(),
        ));
    }
    let token_hash = credentials::secret_hash(token);
    let session = match state.store.session(&token_hash).await {
        Ok(s) => s,
        Err(StoreError::NotFound(_)) => {
            return Err(SessionError::Unauthenticated(
                "unknown token: sign in again".into(),
            ))
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(at) = session.revoked_at {
        return Err(SessionError::Unauthenticated(format!(
            "token was revoked at {}: sign in again",
            vigil_core::event::micros::format(&at)
        )));
    }
    if session.expires_at <= state.now() {
        return Err(SessionError::Unauthenticated(format!(
            "token expired at {}: sign in again",
            vigil_core::event::micros::format(&session.expires_at)
        )));
    }
    if let Some(at) = session.user.disabled_at {
        return Err(SessionError::Unauthenticated(format!(
            "the account was disabled at {}",
            vigil_core::event::micros::format(&at)
        )));
    }
    let grants = grants_of(state, &session.user.roles).await?;
    Ok(Caller {
        name: session.user.name,
        roles: session.user.roles,
        grants,
        session: Some(SessionRef {
            token_hash,
            expires_at: session.expires_at,
        }),
        client: Default::default(),
    })
}

/// The sending system an ingest key stands for.
pub async fn authenticate_key(state: &AppState, key: &str) -> Result<Ingester, SessionError> {
    if key.starts_with(TOKEN_PREFIX) {
        return Err(SessionError::WrongCredential(
            "user tokens cannot send events: use an ingest key (vigil key create NAME)".into(),
        ));
    }
    match state.store.key(&credentials::secret_hash(key)).await {
        Ok(k) if k.revoked_at.is_some() => {
            super::senders::revoked_key_used(state, &k).await;
            Err(SessionError::Unauthenticated(format!(
                "ingest key {:?} was revoked",
                k.name
            )))
        }
        Ok(k) => Ok(Ingester {
            key: k.name,
            sections: k.sections,
        }),
        Err(StoreError::NotFound(_)) => {
            Err(SessionError::Unauthenticated("unknown ingest key".into()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether the session a caller signed in with still holds and their roles still grant what
/// they did when it began (a live tail ends when either changes). A store that cannot be read
/// now does not end it.
pub async fn still_entitled(state: &AppState, caller: &Caller) -> bool {
    let Some(session) = &caller.session else {
        return true;
    };
    if session.expires_at <= state.now() {
        return false;
    }
    match state.store.session(&session.token_hash).await {
        Ok(s) if s.revoked_at.is_some() || s.user.disabled_at.is_some() => false,
        Ok(s) => match super::caller::grants_of(state, &s.user.roles).await {
            Ok(grants) => grants == caller.grants,
            Err(_) => true,
        },
        Err(StoreError::NotFound(_)) => false,
        Err(_) => true,
    }
}

/// Signs in with a name and password: a new session token. A wrong password and an unknown
/// user get the same answer and take the same time; five failures in 15 minutes lock the name.
pub async fn login(
    state: &AppState,
    login: Login,
    client: &ClientInfo,
) -> Result<LoginAnswer, SessionError> {
    // The name as tried, kept short for the journal and the lock (it may be anything).
    let tried: String = login.name.chars().take(64).collect();
    // An address that failed too often is refused before anything is checked or journaled:
    // a stranger spraying names stops filling the journal.
    if let Some(until) = client
        .ip
        .and_then(|ip| state.running.address_locked(ip, state.now()))
    {
        return Err(SessionError::AddressLocked { until });
    }
    if let Some(until) = state.store.locked_until(&tried, state.now()).await? {
        return Err(locked(&tried, until));
    }
    let user = match state.store.user(&login.name).await {
        Ok(u) => Some(u),
        Err(StoreError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let phc = user.as_ref().map_or_else(
        || credentials::decoy_hash().to_owned(),
        |u| u.password_hash.clone(),
    );
    let password = login.password;
    // Each check takes ~19 MiB and a core for a moment: a flood of sign-ins queues here
    // instead of exhausting memory and starving other requests.
    let _permit = PASSWORD_CHECKS
        .acquire()
        .await
        .map_err(StoreError::backend)?;
    // Failures recorded while this one waited may have locked the name or the address
    // meanwhile (a burst sent at once all waits here).
    if let Some(until) = state.store.locked_until(&tried, state.now()).await? {
        return Err(locked(&tried, until));
    }
    if let Some(until) = client
        .ip
        .and_then(|ip| state.running.address_locked(ip, state.now()))
    {
        return Err(SessionError::AddressLocked { until });
    }
    let ok = tokio::task::spawn_blocking(move || credentials::verify_password(&password, &phc))
        .await
        .map_err(StoreError::backend)?;
    let now = state.now();
    let user = match user {
        Some(u) if ok => u,
        _ => return Err(failed(state, &tried, now, client).await?),
    };
    if user.disabled_at.is_some() {
        // Said only to whoever knows the password; journaled, not counted towards a lock.
        let refused = OwnEntry::by_staff(now, &user.name, "auth.login", Kind::Access)
            .on("user", user.name.clone(), None)
            .from_client(client)
            .outcome(Outcome::Denied)
            .severity(Severity::Warning)
            .details(json!({"reason": "account disabled"}))
            .build();
        state.append(vec![refused]).await?;
        return Err(SessionError::Disabled(user.name));
    }
    // Ordered with the failures in the writer: a lock set by concurrent guesses holds even
    // against this right password.
    let token = credentials::new_secret(TOKEN_PREFIX);
    let expires_at = now + state.config.token_ttl;
    let session = NewSession {
        token_hash: credentials::secret_hash(&token),
        user: user.name.clone(),
        created_at: now,
        expires_at,
    };
    let signed_in = OwnEntry::by_staff(now, &user.name, "auth.login", Kind::Access)
        .on("user", user.name.clone(), None)
        .from_client(client)
        .details(json!({"expires_at": vigil_core::event::micros::format(&expires_at)}))
        .build();
    if let Some(until) = state
        .store
        .sign_in_succeeded(&tried, now, session, signed_in)
        .await?
    {
        return Err(locked(&tried, until));
    }
    state.wake().await;
    let rights = grants_of(state, &user.roles).await?.rights();
    Ok(LoginAnswer {
        token,
        expires_at,
        user: Me {
            name: user.name,
            roles: user.roles,
            rights: rights.iter().map(|r| r.as_str().to_owned()).collect(),
        },
    })
}

/// Records a failed sign-in (and the lock it sets, if it does): the refusal to answer.
async fn failed(
    state: &AppState,
    tried: &str,
    now: DateTime<Utc>,
    client: &ClientInfo,
) -> Result<SessionError, SessionError> {
    if let Some(ip) = client.ip {
        if state.running.sign_in_failed_from(ip, now) {
            // Once per lock: the entry the channels hear about (in the sign-in digest).
            let until = now + ADDRESS_WINDOW;
            // The address is the entry's `ip` (masked for readers without unmask), not its
            // target (which masking leaves whole).
            let locked = OwnEntry::by_staff(now, tried, "auth.address_lock", Kind::Access)
                .from_client(client)
                .outcome(Outcome::Denied)
                .severity(Severity::Critical)
                .details(json!({
                    "after_failures": ADDRESS_FAILURES,
                    "window_minutes": ADDRESS_WINDOW.num_minutes(),
                    "until": vigil_core::event::micros::format(&until),
                }))
                .build();
            state.append(vec![locked]).await?;
        }
    }
    let failure = OwnEntry::by_staff(now, tried, "auth.login", Kind::Access)
        .on("user", tried, None)
        .from_client(client)
        .outcome(Outcome::Failure)
        .severity(Severity::Warning)
        .details(json!({"reason": "wrong user name or password"}))
        .build();
    let until = now + LOCKOUT.lock_for;
    let lockout = OwnEntry::by_staff(now, tried, "auth.lockout", Kind::Access)
        .on("user", tried, None)
        .from_client(client)
        .outcome(Outcome::Denied)
        .severity(Severity::Critical)
        .details(json!({
            "after_failures": LOCKOUT.failures,
            "window_minutes": LOCKOUT.window.num_minutes(),
            "until": vigil_core::event::micros::format(&until),
        }))
        .build();
    let l = state
        .store
        .sign_in_failed(tried, now, LOCKOUT, failure, lockout)
        .await?;
    Ok(match l.locked_until {
        Some(until) => locked(tried, until),
        None => SessionError::Unauthenticated("wrong user name or password".into()),
    })
}

fn locked(name: &str, until: DateTime<Utc>) -> SessionError {
    SessionError::Locked {
        name: name.to_owned(),
        until,
    }
}

/// Changes the caller's own password, given the current one, journaled as `user.password`:
/// their other sessions end, this one goes on. A wrong current password counts as a failed
/// sign-in (five lock the name), so a stolen token cannot be used to guess it.
pub async fn change_own_password(
    state: &AppState,
    caller: &Caller,
    old_password: String,
    new_password: String,
) -> Result<(), SessionError> {
    let Some(session) = &caller.session else {
        return Err(SessionError::Unauthenticated(
            "no session: sign in first".into(),
        ));
    };
    credentials::check_password_rules(&new_password).map_err(SessionError::BadPassword)?;
    // One check at a time per user: a stolen token cannot send a burst of guesses that all
    // pass the lock before the first failure is counted.
    let mine = state.running.password_change(&caller.name);
    let _mine = mine.lock().await;
    let _permit = PASSWORD_CHECKS
        .acquire()
        .await
        .map_err(StoreError::backend)?;
    if let Some(until) = state.store.locked_until(&caller.name, state.now()).await? {
        return Err(locked(&caller.name, until));
    }
    if let Some(until) = caller
        .client
        .ip
        .and_then(|ip| state.running.address_locked(ip, state.now()))
    {
        return Err(SessionError::AddressLocked { until });
    }
    let phc = state.store.user(&caller.name).await?.password_hash;
    let (ok, password_hash) = tokio::task::spawn_blocking(move || {
        let ok = credentials::verify_password(&old_password, &phc);
        (ok, ok.then(|| credentials::hash_password(&new_password)))
    })
    .await
    .map_err(StoreError::backend)?;
    let now = state.now();
    let Some(password_hash) = password_hash.filter(|_| ok) else {
        return Err(
            match failed(state, &caller.name, now, &caller.client).await? {
                SessionError::Unauthenticated(_) => SessionError::WrongPassword,
                other => other,
            },
        );
    };
    let journal = OwnEntry::by_staff(now, &caller.name, "user.password", Kind::Rights)
        .on("user", caller.name.clone(), None)
        .from_client(&caller.client)
        .details(json!({"sessions_ended": "others"}))
        .build();
    let set = vigil_store::AccountChange::SetPassword {
        name: caller.name.clone(),
        password_hash,
        at: now,
        keep: Some(session.token_hash.clone()),
    };
    state.store.change_accounts(set, journal).await?;
    state.wake().await;
    Ok(())
}

/// Ends the caller's session: its token stops working (journaled as `auth.logout`).
pub async fn logout(state: &AppState, caller: &Caller) -> Result<(), SessionError> {
    let Some(session) = &caller.session else {
        return Err(SessionError::Unauthenticated(
            "no session to end: sign in first".into(),
        ));
    };
    let now = state.now();
    let signed_out = OwnEntry::by_staff(now, &caller.name, "auth.logout", Kind::Access)
        .on("user", caller.name.clone(), None)
        .from_client(&caller.client)
        .details(json!({}))
        .build();
    state
        .store
        .revoke_session(&session.token_hash, now, signed_out)
        .await?;
    state.wake().await;
    Ok(())
}

/// Who the caller is, what their roles allow, and when their session ends.
pub fn me(caller: &Caller) -> MeAnswer {
    MeAnswer {
        rights: caller.rights(),
        name: caller.name.clone(),
        roles: caller.roles.clone(),
        expires_at: caller
            .session
            .as_ref()
            .map_or(chrono::DateTime::<Utc>::MAX_UTC, |s| s.expires_at),
    }
}
