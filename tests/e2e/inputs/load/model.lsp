; the class of lispe_torch's exemples/model_qwen.lisp, with a flash
; attention block instead of torch_hf_load_model
(load "tokenizer.lsp")
(class@ Model (model_path config tok (heads 2) init)
    (defun configure ()
        (setqi temperature 0.3)
        (setqi eosid (tok (eos)))
        (setqi attention (torch_flash_attention_create (@ config "dim") heads))
        (setqi norm (torch_layer_norm (@ config "dim"))))
    (defun forward (x)
        (torch_layer_norm_forward norm (+ x (torch_flash_attention_forward attention x x x))))
    (defun describe (prompt)
        (setq ids (tok (encode prompt)))
        (println model_path heads temperature eosid (tok (decode ids)))))
