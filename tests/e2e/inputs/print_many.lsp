; more output than one stdio buffer: a write error happens before the end
(loopcount 3000 (println "0123456789012345678901234567890123456789"))
