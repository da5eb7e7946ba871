; The function JIT: a size computed inside a call (tensor_size x 1) comes
; back as a plain number, usable as a size by the next call.
(setq lin (torch_linear 8 8))
(defun f (x) (list (torch_linear_forward lin x) (tensor_size x 1)))
(setq r (f (tensor_randn (integers 2 5 8))))
(println (@ r 1) (+ (@ r 1) 1))
(defun g (x n) (tensor_reshape (torch_linear_forward lin x) (integers n -1)))
(println (tensor_shape (g (tensor_randn (integers 2 5 8)) (@ r 1))))
(println (tensor_shape (g (tensor_randn (integers 2 5 8)) 10)))
