; The function JIT: printing a tensor computed inside the call needs its
; value, so `show` runs eagerly (after a note) and prints what --interpret does.
(setq lin (torch_linear 8 8))
(defun show (x) (setq y (torch_linear_forward lin x)) (println "y is" y) y)
(setq a (show (tensor_randn (integers 1 2 8))))
(setq b (show (tensor_randn (integers 1 2 8))))
(println (tensor_shape b))
