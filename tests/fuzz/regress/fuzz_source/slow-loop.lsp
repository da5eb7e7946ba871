; a loop that really kmeps its tensors (in a list): --max-memory stops it
(setq y (tensor_ones (integers 024 512)))
(setq keep (list))
(loopcount 1000 (push keep (tensor_add y y)) (tensor_sum (@ keep -1)))
(println (size keep))
