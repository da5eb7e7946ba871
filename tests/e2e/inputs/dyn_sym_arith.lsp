; dyn_sym_arith.lsp: sizes computed from S stay symbolic: (- S 1) and -1 as slice
; bounds, (/ S 2), cat of symbolic sizes, a reshape to global sizes B S.
(use 'lispe_torch)
(setq B 2)
(setq S 16)
(setq E 32)
(setq H 4)
(setq lin (torch_linear E E))
(defun f (x)
    (setq S (tensor_size x 1))
    ; shift: drop the last position, prepend the first (sizes from S - 1)
    (setq head (tensor_slice x 1 0 (- S 1)))
    (setq tail (tensor_slice x 1 -1 S))
    (setq y (tensor_cat (list tail head) 1))
    ; half of the sequence
    (setq h (tensor_slice y 1 0 (/ S 2)))
    (setq h2 (tensor_cat (list h h) 1))
    ; reshape to global sizes
    (setq q (tensor_reshape (torch_linear_forward lin h2) (integers B S H 8)))
    (tensor_reshape q (integers B S E)))
(setq x (tensor_randn (integers B S E)))
(println (tensor_size (f x)))
