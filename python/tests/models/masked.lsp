; python package test: a bool input; y = x where the mask is false, else -1
(defun fill (x mask) (tensor_masked_fill x mask -1.0))
(setq x (tensor_randn (integers 2 5 8)))
(setq mask (tensor_to_bool (tensor_zeros (integers 2 5 8))))
(fill x mask)
