; forms for `lispetorchc repl` on a pipe: errors of every depth (runaway
; recursion, a shape error, an error in the middle of a loop that had
; already changed a global, a bad argument), each followed by forms that
; use what was defined and computed before it
(setq keep (tensor_ones (integers 4 4)))
(defun f (n) (if (< n 1) (tensor_add keep keep) (f (- n 1))))
(f 3)
(defun boom (n) (boom (+ n 1)))
(boom 0)
(tensor_matmul keep (tensor_ones (integers 3 5)))
(loop i (range 0 5 1) (setq keep (tensor_add keep keep)) (no_such i))
(tensor_sum keep)
(setq big (list (tensor_ones (integers 8 8)) (tensor_zeros (integers 2))))
(car 5)
(tensor_sum (car big))
(f 2)
(tensor_sum keep)
