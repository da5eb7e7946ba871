; A stack of num_layers post-LN transformer layers (flash attention + add &
; layer norm, ReLU feed-forward + add & layer norm), built in a loop: the
; depth test of `run`, `run --interpret` and `-o`.  Every layer's residual
; joins two paths, so a stack of N layers has 2^N paths from input to
; output: any per-path walk of the graph is exponential in depth.
; tests/e2e/CMakeLists.txt writes copies with num_layers 24 and 48 (it
; replaces the line below; keep it as it is).
(use 'lispe_torch)

(setq num_layers 2)

(defun create_transformer_layer (embed_dim num_heads ffn_dim)
    (dict
        'attention (torch_flash_attention_create embed_dim num_heads 0.1 true)
        'norm1 (torch_layer_norm_create embed_dim)
        'norm2 (torch_layer_norm_create embed_dim)
        'ffn1 (torch_linear_create embed_dim ffn_dim)
        'ffn2 (torch_linear_create ffn_dim embed_dim)))

(defun transformer_forward (layer x)
    (block
        (setq attn_out (torch_flash_attention_forward (get layer 'attention) x x x))
        (setq x1 (torch_layer_norm_forward (get layer 'norm1) (torch_add x attn_out)))
        (setq ffn_out (torch_linear_forward (get layer 'ffn2)
            (torch_relu (torch_linear_forward (get layer 'ffn1) x1))))
        (torch_layer_norm_forward (get layer 'norm2) (torch_add x1 ffn_out))))

(setq layers (list))
(loopcount num_layers (push layers (create_transformer_layer 32 4 64)))

(defun model (x)
    (block
        (setq h x)
        (loop l layers (setq h (transformer_forward l h)))
        h))

(setq x (torch_rand (integers 2 8 32)))
(setq out (model x))
(println "layers:" num_layers "output shape:" (torch_size out))
; the output rows are layer-normed (sum ~0): weight by x to get a checksum
(println "weighted checksum:" (tensor_sum (tensor_mul out x)))
