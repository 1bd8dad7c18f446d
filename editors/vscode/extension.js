// Starts `ward lsp` (the binary named by the `ward.path` setting) for `.ward` files.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("ward").get("path") || "ward";
  const server = { command, args: ["lsp"] };
  client = new LanguageClient(
    "ward",
    "Ward",
    { run: server, debug: server },
    {
      documentSelector: [{ scheme: "file", language: "ward" }, { scheme: "untitled", language: "ward" }],
      synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher("**/*.ward") },
    },
  );
  context.subscriptions.push({ dispose: () => client && client.stop() });
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
