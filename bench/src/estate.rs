//! The generated estate of the benchmark scenario at scale `N`: `10_000 × N` identities in a manager tree
//! about six levels deep (a CEO, six chiefs including the CFO, VPs, directors, managers and
//! staff), a few privileged accounts and automation agents, and `50_000 × N` assets in a
//! layered dependency DAG (frontends → services → databases → storage, about three edges per
//! asset). The assets form `N` regions of 50,000 whose dependencies stay inside the region, so
//! the distribution of blast radii (0 to thousands) is the same at every scale.
//!
//! The estate is plain data: [`Estate::to_json`] writes the entities document of `docs/language.md` §9,
//! and the peer translations read the same structs. This module knows nothing of Ward's
//! runtime or of any peer.

use std::fmt::Write as _;

use crate::rng::Rng;

/// Identities per unit of scale.
pub const IDENTITIES_PER_N: usize = 10_000;
/// Assets per unit of scale (one region).
pub const ASSETS_PER_N: usize = 50_000;
/// Automation agents (identities in group `automation`) that act in requests.
pub const AGENTS: usize = 16;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub id: String,
    pub name: String,
    pub title: String,
    pub department: String,
    pub privileged: bool,
    /// Index of the manager in [`Estate::identities`]; `None` for the CEO.
    pub manager: Option<usize>,
    pub groups: Vec<String>,
    /// Depth in the manager tree (the CEO is 0).
    pub level: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    CrownJewel,
    Critical,
    Standard,
    Sandbox,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::CrownJewel => "crown_jewel",
            Tier::Critical => "critical",
            Tier::Standard => "standard",
            Tier::Sandbox => "sandbox",
        }
    }
}

/// The layer of an asset in the dependency DAG; edges go from a layer to the next one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    Frontend,
    Service,
    Database,
    Storage,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Asset {
    pub id: String,
    pub tier: Tier,
    pub tags: Vec<String>,
    /// Index of the owner in [`Estate::identities`].
    pub owner: usize,
    pub env: &'static str,
    pub layer: Layer,
    /// Indices in [`Estate::assets`] this asset depends on (sorted, distinct).
    pub depends_on: Vec<usize>,
}

#[derive(Clone, Debug, Default)]
pub struct Estate {
    pub scale: usize,
    pub identities: Vec<Identity>,
    pub assets: Vec<Asset>,
    /// Index of the CFO (id `cfo`).
    pub cfo: usize,
    /// Indices of the automation agents.
    pub agents: Vec<usize>,
}

const CHIEFS: [(&str, &str, &str); 6] = [
    ("cfo", "Chief Financial Officer", "Finance"),
    ("cto", "Chief Technology Officer", "Engineering"),
    ("ciso", "Chief Information Security Officer", "SecOps"),
    ("cro", "Chief Revenue Officer", "Sales"),
    ("clo", "Chief Legal Officer", "Legal"),
    ("coo", "Chief Operating Officer", "Operations"),
];

/// Share of a scale unit's identities on levels 2..=6 (level 0 is the CEO, level 1 the chiefs).
const LEVEL_SIZES: [usize; 5] = [30, 300, 1_500, 3_000, 0];

const STAFF_TITLES: [&str; 8] = [
    "Engineer",
    "Senior Engineer",
    "Analyst",
    "Accountant",
    "Account Executive",
    "Counsel",
    "Site Reliability Engineer",
    "Security Analyst",
];

impl Estate {
    /// The estate at scale `n` (at least 1), fully determined by `n` and `seed`.
    pub fn generate(n: usize, seed: u64) -> Estate {
        let n = n.max(1);
        let mut rng = Rng::new(seed ^ (n as u64).wrapping_mul(0xA24B_AED4_963E_E407));
        let mut estate = Estate {
            scale: n,
            ..Estate::default()
        };
        estate.identities = identities(n, &mut rng);
        estate.cfo = estate
            .identities
            .iter()
            .position(|i| i.id == "cfo")
            .unwrap_or(0);
        estate.agents = estate
            .identities
            .iter()
            .enumerate()
            .filter(|(_, i)| i.groups.iter().any(|g| g == "automation"))
            .map(|(k, _)| k)
            .collect();
        estate.assets = assets(n, &estate.identities, &mut rng);
        estate
    }

    /// Number of `depends_on` edges.
    pub fn edge_count(&self) -> usize {
        self.assets.iter().map(|a| a.depends_on.len()).sum()
    }

    /// For each asset, the assets that depend on it directly (the reversed DAG).
    pub fn dependents(&self) -> Vec<Vec<usize>> {
        let mut out = vec![Vec::new(); self.assets.len()];
        for (i, a) in self.assets.iter().enumerate() {
            for &d in &a.depends_on {
                out[d].push(i);
            }
        }
        out
    }

    /// The entities document of `docs/language.md` §9, as JSON text.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(self.assets.len() * 200 + self.identities.len() * 200);
        out.push_str("{\"entities\":{\"Identity\":{");
        for (k, i) in self.identities.iter().enumerate() {
            if k > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                "\"{}\":{{\"name\":\"{}\",\"title\":\"{}\",\"department\":\"{}\",\"privileged\":{},\"groups\":[",
                i.id, i.name, i.title, i.department, i.privileged
            );
            push_strings(&mut out, &i.groups);
            out.push(']');
            if let Some(m) = i.manager {
                let _ = write!(out, ",\"manager\":\"{}\"", self.identities[m].id);
            }
            out.push('}');
        }
        out.push_str("},\"Asset\":{");
        for (k, a) in self.assets.iter().enumerate() {
            if k > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                "\"{}\":{{\"tier\":\"{}\",\"owner\":\"{}\",\"env\":\"{}\",\"tags\":[",
                a.id,
                a.tier.as_str(),
                self.identities[a.owner].id,
                a.env
            );
            push_strings(&mut out, &a.tags);
            out.push_str("]}");
        }
        out.push_str("}},\"relations\":{\"reports_to\":[");
        let mut first = true;
        for i in &self.identities {
            if let Some(m) = i.manager {
                if !first {
                    out.push(',');
                }
                first = false;
                let _ = write!(out, "[\"{}\",\"{}\"]", i.id, self.identities[m].id);
            }
        }
        out.push_str("],\"depends_on\":[");
        let mut first = true;
        for a in &self.assets {
            for &d in &a.depends_on {
                if !first {
                    out.push(',');
                }
                first = false;
                let _ = write!(out, "[\"{}\",\"{}\"]", a.id, self.assets[d].id);
            }
        }
        out.push_str("]}}");
        out
    }
}

/// Ids, names and tags are generated from `[A-Za-z0-9 ,-]` only: no JSON escaping needed.
fn push_strings(out: &mut String, items: &[String]) {
    for (k, s) in items.iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        out.push('"');
        out.push_str(s);
        out.push('"');
    }
}

fn identities(n: usize, rng: &mut Rng) -> Vec<Identity> {
    let total = IDENTITIES_PER_N * n;
    let mut out: Vec<Identity> = Vec::with_capacity(total);
    out.push(Identity {
        id: "ceo".into(),
        name: "Chief Executive".into(),
        title: "Chief Executive Officer".into(),
        department: "Executive".into(),
        privileged: false,
        manager: None,
        groups: vec!["staff".into(), "executives".into()],
        level: 0,
    });
    for (id, title, dept) in CHIEFS {
        out.push(Identity {
            id: id.into(),
            name: format!("{title} (person)"),
            title: title.into(),
            department: dept.into(),
            privileged: false,
            manager: Some(0),
            groups: vec!["staff".into(), "executives".into(), dept.to_lowercase()],
            level: 1,
        });
    }
    let mut prev = 1..out.len();
    for (depth, &share) in LEVEL_SIZES.iter().enumerate() {
        let level = depth as u8 + 2;
        let size = if share == 0 {
            total.saturating_sub(out.len())
        } else {
            share * n
        };
        let start = out.len();
        for _ in 0..size {
            let k = out.len();
            let manager = prev.start + rng.below(prev.len());
            let department = out[manager].department.clone();
            let title = match level {
                2 => match rng.below(10) {
                    0 => format!("SVP {department}"),
                    _ => format!("VP {department}"),
                },
                3 => format!("Director, {department}"),
                4 => format!("Manager, {department}"),
                _ => rng.pick(&STAFF_TITLES).to_string(),
            };
            let mut groups = vec!["staff".to_owned(), department.to_lowercase()];
            let privileged = rng.chance(0.005);
            if privileged || rng.chance(0.01) {
                groups.push(
                    rng.pick(&["admins", "domain-admins", "break-glass"])
                        .to_string(),
                );
            }
            if rng.chance(0.05) {
                groups.push(format!("admins-{}", rng.below(17)));
            }
            if rng.chance(0.1) {
                groups.push("oncall".into());
            }
            if rng.chance(0.03) {
                groups.push("contractors".into());
            }
            groups.sort();
            groups.dedup();
            out.push(Identity {
                id: format!("u{k}"),
                name: format!("Person {k}"),
                title,
                department,
                privileged,
                manager: Some(manager),
                groups,
                level,
            });
        }
        prev = start..out.len();
    }
    // The first staff members of SecOps become the automation agents.
    let mut agents = 0;
    for i in out.iter_mut().rev() {
        if agents == AGENTS {
            break;
        }
        if i.level == 6 && i.department == "SecOps" {
            i.id = format!("agent-{agents}");
            i.title = "Remediation agent".into();
            i.groups = vec!["automation".into(), "secops".into()];
            i.privileged = false;
            agents += 1;
        }
    }
    out
}

/// Layers as shares of a region, in percent: frontends, services, databases, storage.
const LAYER_PERCENT: [usize; 4] = [40, 30, 20, 10];

fn assets(n: usize, identities: &[Identity], rng: &mut Rng) -> Vec<Asset> {
    // Owners are managers and directors.
    let owners: Vec<usize> = identities
        .iter()
        .enumerate()
        .filter(|(_, i)| i.level == 3 || i.level == 4)
        .map(|(k, _)| k)
        .collect();
    let mut out = Vec::with_capacity(ASSETS_PER_N * n);
    for region in 0..n {
        let base = out.len();
        let sizes: Vec<usize> = LAYER_PERCENT
            .iter()
            .map(|p| ASSETS_PER_N * p / 100)
            .collect();
        let mut starts = vec![base];
        for s in &sizes {
            starts.push(starts.last().copied().unwrap_or(base) + s);
        }
        for (l, &size) in sizes.iter().enumerate() {
            let layer = [
                Layer::Frontend,
                Layer::Service,
                Layer::Database,
                Layer::Storage,
            ][l];
            let prefix = ["fe", "svc", "db", "st"][l];
            for k in 0..size {
                let tier = match rng.below(100) {
                    0..2 => Tier::CrownJewel,
                    2..17 => Tier::Critical,
                    17..77 => Tier::Standard,
                    _ => Tier::Sandbox,
                };
                let mut tags = Vec::new();
                if rng.chance(0.02) {
                    tags.push("revenue-critical".to_owned());
                }
                if rng.chance(0.01) {
                    tags.push("payments".into());
                }
                if rng.chance(0.03) {
                    tags.push((*rng.pick(&["pci", "sox", "hipaa"])).to_owned());
                }
                if layer == Layer::Frontend && rng.chance(0.5) {
                    tags.push("internet-facing".into());
                }
                tags.sort();
                tags.dedup();
                let env = match rng.below(10) {
                    0..6 => "prod",
                    6..8 => "staging",
                    _ => "dev",
                };
                // About three edges into the next layer, skewed so that a few hubs are shared
                // by many dependents (blast radii up to thousands).
                let mut depends_on = Vec::new();
                if l + 1 < sizes.len() {
                    let next = sizes[l + 1];
                    let edges = 2 + rng.below(3);
                    for _ in 0..edges {
                        depends_on.push(starts[l + 1] + rng.skewed(next, 2.0));
                    }
                    depends_on.sort_unstable();
                    depends_on.dedup();
                }
                out.push(Asset {
                    id: format!("{prefix}-{region}-{k}"),
                    tier,
                    tags,
                    owner: *rng.pick(&owners),
                    env,
                    layer,
                    depends_on,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blast_radii(estate: &Estate) -> Vec<usize> {
        let dependents = estate.dependents();
        let mut seen = vec![u32::MAX; estate.assets.len()];
        (0..estate.assets.len())
            .map(|start| {
                let mut stack = vec![start];
                let mut count = 0;
                while let Some(x) = stack.pop() {
                    for &d in &dependents[x] {
                        if seen[d] != start as u32 {
                            seen[d] = start as u32;
                            count += 1;
                            stack.push(d);
                        }
                    }
                }
                count
            })
            .collect()
    }

    #[test]
    fn estate_has_the_promised_shape() {
        let e = Estate::generate(1, 1);
        assert_eq!(e.identities.len(), IDENTITIES_PER_N);
        assert_eq!(e.assets.len(), ASSETS_PER_N);
        assert_eq!(e.identities[e.cfo].id, "cfo");
        assert_eq!(e.agents.len(), AGENTS);
        let depth = e.identities.iter().map(|i| i.level).max();
        assert_eq!(depth, Some(6));
        let edges = e.edge_count() as f64 / e.assets.len() as f64;
        assert!((2.0..3.2).contains(&edges), "{edges} edges per asset");
        let rc = e
            .assets
            .iter()
            .filter(|a| a.tags.iter().any(|t| t == "revenue-critical"))
            .count() as f64
            / e.assets.len() as f64;
        assert!((0.015..0.025).contains(&rc), "{rc} revenue-critical");
        let privileged = e.identities.iter().filter(|i| i.privileged).count();
        assert!((10..100).contains(&privileged), "{privileged} privileged");
        assert!(e.identities.iter().any(|i| i.title.starts_with("VP ")));
        let radii = blast_radii(&e);
        let max = radii.iter().copied().max().unwrap_or(0);
        assert!(radii.contains(&0));
        assert!((1_000..20_000).contains(&max), "max blast radius {max}");
    }

    #[test]
    fn generation_is_deterministic_and_json_is_well_formed() {
        let a = Estate::generate(1, 9);
        let b = Estate::generate(1, 9);
        assert_eq!(a.identities, b.identities);
        assert_eq!(a.assets, b.assets);
        let text = a.to_json();
        let doc: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(
            doc["entities"]["Asset"].as_object().map(|m| m.len()),
            Some(ASSETS_PER_N)
        );
        assert_eq!(
            doc["relations"]["depends_on"].as_array().map(Vec::len),
            Some(a.edge_count())
        );
    }

    #[test]
    fn regions_scale_the_assets_and_keep_edges_inside() {
        let e = Estate::generate(2, 3);
        assert_eq!(e.assets.len(), 2 * ASSETS_PER_N);
        assert_eq!(e.identities.len(), 2 * IDENTITIES_PER_N);
        for (i, a) in e.assets.iter().enumerate() {
            for &d in &a.depends_on {
                assert_eq!(i / ASSETS_PER_N, d / ASSETS_PER_N);
                assert!(a.layer < e.assets[d].layer);
            }
        }
    }
}
