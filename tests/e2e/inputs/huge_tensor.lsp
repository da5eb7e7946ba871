; 10^15 elements
(setq big (tensor_zeros (integers 100000 100000 100000)))
(println (tensor_shape big))
