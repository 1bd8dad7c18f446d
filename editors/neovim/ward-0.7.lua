-- Ward in Neovim 0.7 to 0.10 (no `vim.lsp.start` in 0.7): put this in your init.lua, or
-- `:luafile editors/neovim/ward-0.7.lua`. Starts `ward lsp` once and attaches every `.ward`
-- buffer to it.
vim.filetype = vim.filetype or {}
vim.cmd([[autocmd BufRead,BufNewFile *.ward setfiletype ward]])

local ward_client = nil
vim.api.nvim_create_autocmd("FileType", {
  pattern = "ward",
  callback = function(args)
    if ward_client == nil or vim.lsp.client_is_stopped(ward_client) then
      local root = vim.fn.getcwd()
      ward_client = vim.lsp.start_client({
        name = "ward",
        cmd = { "ward", "lsp" },
        root_dir = root,
        workspace_folders = { { uri = vim.uri_from_fname(root), name = root } },
      })
    end
    if ward_client then
      vim.lsp.buf_attach_client(args.buf, ward_client)
    end
  end,
})
