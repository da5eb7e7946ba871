(load "tokenizer.lsp")
(setq tok (Tokenizer "p" (configure)))
(tok (decod (integers 1)))
