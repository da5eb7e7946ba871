; training-mode dropout in a compiled region (a linear makes the JIT
; compile it), called twice: the masks differ between the calls.
(setq lin (torch_linear 16 16))
(setq x (tensor_randn (integers 4 32 16)))
(defun f (x) (tensor_dropout (torch_linear_forward lin x) 0.5 true))
(setq a (f x))
(setq b (f x))
(setq diff (tensor_sum (tensor_abs (tensor_sub a b))))
(println (tensor_shape a))
(println (if (> diff 1) "masks differ" "masks equal"))
(println (tensor_sum a))
