; An op the CPU backend does not generate (cumsum): the compile fails with
; an error naming the op, and leaves no library behind.
(defun f (x) (tensor_cumsum (torch_relu x) 2))
(setq x (torch_rand (integers 2 5 8)))
(f x)
