; Oracle case: the flash attention module's entry points at [B2 S7 E36 H3]:
;   out_fwd        torch_flash_attention_forward (bias on, the default)
;   out_mask       torch_flash_attention_with_mask, additive float mask [B,H,S,S]
;   out_nobias     a module created with bias false (lispetorchc: false = no bias)
;   out_drop_eval  torch_flash_attention_with_dropout p=0.5 training=false: no dropout
;   out_cross      key/value of another length (Sk 10; an extension of lispetorchc)
;   out_simple     torch_flash_attention: softmax(q k^T / sqrt(E)) v, one head
; Checked by: oracle_check flash heads=3
(use 'lispe_torch)

(setq fa (torch_flash_attention_create 36 3))
(setq fa_nb (torch_flash_attention_create 36 3 0.0 false))
(setq q_in (torch_randn (integers 2 7 36)))
(setq k_in (torch_randn (integers 2 7 36)))
(setq v_in (torch_randn (integers 2 7 36)))
(setq k_long (torch_randn (integers 2 10 36)))
(setq v_long (torch_randn (integers 2 10 36)))
(setq mask_f (torch_randn (integers 2 3 7 7)))

(setq out_fwd (torch_flash_attention_forward fa q_in k_in v_in))
(setq out_mask (torch_flash_attention_with_mask fa q_in k_in v_in mask_f))
(setq out_nobias (torch_flash_attention_forward fa_nb q_in k_in v_in))
(setq out_drop_eval (torch_flash_attention_with_dropout fa q_in k_in v_in 0.5 false))
(setq out_cross (torch_flash_attention_forward fa q_in k_long v_long))
(setq out_simple (torch_flash_attention q_in k_in v_in))
(println "flash shapes:" (torch_size out_fwd) (torch_size out_cross))
