//! The conformance corpus through HTTP: every `request … expect …` of every `test` block of
//! `tests/corpus/eval/*.ward`, and every JSON case of `tests/corpus/eval/messages`, is sent to
//! a server started on that policy file and that test's entities, and the answer must equal
//! what `ward eval` (the runtime's `Engine::decide` on the same compiled program, estate and
//! `at`) decides.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use ward_ir::TestEntities;
use ward_runtime::engine::{Engine, EngineConfig, EngineKind};
use ward_server::client::Client;
use ward_server::{Config, Server};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus/eval")
}

/// One server per (policy file, entities), and the requests to send it.
struct Group {
    policy: PathBuf,
    entities: String,
    requests: Vec<(String, Json)>,
}

fn entities_text(entities: &TestEntities) -> String {
    match entities {
        TestEntities::None => "{}".to_owned(),
        TestEntities::Inline(doc) => doc.to_string(),
        TestEntities::File { resolved, .. } => std::fs::read_to_string(resolved).unwrap(),
    }
}

#[test]
fn the_corpus_decides_the_same_over_http_as_ward_eval() {
    let mut groups: BTreeMap<(PathBuf, String), Group> = BTreeMap::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ward"))
        .collect();
    files.sort();
    for path in &files {
        let sources = ward_embed::load_policy_set(path).unwrap();
        let program = ward_embed::compile(&sources)
            .program
            .expect("corpus files check");
        for test in &program.tests {
            let entities = entities_text(&test.entities);
            let group = groups
                .entry((path.clone(), entities.clone()))
                .or_insert_with(|| Group {
                    policy: path.clone(),
                    entities,
                    requests: Vec::new(),
                });
            for case in &test.cases {
                group.requests.push((
                    format!("{} ({})", test.name, case.location),
                    case.request.clone(),
                ));
            }
        }
    }
    let mut messages: Vec<PathBuf> = std::fs::read_dir(corpus().join("messages"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    messages.sort();
    for case in &messages {
        let doc: Json = serde_json::from_str(&std::fs::read_to_string(case).unwrap()).unwrap();
        let policy = corpus().join(doc["policy"].as_str().unwrap());
        let entities = doc["entities"].to_string();
        groups
            .entry((policy.clone(), entities.clone()))
            .or_insert_with(|| Group {
                policy,
                entities,
                requests: Vec::new(),
            })
            .requests
            .push((case.display().to_string(), doc["request"].clone()));
    }

    let dir = tempfile::tempdir().unwrap();
    let mut n_requests = 0;
    let mut failures = Vec::new();
    for (idx, group) in groups.values().enumerate() {
        let entities = dir.path().join(format!("entities-{idx}.json"));
        std::fs::write(&entities, &group.entities).unwrap();
        let mut config = Config::new(&group.policy, &entities);
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.state = dir.path().join(format!("state-{idx}"));
        config.watch = false;
        config.worker_threads = Some(1);
        // The corpus's requests carry their own times, years apart.
        config.max_skew = std::time::Duration::from_secs(400 * 366 * 86_400);
        let server = Server::start(config).unwrap();
        let sources = ward_embed::load_policy_set(&group.policy).unwrap();
        let program = ward_embed::compile(&sources).program.unwrap();
        let reference = Engine::with_config(
            program,
            EngineConfig {
                engine: EngineKind::Jit,
            },
        )
        .unwrap();
        reference.load_entities_str(&group.entities).unwrap();
        let mut client = Client::new(server.local_addr());
        for (name, request) in &group.requests {
            n_requests += 1;
            let expected = serde_json::to_value(reference.decide(request)).unwrap();
            let response = client
                .post_json("/v1/decide", request.to_string().as_bytes())
                .unwrap();
            let got = response.json().unwrap();
            // The decision proper, plus `request_id` when the runtime echoes one.
            let decided: serde_json::Map<String, Json> =
                ["request_id", "decision", "fired", "approvers", "errors"]
                    .into_iter()
                    .filter(|k| *k != "request_id" || expected.get(*k).is_some())
                    .map(|k| (k.to_owned(), got[k].clone()))
                    .collect();
            let status_ok = if expected["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["rule"].is_null())
            {
                response.status == 400
            } else {
                response.status == 200
            };
            if Json::Object(decided) != expected || !status_ok || got["at"] != request["at"] {
                failures.push(format!(
                    "{name}: `ward eval` decided {expected}\n  the server answered {} {got}",
                    response.status
                ));
            }
        }
        server.shutdown();
    }
    assert!(
        failures.is_empty(),
        "{} of {n_requests} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(n_requests >= 250, "only {n_requests} requests");
}
