; What `run` compiles, reuses and leaves to the interpreter, with the
; counts `-v` must print (tests/e2e/CMakeLists.txt):
;   line 11: a linear + sum region, forced 3 times: compiled once, then
;            2 cache hits;
;   line 13: mul + sum, no GEMM: 1 region interpreted by choice (small);
;   line 15: linear + cumsum + sum, forced twice: the CPU backend does not
;            generate cumsum, so 2 fallbacks and one note (at 15:35).
(use 'lispe_torch)
(setq lin (torch_linear 8 8))
(setq x (torch_rand (integers 2 5 8)))
(loopcount 3 (println (tensor_sum (torch_linear_forward lin x))))
; small
(println (tensor_sum (tensor_mul x x)))
; fallback
(loopcount 2 (println (tensor_sum (tensor_cumsum (torch_linear_forward lin x) 2))))
