; python package test: two entries; 'norm' returns two outputs (a layer norm
; of x and the sum of x over its last axis), 'embed' takes int64 ids
(setq ln (torch_layer_norm_create 8))
(setq emb (torch_embedding 10 8))
(defun norm (x) (list (torch_layer_norm_forward ln x) (tensor_sum_dim x -1)))
(defun embed (ids) (torch_embedding_forward emb ids))
(setq x (tensor_randn (integers 2 5 8)))
(setq ids (tensor_to_long (tensor_mul (tensor_rand (integers 2 5)) 9)))
(norm x)
(embed ids)
