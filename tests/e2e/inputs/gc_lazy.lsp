; 1000 iterations over a 1 MB tensor, all forced at the end: ir_force
; releases the links of the chain no variable holds (tests/e2e: gc_*)
(setq x (tensor_zeros (integers 512 512)))
(setq y (tensor_ones (integers 512 512)))
(loopcount 1000 (setq x (tensor_add x y)))
(println (tensor_sum x))
