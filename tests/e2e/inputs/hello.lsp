; run mode prints as LispE does
(setq n (+ 40 2))
(println "hello" n)
(setq ones (tensor_ones (integers 2 3)))
(println (tensor_shape ones))
