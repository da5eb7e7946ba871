; two entry candidates sharing a layer; the default entry is the last call
(setq shared (torch_linear 8 8))
(defun encode (x) (tensor_relu (torch_linear_forward shared x)))
(defun decode (x) (tensor_tanh (torch_linear_forward shared x)))
(setq x (tensor_randn (integers 2 5 8)))
(println (tensor_shape (encode x)))
(println (tensor_shape (decode x)))
