; a stand-in for lispe_torch's Tokenizer class (exemples/tokenize_qwen.lisp):
; same shape, a three-word vocabulary instead of tiktoken
(class@ Tokenizer (path init)
    (defun configure ()
        (setqi vocab (strings "<s>" "hello" "world" "</s>"))
        (setqi eos_id 3))
    (defun encode (s) (integers 0 1 2))
    (defun decode (ids) (join (maplist (lambda (i) (@ vocab i)) ids) " "))
    (defun eos () (integers eos_id)))
