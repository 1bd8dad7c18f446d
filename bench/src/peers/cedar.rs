//! Cedar (`cedar-policy`) on the common subset. Identities and assets are Cedar entities:
//! an identity's parent is its manager (`reports_to`), an asset's parents are the assets that
//! depend on it directly plus `Tag::"revenue-critical"` when it carries that tag, so Cedar's
//! transitive `in` answers both closures (`resource in Identity::"cfo"`: the CFO's
//! organisation; `resource in Tag::"revenue-critical"`: the asset or something in its blast
//! radius is revenue-critical). Time goes through context attributes of the `datetime`
//! extension (`now`, `duration`, and the policies' constants: the freeze's bounds, `4h`, `6h`). `deny` rules are `forbid` policies, `allow` and
//! `require approval` rules are `permit` policies named after the Ward rule; the decision is
//! read from Cedar's answer and the determining policies. Evaluation path:
//! `Authorizer::is_authorized` with prebuilt `Request`s, one `PolicySet` and one `Entities`.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityUid, Policy, PolicyId, PolicySet,
    Request, Response, RestrictedExpression,
};

use super::{Effect, Outcome, Peer, combine, effect_of};
use crate::estate::Estate;
use crate::requests::{Action, RequestSpec, rfc3339};

/// The subset in Cedar, one policy per Ward rule (same names).
pub const POLICIES: [(&str, &str); 12] = [
    (
        "finance_exec_accounts",
        r#"permit(principal, action == Action::"disable_account", resource)
           when { resource.department == "Finance" &&
                  (resource.title like "VP*" || resource.title like "Chief*" ||
                   resource.title like "SVP*" || resource.title like "EVP*") };"#,
    ),
    (
        "cfo_organisation",
        r#"permit(principal, action == Action::"disable_account", resource)
           when { resource in Identity::"cfo" && resource != Identity::"cfo" };"#,
    ),
    (
        "privileged_admins",
        r#"forbid(principal, action == Action::"disable_account", resource)
           when { resource.privileged && resource.groups.contains("admins") };"#,
    ),
    (
        "routine_disable",
        r#"permit(principal, action == Action::"disable_account", resource)
           when { principal.groups.contains("automation") };"#,
    ),
    (
        "reboot_in_freeze",
        r#"forbid(principal, action == Action::"patch_host", resource)
           when { context.reboot &&
                  context.now >= context.freeze_start && context.now < context.freeze_end };"#,
    ),
    (
        "long_patch",
        r#"permit(principal, action == Action::"patch_host", resource)
           when { context.duration > context.four_hours };"#,
    ),
    (
        "revenue_blast_radius",
        r#"permit(principal, action == Action::"patch_host", resource)
           when { resource in Tag::"revenue-critical" };"#,
    ),
    (
        "crown_jewel_at_night",
        r#"forbid(principal, action == Action::"patch_host", resource)
           when { resource.tier == "crown_jewel" && context.now.toTime() < context.six_hours };"#,
    ),
    (
        "routine_patching",
        r#"permit(principal, action == Action::"patch_host", resource)
           when { resource.tier != "crown_jewel" };"#,
    ),
    (
        "rotate_in_freeze",
        r#"forbid(principal, action == Action::"rotate_secret", resource)
           when { context.now >= context.freeze_start && context.now < context.freeze_end &&
                  resource.tier == "crown_jewel" };"#,
    ),
    (
        "rotate_regulated",
        r#"permit(principal, action == Action::"rotate_secret", resource)
           when { resource.tags.containsAny(["pci", "sox", "hipaa"]) };"#,
    ),
    (
        "routine_rotation",
        r#"permit(principal, action == Action::"rotate_secret", resource);"#,
    ),
];

pub struct CedarPeer {
    authorizer: Authorizer,
    policies: PolicySet,
    entities: Entities,
    requests: Vec<Request>,
}

impl std::fmt::Debug for CedarPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CedarPeer")
            .field("requests", &self.requests.len())
            .finish_non_exhaustive()
    }
}

fn uid(ty: &str, id: &str) -> Result<EntityUid, String> {
    EntityUid::from_str(&format!("{ty}::\"{id}\"")).map_err(|e| format!("entity uid: {e}"))
}

fn strings(items: &[String]) -> RestrictedExpression {
    RestrictedExpression::new_set(
        items
            .iter()
            .map(|s| RestrictedExpression::new_string(s.clone())),
    )
}

/// The policy set of [`POLICIES`].
pub fn policy_set() -> Result<PolicySet, String> {
    let mut set = PolicySet::new();
    for (name, text) in POLICIES {
        let policy = Policy::parse(Some(PolicyId::new(name)), text)
            .map_err(|e| format!("cedar policy `{name}`: {e}"))?;
        set.add(policy)
            .map_err(|e| format!("cedar policy `{name}`: {e}"))?;
    }
    Ok(set)
}

/// The estate as Cedar entities (transitive closure computed by Cedar at construction).
pub fn entities(estate: &Estate) -> Result<Entities, String> {
    let mut all = Vec::with_capacity(estate.identities.len() + estate.assets.len() + 1);
    for i in &estate.identities {
        let attrs = HashMap::from([
            (
                "title".to_owned(),
                RestrictedExpression::new_string(i.title.clone()),
            ),
            (
                "department".to_owned(),
                RestrictedExpression::new_string(i.department.clone()),
            ),
            (
                "privileged".to_owned(),
                RestrictedExpression::new_bool(i.privileged),
            ),
            ("groups".to_owned(), strings(&i.groups)),
        ]);
        let parents = match i.manager {
            Some(m) => HashSet::from([uid("Identity", &estate.identities[m].id)?]),
            None => HashSet::new(),
        };
        all.push(
            Entity::new(uid("Identity", &i.id)?, attrs, parents)
                .map_err(|e| format!("cedar entity `{}`: {e}", i.id))?,
        );
    }
    let tag = uid("Tag", "revenue-critical")?;
    all.push(Entity::new_no_attrs(tag.clone(), HashSet::new()));
    let dependents = estate.dependents();
    for (k, a) in estate.assets.iter().enumerate() {
        let attrs = HashMap::from([
            (
                "tier".to_owned(),
                RestrictedExpression::new_string(a.tier.as_str().to_owned()),
            ),
            ("tags".to_owned(), strings(&a.tags)),
        ]);
        let mut parents = HashSet::new();
        for &d in &dependents[k] {
            parents.insert(uid("Asset", &estate.assets[d].id)?);
        }
        if a.tags.iter().any(|t| t == "revenue-critical") {
            parents.insert(tag.clone());
        }
        all.push(
            Entity::new(uid("Asset", &a.id)?, attrs, parents)
                .map_err(|e| format!("cedar entity `{}`: {e}", a.id))?,
        );
    }
    Entities::from_entities(all, None).map_err(|e| format!("cedar entities: {e}"))
}

/// One request in Cedar: the agent is the principal, the subject the resource.
pub fn request(estate: &Estate, r: &RequestSpec) -> Result<Request, String> {
    let principal = uid("Identity", &estate.identities[r.agent].id)?;
    let action = uid("Action", r.action.name())?;
    let resource = if r.action.on_identity() {
        uid("Identity", &estate.identities[r.subject].id)?
    } else {
        uid("Asset", &estate.assets[r.subject].id)?
    };
    // The policies' time constants travel in the context, prebuilt, so Cedar does not parse
    // `datetime("…")` / `duration("…")` literals on every evaluation (its fastest path).
    let mut pairs = vec![
        (
            "now".to_owned(),
            RestrictedExpression::new_datetime(rfc3339(r.at)),
        ),
        (
            "freeze_start".to_owned(),
            RestrictedExpression::new_datetime("2026-12-20T00:00:00Z"),
        ),
        (
            "freeze_end".to_owned(),
            RestrictedExpression::new_datetime("2027-01-03T00:00:00Z"),
        ),
        (
            "four_hours".to_owned(),
            RestrictedExpression::new_duration("4h"),
        ),
        (
            "six_hours".to_owned(),
            RestrictedExpression::new_duration("6h"),
        ),
    ];
    if r.action == Action::PatchHost {
        pairs.push((
            "reboot".to_owned(),
            RestrictedExpression::new_bool(r.reboot),
        ));
        pairs.push((
            "duration".to_owned(),
            RestrictedExpression::new_duration(format!("{}s", r.duration)),
        ));
    }
    let context = Context::from_pairs(pairs).map_err(|e| format!("cedar context: {e}"))?;
    Request::new(principal, action, resource, context, None)
        .map_err(|e| format!("cedar request: {e}"))
}

impl CedarPeer {
    /// Builds entities, policies and one Cedar request per entry of `requests`.
    pub fn new(estate: &Estate, requests: &[RequestSpec]) -> Result<CedarPeer, String> {
        Ok(CedarPeer {
            authorizer: Authorizer::new(),
            policies: policy_set()?,
            entities: entities(estate)?,
            requests: requests
                .iter()
                .map(|r| request(estate, r))
                .collect::<Result<_, _>>()?,
        })
    }
}

/// Reads a Cedar response as the subset's outcome: a `Deny` with determining policies is a
/// `forbid` that fired; an `Allow` lists every `permit` that fired.
pub fn response_outcome(response: &Response) -> Result<Outcome, String> {
    if let Some(e) = response.diagnostics().errors().next() {
        return Err(format!("cedar evaluation error: {e}"));
    }
    let reasons: Vec<String> = response
        .diagnostics()
        .reason()
        .map(|id| id.to_string())
        .collect();
    match response.decision() {
        Decision::Deny if !reasons.is_empty() => {
            if reasons.iter().any(|r| effect_of(r) != Some(Effect::Deny)) {
                return Err(format!("cedar denied by non-forbid policies {reasons:?}"));
            }
            Ok(combine(reasons.iter().map(String::as_str)))
        }
        _ => Ok(combine(reasons.iter().map(String::as_str))),
    }
}

impl Peer for CedarPeer {
    type Raw = Response;

    fn describe(&self) -> String {
        "Cedar 4.14 (`Authorizer::is_authorized`, prebuilt requests)".to_owned()
    }

    fn len(&self) -> usize {
        self.requests.len()
    }

    fn eval(&mut self, i: usize) -> Response {
        self.authorizer
            .is_authorized(&self.requests[i], &self.policies, &self.entities)
    }

    fn outcome(&self, _i: usize, raw: Response) -> Result<Outcome, String> {
        response_outcome(&raw)
    }
}
