(load "tokenizer.lsp")
(setq tok (Tokenizer "p" (configure)))
(tok (decode))
