(println "a")
(load "cycle_b.lsp")
