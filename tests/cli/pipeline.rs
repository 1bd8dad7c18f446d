//! The example pipeline of `docs/ci.md`, run as written there on a real git repository made
//! from `examples/` in a temporary directory: the pre-commit hook installed from the page and
//! committed through (a harmless change passes, a rule change that newly allows a request is
//! refused), then every `run:` step of the GitHub Actions workflow on a branch whose second
//! commit changes that rule, with the outputs checked.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::diff::git;
use super::{code, repo, stderr, stdout, tempdir};

/// The first fenced block of language `lang` in the section `heading` of `docs/ci.md`.
fn block(heading: &str, lang: &str) -> String {
    let doc = std::fs::read_to_string(repo().join("docs/ci.md")).expect("docs/ci.md");
    let section = doc
        .split(&format!("\n## {heading}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("docs/ci.md has no section `{heading}`"));
    let section = section.split("\n## ").next().unwrap_or(section);
    let start = format!("```{lang}\n");
    let body = section
        .split(&start)
        .nth(1)
        .unwrap_or_else(|| panic!("the section `{heading}` has no {lang} block"));
    body.split("\n```")
        .next()
        .expect("a closed block")
        .to_owned()
        + "\n"
}

/// The steps of the workflow: `(name, command)` for every `run:`.
fn workflow_steps() -> Vec<(String, String)> {
    let yaml = block("GitHub Actions", "yaml");
    let mut steps = Vec::new();
    let mut name = String::new();
    for line in yaml.lines() {
        let line = line.trim_start().trim_start_matches("- ");
        if let Some(n) = line.strip_prefix("name: ") {
            name = n.to_owned();
        } else if let Some(run) = line.strip_prefix("run: ") {
            steps.push((name.clone(), run.to_owned()));
        }
    }
    steps
}

/// A command with `ward` on the path, in `dir`, git configured as the tests' `git` is.
fn shell(dir: &Path, program: &str, args: &[&str]) -> Output {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_ward"));
    let bin_dir = bin.parent().expect("the binary's directory");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Ward Tests")
        .env("GIT_AUTHOR_EMAIL", "tests@ward.invalid")
        .env("GIT_COMMITTER_NAME", "Ward Tests")
        .env("GIT_COMMITTER_EMAIL", "tests@ward.invalid")
        .output()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// Replaces `from` with `to` in `file`, which must contain it.
fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).expect("read");
    assert!(text.contains(from), "`{from}` is not in {}", file.display());
    std::fs::write(file, text.replacen(from, to, 1)).expect("write");
}

#[test]
fn the_ci_page_pipeline_runs_on_a_real_repository() {
    let root = tempdir().join("pipeline");
    let _ = std::fs::remove_dir_all(&root);
    // The target branch, as the hosting service holds it.
    let upstream = root.join("upstream");
    copy_dir(
        &repo().join("examples/guardrails"),
        &upstream.join("guardrails"),
    );
    for file in ["estate.json", "requests.jsonl"] {
        std::fs::copy(repo().join("examples").join(file), upstream.join(file)).expect("copy");
    }
    git(&upstream, &["init", "-q", "-b", "main"]);
    git(&upstream, &["add", "."]);
    git(&upstream, &["commit", "-q", "-m", "guardrails"]);
    // A developer's clone, with the hook of docs/ci.md.
    let work = root.join("work");
    git(&root, &["clone", "-q", "upstream", "work"]);
    let hook = work.join(".git/hooks/pre-commit");
    std::fs::write(&hook, block("A pre-commit hook", "sh")).expect("write the hook");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    git(&work, &["checkout", "-q", "-b", "change"]);

    // A harmless change (a message) goes through the hook.
    edit(
        &work.join("guardrails/identity.ward"),
        "a human must do it",
        "a person must do it",
    );
    let out = shell(
        &work,
        "git",
        &["commit", "-q", "-a", "-m", "reword a message"],
    );
    assert_eq!(
        code(&out),
        0,
        "the hook refused a harmless change:\n{}{}",
        stdout(&out),
        stderr(&out)
    );
    // Git shows what a hook prints on stderr.
    assert!(
        stderr(&out).contains("0 changed"),
        "the hook ran `ward diff`:\n{}",
        stderr(&out)
    );

    // A rule change that newly allows a request is refused by the hook.
    let head = git(&work, &["rev-parse", "HEAD"]);
    edit(
        &work.join("guardrails/identity.ward"),
        "when len(reason) < min_reason_length",
        "when len(reason) < 8",
    );
    let out = shell(
        &work,
        "git",
        &["commit", "-q", "-a", "-m", "shorter reasons"],
    );
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stderr(&out).contains("newly allowed (--fail-on allow)"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("fired only in old `disable_needs_reason` (deny)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        git(&work, &["rev-parse", "HEAD"]),
        head,
        "no commit was made"
    );
    // The developer pushes it for review anyway.
    git(
        &work,
        &["commit", "-q", "-a", "--no-verify", "-m", "shorter reasons"],
    );
    assert_eq!(
        git(&work, &["rev-list", "--count", "origin/main..HEAD"]).trim(),
        "2"
    );

    // The workflow of docs/ci.md on the pull request: every `run:` as written, the target
    // branch being `main`; ward is on the path instead of installed.
    let steps = workflow_steps();
    let names: Vec<&str> = steps.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "Install ward",
            "Check",
            "Layout",
            "Tests",
            "Diff against the target branch"
        ]
    );
    for (name, command) in &steps {
        if name == "Install ward" {
            assert!(command.starts_with("cargo install --locked"), "{command}");
            continue;
        }
        let command = command.replace("${{ github.base_ref }}", "main");
        assert!(!command.contains("${{"), "{command}");
        let out = shell(
            &work,
            "bash",
            &["--noprofile", "--norc", "-eo", "pipefail", "-c", &command],
        );
        let shown = format!("step `{name}`: {command}\n{}{}", stdout(&out), stderr(&out));
        match name.as_str() {
            "Check" => {
                assert_eq!(code(&out), 0, "{shown}");
                let log: serde_json::Value = serde_json::from_str(
                    &std::fs::read_to_string(work.join("ward.sarif")).expect("ward.sarif"),
                )
                .expect("SARIF is JSON");
                assert_eq!(log["version"], "2.1.0");
                assert_eq!(log["runs"][0]["results"], serde_json::json!([]));
            }
            "Layout" => assert_eq!(code(&out), 0, "{shown}"),
            "Tests" => {
                assert_eq!(code(&out), 0, "{shown}");
                let xml =
                    std::fs::read_to_string(work.join("ward-junit.xml")).expect("ward-junit.xml");
                let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
                let suite = doc.root_element();
                assert_eq!(suite.attribute("failures"), Some("0"), "{xml}");
                assert!(
                    suite.attribute("tests").and_then(|n| n.parse::<u32>().ok()) > Some(30),
                    "{xml}"
                );
                assert!(stderr(&out).starts_with("coverage: "), "{shown}");
            }
            "Diff against the target branch" => {
                assert_eq!(code(&out), 1, "{shown}");
                let report = stdout(&out);
                assert!(
                    report.starts_with("old: origin/main:guardrails ("),
                    "{shown}"
                );
                assert!(report.contains("\ndeny→allow: 1 request\n"), "{shown}");
                assert!(
                    report.contains("1 request: fired only in old `disable_needs_reason` (deny)"),
                    "{shown}"
                );
                assert_eq!(
                    stderr(&out),
                    "error: 1 request is newly allowed (--fail-on allow)\n",
                    "{shown}"
                );
            }
            other => panic!("a step this test does not know: `{other}`"),
        }
    }
    // Nothing the pipeline did touched the repository: only its outputs are new.
    let status = git(&work, &["status", "--porcelain"]);
    assert_eq!(status, "?? ward-junit.xml\n?? ward.sarif\n", "{status}");
}
