; The function JIT's eager path: `pick` branches on a tensor's value, so
; its trace fails there; it runs eagerly instead, after one note.  What the
; trace did first (a global counter, a push onto a global list, a print)
; must have happened exactly once per call.
(setq lin (torch_linear 8 8))
(setq counter 0)
(setq seen (list))
(defun pick (x)
  (+= counter 1)
  (push seen counter)
  (println "pick call" counter)
  (setq y (torch_linear_forward lin x))
  (if (> (tensor_sum y) 0) (tensor_relu y) (tensor_neg y)))
(setq a (pick (tensor_randn (integers 2 3 8))))
(setq b (pick (tensor_randn (integers 4 3 8))))
(println "counter" counter "seen" seen)
(println (tensor_shape a) (tensor_shape b))
