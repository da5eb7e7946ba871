; a user function called with too few arguments
(defun add2 (a b) (+ a b))
(println (add2 1))
