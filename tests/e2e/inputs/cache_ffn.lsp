; The disk cache tests (tests/e2e/jit_cache.sh): a feed-forward block,
; 8 -> 16 -> 8, compiled as one call of model (the function JIT); its values printed in full.
(setq ffn1 (torch_linear 8 16))
(setq ffn2 (torch_linear 16 8))
(defun model (x)
   (torch_linear_forward ffn2 (tensor_gelu (torch_linear_forward ffn1 x))))
(setq x (tensor_randn (integers 2 3 8)))
(setq y (model x))
(println (tensor_shape y))
(println y)
