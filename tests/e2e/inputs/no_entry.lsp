; defines a model but never calls it with a tensor
(setq ffn1 (torch_linear 8 16))
(defun model (x) (torch_linear_forward ffn1 x))
