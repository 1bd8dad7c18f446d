//! A generated policy set of any size over the benchmark schema: a realistic mix of attribute
//! comparisons, regular expressions, set membership, graph closure, windows, duration
//! arithmetic and user functions.

use std::fmt::Write;

/// The schema, windows and functions every generated policy set starts with.
pub const PRELUDE: &str = include_str!("../scenario/schema.ward");

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
