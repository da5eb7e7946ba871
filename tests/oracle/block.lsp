; Oracle case: torch_transformer_block / torch_transformer_forward, the
; post-LN block of lispe_torch (sequence-first [S,B,E]):
;   x1 = norm1(x + MHA(x,x,x)); out = norm2(x1 + ffn2(relu(ffn1(x1))))
; at [S9 B2 E32 H4 F72].
; Checked by: oracle_check block heads=4 prefix=tblock input=x output=out
(use 'lispe_torch)

(setq tblock (torch_transformer_block 32 4 72))
(setq x (torch_randn (integers 9 2 32)))
(setq out (torch_transformer_forward tblock x))
(println "block output shape:" (torch_size out))
