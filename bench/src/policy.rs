//! A generated policy set of any size over the benchmark schema: a realistic mix of attribute
//! comparisons, regular expressions, set membership, graph closure, windows, duration
//! arithmetic and user functions.

use std::fmt::Write;

/// The schema, windows and functions every generated policy set starts with.
pub const PRELUDE: &str = r#"
enum Tier { crown_jewel, critical, standard, sandbox }

entity Identity {
  name: String
  title: String
  department: String
  privileged: Bool
  manager: Identity?
  groups: Set<String>
}

entity Asset {
  tier: Tier
  tags: Set<String>
  owner: Identity
}

relation depends_on: Asset -> Asset
relation reports_to: Identity -> Identity

context {
  agent: Identity
  ticket: String?
}

action disable_account { target: Identity, reason: String }
action revoke_sessions { target: Identity }
action reset_mfa { target: Identity }
action patch_host { host: Asset, reboot: Bool, duration: Duration }
action reboot_host { host: Asset, duration: Duration }
action rotate_secret { secret: Asset }
action quarantine_host { host: Asset }
action change_firewall { host: Asset, duration: Duration }

window year_end_freeze {
  between 2026-12-20T00:00:00Z and 2027-01-03T00:00:00Z
}

window prod_changes {
  timezone "America/New_York"
  weekly Sat 02:00 - Sat 06:00
  weekly Wed 22:00 - Thu 01:00
  except year_end_freeze
}

window business_hours {
  timezone "Europe/London"
  daily 09:00 - 17:30 on Mon-Fri
}

const revenue_tags = ["revenue-critical", "payments"];

fn is_exec(i: Identity) -> Bool = i.title matches "^(VP|Chief|SVP|EVP)";
fn in_cfo_org(i: Identity) -> Bool = Identity::"cfo" in closure(i, reports_to);
fn revenue_impact(a: Asset) -> Bool = any d in closure(a, ~depends_on): d.tags.intersects(revenue_tags);
"#;

/// A policy set with `n_rules` rules (plus the prelude), as one file's text.
pub fn generate(n_rules: usize) -> String {
    let mut out = String::with_capacity(PRELUDE.len() + n_rules * 160);
    out.push_str(PRELUDE);
    out.push_str("\ndefault deny\n");
    for i in 0..n_rules {
        let _ = writeln!(out, "{}", rule(i));
    }
    out
}

fn rule(i: usize) -> String {
    let dept = ["Finance", "Sales", "Engineering", "Legal", "SecOps"][i % 5];
    match i % 8 {
        0 => format!(
            "rule r{i} {{\n  on disable_account, revoke_sessions\n  when target.department == \"{dept}\" and is_exec(target)\n  require approval from \"security-oncall\"\n  because \"{{target.name}} is an executive in {dept}\"\n}}"
        ),
        1 => format!(
            "rule r{i} {{\n  on patch_host\n  when reboot and not fits(prod_changes, now, duration + {}m)\n  deny because \"reboot of {{host}} ({{duration}}) would not finish inside the change window\"\n}}",
            i % 60
        ),
        2 => format!(
            "rule r{i} {{\n  on patch_host, reboot_host\n  when host.tier == Tier::crown_jewel and revenue_impact(host)\n  require approval from host.owner\n  because \"{{host}} is a crown jewel with revenue impact\"\n}}"
        ),
        3 => format!(
            "rule r{i} {{\n  on reset_mfa\n  when target.privileged and \"admins-{}\" in target.groups\n  deny because \"{{target}} is a privileged admin\"\n}}",
            i % 17
        ),
        4 => format!(
            "rule r{i} {{\n  on disable_account\n  when in_cfo_org(target) and target.manager?.department == \"{dept}\"\n  require approval from [\"finance-security\", \"cfo-office\"]\n  because \"{{target}} is in the CFO's organisation\"\n}}"
        ),
        5 => format!(
            "rule r{i} {{\n  on rotate_secret\n  when count(closure(secret, ~depends_on)) > {} and now in year_end_freeze\n  deny because \"{{secret}} has a blast radius during the freeze\"\n}}",
            i % 100
        ),
        6 => format!(
            "rule r{i} {{\n  on change_firewall\n  when hour(now, \"Europe/Berlin\") < 6 or duration > {}h\n  require approval from \"netops\"\n  because \"firewall change of {{duration}} on {{host}}\"\n}}",
            1 + i % 6
        ),
        _ => format!(
            "rule r{i} {{\n  on quarantine_host, patch_host\n  when host.tier != Tier::sandbox and not (now in business_hours)\n  allow because \"routine work on {{host}} outside business hours\"\n}}"
        ),
    }
}
