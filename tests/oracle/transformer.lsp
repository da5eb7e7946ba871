; Oracle case: the seed's transformer layer (flash attention, add & layer
; norm, ReLU feed-forward, add & layer norm) at ragged sizes
; [B3 S13 E48 H6 F80].  The functions are the seed's, unchanged: the
; module's dropout 0.1 is inactive outside --train.
; Checked by: oracle_check transformer heads=6 prefix=layer input=x output=output
(use 'lispe_torch)

(defun create_transformer_layer (embed_dim num_heads ffn_dim)
    (dict
        'attention (torch_flash_attention_create embed_dim num_heads 0.1 true)
        'norm1 (torch_layer_norm_create embed_dim)
        'norm2 (torch_layer_norm_create embed_dim)
        'ffn1 (torch_linear_create embed_dim ffn_dim)
        'ffn2 (torch_linear_create ffn_dim embed_dim)
    )
)

(defun transformer_forward (layer x)
    (block
        ; self-attention + residual
        (setq attn_out (torch_flash_attention_forward
            (get layer 'attention) x x x))
        (setq x1 (torch_layer_norm_forward
            (get layer 'norm1) (torch_add x attn_out)))
        ; FFN + residual
        (setq ffn_out (torch_linear_forward (get layer 'ffn2)
            (torch_relu (torch_linear_forward (get layer 'ffn1) x1))))
        (setq output (torch_layer_norm_forward
            (get layer 'norm2) (torch_add x1 ffn_out)))
        output
    )
)

(setq layer (create_transformer_layer 48 6 80))
(setq x (torch_rand (integers 3 13 48)))
(setq output (transformer_forward layer x))
(println "output shape:" (torch_size output))
