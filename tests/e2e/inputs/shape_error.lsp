; matmul of incompatible shapes: [2,3] x [4,5]
(setq a (tensor_randn (integers 2 3)))
(setq b (tensor_randn (integers 4 5)))
(defun model (x) (tensor_matmul x b))
(println (tensor_shape (model a)))
