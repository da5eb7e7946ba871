; flash_attention_demo.lsp: the flash attention API, one call at a time.
;   torch_flash_attention_create embed_dim num_heads dropout bias
;   torch_flash_attention_forward module query key value     [B,S,E] -> [B,S,E]
;   torch_flash_attention_with_mask module q k v mask         mask broadcast to [B,H,S,S]
;   torch_flash_attention_with_dropout module q k v p training
;   torch_scaled_dot_product_attention q k v mask dropout_p is_causal scale   on [B,H,S,D]
;
; Run:      lispetorchc run examples/flash_attention_demo.lsp
; Compile:  lispetorchc examples/flash_attention_demo.lsp -o demo.so
; (the compile entry is the last top-level call, attention_block)
(use 'lispe_torch)

(setq embed_dim 64)
(setq num_heads 4)
(setq head_dim 16)
(setq batch_size 2)
(setq seq_len 32)

; 1. Create the module: four E x E projections (q, k, v, out) with bias.
(setq flash_attn (torch_flash_attention_create embed_dim num_heads 0.0 true))
(println "module fields:" (keys@ flash_attn))

(setq query (torch_rand (integers batch_size seq_len embed_dim)))
(setq thekey (torch_rand (integers batch_size seq_len embed_dim)))
(setq thevalue (torch_rand (integers batch_size seq_len embed_dim)))

; 2. Forward pass.
(setq output (torch_flash_attention_forward flash_attn query thekey thevalue))
(println "forward output shape:" (torch_size output))

; 3. With a mask.  A float mask is ADDED to the scores (PyTorch >= 2
; semantics): -1e9 above the diagonal makes the attention causal.  The
; [S,S] mask broadcasts over batch and heads.
(setq causal_mask (tensor_mul_scalar (tensor_triu (tensor_ones (integers seq_len seq_len)) 1) -1e9))
(setq masked (torch_flash_attention_with_mask flash_attn query thekey thevalue causal_mask))
(println "masked output shape:" (torch_size masked))
; position 0 sees only key 0 with the causal mask, every key without it
(println "row 0 differs from the unmasked output:"
    (> (tensor_max (tensor_abs (tensor_sub
        (tensor_select masked 1 0) (tensor_select output 1 0)))) 0.0))

; 4. With dropout: p = 0.2, training = true (dropout active).  With
; training false (or nil) no dropout is applied.
(setq dropped (torch_flash_attention_with_dropout flash_attn query thekey thevalue 0.2 true))
(setq not_dropped (torch_flash_attention_with_dropout flash_attn query thekey thevalue 0.2 false))
(println "dropout output shape:" (torch_size dropped))
(println "training false equals forward:"
    (< (tensor_max (tensor_abs (tensor_sub not_dropped output))) 1e-6))

; 5. Scaled dot-product attention directly on heads [B,H,S,D].
(setq q (torch_rand (integers batch_size num_heads seq_len head_dim)))
(setq k (torch_rand (integers batch_size num_heads seq_len head_dim)))
(setq v (torch_rand (integers batch_size num_heads seq_len head_dim)))
(setq sdpa_out (torch_scaled_dot_product_attention q k v nil 0.0 false nil))
(setq causal_out (torch_scaled_dot_product_attention q k v nil 0.0 true nil))
(setq scaled_out (torch_scaled_dot_product_attention q k v nil 0.0 false 0.125))
(println "SDPA output shape:" (torch_size sdpa_out))
(println "causal SDPA output shape:" (torch_size causal_out))
(println "SDPA with scale 0.125 shape:" (torch_size scaled_out))

; 6. A function of tensors: what the compiler compiles.
(defun attention_block (x)
    (torch_flash_attention_forward flash_attn x x x))

(setq y (attention_block query))
(println "attention_block output shape:" (torch_size y))
