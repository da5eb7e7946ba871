; no base case
(defun forever (n) (+ 1 (forever (+ n 1))))
(println (forever 0))
