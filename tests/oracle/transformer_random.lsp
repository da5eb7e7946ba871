; Oracle case: the seed's transformer layer at sizes drawn from the seed
; (run with several --seed): B 1..3, S 1..24, H 1..4, head dim 1..16,
; F 1..64.  The heads count is saved as cfg_heads for the checker.
; Checked by: oracle_check transformer
(use 'lispe_torch)

(defun create_transformer_layer (embed_dim num_heads ffn_dim)
    (dict
        'attention (torch_flash_attention_create embed_dim num_heads 0.1 true)
        'norm1 (torch_layer_norm_create embed_dim)
        'norm2 (torch_layer_norm_create embed_dim)
        'ffn1 (torch_linear_create embed_dim ffn_dim)
        'ffn2 (torch_linear_create ffn_dim embed_dim)))

(defun transformer_forward (layer x)
    (setq attn_out (torch_flash_attention_forward (get layer 'attention) x x x))
    (setq x1 (torch_layer_norm_forward (get layer 'norm1) (torch_add x attn_out)))
    (setq ffn_out (torch_linear_forward (get layer 'ffn2)
        (torch_relu (torch_linear_forward (get layer 'ffn1) x1))))
    (torch_layer_norm_forward (get layer 'norm2) (torch_add x1 ffn_out)))

(setq r (torch_rand (integers 5)))
(defun pick (i lo n) (+ lo (integer (* n (at r i)))))
(setq B (pick 0 1 3))
(setq S (pick 1 1 24))
(setq H (pick 2 1 4))
(setq E (* H (pick 3 1 16)))
(setq F (pick 4 1 64))
(println "sizes B S E H F:" B S E H F)
(setq cfg_heads (tensor_create (integers H)))

(setq layer (create_transformer_layer E H F))
(setq x (torch_rand (integers B S E)))
(setq output (transformer_forward layer x))
