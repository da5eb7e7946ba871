; python package test: y = relu(x W^T + b) + r, two inputs [B,S,8] -> [B,S,16]
(setq lin (torch_linear 8 16))
(defun forward (x r) (tensor_add (tensor_relu (torch_linear_forward lin x)) r))
(setq x (tensor_randn (integers 2 5 8)))
(setq r (tensor_randn (integers 2 5 16)))
(forward x r)
