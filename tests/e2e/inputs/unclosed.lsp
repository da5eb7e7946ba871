; a list that is never closed
(defun f (x)
   (+ x 1)
