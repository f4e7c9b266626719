//! The accounts part: users, roles, sessions and keys, each change with its journal entry.

use std::sync::Arc;

use chrono::Duration;

use super::*;
use crate::{AccountStore, NewKey, NewSession, NewUser, RoleRecord, StoreError};
/// Custom roles and users' roles: refused changes store nothing, not even their journal entry.
pub async fn roles_and_users_change_with_their_journal_entry<
    S: JournalStore + AccountStore + ?Sized,
>(
    store: Arc<S>,
) {
    use crate::AccountChange::*;
    let now = base_time();
    let role = RoleRecord {
        name: "finance-auditor".into(),
        rights: vec!["read".into(), "export".into()],
        scope: "section:finance".into(),
        created_at: now,
    };
    let user = |name: &str, roles: &[&str]| NewUser {
        name: name.into(),
        password_hash: "$argon2id$x".into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        created_at: now,
    };
    let mut written = Vec::new();
    let mut change = async |c: crate::AccountChange| {
        let e = vigil_event("role.change");
        let r = store.change_accounts(c, e.clone()).await;
        if r.is_ok() {
            written.push(e.id);
        }
        r
    };
    assert!(matches!(
        change(AddUser(user("bob", &["finance-auditor"]))).await,
        Err(StoreError::Invalid { message, field: Some("roles") })
            if message.contains("\"finance-auditor\" does not exist")
    ));
    change(AddRole(role.clone())).await.unwrap();
    assert!(matches!(
        change(AddRole(role.clone())).await,
        Err(StoreError::Conflict { .. })
    ));
    let admin = RoleRecord {
        name: "admin".into(),
        ..role.clone()
    };
    assert!(matches!(
        change(AddRole(admin)).await,
        Err(StoreError::Conflict { .. })
    ));
    change(AddUser(user("bob", &["finance-auditor", "viewer"])))
        .await
        .unwrap();
    assert!(matches!(
        change(AddUser(user("carol", &[]))).await,
        Err(StoreError::Invalid {
            field: Some("roles"),
            ..
        })
    ));
    assert!(matches!(
        change(RemoveRole("finance-auditor".into())).await,
        Err(StoreError::Conflict { message, .. }) if message.contains("held by bob")
    ));
    assert!(matches!(
        change(SetRoles {
            name: "nobody".into(),
            roles: vec!["viewer".into()]
        })
        .await,
        Err(StoreError::NotFound(_))
    ));
    change(SetRoles {
        name: "bob".into(),
        roles: vec!["viewer".into()],
    })
    .await
    .unwrap();
    assert_eq!(store.user("bob").await.unwrap().roles, ["viewer"]);
    assert_eq!(store.roles().await.unwrap(), [role]);
    change(RemoveRole("finance-auditor".into())).await.unwrap();
    assert!(matches!(
        change(RemoveRole("finance-auditor".into())).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(store.roles().await.unwrap().is_empty());
    change(AddKey(NewKey {
        name: "crm".into(),
        key_hash: vec![9; 32],
        created_at: now,
        sections: vec!["crm".into(), "players".into()],
    }))
    .await
    .unwrap();
    assert_eq!(
        store.key(&[9; 32]).await.unwrap().sections,
        ["crm", "players"],
        "a key's sections are kept"
    );
    let users = store.users(now).await.unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!((users[0].name.as_str(), users[0].live_sessions), ("bob", 0));
    assert_eq!(
        journal_ids(&*store).await,
        written,
        "one entry per change made, none per refusal"
    );
}

/// Users, sessions and ingest keys, each change with its journal entry.
pub async fn accounts_sessions_and_keys<S: JournalStore + AccountStore + ?Sized>(store: Arc<S>) {
    use crate::AccountChange::*;
    let now = base_time();
    let user = NewUser {
        name: "alice".into(),
        password_hash: "$argon2id$x".into(),
        roles: vec!["admin".into()],
        created_at: now,
    };
    assert_eq!(store.count_users().await.unwrap(), 0);
    let created = vigil_event("user.create");
    store
        .change_accounts(AddUser(user.clone()), created.clone())
        .await
        .unwrap();
    assert_eq!(store.count_users().await.unwrap(), 1);
    assert!(matches!(
        store
            .change_accounts(AddUser(user), vigil_event("user.create"))
            .await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(store.user("alice").await.unwrap().roles, ["admin"]);
    assert!(matches!(
        store.user("bob").await,
        Err(StoreError::NotFound(_))
    ));

    let session = NewSession {
        token_hash: vec![1; 32],
        user: "alice".into(),
        created_at: now,
        expires_at: now + Duration::hours(1),
    };
    let signed_in = vigil_event("auth.login");
    assert_eq!(
        store
            .sign_in_succeeded("alice", now, session, signed_in.clone())
            .await
            .unwrap(),
        None,
        "no lock holds"
    );
    let s = store.session(&[1; 32]).await.unwrap();
    assert_eq!(
        (s.user.name.as_str(), s.expires_at, s.revoked_at),
        ("alice", now + Duration::hours(1), None)
    );
    let signed_out = vigil_event("auth.logout");
    store
        .revoke_session(&[1; 32], now, signed_out.clone())
        .await
        .unwrap();
    assert_eq!(
        journal_ids(&*store).await,
        [created.id, signed_in.id, signed_out.id],
        "the user's creation, the sign-in and the sign-out are journaled, the refusal is not"
    );
    assert_eq!(store.session(&[1; 32]).await.unwrap().revoked_at, Some(now));
    assert!(matches!(
        store.session(&[2; 32]).await,
        Err(StoreError::NotFound(_))
    ));

    let key = NewKey {
        name: "backoffice".into(),
        key_hash: vec![3; 32],
        created_at: now,
        sections: Vec::new(),
    };
    store
        .change_accounts(AddKey(key.clone()), vigil_event("key.create"))
        .await
        .unwrap();
    assert!(matches!(
        store
            .change_accounts(AddKey(key), vigil_event("key.create"))
            .await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(store.key(&[3; 32]).await.unwrap().name, "backoffice");
    assert!(store.key(&[3; 32]).await.unwrap().sections.is_empty());
    assert!(matches!(
        store.key(&[4; 32]).await,
        Err(StoreError::NotFound(_))
    ));
}
