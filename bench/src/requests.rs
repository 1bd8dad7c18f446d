//! The request stream of the benchmark scenario: requests across the scenario's eight actions, timestamps
//! spread over December 2026 (which contains the start of the year-end freeze), against the
//! entities of a generated [`Estate`]. A request is kept as a compact [`RequestSpec`] and
//! rendered as the JSON of `docs/language.md` §9 on demand, so a million of them cost little memory.
//! This module knows nothing of Ward's runtime or of any peer.

use serde_json::{Value as Json, json};

use crate::estate::{ASSETS_PER_N, Estate, Layer};
use crate::rng::Rng;

/// 2026-12-01T00:00:00Z, the start of the month the requests are spread over.
pub const MONTH_START: i64 = 1_796_083_200;
/// December has 31 days.
pub const MONTH_SECONDS: i64 = 31 * 86_400;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    DisableAccount,
    RevokeSessions,
    ResetMfa,
    PatchHost,
    RebootHost,
    RotateSecret,
    QuarantineHost,
    ChangeFirewall,
}

impl Action {
    pub const ALL: [Action; 8] = [
        Action::DisableAccount,
        Action::RevokeSessions,
        Action::ResetMfa,
        Action::PatchHost,
        Action::RebootHost,
        Action::RotateSecret,
        Action::QuarantineHost,
        Action::ChangeFirewall,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Action::DisableAccount => "disable_account",
            Action::RevokeSessions => "revoke_sessions",
            Action::ResetMfa => "reset_mfa",
            Action::PatchHost => "patch_host",
            Action::RebootHost => "reboot_host",
            Action::RotateSecret => "rotate_secret",
            Action::QuarantineHost => "quarantine_host",
            Action::ChangeFirewall => "change_firewall",
        }
    }

    /// Whether the action's subject is an identity (`target`) rather than an asset.
    pub fn on_identity(self) -> bool {
        matches!(
            self,
            Action::DisableAccount | Action::RevokeSessions | Action::ResetMfa
        )
    }

    /// Share of the stream, in percent.
    fn weight(self) -> usize {
        match self {
            Action::PatchHost => 25,
            Action::DisableAccount => 15,
            _ => 10,
        }
    }
}

pub const REASONS: [&str; 5] = [
    "stale",
    "compromised credentials",
    "offboarding",
    "policy violation",
    "x",
];

/// One request, compactly: indices into the estate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestSpec {
    pub action: Action,
    /// Seconds since the Unix epoch.
    pub at: i64,
    /// Index of the acting identity (`context.agent`).
    pub agent: usize,
    /// `context.ticket`: `CHG-<n>` when present.
    pub ticket: Option<u32>,
    /// Index of the subject: an identity for identity actions, else an asset.
    pub subject: usize,
    /// Index into [`REASONS`] (`disable_account`).
    pub reason: usize,
    /// `patch_host`'s `reboot`.
    pub reboot: bool,
    /// Seconds (`patch_host`, `reboot_host`, `change_firewall`).
    pub duration: i64,
}

/// `n` requests against `estate`, fully determined by the estate and `seed`.
pub fn generate(estate: &Estate, n: usize, seed: u64) -> Vec<RequestSpec> {
    let mut rng = Rng::new(seed);
    let privileged: Vec<usize> = estate
        .identities
        .iter()
        .enumerate()
        .filter(|(_, i)| i.privileged)
        .map(|(k, _)| k)
        .collect();
    let execs: Vec<usize> = estate
        .identities
        .iter()
        .enumerate()
        .filter(|(_, i)| i.level <= 2)
        .map(|(k, _)| k)
        .collect();
    let total_weight: usize = Action::ALL.iter().map(|a| a.weight()).sum();
    let regions = estate.assets.len() / ASSETS_PER_N;
    (0..n)
        .map(|_| {
            let mut roll = rng.below(total_weight);
            let mut action = Action::PatchHost;
            for a in Action::ALL {
                if roll < a.weight() {
                    action = a;
                    break;
                }
                roll -= a.weight();
            }
            let agent = if !privileged.is_empty() && rng.chance(0.01) {
                *rng.pick(&privileged)
            } else {
                *rng.pick(&estate.agents)
            };
            let subject = if action.on_identity() {
                if rng.chance(0.1) {
                    *rng.pick(&execs)
                } else {
                    rng.below(estate.identities.len())
                }
            } else if rng.chance(0.7) {
                rng.below(estate.assets.len())
            } else {
                // Biased towards the hubs of the lower layers: large blast radii.
                let region = rng.below(regions.max(1));
                let base = region * ASSETS_PER_N;
                let (start, size) = match rng.below(3) {
                    0 => (base + ASSETS_PER_N * 40 / 100, ASSETS_PER_N * 30 / 100),
                    1 => (base + ASSETS_PER_N * 70 / 100, ASSETS_PER_N * 20 / 100),
                    _ => (base + ASSETS_PER_N * 90 / 100, ASSETS_PER_N * 10 / 100),
                };
                let k = start + rng.skewed(size, 2.0);
                debug_assert_ne!(estate.assets[k].layer, Layer::Frontend);
                k
            };
            RequestSpec {
                action,
                at: MONTH_START + rng.below(MONTH_SECONDS as usize) as i64,
                agent,
                ticket: rng.chance(0.8).then(|| rng.below(100_000) as u32),
                subject,
                reason: rng.below(REASONS.len()),
                reboot: rng.chance(0.5),
                duration: 300 * (1 + rng.below(120)) as i64,
            }
        })
        .collect()
}

/// A duration in Ward's literal syntax, largest units first (`1h30m`, `45m`, `0s`).
pub fn duration_literal(seconds: i64) -> String {
    ward_ir::literal::format_duration(seconds)
}

/// RFC 3339 in UTC (`2026-12-01T00:00:00Z`).
pub fn rfc3339(seconds: i64) -> String {
    ward_ir::literal::format_timestamp(seconds)
}

impl RequestSpec {
    /// The request document of `docs/language.md` §9.
    pub fn to_json(&self, estate: &Estate) -> Json {
        let subject_id = if self.action.on_identity() {
            estate.identities[self.subject].id.as_str()
        } else {
            estate.assets[self.subject].id.as_str()
        };
        let duration = duration_literal(self.duration);
        let args = match self.action {
            Action::DisableAccount => {
                json!({"target": subject_id, "reason": REASONS[self.reason]})
            }
            Action::RevokeSessions | Action::ResetMfa => json!({"target": subject_id}),
            Action::PatchHost => {
                json!({"host": subject_id, "reboot": self.reboot, "duration": duration})
            }
            Action::RebootHost | Action::ChangeFirewall => {
                json!({"host": subject_id, "duration": duration})
            }
            Action::RotateSecret => json!({"secret": subject_id}),
            Action::QuarantineHost => json!({"host": subject_id}),
        };
        let mut context = json!({"agent": estate.identities[self.agent].id});
        if let Some(t) = self.ticket {
            context["ticket"] = json!(format!("CHG-{t}"));
        }
        json!({
            "action": self.action.name(),
            "at": rfc3339(self.at),
            "args": args,
            "context": context,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_render_in_literal_syntax() {
        for (s, want) in [
            (0, "0s"),
            (300, "5m"),
            (5_400, "1h30m"),
            (36_000, "10h"),
            (90_061, "1d1h1m1s"),
        ] {
            assert_eq!(duration_literal(s), want);
        }
        assert_eq!(rfc3339(MONTH_START), "2026-12-01T00:00:00Z");
    }

    #[test]
    fn stream_covers_every_action_and_the_month() {
        let estate = Estate::generate(1, 5);
        let reqs = generate(&estate, 20_000, 11);
        assert_eq!(reqs, generate(&estate, 20_000, 11));
        for a in Action::ALL {
            let share = reqs.iter().filter(|r| r.action == a).count() as f64 / 20_000.0;
            let want = a.weight() as f64 / 100.0;
            assert!((share - want).abs() < 0.02, "{a:?}: {share}");
        }
        assert!(
            reqs.iter()
                .all(|r| (MONTH_START..MONTH_START + MONTH_SECONDS).contains(&r.at))
        );
        let doc = reqs[0].to_json(&estate);
        assert_eq!(doc["action"], reqs[0].action.name());
    }
}
