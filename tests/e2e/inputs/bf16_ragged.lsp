; bf16_ragged.lsp: --dtype bf16/f16 on the cpu target at sizes that take
; every edge of the generators: odd GEMM depths (an odd last k pair of the
; vdpbf16ps kernel), N not a panel multiple, a head dim of 12 (qkv's
; per-lane C addresses), matmuls whose depth is the sequence length,
; bias + ReLU and residual epilogues, add + layer norm, softmax, GELU.
(use 'lispe_torch)
(setq l1 (torch_linear 37 50))
(setq l2 (torch_linear 50 37))
(setq lp (torch_linear 37 36))
(setq fa (torch_flash_attention_create 36 3 0.0 true))
(setq ln (torch_layer_norm 36))
(defun model (x)
   (setq h (torch_relu (torch_linear_forward l1 x)))
   (setq r (tensor_add x (torch_linear_forward l2 h)))
   (setq a (torch_linear_forward lp r))
   (setq y (torch_flash_attention_forward fa a a a))
   (setq z (torch_layer_norm_forward ln (tensor_add a y)))
   (setq s (tensor_softmax (tensor_mul_scalar (tensor_matmul z (tensor_transpose z 1 2)) 0.1) -1))
   (tensor_gelu (tensor_matmul s z)))
(setq x (torch_rand (integers 2 9 37)))
(println (torch_size (model x)))
