; 1000 iterations over a 1 MB tensor, each value read on the way: the
; collector releases the values no variable holds (tests/e2e: gc_*)
(setq x (tensor_zeros (integers 512 512)))
(setq y (tensor_ones (integers 512 512)))
(setq s 0)
(loopcount 1000 (setq x (tensor_add x y)) (setq s (tensor_sum x)))
(println s)
