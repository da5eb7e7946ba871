; a module run before any global reaches it cannot be bound by --weights
(defun make ()
   (setq l (torch_linear 8 16))
   (println (tensor_sum (torch_linear_forward l (tensor_ones (integers 8)))))
   l)
(setq ffn1 (make))
