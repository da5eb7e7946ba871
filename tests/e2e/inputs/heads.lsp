; 10 is not a multiple of 3 heads
(setq attn (torch_flash_attention_create 10 3))
