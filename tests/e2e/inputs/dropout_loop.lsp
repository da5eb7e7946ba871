; a training step called three times: each call draws a new dropout mask
; (new seeds), and the JIT compiles the region once (the seeds are kernel
; arguments, not constants of the cached code).
(setq lin (torch_linear 16 16))
(setq x (tensor_randn (integers 4 32 16)))
(defun step (x)
   (torch_scaled_dot_product_attention (tensor_reshape (tensor_dropout (torch_linear_forward lin x) 0.5 true) (integers 4 2 32 8))
                                       (tensor_reshape x (integers 4 2 32 8)) (tensor_reshape x (integers 4 2 32 8)) nil 0.3 true nil))
(setq y1 (step x))
(println (tensor_sum y1))
(setq y2 (step x))
(println (tensor_sum y2))
(setq y3 (step x))
(println (tensor_sum y3))
