(setq ok 1)
(println (undefined_fn ok))
