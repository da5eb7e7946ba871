; Regions of the same shapes that differ only in what a kernel is
; specialised on (the causal flag, the activation of a fused linear): the
; JIT must compile each one (its cache key holds every kernel's
; attributes), and each must agree with run --interpret.
(setq q (torch_randn (integers 2 3 9 8)))
(setq k (torch_randn (integers 2 3 9 8)))
(setq v (torch_randn (integers 2 3 9 8)))
(setq lin (torch_linear_create 8 16))
(setq x (torch_randn (integers 5 8)))
(loopcount 2
  (setq full (torch_scaled_dot_product_attention q k v nil nil false))
  (setq causal (torch_scaled_dot_product_attention q k v nil nil true))
  (setq relu (tensor_relu (torch_linear_forward lin x)))
  (setq gelu (tensor_gelu (torch_linear_forward lin x)))
  (println (tensor_sum full) (tensor_sum causal) (tensor_sum relu) (tensor_sum gelu)))
