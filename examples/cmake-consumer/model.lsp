; model.lsp: the consumer's model, small enough to check by hand.
;   y[b,i,j] = relu(0.5 * (x[b,i,:] . x[b,j,:]) - 1)
; x is [B,S,E]: B and S are symbolic (any batch and sequence length), E = 3.
(load "layers.lsp")
(defun similarity (x)
  (shifted_relu (tensor_mul_scalar (tensor_matmul x (tensor_permute x (integers 0 2 1))) 0.5) -1.0))
(similarity (tensor_ones (integers 2 4 3)))
