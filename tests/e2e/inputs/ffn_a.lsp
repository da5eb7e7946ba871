; a small feed-forward block: 8 -> 16 -> 8
(setq ffn1 (torch_linear 8 16))
(setq ffn2 (torch_linear 16 8))
(defun model (x)
   (torch_linear_forward ffn2 (tensor_relu (torch_linear_forward ffn1 x))))
(setq x (tensor_randn (integers 2 5 8)))
(println (tensor_shape (model x)))
