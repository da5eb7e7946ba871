; The function JIT (docs/jit.md): one attention block called at many batch
; sizes and sequence lengths, token by token, compiles once; every result
; is kept (results) so that --save-tensors compares them all with the
; interpreter's (tests/e2e/CMakeLists.txt, e2e_fjit_*).
(setq E 32)
(setq attn (torch_flash_attention_create E 4))
(setq norm (torch_layer_norm E))
(setq ff (torch_linear E 64))
(setq back (torch_linear 64 E))
(defun encoder (x)
  (setq h (torch_layer_norm_forward norm (tensor_add x (torch_flash_attention_forward attn x x x))))
  (tensor_add h (torch_linear_forward back (tensor_gelu (torch_linear_forward ff h)))))
(setq results (list))
; token by token: the sequence grows, one call per length
(loop t (range 2 9 1)
  (push results (encoder (tensor_randn (integers 1 t E)))))
; other batch sizes
(loop b (range 2 5 1)
  (push results (encoder (tensor_randn (integers b 5 E)))))
(println "calls:" (size results) "last:" (tensor_shape (@ results -1)))
