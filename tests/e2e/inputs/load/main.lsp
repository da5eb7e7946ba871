; a model split over files, loaded as lispe_torch's exemples/generate_qwen.lisp does
(load (+ _current "model.lsp"))
(setq tok (Tokenizer (+ _current "tok") (configure)))
(setq model (Model "qwen" {"dim": 8} tok 2 (configure)))
(model (describe "hello world"))
(defun run_model (x) (model (forward x)))
(setq y (run_model (tensor_ones (integers 2 3 8))))
(println (tensor_shape y))
