(load "tokenizer.lsp")
(setq tok (Tokenizer "p"))
