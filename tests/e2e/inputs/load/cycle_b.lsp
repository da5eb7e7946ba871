(println "b")
(load "cycle_a.lsp")
