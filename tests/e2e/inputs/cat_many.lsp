; tensor_cat of 100 tensors inside a compiled region (a linear makes the
; JIT compile it): the plan splits the cat into steps of 7 inputs.
(setq lin (torch_linear 4 3))
(setq x (tensor_randn (integers 2 5 4)))
(setq parts (list))
(loop i (range 0 100 1)
   (push parts (tensor_mul_scalar x (+ i 1))))
(setq y (torch_linear_forward lin (tensor_cat parts 1)))
(println (tensor_shape y))
(println (tensor_sum y))
