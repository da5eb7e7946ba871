/* kernel_footprint.c: the footprint function of each kernel family
 * (kernel_contract.h, kernel_families.def).
 *
 * Each restates, for the code its family's generator emits (codegen/cpu/
 * k_*.c), the highest element a tile range [0, ntiles) can reach in every
 * buffer argument; need = (that element + 1) * element size, 0 when the
 * kernel touches nothing there (no tiles, an empty row).  Offsets are sums
 * of index * stride with every index at its largest value, so the bound
 * holds for any dims (all >= 0).  Where a buffer is read only for some
 * compile-time variants (a bias, a residual), the bound applies to the
 * argument anyway: the lowering then passes the output buffer, which is at
 * least as large.  Tile counts beyond what the dims define are refused;
 * where the kernel divides by a dim (row -> (batch, head) index), that dim
 * must not be 0 when there are tiles.
 *
 * All arithmetic is overflow-checked (the `o` flag): a plan whose sizes do
 * not fit in int64 is refused as such. */
#include "plan/kernel_contract.h"

#include <stdio.h>
#include <string.h>

static int64_t M(int64_t a, int64_t b, bool *o) {
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r)) { *o = true; return 0; }
    return r;
}
static int64_t A(int64_t a, int64_t b, bool *o) {
    int64_t r;
    if (__builtin_add_overflow(a, b, &r)) { *o = true; return 0; }
    return r;
}
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t cdiv(int64_t a, int64_t b) { return b > 0 ? a / b + (a % b != 0) : 0; }

static int why_(char *why, size_t n, const char *msg, long long a, long long b) {
    snprintf(why, n, msg, a, b);
    return -1;
}
#define OVERFLOW(o) if (o) return why_(why, n, "sizes overflow int64%.0lld%.0lld", 0, 0)

/* tiles <= limit, where limit is what the dims define */
static int tiles_le(const KfStep *s, int64_t limit, const char *what, char *why, size_t n) {
    if (s->ntiles <= limit) return 0;
    char msg[160];
    snprintf(msg, sizeof msg, "tile count %%lld exceeds the %%lld %s", what);
    return why_(why, n, msg, (long long)s->ntiles, (long long)limit);
}

static bool esize_ok(int64_t e) { return e == 1 || e == 2 || e == 4 || e == 8; }
/* a float tensor's element in compiled buffers: 4 (f32) or 2 (bf16, f16) */
static bool fsize_ok(int64_t e) { return e == 2 || e == 4; }

/* ---- gemm (k_gemm.c) ----------------------------------------------------------------
 * bufs [A, B, bias, res, C]; consts [variant (0 linear, 1 qkv_linear, 2
 * matmul; | KF_GEMM_ROWS: row-blocked tiles), nr (panel width), packed (B
 * holds prepacked panels), fe (bytes of a float element of A, W, bias,
 * res, C: 4 f32, 2 bf16/f16; packed panels are f32)].
 * linear  dims [M, N, K, lda, ldc, ldr]; qkv adds [S, Dh, E, ps, ls, hs];
 * matmul  dims [M, N, K, lda, ldb, ldc, nb0, nb1, sa0, sa1, sb0, sb1, ncb].
 * Rows past M are clamped to M-1 and columns past N masked, so a tile
 * reads rows < M, columns < N and k < K; a tile whose column block lies
 * past N does nothing. */
int kf_gemm(const KfStep *s, int64_t *need, char *why, size_t n) {
    const int64_t *d = s->dims, *k = s->consts;
    int64_t variant = k[0] & ~(int64_t)KF_GEMM_ROWS, nr = k[1], packed = k[2], fe = k[3];
    bool rows = (k[0] & KF_GEMM_ROWS) != 0;
    int want = variant == 0 ? 6 : variant == 1 ? 12 : variant == 2 ? 13 : -1;
    if (want < 0) return why_(why, n, "unknown gemm variant %lld%.0lld", (long long)variant, 0);
    if (s->ndims != want) return why_(why, n, "%lld dims, this gemm variant has %lld", s->ndims, want);
    if (nr < 1 || nr > 4096 || packed < 0 || packed > 1 || (packed && variant == 2) || !fsize_ok(fe))
        return why_(why, n, "bad gemm constants (nr %lld, packed %lld)", (long long)nr, (long long)packed);
    int64_t Mr = d[0], N = d[1], K = d[2], lda = d[3];
    bool o = false;
    /* row-blocked (GPU): a slot per row block at most, or KF_GEMM_MAX_SLOTS */
    int64_t slots = rows ? (Mr > KF_GEMM_MAX_SLOTS ? Mr : KF_GEMM_MAX_SLOTS) : 1;
    if (rows && s->ntiles > INT32_MAX)   /* the GPU kernels split the tile index in 32 bits */
        return why_(why, n, "tile count %lld of a row-blocked gemm is 2^31 or more%.0lld", (long long)s->ntiles, 0);
    for (int i = 0; i < 5; i++) need[i] = 0;
    if (variant < 2) {
        int64_t ldc = d[4], ldr = d[5];
        /* tiles: column blocks of nb columns, nb a multiple of nr that the
         * plan does not hold (gemm_config); so the bound is the
         * conservative ceil(N/nr) >= ceil(N/nb): a tile past the last block
         * has no columns (nbw <= 0) and touches nothing */
        if (tiles_le(s, M(cdiv(N, nr), slots, &o), rows ? "row slots x column panels of N" : "column panels of N", why, n))
            return -1;
        if (s->ntiles == 0 || N == 0) return 0;
        if (K > 0) {
            if (Mr > 0) need[0] = M(A(M(Mr - 1, lda, &o), K, &o), fe, &o);
            /* packed: [panel][K][nr] for ceil(N/nr) panels; else W [N, K] */
            need[1] = packed ? M(M(M(cdiv(N, nr), K, &o), nr, &o), 4, &o) : M(M(N, K, &o), fe, &o);
        }
        if (Mr == 0) { OVERFLOW(o); return 0; }
        need[2] = M(N, fe, &o);
        need[3] = M(A(M(Mr - 1, ldr, &o), N, &o), fe, &o);
        if (variant == 0) {
            need[4] = M(A(M(Mr - 1, ldc, &o), N, &o), fe, &o);
        } else {
            /* head-split C: row r -> (r/S)*ls + (r%S)*Dh, column c ->
             * (c/E)*ps + ((c%E)/Dh)*hs + c%Dh; each quotient at its largest */
            int64_t S = d[6], Dh = d[7], E = d[8], ps = d[9], ls = d[10], hs = d[11];
            if (S == 0 || Dh == 0 || E == 0) return why_(why, n, "qkv gemm divides by S %lld, Dh or E %lld", S, min64(Dh, E));
            int64_t last = A(A(M((Mr - 1) / S, ls, &o), M(min64(S - 1, Mr - 1), Dh, &o), &o),
                             A(A(M((N - 1) / E, ps, &o), M(min64(E - 1, N - 1) / Dh, hs, &o), &o),
                               min64(Dh - 1, N - 1), &o), &o);
            need[4] = M(A(last, 1, &o), fe, &o);
        }
    } else {
        int64_t ldb = d[4], ldc = d[5], nb0 = d[6], nb1 = d[7], sa0 = d[8], sa1 = d[9];
        int64_t sb0 = d[10], sb1 = d[11], ncb = d[12];
        int64_t nbat = M(nb0, nb1, &o);
        OVERFLOW(o);
        /* tiles: (batch entry, column block) pairs, or batch entries */
        if (tiles_le(s, M(ncb > 0 ? M(nbat, ncb, &o) : nbat, slots, &o),
                     rows ? "batch x row slots x column blocks of the dims" : "batch x column blocks of the dims", why, n))
            return -1;
        OVERFLOW(o);
        if (s->ntiles == 0 || N == 0) return 0;
        int64_t boffa = A(M(nb0 - 1, sa0, &o), M(nb1 - 1, sa1, &o), &o);
        int64_t boffb = A(M(nb0 - 1, sb0, &o), M(nb1 - 1, sb1, &o), &o);
        if (K > 0) {
            if (Mr > 0) need[0] = M(A(A(boffa, M(Mr - 1, lda, &o), &o), K, &o), fe, &o);
            need[1] = M(A(A(boffb, M(K - 1, ldb, &o), &o), N, &o), fe, &o);
        }
        if (Mr > 0) need[4] = M(A(M(A(M(nbat, Mr, &o), -1, &o), ldc, &o), N, &o), fe, &o);
    }
    OVERFLOW(o);
    return 0;
}

/* gemm_pack: bufs [W [N, K], packed]; dims [N, K]; consts [nr, fe (W's
 * element: 4 or 2)].  Tile t
 * writes panel t ([K][nr] floats) from W rows t*nr.. (rows past N are
 * zeros: W row 0 is read in their place). */
int kf_gemm_pack(const KfStep *s, int64_t *need, char *why, size_t n) {
    int64_t N = s->dims[0], K = s->dims[1], nr = s->consts[0], fe = s->consts[1];
    bool o = false;
    if (!fsize_ok(fe)) return why_(why, n, "bad float element size %lld%.0lld", (long long)fe, 0);
    if (nr < 1 || nr > 4096) return why_(why, n, "bad panel width %lld%.0lld", (long long)nr, 0);
    if (tiles_le(s, cdiv(N, nr), "panels of N", why, n)) return -1;
    need[0] = need[1] = 0;
    if (s->ntiles == 0 || K == 0) return 0;
    need[0] = M(M(N, K, &o), fe, &o);
    need[1] = M(M(M(s->ntiles, K, &o), nr, &o), 4, &o);
    OVERFLOW(o);
    return 0;
}

/* ---- flash_attention (k_attn.c) -------------------------------------------------------
 * bufs [Q, K, V, mask, out]; dims [Sq, Sk, nb1, qs0, qs1, ks0, ks1, vs0,
 * vs1, ms0, ms1, msi, msj, qss, kss, vss, seed_lo, seed_hi]; consts [D,
 * Dv, G (query heads per key/value head), mask element size (0: none; 1
 * bool, else fe), fe (bytes of a Q, K, V, out element: 4 or 2)].
 * Tile t is query row t of the flattened [b0, b1, Sq]: b1 = (t/Sq) % nb1,
 * b0 = (t/Sq) / nb1, i = t % Sq.  Q row i, D floats; K and V rows < Sk of
 * head b1/G (D and Dv floats); mask [i, j < Sk]; out row t, Dv floats. */
int kf_flash_attention(const KfStep *s, int64_t *need, char *why, size_t n) {
    const int64_t *d = s->dims, *k = s->consts;
    int64_t D = k[0], Dv = k[1], G = k[2], mes = k[3], fe = k[4];
    bool o = false;
    if (D < 1 || D > 512 || Dv < 1 || Dv > 512 || G < 1 || (mes != 0 && mes != 1 && mes != 2 && mes != 4) || !fsize_ok(fe))
        return why_(why, n, "bad attention constants (D %lld, Dv %lld)", (long long)D, (long long)Dv);
    for (int i = 0; i < 5; i++) need[i] = 0;
    int64_t T = s->ntiles, Sq = d[0], Sk = d[1], nb1 = d[2];
    if (T == 0) return 0;
    if (Sq == 0 || nb1 == 0) return why_(why, n, "attention divides by Sq %lld or nb1 %lld", Sq, nb1);
    int64_t bh = (T - 1) / Sq, b0 = bh / nb1, b1 = min64(nb1 - 1, bh), im = min64(Sq - 1, T - 1);
    need[0] = M(A(A(A(M(b0, d[3], &o), M(b1, d[4], &o), &o), M(im, d[13], &o), &o), D, &o), fe, &o);
    if (Sk > 0) {
        need[1] = M(A(A(A(M(b0, d[5], &o), M(b1 / G, d[6], &o), &o), M(Sk - 1, d[14], &o), &o), D, &o), fe, &o);
        need[2] = M(A(A(A(M(b0, d[7], &o), M(b1 / G, d[8], &o), &o), M(Sk - 1, d[15], &o), &o), Dv, &o), fe, &o);
        if (mes)
            need[3] = M(A(A(A(A(M(b0, d[9], &o), M(b1, d[10], &o), &o), M(im, d[11], &o), &o),
                          M(Sk - 1, d[12], &o), &o), 1, &o), mes, &o);
    }
    need[4] = M(M(T, Dv, &o), fe, &o);
    OVERFLOW(o);
    return 0;
}

/* ---- row kernels (k_norm.c): one row of N floats per tile ------------------------------
 * bufs [x, r, w, b, out, sum]; dims [rows, N].  x, r, out, sum: rows of N;
 * w, b: N floats.  Absent operands are the output buffer.  consts [fe:
 * bytes of an element, 4 or 2]. */
int kf_norm(const KfStep *s, int64_t *need, char *why, size_t n) {
    int64_t T = s->ntiles, N = s->dims[1], fe = s->consts[0];
    bool o = false;
    if (!fsize_ok(fe)) return why_(why, n, "bad float element size %lld%.0lld", (long long)fe, 0);
    if (tiles_le(s, s->dims[0], "rows of dims[0]", why, n)) return -1;
    int64_t rows = T ? M(M(T, N, &o), fe, &o) : 0, vec = T ? M(N, fe, &o) : 0;
    need[0] = need[1] = need[4] = need[5] = rows;
    need[2] = need[3] = vec;
    OVERFLOW(o);
    return 0;
}

/* softmax: the same layout; only x and out are used. */
int kf_softmax(const KfStep *s, int64_t *need, char *why, size_t n) {
    int64_t T = s->ntiles, N = s->dims[1], fe = s->consts[0];
    bool o = false;
    if (!fsize_ok(fe)) return why_(why, n, "bad float element size %lld%.0lld", (long long)fe, 0);
    if (tiles_le(s, s->dims[0], "rows of dims[0]", why, n)) return -1;
    for (int i = 0; i < 6; i++) need[i] = 0;
    need[0] = need[4] = T ? M(M(T, N, &o), fe, &o) : 0;
    OVERFLOW(o);
    return 0;
}

/* ---- eltwise (k_eltwise.c) --------------------------------------------------------------
 * bufs [in0, in1, out]; dims [cols, nlead, size[nlead], st0[nlead],
 * st1[nlead]]; consts [inputs read (1 or 2), in0 contiguous in the last
 * dim (else one broadcast element), in1 the same, in1 element size (1 for
 * a bool mask, else fe), fe (bytes of in0's and out's element: 4 or 2)].
 * Tile t is output row t; its leading indices are
 * the mixed-radix digits of t over size[], so t < prod(size). */
int kf_eltwise(const KfStep *s, int64_t *need, char *why, size_t n) {
    const int64_t *d = s->dims, *k = s->consts;
    int64_t cols = d[0], nl = d[1];
    bool o = false;
    if (nl < 0 || nl > 4 || s->ndims != 2 + 3 * nl)
        return why_(why, n, "%lld dims for %lld leading dims", s->ndims, (long long)nl);
    if (k[0] < 1 || k[0] > 2 || (k[3] != 1 && k[3] != k[4]) || !fsize_ok(k[4])) return why_(why, n, "bad eltwise constants%.0lld%.0lld", 0, 0);
    int64_t rows = 1;
    for (int i = 0; i < nl; i++) rows = M(rows, d[2 + i], &o);
    OVERFLOW(o);
    if (tiles_le(s, rows, "rows of the leading dims", why, n)) return -1;
    need[0] = need[1] = need[2] = 0;
    if (s->ntiles == 0 || cols == 0) return 0;
    for (int in = 0; in < k[0]; in++) {
        int64_t last = 0;
        for (int i = 0; i < nl; i++) last = A(last, M(d[2 + i] - 1, d[2 + nl * (1 + in) + i], &o), &o);
        int64_t es = in == 1 ? k[3] : k[4];
        need[in] = M(A(last, k[1 + in] ? cols : 1, &o), es, &o);
    }
    need[2] = M(M(s->ntiles, cols, &o), k[4], &o);
    OVERFLOW(o);
    return 0;
}

/* ---- dropout (k_dropout.c): bufs [x, out]; dims [numel, seed_lo, seed_hi];
 * consts [fe: bytes of an element, 4 or 2].
 * Tiles are blocks of 4096 elements, clamped to numel; the lowering's tile
 * count ceil(k/4096)*syms never exceeds numel. */
int kf_dropout(const KfStep *s, int64_t *need, char *why, size_t n) {
    int64_t N = s->dims[0], fe = s->consts[0];
    bool o = false;
    if (!fsize_ok(fe)) return why_(why, n, "bad float element size %lld%.0lld", (long long)fe, 0);
    if (tiles_le(s, N, "elements of dims[0]", why, n)) return -1;
    need[0] = need[1] = s->ntiles ? M(N, fe, &o) : 0;
    OVERFLOW(o);
    return 0;
}

/* ---- k_misc.c -------------------------------------------------------------------------------
 * reduce: bufs [x, y]; dims [outer, len, inner]; consts [y element size
 * (8 argmax, 4 or 2 for a float result), x element size (4 or 2)].  Tile t = (o, i) = (t / inner, t % inner) reads x[o, j <
 * len, i] and writes y[t]. */
int kf_reduce(const KfStep *s, int64_t *need, char *why, size_t n) {
    int64_t outer = s->dims[0], len = s->dims[1], inner = s->dims[2], T = s->ntiles, es = s->consts[0], xe = s->consts[1];
    bool o = false;
    if ((es != 2 && es != 4 && es != 8) || !fsize_ok(xe)) return why_(why, n, "bad reduce element size %lld%.0lld", (long long)es, 0);
    if (tiles_le(s, M(outer, inner, &o), "outputs of the dims", why, n)) return -1;
    OVERFLOW(o);
    need[0] = need[1] = 0;
    if (T == 0) return 0;
    if (len > 0) {
        int64_t last = A(A(M(M((T - 1) / inner, len, &o), inner, &o), min64(inner - 1, T - 1), &o),
                         M(len - 1, inner, &o), &o);
        need[0] = M(A(last, 1, &o), xe, &o);
    }
    need[1] = M(T, es, &o);
    OVERFLOW(o);
    return 0;
}

/* copy: bufs [x, y]; dims [cols, nlead, size[nlead], st[nlead], last,
 * base]; consts [element size].  Output row t, contiguous; the input at
 * base + sum digit_i * st_i + j * last. */
int kf_copy(const KfStep *s, int64_t *need, char *why, size_t n) {
    const int64_t *d = s->dims;
    int64_t cols = d[0], nl = d[1], es = s->consts[0];
    bool o = false;
    if (nl < 0 || nl > 6 || s->ndims != 4 + 2 * nl)
        return why_(why, n, "%lld dims for %lld leading dims", s->ndims, (long long)nl);
    if (!esize_ok(es)) return why_(why, n, "bad element size %lld%.0lld", (long long)es, 0);
    int64_t rows = 1, last = d[3 + 2 * nl];
    for (int i = 0; i < nl; i++) {
        rows = M(rows, d[2 + i], &o);
        last = A(last, M(d[2 + i] - 1, d[2 + nl + i], &o), &o);
    }
    OVERFLOW(o);
    if (tiles_le(s, rows, "rows of the leading dims", why, n)) return -1;
    need[0] = need[1] = 0;
    if (s->ntiles == 0 || cols == 0) return 0;
    need[0] = M(A(A(last, M(cols - 1, d[2 + 2 * nl], &o), &o), 1, &o), es, &o);
    need[1] = M(M(s->ntiles, cols, &o), es, &o);
    OVERFLOW(o);
    return 0;
}

/* cat: bufs [in[G], out]; dims [G, total, chunk[G], offset[G]]; consts
 * [element size].  Row t of input k (chunk[k] elements) goes to out[t *
 * total + offset[k]..]; the rows come from the tile count alone. */
int kf_cat(const KfStep *s, int64_t *need, char *why, size_t n) {
    const int64_t *d = s->dims;
    int64_t G = d[0], total = d[1], es = s->consts[0], T = s->ntiles;
    bool o = false;
    if (G < 1 || G > KF_MAX_ARGS - 1 || s->nbufs != G + 1 || s->ndims != 2 + 2 * G)
        return why_(why, n, "a cat of %lld inputs with %lld buffers", (long long)G, s->nbufs);
    if (!esize_ok(es)) return why_(why, n, "bad element size %lld%.0lld", (long long)es, 0);
    int64_t end = 0;
    for (int j = 0; j <= G; j++) need[j] = 0;
    for (int j = 0; j < G && T; j++) {
        int64_t ch = d[2 + j], off = d[2 + G + j];
        if (ch == 0) continue;
        need[j] = M(M(T, ch, &o), es, &o);
        int64_t e = A(off, ch, &o);
        if (e > end) end = e;
    }
    if (end) need[G] = M(A(M(T - 1, total, &o), end, &o), es, &o);
    OVERFLOW(o);
    return 0;
}

/* misc: consts [variant, out element size, in element size];
 *   1 embedding   bufs [ids (i64), table, out]; dims [num, dim]: tile = id;
 *                 an id out of range reads row 0 (and writes zeros);
 *   2 full/arange bufs [out]; dims [cols]: tile = row;
 *   3 triu/tril   bufs [x, out]; dims [rows, cols]: tile = row, t % rows;
 *   4 cast        bufs [x, out]; dims [cols]: tile = row. */
int kf_misc(const KfStep *s, int64_t *need, char *why, size_t n) {
    const int64_t *d = s->dims, *k = s->consts;
    int64_t v = k[0], eo = k[1], ei = k[2], T = s->ntiles;
    static const int nb[5] = {0, 3, 1, 2, 2}, nd[5] = {0, 2, 1, 2, 1};
    bool o = false;
    if (v < 1 || v > 4 || !esize_ok(eo) || (v != 2 && !esize_ok(ei)))
        return why_(why, n, "bad misc constants (variant %lld, element size %lld)", (long long)v, (long long)eo);
    if (s->nbufs != nb[v] || s->ndims != nd[v])
        return why_(why, n, "%lld buffers, %lld dims for this misc variant", s->nbufs, s->ndims);
    for (int i = 0; i < s->nbufs; i++) need[i] = 0;
    if (T == 0) return 0;
    int64_t cols = v == 1 ? d[1] : v == 3 ? d[1] : d[0];
    int64_t rows = M(M(T, cols, &o), eo, &o);
    switch (v) {
    case 1:
        need[0] = M(T, 8, &o);
        need[1] = M(M(d[0] > 0 ? d[0] : 1, cols, &o), ei, &o);
        need[2] = rows;
        break;
    case 2: need[0] = rows; break;
    case 3:
        if (d[0] == 0) return why_(why, n, "triu/tril divides by rows %lld%.0lld", 0, 0);
        need[0] = M(M(T, cols, &o), ei, &o);
        need[1] = rows;
        break;
    case 4:
        need[0] = M(M(T, cols, &o), ei, &o);
        need[1] = rows;
        break;
    }
    OVERFLOW(o);
    return 0;
}

/* ---- the tests' toy kernels (tests/unit/rt_testlib.h) ------------------------------------ */
int kf_toy_pack(const KfStep *s, int64_t *need, char *why, size_t n) {
    bool o = false;
    (void)why; (void)n;
    need[0] = need[1] = M(s->dims[0], 4, &o);
    need[2] = M(s->dims[0], 8, &o);
    OVERFLOW(o);
    return 0;
}
int kf_toy_rows(const KfStep *s, int64_t *need, char *why, size_t n) {
    bool o = false;
    (void)why; (void)n;
    need[0] = need[1] = M(M(s->ntiles, s->dims[0], &o), 4, &o);
    OVERFLOW(o);
    return 0;
}
int kf_toy_affine(const KfStep *s, int64_t *need, char *why, size_t n) {
    bool o = false;
    (void)why; (void)n;
    need[0] = need[2] = M(M(s->ntiles, s->dims[0], &o), 4, &o);
    need[1] = M(s->dims[0], 8, &o);
    OVERFLOW(o);
    return 0;
}
int kf_toy_rowsum(const KfStep *s, int64_t *need, char *why, size_t n) {
    bool o = false;
    (void)why; (void)n;
    need[0] = M(M(s->ntiles, s->dims[0], &o), 4, &o);
    need[1] = M(s->ntiles, 4, &o);
    OVERFLOW(o);
    return 0;
}

/* ---- the table ----------------------------------------------------------------------------- */
static const KernelFamily families[] = {
#define KF(name, b0, b1, d0, d1, nc, fn, alone) {#name, b0, b1, d0, d1, nc, fn, alone},
#include "plan/kernel_families.def"
#undef KF
};

const KernelFamily *kf_find(const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < sizeof families / sizeof *families; i++)
        if (strcmp(families[i].name, name) == 0) return &families[i];
    return NULL;
}

int kf_check_step(const KernelFamily *kf, const KfStep *s, int64_t *need, char *why, size_t n) {
    if (s->nbufs < kf->nbufs_min || s->nbufs > kf->nbufs_max || s->nbufs > KF_MAX_ARGS)
        return why_(why, n, "%lld buffers, the family takes %lld", s->nbufs, kf->nbufs_min);
    if (s->ndims < kf->ndims_min || s->ndims > kf->ndims_max)
        return why_(why, n, "%lld dims, the family takes at least %lld", s->ndims, kf->ndims_min);
    if (s->nconsts != kf->nconsts)
        return why_(why, n, "%lld kernel constants, the family takes %lld", s->nconsts, kf->nconsts);
    for (int i = 0; i < s->ndims; i++)
        if (s->dims[i] < 0) return why_(why, n, "dims[%lld] is negative (%lld)", i, (long long)s->dims[i]);
    if (s->ntiles < 0) return why_(why, n, "negative tile count %lld%.0lld", (long long)s->ntiles, 0);
    return kf->footprint(s, need, why, n);
}
