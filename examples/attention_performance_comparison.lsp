; attention_performance_comparison.lsp: three ways to compute the same
; multi-head attention, timed with elapse, and checked against each other.
;   1. the flash attention module            (torch_flash_attention_forward)
;   2. hand-written attention: the module's projections, then
;      softmax(q k^T / sqrt(D) + mask) v with matmul / softmax
;   3. the projections + torch_scaled_dot_product_attention
; At each size the three outputs must agree (max |difference| < 1e-4).
; A causal variant compares the -1e9 additive mask with is_causal.
;
; Run:      lispetorchc run examples/attention_performance_comparison.lsp
(use 'lispe_torch)

(setq embed_dim 64)
(setq num_heads 4)
(setq head_dim 16)
(setq batch_size 2)

(setq attn (torch_flash_attention_create embed_dim num_heads 0.0 true))

; [B,S,E] -> [B,H,S,D]
(defun split_heads (y B S)
    (tensor_transpose (tensor_reshape y (integers B S num_heads head_dim)) 1 2))

; [B,H,S,D] -> [B,S,E]
(defun merge_heads (y B S)
    (tensor_reshape (tensor_contiguous (tensor_transpose y 1 2)) (integers B S embed_dim)))

(defun project (name x B S)
    (split_heads (torch_linear_forward (@ attn name) x) B S))

; softmax(q k^T * scale + mask) v, written out
(defun manual_attention (x mask B S)
    (setq q (project "q_proj" x B S))
    (setq k (project "k_proj" x B S))
    (setq v (project "v_proj" x B S))
    (setq scores (tensor_mul_scalar (tensor_matmul q (tensor_transpose k 2 3))
        (/ 1.0 (sqrt head_dim))))
    (if mask (setq scores (tensor_add scores mask)))
    (setq weights (tensor_softmax scores -1))
    (torch_linear_forward (@ attn "out_proj") (merge_heads (tensor_matmul weights v) B S)))

(defun sdpa_attention (x causal B S)
    (setq o (torch_scaled_dot_product_attention
        (project "q_proj" x B S) (project "k_proj" x B S) (project "v_proj" x B S)
        nil 0.0 causal nil))
    (torch_linear_forward (@ attn "out_proj") (merge_heads o B S)))

(defun max_diff (a b)
    (tensor_max (tensor_abs (tensor_sub a b))))

(defun report (label a b)
    (setq d (max_diff a b))
    (println "   " label "max |diff| =" d (if (< d 1e-4) "agree" "DISAGREE")))

(loop seq_len (integers 32 64 128)
    (println "seq_len" seq_len ":")
    (setq x (torch_rand (integers batch_size seq_len embed_dim)))
    ; tensor_sum inside elapse forces the computation, so it is timed
    (setq t_flash (elapse (setq out_flash (torch_flash_attention_forward attn x x x))
                          (tensor_sum out_flash)))
    (setq t_manual (elapse (setq out_manual (manual_attention x nil batch_size seq_len))
                           (tensor_sum out_manual)))
    (setq t_sdpa (elapse (setq out_sdpa (sdpa_attention x false batch_size seq_len))
                         (tensor_sum out_sdpa)))
    (println "    flash module:" t_flash "ms  manual:" t_manual "ms  SDPA:" t_sdpa "ms")
    (report "flash vs manual:" out_flash out_manual)
    (report "flash vs SDPA:  " out_flash out_sdpa)
    ; causal: additive -1e9 mask vs is_causal
    (setq mask (tensor_mul_scalar (tensor_triu (tensor_ones (integers seq_len seq_len)) 1) -1e9))
    (report "causal manual vs SDPA:" (manual_attention x mask batch_size seq_len)
        (sdpa_attention x true batch_size seq_len)))

; compile entry: the module on a [B,S,E] input
(defun flash_forward (x)
    (torch_flash_attention_forward attn x x x))
(setq y (flash_forward (torch_rand (integers batch_size 16 embed_dim))))
(println "flash_forward output shape:" (torch_size y))
