; flash_transformer_example.lsp: the transformer layer of the original
; specification (lispetorch/docs/flash_attention.md), unchanged:
; flash attention + residual + layer norm, ReLU feed-forward + residual +
; layer norm, at [batch 2, seq 128, embed 256, heads 8, ffn 1024].
;
; Run:      lispetorchc run examples/flash_transformer_example.lsp
; Compile:  lispetorchc examples/flash_transformer_example.lsp -o layer.so
; (the compile entry is the top-level call of transformer_forward)
;
; The module is created with dropout 0.1 as in the spec; lispetorchc
; applies dropout only with --train, so this run is deterministic for a
; given --seed.
(use 'lispe_torch)

; Configuration
(setq embed_dim 256)
(setq num_heads 8)
(setq ffn_dim 1024)
(setq batch_size 2)
(setq seq_len 128)

; A complete transformer layer
(defun create_transformer_layer (embed_dim num_heads ffn_dim)
    (dict
        'attention (torch_flash_attention_create embed_dim num_heads 0.1 true)
        'norm1 (torch_layer_norm_create embed_dim)
        'norm2 (torch_layer_norm_create embed_dim)
        'ffn1 (torch_linear_create embed_dim ffn_dim)
        'ffn2 (torch_linear_create ffn_dim embed_dim)
    )
)

; Forward pass of the layer
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

(setq layer (create_transformer_layer embed_dim num_heads ffn_dim))
(setq x (torch_rand (integers batch_size seq_len embed_dim)))

; Values are computed when needed: taking the checksum inside elapse makes
; the time cover the computation, not only building the graph.
(setq output nil)
(setq checksum nil)
(setq elapsed (elapse
    (setq output (transformer_forward layer x))
    (setq checksum (tensor_sum output))))

(println "Output shape:" (torch_size output))
; The layer ends in a layer norm (weight 1, bias 0), so every row sums to
; ~0 and the plain checksum is rounding noise; the weighted one is not.
(println "Checksum:" checksum)
(println "Weighted checksum (sum of output * x):" (tensor_sum (tensor_mul output x)))
(println "Time:" elapsed "ms")

; `lispetorchc run` compiles the layer's kernels on the first call (see
; docs/cli.md); a second call reuses them and shows the steady-state time.
(setq elapsed2 (elapse (tensor_sum (transformer_forward layer x))))
(println "Time (second call):" elapsed2 "ms")
