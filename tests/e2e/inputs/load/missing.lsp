(println "before")
(load "no_such_part.lsp")
