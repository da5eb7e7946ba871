; Oracle case: grouped- and multi-query attention at sizes drawn from the
; seed: B 1..2, Hkv 1..3, G 1..4 (Hq = G*Hkv), Sq 1..20, Sk 1..20, D 1..32.
; enable_gqa, tensor_repeat_interleave and Llama's unsqueeze/expand/reshape
; are each checked against libtorch on K, V repeat_interleave'd G times.
; Checked by: oracle_check gqa
(use 'lispe_torch)

(setq r (torch_rand (integers 6)))
(defun pick (i lo n) (+ lo (integer (* n (at r i)))))
(setq B (pick 0 1 2))
(setq Hkv (pick 1 1 3))
(setq G (pick 2 1 4))
(setq Hq (* G Hkv))
(setq Sq (pick 3 1 20))
(setq Sk (pick 4 1 20))
(setq D (pick 5 1 32))
(println "sizes B Hq Hkv Sq Sk D:" B Hq Hkv Sq Sk D)

(setq q (torch_randn (integers B Hq Sq D)))
(setq k (torch_randn (integers B Hkv Sk D)))
(setq v (torch_randn (integers B Hkv Sk D)))
(setq out_gqa (torch_scaled_dot_product_attention q k v nil 0.0 false nil true))
(setq out_gqa_causal (torch_scaled_dot_product_attention q k v nil 0.0 true nil true))
(setq mask_gqa_float (torch_randn (integers Sq Sk)))
(setq out_gqa_float (torch_scaled_dot_product_attention q k v mask_gqa_float 0.0 false nil true))
(setq out_repeat (torch_scaled_dot_product_attention q (tensor_repeat_interleave k G 1) (tensor_repeat_interleave v G 1)))

; A compile entry (the last top-level call): Llama's repeat_kv, causal.
(defun repeat_kv (x)
   (setq sh (tensor_shape x))
   (tensor_reshape (tensor_expand (tensor_unsqueeze x 2) (list -1 -1 G -1 -1))
                   (list (at sh 0) (* G (at sh 1)) (at sh 2) (at sh 3))))
(defun attend_llama (q k v)
   (torch_scaled_dot_product_attention q (repeat_kv k) (repeat_kv v) nil 0.0 true nil))
(setq out_llama_causal (attend_llama q k v))
