; The function JIT: an in-place op on an argument (tensor_masked_fill_)
; changes the caller's tensor, as it does eagerly.
(setq lin (torch_linear 4 4))
(defun f (x m) (tensor_masked_fill_ x m -1.0) (torch_linear_forward lin x))
(setq x (tensor_randn (integers 2 3 4)))
(setq m (tensor_to_bool (tensor_rand (integers 2 3 4))))
(setq y (f x m))
(println x)
(println y)
