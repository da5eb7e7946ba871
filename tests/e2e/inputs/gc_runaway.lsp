; a loop that really keeps its tensors (in a list): --max-memory stops it
(setq y (tensor_ones (integers 512 512)))
(setq keep (list))
(loopcount 1000 (push keep (tensor_add y y)) (tensor_sum (@ keep -1)))
(println (size keep))
