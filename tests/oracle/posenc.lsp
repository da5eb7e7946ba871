; Oracle case: torch_positional_encoding / torch_positional_forward,
; sequence-first [S,B,d] as lispe_torch: out = x + pe[:S], with
;   pe[p,2i] = sin(p / 10000^(2i/d)), pe[p,2i+1] = cos(p / 10000^(2i/d)).
; [S11 B3 d24, max_len 40].  Also an embedding lookup (out_emb).
; Checked by: oracle_check posenc
(use 'lispe_torch)

(setq penc (torch_positional_encoding 24 40))
(setq x (torch_randn (integers 11 3 24)))
(setq out (torch_positional_forward penc x))

(setq emb (torch_embedding 13 6))
(setq ids (tensor_create (integers 3 12 1 7 7 2 11)))
(setq out_emb (torch_embedding_forward emb ids))
(println "posenc shapes:" (torch_size out) (torch_size out_emb))
