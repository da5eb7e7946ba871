(load "bad_part.lsp")
