; dyn_equal.lsp: a size compared for equality is specialised to its value.
(use 'lispe_torch)
(defun f (x)
    (setq S (tensor_size x 1))
    (if (= S 12) (tensor_mul x 2.0) (tensor_mul x 3.0)))
(setq x (tensor_randn (integers 2 12 16)))
(println (tensor_size (f x)))
