; a result (y) saved by --save-tensors is not bound back: it reads the
; layer norms' weights, which --weights binds (regression: binding y first
; made norm2.weight look used before it was bound)
(setq layer (dict 'norm1 (torch_layer_norm_create 8) 'norm2 (torch_layer_norm_create 8)))
(setq x (torch_rand (integers 2 3 8)))
(setq y (torch_layer_norm_forward (get layer 'norm2) (torch_layer_norm_forward (get layer 'norm1) x)))
(println (tensor_sum y))
