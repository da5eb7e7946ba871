; Oracle case: torch_scaled_dot_product_attention on [B2 H3 Sq7 Sk11 D5]
; (ragged on purpose, Sk != Sq).  Every global out_<tag> is checked
; against softmax(q k^T * scale + mask) v; mask_<tag> is its mask; a tag
; with "causal" is causal (top-left: key j <= query i); "scale" uses 0.3.
; Checked by: oracle_check sdpa scale=0.3
(use 'lispe_torch)

(setq q (torch_randn (integers 2 3 7 5)))
(setq k (torch_randn (integers 2 3 11 5)))
(setq v (torch_randn (integers 2 3 11 5)))

; no mask, default scale 1/sqrt(5)
(setq out_plain (torch_scaled_dot_product_attention q k v nil 0.0 false nil))

; additive float mask [Sq,Sk], broadcast over batch and heads
(setq mask_float (torch_randn (integers 7 11)))
(setq out_float (torch_scaled_dot_product_attention q k v mask_float 0.0 false nil))

; additive float mask per batch [B,1,Sq,Sk]
(setq mask_batch (torch_randn (integers 2 1 7 11)))
(setq out_batch (torch_scaled_dot_product_attention q k v mask_batch 0.0 false nil))

; -1e9 above the diagonal: the additive form of a causal mask
(setq mask_neg (tensor_mul_scalar (tensor_triu (tensor_ones (integers 7 11)) 1) -1e9))
(setq out_neg (torch_scaled_dot_product_attention q k v mask_neg 0.0 false nil))

; bool keep-mask [Sq,Sk] (true = attend): the lower triangle with the
; diagonal, plus the first 4 keys of every row; tensor_to_bool makes it
(setq mask_bool (tensor_to_bool (tensor_add (tensor_tril (tensor_ones (integers 7 11)) 0)
                                            (tensor_cat (list (tensor_ones (integers 7 4)) (tensor_zeros (integers 7 7))) 1))))
(setq out_bool (torch_scaled_dot_product_attention q k v mask_bool 0.0 false nil))

; is_causal
(setq out_causal (torch_scaled_dot_product_attention q k v nil 0.0 true nil))

; explicit scale
(setq out_scale (torch_scaled_dot_product_attention q k v nil 0.0 false 0.3))

(println "sdpa shapes:" (torch_size out_plain) (torch_size out_causal))
