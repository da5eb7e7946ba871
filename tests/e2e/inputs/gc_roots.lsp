; Values the collector must keep (tests/e2e: gc_stress_*, run with
; LTC_GC_STRESS=1, which collects at every safe point): tensors held only
; by argument arrays and result lists while a nested call loops, by a
; dictionary, a class instance, a global list, a let, a loop's container,
; a caller's instance, and views whose origin is otherwise dead.
(setq base (tensor_ones (integers 4 8)))
(defun spin (t n)
   (setq acc t)
   (loopcount n (setq acc (tensor_add acc base)))
   acc)
; map with a lambda that loops: the results so far live only in map's list
(setq ms (map (lambda (k) (spin (tensor_mul_scalar base k) 20)) '(1 2 3)))
(println "map" (map (lambda (t) (tensor_sum t)) ms))
; the first arguments wait while the last one loops
(defun three (a b c) (tensor_sum (tensor_add (tensor_add a b) c)))
(println "args" (three (tensor_mul_scalar base 2) (tensor_add base base) (spin (tensor_full (integers 4 8) 3.0) 30)))
(println "nested" (three (spin base 5) (three base base (spin base 7)) (spin base 9)))
; pending (lazy) tensors reachable only from a dictionary
(setq d (dictionary "w" (tensor_mul_scalar (tensor_randn (integers 4 8)) 2.0)))
(setq junk (spin base 40))
(println "dict" (tensor_sum (@ d "w")))
; a class instance's field, while its method loops
(class@ Acc (v (w nil))
   (defun step (n) (loopcount n (setqi v (tensor_add v base))) v)
   (defun total () (tensor_sum v)))
(setq a (Acc (tensor_zeros (integers 4 8))))
(a (step 25))
(println "instance" (a (total)))
; an instance being constructed holds its first field while the next loops
(setq e (Acc (tensor_mul_scalar base 5) (spin base 6)))
(println "constructed" (e (total)) (tensor_sum (e w)))
; an instance nothing names, whose method calls a defun that loops: while
; the defun runs, only the saved self holds it
(class@ Grow (v) (defun grow (n) (setq r (spin base n)) (tensor_sum (tensor_add r v))))
(println "saved self" ((Grow (tensor_mul_scalar base 2)) (grow 5)))
(println "saved self 2" ((Grow (tensor_mul_scalar base 3)) (spin base 5) (grow 2)))
; a list captured in a global, grown in a loop
(setq keep (list))
(loopcount 10 i (push keep (tensor_mul_scalar base i)) (setq junk (spin base 3)))
(println "list" (map (lambda (t) (tensor_sum t)) keep))
; let values wait for the later ones; loop's container is held by loop only
(println "let" (let ((p (tensor_add base base)) (q (spin base 11))) (tensor_sum (tensor_sub q p))))
(setq tot 0)
(loop t (list (tensor_mul_scalar base 3) (tensor_mul_scalar base 4)) (setq junk (spin base 6)) (setq tot (+ tot (tensor_sum t))))
(println "loop" tot)
; views whose origin is dead
(setq o (tensor_randn (integers 8 8)))
(setq s1 (tensor_sum o))
(setq v (tensor_slice o 0 2 5))
(setq r (tensor_reshape o (integers 64)))
(setq tr (tensor_transpose o 0 1))
(setq o nil)
(setq junk (spin base 50))
(println "views" (tensor_shape v) (tensor_shape r) (= (tensor_sum r) s1) (= (tensor_sum tr) s1))
(println "slice" (tensor_sum v))
(setq o2 (tensor_slice (tensor_reshape (tensor_arange 0 64) (integers 8 8)) 1 1 3))
(setq junk (spin base 20))
(println "lazy view" (tensor_to_list o2))
; a function's result travels back through a frame that is popped
(defun make () (let ((x (spin base 4))) (tensor_mul_scalar x 2.0)))
(println "return" (tensor_sum (make)))
