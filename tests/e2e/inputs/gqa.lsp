; grouped-query attention: 8 query heads share 2 key/value heads.
; enable_gqa (8th argument of torch_scaled_dot_product_attention), an
; explicit tensor_repeat_interleave and Llama's unsqueeze/expand/reshape
; must agree; compiled, K and V are never copied (see --emit plan).
(setq q (tensor_randn (integers 2 8 12 16)))
(setq k (tensor_randn (integers 2 2 12 16)))
(setq v (tensor_randn (integers 2 2 12 16)))
(defun attend (q k v)
   (torch_scaled_dot_product_attention q k v nil nil true nil true))
(defun attend_repeat (q k v)
   (torch_scaled_dot_product_attention q (tensor_repeat_interleave k 4 1) (tensor_repeat_interleave v 4 1) nil nil true))
(defun repeat_kv (x)
   (setq sh (tensor_shape x))
   (tensor_reshape (tensor_expand (tensor_unsqueeze x 2) (list -1 -1 4 -1 -1)) (list (at sh 0) 8 (at sh 2) 16)))
(defun attend_llama (q k v)
   (torch_scaled_dot_product_attention q (repeat_kv k) (repeat_kv v) nil nil true))
(setq a (attend q k v))
(setq b (attend_repeat q k v))
(setq c (attend_llama q k v))
(println (tensor_shape a))
(println (tensor_sum (tensor_abs (tensor_sub a b))))
(println (tensor_sum (tensor_abs (tensor_sub a c))))
(println (tensor_sum (tensor_mul a q)))
(attend q k v)
