; gpt_decoder.lsp: a GPT-style causal decoder stack in plain lispe_torch.
;
;   x = tok_emb[ids] + pos_emb[0:S]                 (learned positions)
;   for each block:  (pre-LN)
;     q,k,v = split(qkv(ln1(x)))                    (one wide QKV linear)
;     x = x + proj(merge(SDPA(q, k, v, causal)))
;     x = x + fc_out(gelu(fc(ln2(x))))              (4x MLP, exact GELU)
;   logits = lm_head(ln_f(x))                       (no bias)
;
; Run:      lispetorchc run examples/gpt_decoder.lsp
; Compile:  lispetorchc examples/gpt_decoder.lsp -o gpt.so
; (the compile entry is the last top-level call, gpt_forward)
(use 'lispe_torch)

(setq vocab_size 100)
(setq embed_dim 64)
(setq num_heads 4)
(setq num_layers 2)
(setq max_pos 32)
(setq batch_size 2)
(setq seq_len 16)

; One pre-LN block.
(defun make_block (E)
    (dictionary
        "ln1" (torch_layer_norm E)
        "qkv" (torch_linear E (* 3 E))
        "proj" (torch_linear E E)
        "ln2" (torch_layer_norm E)
        "fc" (torch_linear E (* 4 E))
        "fc_out" (torch_linear (* 4 E) E)))

(defun make_gpt (vocab positions E n_layers)
    (setq blocks (list))
    (loopcount n_layers (push blocks (make_block E)))
    (dictionary
        "tok_emb" (torch_embedding vocab E)
        "pos_emb" (torch_randn (integers positions E))
        "blocks" blocks
        "ln_f" (torch_layer_norm E)
        "lm_head" (torch_linear E vocab false)))

; [B,S,E] -> [B,H,S,E/H]
(defun split_heads (y B S H)
    (tensor_transpose (tensor_reshape y (integers B S H -1)) 1 2))

; [B,H,S,Dh] -> [B,S,E]
(defun merge_heads (y B S E)
    (tensor_reshape (tensor_contiguous (tensor_transpose y 1 2)) (integers B S E)))

(defun gpt_block (blk x H)
    (setq shape (tensor_size x))
    (setq B (@ shape 0))
    (setq S (@ shape 1))
    (setq E (@ shape 2))
    (setq qkv (torch_linear_forward (@ blk "qkv") (torch_layer_norm_forward (@ blk "ln1") x)))
    (setq q (split_heads (tensor_slice qkv 2 0 E) B S H))
    (setq k (split_heads (tensor_slice qkv 2 E (* 2 E)) B S H))
    (setq v (split_heads (tensor_slice qkv 2 (* 2 E) (* 3 E)) B S H))
    (setq a (torch_scaled_dot_product_attention q k v nil 0.0 true nil))
    (setq x (tensor_add x (torch_linear_forward (@ blk "proj") (merge_heads a B S E))))
    (setq h (torch_layer_norm_forward (@ blk "ln2") x))
    (setq m (torch_linear_forward (@ blk "fc_out")
        (tensor_gelu (torch_linear_forward (@ blk "fc") h))))
    (tensor_add x m))

; ids [B,S] (i64) -> final hidden states [B,S,E]
(defun gpt_hidden (model ids H)
    (setq S (@ (tensor_size ids) 1))
    (setq x (tensor_add
        (torch_embedding_forward (@ model "tok_emb") ids)
        (tensor_slice (@ model "pos_emb") 0 0 S)))
    (loop blk (@ model "blocks")
        (setq x (gpt_block blk x H)))
    (torch_layer_norm_forward (@ model "ln_f") x))

; ids [B,S] -> logits [B,S,vocab]
(defun gpt_forward (model ids H)
    (torch_linear_forward (@ model "lm_head") (gpt_hidden model ids H)))

(setq gpt (make_gpt vocab_size max_pos embed_dim num_layers))
(setq ids (tensor_reshape
    (tensor_create (integers 5 17 42 8 63 1 29 33 12 7 50 2 19 44 61 3
                             9 27 36 4 58 13 22 47 30 6 11 55 40 21 14 38))
    (integers batch_size seq_len)))

(setq hidden (gpt_hidden gpt ids num_heads))
(setq logits (gpt_forward gpt ids num_heads))
(println "hidden shape:" (torch_size hidden))
(println "logits shape:" (torch_size logits))
(println "logits checksum:" (tensor_sum logits))
