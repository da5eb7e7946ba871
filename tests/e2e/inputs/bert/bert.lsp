; bert.lsp: a small BERT-style encoder whose parameters are named as in
; HuggingFace's BertModel (embeddings.word_embeddings.weight,
; encoder.layer.0.attention.self.query.weight, ...), so that a checkpoint
; in that layout binds with --weights as it is.  Names come from the paths
; of the globals: dictionaries keyed like HF's modules, a list of layers,
; and the flash attention's fields renamed with torch_set_param_names.
(setq V 50)     ; vocabulary
(setq E 16)     ; hidden size
(setq H 2)      ; heads
(setq F 32)     ; intermediate size
(setq L 2)      ; layers
(setq P 32)     ; max positions

(setq embeddings
   (dictionary
      "word_embeddings" (torch_embedding V E)
      "position_embeddings" (torch_embedding P E)
      "token_type_embeddings" (torch_embedding 2 E)
      "LayerNorm" (torch_layer_norm E 1e-12)))

; HF splits attention into attention.self.{query,key,value} and
; attention.output.{dense,LayerNorm}; the flash module holds the first four
; (renamed), the key "attention.output.LayerNorm" the norm beside it.
(defun make_layer ()
   (dictionary
      "attention" (torch_set_param_names (torch_flash_attention_create E H)
                     {"q_proj":"self.query" "k_proj":"self.key" "v_proj":"self.value" "out_proj":"output.dense"})
      "attention.output.LayerNorm" (torch_layer_norm E 1e-12)
      "intermediate" {"dense": (torch_linear E F)}
      "output" {"dense": (torch_linear F E) "LayerNorm": (torch_layer_norm E 1e-12)}))

(setq encoder (dictionary "layer" (list)))
(loopcount L (push (@ encoder "layer") (make_layer)))

; token type 0 everywhere, positions 0..S-1
(defun embed (ids)
   (setq S (tensor_size ids 1))
   (setq pos (tensor_slice (@ embeddings "position_embeddings" "weight") 0 0 S))
   (setq tt (tensor_select (@ embeddings "token_type_embeddings" "weight") 0 0))
   (torch_layer_norm_forward (@ embeddings "LayerNorm")
      (+ (+ (torch_embedding_forward (@ embeddings "word_embeddings") ids) pos) tt)))

; post-LN as BERT: x = LN(x + attn(x)); x = LN(x + W2 gelu(W1 x))
(defun layer_forward (layer x)
   (setq a (torch_flash_attention_forward (@ layer "attention") x x x))
   (setq x (torch_layer_norm_forward (@ layer "attention.output.LayerNorm") (+ x a)))
   (setq h (tensor_gelu (torch_linear_forward (@ layer "intermediate" "dense") x)))
   (torch_layer_norm_forward (@ layer "output" "LayerNorm")
      (+ x (torch_linear_forward (@ layer "output" "dense") h))))

(defun bert (ids)
   (setq x (embed ids))
   (loop layer (@ encoder "layer") (setq x (layer_forward layer x)))
   x)

(setq ids (tensor_create (list (integers 1 7 42 3 9) (integers 0 2 5 49 11))))
(setq y (bert ids))
(println (tensor_shape y))
