//! A real editor: Neovim (Debian's `neovim`, 0.7.2 there), headless, with its built-in LSP
//! client started on `ward lsp` by `vim.lsp.start_client` and `vim.lsp.buf_attach_client` (0.7
//! has no `vim.lsp.start`), opens a broken `.ward` file and must receive the server's
//! diagnostics, hover and completion. Without `nvim` the test skips, or fails under
//! `WARD_TEST_EXTERNAL=require` saying how to get it.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{BROKEN, external, tempdir, ward};

const SCRIPT: &str = r#"
local dir, ward, out = _G.ward_dir, _G.ward_bin, _G.ward_out
local result = { }
local client = vim.lsp.start_client({ name = "ward", cmd = { ward, "lsp" }, root_dir = dir })
vim.cmd("edit " .. dir .. "/broken.ward")
vim.lsp.buf_attach_client(0, client)
vim.wait(20000, function() return #vim.diagnostic.get(0) > 0 end, 50)
result.diagnostics = {}
for _, d in ipairs(vim.diagnostic.get(0)) do
  table.insert(result.diagnostics, { line = d.lnum, col = d.col, code = d.code, message = d.message })
end
local c = vim.lsp.get_client_by_id(client)
local uri = vim.uri_from_bufnr(0)
local hover = c.request_sync("textDocument/hover",
  { textDocument = { uri = uri }, position = { line = 3, character = 3 } }, 20000, 0)
result.hover = hover and hover.result and hover.result.contents.value or vim.NIL
local items = c.request_sync("textDocument/completion",
  { textDocument = { uri = uri }, position = { line = 13, character = 14 } }, 20000, 0)
result.completion = {}
for _, item in ipairs((items and items.result) or {}) do
  table.insert(result.completion, item.label)
end
vim.fn.writefile({ vim.fn.json_encode(result) }, out)
vim.cmd("qa!")
"#;

#[test]
fn neovim_receives_diagnostics_hover_and_completion() {
    let found = Command::new("nvim")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found
        && !external(
            "Neovim (`nvim`)",
            "run scripts/setup.sh, which installs Debian's `neovim` package",
        )
    {
        return;
    }
    let dir = tempdir("neovim");
    std::fs::write(dir.join("broken.ward"), BROKEN).unwrap();
    std::fs::write(dir.join("test.lua"), SCRIPT).unwrap();
    let out = dir.join("result.json");
    let lua_string = |s: &std::path::Path| format!("{:?}", s.to_str().unwrap());
    let setup = format!(
        "lua _G.ward_dir = {}; _G.ward_bin = {}; _G.ward_out = {}",
        lua_string(&dir),
        lua_string(&ward()),
        lua_string(&out)
    );
    let mut child = Command::new("nvim")
        .args(["--headless", "-u", "NONE", "-i", "NONE", "-n", "--noplugin"])
        .arg("-c")
        .arg(setup)
        .arg("-c")
        .arg(format!("luafile {}", dir.join("test.lua").display()))
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.is_some(), "Neovim did not finish within 90 s");
    let text = std::fs::read_to_string(&out)
        .unwrap_or_else(|e| panic!("Neovim wrote no result ({e}); status {status:?}"));
    let result: Value = serde_json::from_str(&text).unwrap();

    let diagnostics = result["diagnostics"].as_array().unwrap();
    assert!(
        diagnostics
            .iter()
            .any(|d| d["code"] == "E0103" && d["message"].as_str().unwrap().contains("`nmae`")),
        "{result:#}"
    );
    let hover = result["hover"].as_str().unwrap_or("");
    assert!(
        hover.contains("Identity.name: String") && hover.contains("Display name."),
        "{result:#}"
    );
    let completion: Vec<&str> = result["completion"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        completion.contains(&"name") && completion.contains(&"title"),
        "{result:#}"
    );
    assert!(!completion.contains(&"rule"), "{result:#}");
    let _ = std::fs::remove_dir_all(&dir);
}
