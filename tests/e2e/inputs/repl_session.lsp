; forms for `lispetorchc repl` with a pipe on stdin, one by one: each
; value printed, an error reported with <repl>:line:col, the forms after
; it still evaluated with the definitions made before it
(defun twice (x)
   ; a comment with a ) inside "and a quote
   (tensor_add x x))
(twice (tensor_ones (integers 2 3)))
(setq s "a string with ) and ( and \" in it")
(no_such_function 1)
(tensor_sum (twice (tensor_ones (integers 3 7))))
(size s) (+ 1 2)
