-- Ward in Neovim 0.11 and later: put this in your init.lua (or in lsp/ward.lua without the
-- `vim.lsp.config` call around the table).
vim.filetype.add({ extension = { ward = "ward" } })
vim.lsp.config("ward", {
  cmd = { "ward", "lsp" },
  filetypes = { "ward" },
  root_markers = { ".git" },
})
vim.lsp.enable("ward")
