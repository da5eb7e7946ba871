; layers.lsp: a part of the model that model.lsp loads.  The compiler's
; depfile names it, so editing (or touching) it rebuilds the model.
(defun shifted_relu (x k) (tensor_relu (tensor_add_scalar x k)))
