; the same block with a narrower hidden layer: 8 -> 12 -> 8
(setq ffn1 (torch_linear 8 12))
(setq ffn2 (torch_linear 12 8))
(defun model (x)
   (torch_linear_forward ffn2 (tensor_relu (torch_linear_forward ffn1 x))))
(setq x (tensor_randn (integers 2 5 8)))
(println (tensor_shape (model x)))
