; a stray closing parenthesis on line 3
(setq x 1)
(setq y 2))
