//! The catalogue of back-office actions, and which actor does which how often.

use vigil_core::Kind;

use crate::roster::Duty;

/// Every action the demo back office performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    BalanceAdjust,
    BonusCreate,
    BonusCancel,
    WithdrawalApprove,
    WithdrawalCancel,
    TransactionRefund,
    KycUpdate,
    LimitsChange,
    PlayerView,
    PlayerExport,
    ReportExport,
    ReportDownload,
    RoleGrant,
    RoleRevoke,
    StaffCreate,
    SettingsUpdate,
    PromotionCreate,
    ContentUpdate,
    ApiAccess,
    Login,
}

impl Action {
    /// The action's wire name, its family and the back-office section it belongs to.
    pub(crate) fn meta(self) -> (&'static str, Kind, &'static str) {
        use Action::*;
        match self {
            BalanceAdjust => ("player.balance.adjust", Kind::Change, "finance"),
            BonusCreate => ("bonus.create", Kind::Create, "bonuses"),
            BonusCancel => ("bonus.cancel", Kind::Delete, "bonuses"),
            WithdrawalApprove => ("withdrawal.approve", Kind::Change, "finance"),
            WithdrawalCancel => ("withdrawal.cancel", Kind::Change, "finance"),
            TransactionRefund => ("transaction.refund", Kind::Change, "finance"),
            KycUpdate => ("player.kyc.update", Kind::Change, "players"),
            LimitsChange => ("player.limits.change", Kind::Change, "players"),
            PlayerView => ("player.view", Kind::Access, "players"),
            PlayerExport => ("player.export", Kind::Access, "players"),
            ReportExport => ("report.export", Kind::Access, "reports"),
            ReportDownload => ("report.download", Kind::Access, "reports"),
            RoleGrant => ("role.grant", Kind::Rights, "staff"),
            RoleRevoke => ("role.revoke", Kind::Rights, "staff"),
            StaffCreate => ("staff.create", Kind::Create, "staff"),
            SettingsUpdate => ("settings.update", Kind::Change, "settings"),
            PromotionCreate => ("promotion.create", Kind::Create, "promotions"),
            ContentUpdate => ("content.update", Kind::Change, "content"),
            // The section of an API call depends on its endpoint; this is the default.
            ApiAccess => ("api.access", Kind::Access, "players"),
            Login => ("auth.login", Kind::Access, "staff"),
        }
    }
}

/// What an actor of this duty does, with relative frequencies.
pub(crate) fn repertoire(duty: Duty) -> &'static [(Action, u32)] {
    use Action::*;
    match duty {
        Duty::Support => &[
            (PlayerView, 40),
            (Login, 7),
            (KycUpdate, 6),
            (LimitsChange, 6),
            (BonusCreate, 8),
            (BonusCancel, 3),
            (BalanceAdjust, 3),
            (PlayerExport, 1),
            (ContentUpdate, 1),
        ],
        Duty::Finance => &[
            (WithdrawalApprove, 25),
            (PlayerView, 15),
            (Login, 6),
            (BalanceAdjust, 12),
            (TransactionRefund, 6),
            (WithdrawalCancel, 3),
            (ReportExport, 4),
            (ReportDownload, 6),
            (BonusCreate, 5),
            (PlayerExport, 1),
        ],
        Duty::VipManager => &[
            (PlayerView, 25),
            (BonusCreate, 20),
            (PromotionCreate, 4),
            (LimitsChange, 4),
            (Login, 6),
            (ContentUpdate, 3),
            (PlayerExport, 2),
            (ReportDownload, 3),
            (BalanceAdjust, 2),
        ],
        Duty::Risk => &[
            (PlayerView, 25),
            (KycUpdate, 15),
            (WithdrawalCancel, 4),
            (LimitsChange, 8),
            (ReportExport, 6),
            (ReportDownload, 6),
            (Login, 6),
            (PlayerExport, 3),
            (BonusCancel, 5),
        ],
        Duty::Admin => &[
            (SettingsUpdate, 8),
            (RoleGrant, 5),
            (RoleRevoke, 3),
            (StaffCreate, 2),
            (Login, 6),
            (PlayerView, 6),
            (ReportDownload, 4),
            (ContentUpdate, 5),
        ],
        Duty::Batch => &[
            (WithdrawalApprove, 30),
            (BonusCancel, 30),
            (ReportExport, 8),
        ],
        Duty::Kyc => &[(KycUpdate, 1)],
        Duty::RiskEngine => &[(LimitsChange, 6), (WithdrawalCancel, 1)],
        Duty::Api => &[(ApiAccess, 1)],
    }
}

/// Every duty, in a fixed order (for per-duty tables).
pub(crate) const DUTIES: [Duty; 9] = [
    Duty::Support,
    Duty::Finance,
    Duty::VipManager,
    Duty::Risk,
    Duty::Admin,
    Duty::Batch,
    Duty::Kyc,
    Duty::RiskEngine,
    Duty::Api,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_are_lowercase_dotted() {
        for duty in DUTIES {
            for (action, _) in repertoire(duty) {
                let (name, _, section) = action.meta();
                assert!(name
                    .split('.')
                    .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase())));
                assert!(crate::SECTIONS.contains(&section), "{section}");
            }
        }
    }
}
