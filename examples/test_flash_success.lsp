; test_flash_success.lsp: a validation script for flash attention.  Each
; check prints "PASS <what>" or "FAIL <what>"; the last line counts them.
;
; Run:      lispetorchc run examples/test_flash_success.lsp
(use 'lispe_torch)

(setq passed 0)
(setq failed 0)
(defun expect (what ok)
    (ife ok
        (block (println "PASS" what) (setg passed (+ passed 1)))
        (println "FAIL" what)
        (setg failed (+ failed 1))))

(defun max_abs_diff (a b)
    (tensor_max (tensor_abs (tensor_sub a b))))

(setq E 32)
(setq H 4)
(setq D 8)
(setq B 2)
(setq S 12)

(setq fa (torch_flash_attention_create E H 0.0 true))
(setq x (torch_rand (integers B S E)))

; shapes
(setq y (torch_flash_attention_forward fa x x x))
(expect "forward keeps [B,S,E]" (= (torch_size y) (integers B S E)))
(expect "module has q/k/v/out projections"
    (= (keys@ fa) (strings "q_proj" "k_proj" "v_proj" "out_proj")))
(expect "q_proj weight is [E,E]" (= (torch_size (@ fa "q_proj" "weight")) (integers E E)))

; masks
(setq zeros_mask (tensor_zeros (integers S S)))
(expect "zero float mask changes nothing"
    (< (max_abs_diff (torch_flash_attention_with_mask fa x x x zeros_mask) y) 1e-6))
(setq ones_mask (tensor_ones (integers B H S S)))
(expect "constant float mask changes nothing (softmax is shift-invariant)"
    (< (max_abs_diff (torch_flash_attention_with_mask fa x x x ones_mask) y) 1e-5))
(setq causal_mask (tensor_mul_scalar (tensor_triu (tensor_ones (integers S S)) 1) -1e9))
(setq yc (torch_flash_attention_with_mask fa x x x causal_mask))
(expect "causal mask changes the output" (> (max_abs_diff yc y) 1e-4))
(expect "last position sees every key: same as unmasked"
    (< (max_abs_diff (tensor_select yc 1 -1) (tensor_select y 1 -1)) 1e-5))

; dropout: training false is the plain forward pass
(expect "dropout with training false is a no-op"
    (< (max_abs_diff (torch_flash_attention_with_dropout fa x x x 0.5 false) y) 1e-6))
(expect "dropout with training true keeps the shape"
    (= (torch_size (torch_flash_attention_with_dropout fa x x x 0.5 true)) (integers B S E)))

; SDPA on heads [B,H,S,D]
(setq q (torch_randn (integers B H S D)))
(setq k (torch_randn (integers B H S D)))
(setq v (torch_randn (integers B H S D)))
(setq o (torch_scaled_dot_product_attention q k v nil 0.0 false nil))
(expect "SDPA keeps [B,H,S,D]" (= (torch_size o) (integers B H S D)))
(setq oc (torch_scaled_dot_product_attention q k v nil 0.0 true nil))
(setq om (torch_scaled_dot_product_attention q k v causal_mask 0.0 false nil))
(expect "causal SDPA equals the -1e9 additive mask" (< (max_abs_diff oc om) 1e-5))
; with is_causal, query 0 attends only to key 0: its output is v[..,0,:]
(expect "causal SDPA: first query returns the first value"
    (< (max_abs_diff (tensor_select oc 2 0) (tensor_select v 2 0)) 1e-5))
(setq manual (tensor_matmul
    (tensor_softmax (tensor_mul_scalar (tensor_matmul q (tensor_transpose k 2 3)) 0.5) -1) v))
(expect "SDPA scale 0.5 equals softmax(q k^T * 0.5) v"
    (< (max_abs_diff (torch_scaled_dot_product_attention q k v nil 0.0 false 0.5) manual) 1e-5))
(setq default_scale (tensor_matmul
    (tensor_softmax (tensor_mul_scalar (tensor_matmul q (tensor_transpose k 2 3)) (/ 1.0 (sqrt D))) -1) v))
(expect "SDPA default scale is 1/sqrt(D)" (< (max_abs_diff o default_scale) 1e-5))

(println passed "passed," failed "failed")

; compile entry
(defun flash_block (x)
    (torch_flash_attention_forward fa x x x))
(setq out (flash_block x))
