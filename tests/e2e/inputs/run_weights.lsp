; run --weights: the file's values replace the modules' initialisation
(setq ffn1 (torch_linear 8 16))
(setq ffn2 (torch_linear 16 8))
(defun model (x)
   (torch_linear_forward ffn2 (tensor_relu (torch_linear_forward ffn1 x))))
(setq x (tensor_ones (integers 2 5 8)))
(setq y (model x))
(println (tensor_shape y))
