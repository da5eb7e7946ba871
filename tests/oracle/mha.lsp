; Oracle case: torch_multihead_attention / torch_attention_forward,
; sequence-first [S,B,E] as libtorch's nn::MultiheadAttention, E32 H4,
; self-attention (Sq 7) and cross-attention (Sk 10).
; Checked by: oracle_check mha heads=4 prefix=mha
(use 'lispe_torch)

(setq mha (torch_multihead_attention 32 4))
(setq q_in (torch_randn (integers 7 3 32)))
(setq kv_in (torch_randn (integers 10 3 32)))
(setq out_self (torch_attention_forward mha q_in q_in q_in))
(setq out_cross (torch_attention_forward mha q_in kv_in kv_in))
(println "mha shapes:" (torch_size out_self) (torch_size out_cross))
