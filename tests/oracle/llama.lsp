; Oracle case: the Llama block of examples/llama_block.lsp at ragged sizes
; [E40 H4 Dh10 F70 B3 S11, rotary cache 20 positions].
; Checked by: oracle_check llama heads=4 prefix=blk ffn_eps=1e-5
(use 'lispe_torch)

(setq embed_dim 40)
(setq num_heads 4)
(setq head_dim 10)
(setq ffn_dim 70)
(setq max_seq 20)
(setq batch_size 3)
(setq seq_len 11)

(defun make_llama_block (E Dh F max_len)
    (dictionary
        "attn_norm" (tensor_add_scalar (torch_rand (integers E)) 0.5)
        "wq" (torch_linear E E false)
        "wk" (torch_linear E E false)
        "wv" (torch_linear E E false)
        "wo" (torch_linear E E false)
        "ffn_norm" (tensor_add_scalar (torch_rand (integers E)) 0.5)
        "w_gate" (torch_linear E F false)
        "w_up" (torch_linear E F false)
        "w_down" (torch_linear F E false)
        "rope" (torch_rotary_embedding Dh max_len)))

; [B,S,E] -> [B,H,S,Dh]
(defun split_heads (y B S H)
    (tensor_transpose (tensor_reshape y (integers B S H -1)) 1 2))

; [B,H,S,Dh] -> [B,S,E]
(defun merge_heads (y B S E)
    (tensor_reshape (tensor_contiguous (tensor_transpose y 1 2)) (integers B S E)))

(defun llama_forward (blk x H)
    (setq shape (tensor_size x))
    (setq B (@ shape 0))
    (setq S (@ shape 1))
    (setq E (@ shape 2))
    ; rotary tables for positions 0..S-1: (cos sin), each [S,Dh]
    (setq cs (torch_rotary_forward (@ blk "rope") S nil))
    (setq rc (car cs))
    (setq rs (cadr cs))
    ; attention
    (setq h (tensor_rms_norm x (@ blk "attn_norm")))
    (setq q (torch_apply_rotary_pos_emb
        (split_heads (torch_linear_forward (@ blk "wq") h) B S H) rc rs))
    (setq k (torch_apply_rotary_pos_emb
        (split_heads (torch_linear_forward (@ blk "wk") h) B S H) rc rs))
    (setq v (split_heads (torch_linear_forward (@ blk "wv") h) B S H))
    (setq a (torch_scaled_dot_product_attention q k v nil 0.0 true nil))
    (setq x1 (tensor_add x (torch_linear_forward (@ blk "wo") (merge_heads a B S E))))
    ; SiLU-gated MLP
    (setq h2 (tensor_rms_norm x1 (@ blk "ffn_norm") 1e-5))
    (setq g (tensor_silu (torch_linear_forward (@ blk "w_gate") h2)))
    (setq u (torch_linear_forward (@ blk "w_up") h2))
    (tensor_add x1 (torch_linear_forward (@ blk "w_down") (tensor_mul g u))))

(setq blk (make_llama_block embed_dim head_dim ffn_dim max_seq))
; small inputs (variance ~1e-4) so the RMSNorm eps (1e-6 vs 1e-5) matters
(setq x (tensor_mul_scalar (torch_randn (integers batch_size seq_len embed_dim)) 0.01))
(setq out (llama_forward blk x num_heads))
(println "Llama block output shape:" (torch_size out))
(println "checksum:" (tensor_sum out))
