; Oracle case: SDPA at sizes drawn from the seed (run with several --seed):
; B 1..3, H 1..4, Sq 1..20, Sk 1..20, D 1..32.  Same checks as sdpa.lsp.
; Checked by: oracle_check sdpa scale=0.3
(use 'lispe_torch)

(setq r (torch_rand (integers 5)))
; lo + floor(n * r[i]): an integer in [lo, lo+n)
(defun pick (i lo n) (+ lo (integer (* n (at r i)))))
(setq B (pick 0 1 3))
(setq H (pick 1 1 4))
(setq Sq (pick 2 1 20))
(setq Sk (pick 3 1 20))
(setq D (pick 4 1 32))
(println "sizes B H Sq Sk D:" B H Sq Sk D)

(setq q (torch_randn (integers B H Sq D)))
(setq k (torch_randn (integers B H Sk D)))
(setq v (torch_randn (integers B H Sk D)))
(setq out_plain (torch_scaled_dot_product_attention q k v nil 0.0 false nil))
(setq mask_float (torch_randn (integers Sq Sk)))
(setq out_float (torch_scaled_dot_product_attention q k v mask_float 0.0 false nil))
(setq mask_neg (tensor_mul_scalar (tensor_triu (tensor_ones (integers Sq Sk)) 1) -1e9))
(setq out_neg (torch_scaled_dot_product_attention q k v mask_neg 0.0 false nil))
(setq out_causal (torch_scaled_dot_product_attention q k v nil 0.0 true nil))
(setq out_scale (torch_scaled_dot_product_attention q k v nil 0.0 false 0.3))

; A compile entry (the last top-level call): masked and causal attention.
; Its outputs are checked like the others (tags "fn" and "causal_fn").
; (The argument names are the globals' names: the compiled entry's inputs
; are looked up by them in the saved file.)
(defun attention_pair (q k v mask_fn)
    (list (torch_scaled_dot_product_attention q k v mask_fn 0.0 false nil)
          (torch_scaled_dot_product_attention q k v nil 0.0 true nil)))
(setq mask_fn (torch_randn (integers Sq Sk)))
(setq pair (attention_pair q k v mask_fn))
(setq out_fn (car pair))
(setq out_causal_fn (cadr pair))
