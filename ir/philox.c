/* philox.c: Philox-4x32-10 (Salmon et al., "Parallel random numbers: as
 * easy as 1, 2, 3", SC'11).  A counter-based generator: value number idx
 * of stream seed is a pure function of (seed, idx), so random tensors do
 * not depend on evaluation order or threading. */
#include "ir/ir.h"

#include <math.h>

enum { PH_M0 = 0xD2511F53u, PH_M1 = 0xCD9E8D57u, PH_W0 = 0x9E3779B9u, PH_W1 = 0xBB67AE85u };

/* Ten rounds on counter c with key k (standard constants). */
static void philox10(uint32_t c[4], uint32_t k0, uint32_t k1) {
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)PH_M0 * c[0], p1 = (uint64_t)PH_M1 * c[2];
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        uint32_t n0 = hi1 ^ c[1] ^ k0, n2 = hi0 ^ c[3] ^ k1;
        c[0] = n0; c[1] = lo1; c[2] = n2; c[3] = lo0;
        k0 += PH_W0; k1 += PH_W1;
    }
}

/* Block number blk of stream seed in counter space `space` at call `call`:
 * counter = (blk lo, blk hi, space ^ (call hi << 1), call lo), key = seed.
 * Call 0 is the plain stream, so a value outside a compiled model's call
 * counter (the eager pool, parameter init) is unchanged. */
static void block_at(uint64_t seed, uint64_t call, uint64_t blk, uint32_t space, uint32_t out[4]) {
    out[0] = (uint32_t)blk; out[1] = (uint32_t)(blk >> 32);
    out[2] = space ^ ((uint32_t)(call >> 32) << 1); out[3] = (uint32_t)call;
    philox10(out, (uint32_t)seed, (uint32_t)(seed >> 32));
}

static void block(uint64_t seed, uint64_t blk, uint32_t space, uint32_t out[4]) {
    block_at(seed, 0, blk, space, out);
}

/* Four consecutive values share one block: value idx is word idx % 4 of
 * block idx / 4. */
uint32_t philox_u32_at(uint64_t seed, uint64_t call, uint64_t idx) {
    uint32_t w[4];
    block_at(seed, call, idx >> 2, 0, w);
    return w[idx & 3];
}

uint32_t philox_u32(uint64_t seed, uint64_t idx) { return philox_u32_at(seed, 0, idx); }

/* 24 high bits -> a float in [0,1) that is exact and never rounds to 1. */
float philox_uniform_at(uint64_t seed, uint64_t call, uint64_t idx) {
    return (float)(philox_u32_at(seed, call, idx) >> 8) * 0x1p-24f;
}

float philox_uniform(uint64_t seed, uint64_t idx) { return philox_uniform_at(seed, 0, idx); }

/* Box-Muller on two words of block idx of a separate counter space:
 * z = sqrt(-2 ln u1) cos(2 pi u2), u1 in (0,1]. */
float philox_normal(uint64_t seed, uint64_t idx) {
    uint32_t w[4];
    block(seed, idx, 1, w);
    double u1 = ((double)(w[0] >> 8) + 1.0) * 0x1p-24;
    double u2 = (double)(w[1] >> 8) * 0x1p-24;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}
