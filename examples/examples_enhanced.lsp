; examples_enhanced.lsp: the lispe_torch v2.3.0 features in one script:
; device detection, torch_rand, torch_transpose, `at` on tensors (negative
; indices count from the end), flash attention with a mask and with
; dropout, and an embedding -> flash attention -> layer norm pipeline.
;
; Run:      lispetorchc run examples/examples_enhanced.lsp
; Compile:  lispetorchc examples/examples_enhanced.lsp -o pipeline.so
; (the compile entry is the last top-level call, encode)
(use 'lispe_torch)

; ---- device detection ----
; lispetorchc compiles for the CPU; the queries answer as lispe_torch does
; on a machine without CUDA or MPS.
(setq device (torch_get_best_device))
(println "best device:" device)
(println "CUDA available:" (torch_cuda_is_available))
(println "MPS available:" (torch_mps_is_available))

; ---- enhanced tensor operations ----
(setq r (torch_rand (integers 2 3)))          ; uniform [0,1)
(println "torch_rand [2,3]:" (torch_size r))
(setq rt (torch_transpose r 0 1))
(println "torch_transpose [3,2]:" (torch_size rt))
; `at` indexes the flattened tensor; -1 is the last element
(println "first element:" (at r 0) " last element:" (at r -1))
(println "r[0,1] == rt[1,0]:" (= (at r 1) (at rt 2)))

; ---- flash attention with a mask and with dropout ----
(setq embed_dim 32)
(setq num_heads 4)
(setq batch_size 2)
(setq seq_len 16)
(setq vocab_size 100)

(setq flash_attn (torch_flash_attention_create embed_dim num_heads 0.1 true))
(setq x (torch_rand (integers batch_size seq_len embed_dim)))
; additive float mask [B,H,S,S]: zeros attend everywhere
(setq zero_mask (tensor_zeros (integers batch_size num_heads seq_len seq_len)))
(setq masked (torch_flash_attention_with_mask flash_attn x x x zero_mask))
(println "flash attention with mask:" (torch_size masked))
(setq dropped (torch_flash_attention_with_dropout flash_attn x x x 0.2 true))
(println "flash attention with dropout:" (torch_size dropped))

; ---- embedding -> flash attention -> layer norm ----
(setq encoder (dictionary
    "embedding" (torch_embedding vocab_size embed_dim)
    "attention" flash_attn
    "norm" (torch_layer_norm embed_dim)))

(defun encode (enc ids)
    (setq h (torch_embedding_forward (@ enc "embedding") ids))
    (setq a (torch_flash_attention_forward (@ enc "attention") h h h))
    (torch_layer_norm_forward (@ enc "norm") (tensor_add h a)))

; token ids [B,S] (int64)
(setq ids (tensor_reshape
    (tensor_create (integers
        12 7 99 3 45 45 8 1 60 2 33 71 5 9 18 27
        4 88 16 23 42 42 0 11 57 6 31 74 13 19 50 2))
    (integers batch_size seq_len)))
(setq encoded (encode encoder ids))
(println "pipeline output shape:" (torch_size encoded))
; (a plain sum of layer-norm outputs is ~0 by construction: weight by x)
(println "pipeline checksum (sum of encoded * x):" (tensor_sum (tensor_mul encoded x)))
