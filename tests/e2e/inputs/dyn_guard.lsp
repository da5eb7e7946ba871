; dyn_guard.lsp: sizes the script uses as numbers are specialised, with a
; warning naming the line, and the model refuses other sizes.
(use 'lispe_torch)
(setq lin (torch_linear 16 16))
(defun f (x)
    (setq S (tensor_size x 1))
    ; a branch on the size: S is specialised to its traced value (guard)
    (if (> S 100) (setq y x) (setq y (torch_linear_forward lin x)))
    ; a slice end past the traced size reads to the end while S <= 64
    (setq z (tensor_slice y 1 0 64))
    (tensor_mul z 2.0))
(setq x (tensor_randn (integers 2 12 16)))
(println (tensor_size (f x)))
