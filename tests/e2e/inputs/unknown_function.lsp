; a misspelt function name
(defun double (x) (* 2 x))
(println (doubel 3))
