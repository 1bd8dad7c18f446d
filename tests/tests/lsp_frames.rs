//! Issue 7.10, LSP frames: damaged language-server sessions (`ward_tests::lsp_frames`) never
//! make `ward lsp` panic, hang or stop serving. A bounded number of seeds runs here; `fuzz/`
//! runs them open-ended (`cargo fuzz run fuzz_lsp_frames`, or the stable `lsp_frames` binary).

use ward_tests::lsp_frames;

/// Seeds per run: enough to meet every kind of damage, small for a debug `cargo test`.
const SEEDS: u64 = 120;

#[test]
fn damaged_sessions_never_stop_the_server() {
    let mut failures = Vec::new();
    let (mut replies, mut errors, mut damaged) = (0, 0, 0);
    let mut kinds = std::collections::BTreeSet::new();
    for seed in 0..SEEDS {
        let case = lsp_frames::seeded(seed);
        damaged += usize::from(!case.damage.is_empty());
        kinds.extend(case.damage.iter().copied());
        match lsp_frames::run(format_args!("seed {seed}"), &case) {
            Ok(t) => {
                replies += t.replies;
                errors += t.errors_without_id;
            }
            Err(why) => failures.push(why),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // The damage is real and varied, and the server still answered.
    assert!(damaged * 2 > SEEDS as usize, "{damaged} damaged sessions");
    assert!(kinds.len() >= 10, "{kinds:?}");
    assert!(
        errors > 0 && replies > SEEDS as usize,
        "{replies} replies, {errors} errors"
    );
}
