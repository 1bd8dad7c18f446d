//! Load while the policy changes: 8 clients decide continuously while the policy file cycles
//! through two good versions and a broken one every 200 ms. No response may fail or be
//! malformed, and every response must be decided wholly by one good version: its `policy`
//! hash is one of the two, and its decision is that version's. Bounded: about 3 seconds.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use support::*;

#[test]
fn every_response_is_decided_by_one_good_version_while_the_policy_cycles() {
    let fx = start(|config, _| {
        config.watch = true;
        config.watch_debounce = Duration::from_millis(20);
    });
    // The hashes of the two good versions, as the server computes them.
    let hashes = tempfile::tempdir().unwrap();
    let mut expected: HashMap<String, &str> = HashMap::new();
    for (name, text, web) in [("a", POLICY_A, "allow"), ("b", POLICY_B, "deny")] {
        let dir = hashes.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("main.ward"), text).unwrap();
        let sources =
            ward_server::policy::read_sources(&dir, &fx.dir.path().join("entities.json")).unwrap();
        expected.insert(sources.policy, web);
    }
    let expected = Arc::new(expected);
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..8)
        .map(|t| {
            let (stop, expected) = (Arc::clone(&stop), Arc::clone(&expected));
            let mut client = fx.client();
            std::thread::spawn(move || {
                let mut seen: HashMap<String, u64> = HashMap::new();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) && n < 50_000 {
                    let host = if (n + t).is_multiple_of(3) {
                        "db-1"
                    } else {
                        "web-1"
                    };
                    let response = post(&mut client, "/v1/decide", &reboot(host));
                    assert_eq!(
                        response.status,
                        200,
                        "{}",
                        String::from_utf8_lossy(&response.body)
                    );
                    let doc = response.json().unwrap();
                    let policy = doc["policy"].as_str().unwrap().to_owned();
                    let Some(web) = expected.get(&policy) else {
                        panic!("decided by a version that is neither good one: {doc}");
                    };
                    let want = if host == "db-1" {
                        "require_approval"
                    } else {
                        web
                    };
                    assert_eq!(doc["decision"], want, "{doc}");
                    assert!(doc["id"].as_str().unwrap().starts_with("dec_"));
                    *seen.entry(policy).or_default() += 1;
                    n += 1;
                }
                seen
            })
        })
        .collect();
    let started = Instant::now();
    let versions = [
        POLICY_B.to_owned(),
        format!("{POLICY_A}\n{BROKEN}"),
        POLICY_A.to_owned(),
    ];
    let mut i = 0;
    while started.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(200));
        fx.write_policy(&versions[i % versions.len()]);
        i += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let mut total: HashMap<String, u64> = HashMap::new();
    for c in clients {
        for (policy, n) in c.join().unwrap() {
            *total.entry(policy).or_default() += n;
        }
    }
    assert_eq!(total.len(), 2, "both good versions served: {total:?}");
    let status = fx.client().get("/v1/status").unwrap().json().unwrap();
    assert!(
        status["reloads"]["failed"].as_u64().unwrap() >= 1,
        "{status}"
    );
    assert!(status["reloads"]["ok"].as_u64().unwrap() >= 2, "{status}");
    let served: u64 = total.values().sum();
    assert!(served > 100, "only {served} decisions");
}
