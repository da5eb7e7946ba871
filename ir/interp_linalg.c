/* interp_linalg.c: reference matmul, linear, embedding and attention.
 *
 * The GEMM core computes C[M,N] = A[M,K] B[K,N] row by row in i-k-j order
 * with a double accumulator row (products of floats are exact in double),
 * so the inner loop streams B and vectorises.  Large products are split by
 * rows over a few pthreads. */
#include "ir/ir_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct GemmJob {
    const float *A, *B, *bias;      /* bias[N] or NULL */
    void *C; DType ct;              /* C written through st() at element offset c0 */
    size_t c0;
    int64_t M, K, N, i0, i1;
    int rc;
} GemmJob;

static void *gemm_rows(void *arg) {
    GemmJob *j = arg;
    double *acc = malloc((size_t)(j->N ? j->N : 1) * sizeof *acc);
    if (!acc) { j->rc = -1; return NULL; }
    for (int64_t i = j->i0; i < j->i1; i++) {
        for (int64_t n = 0; n < j->N; n++) acc[n] = j->bias ? j->bias[n] : 0.0;
        const float *a = j->A + i * j->K;
        for (int64_t k = 0; k < j->K; k++) {
            double aik = a[k];
            const float *b = j->B + k * j->N;
            for (int64_t n = 0; n < j->N; n++) acc[n] += aik * b[n];
        }
        size_t o = j->c0 + (size_t)(i * j->N);
        if (j->ct == DT_F32 || j->ct == DT_F16 || j->ct == DT_BF16) {
            float *c = (float *)j->C + o;
            for (int64_t n = 0; n < j->N; n++) c[n] = (float)acc[n];
        } else {
            for (int64_t n = 0; n < j->N; n++) st(j->ct, j->C, o + (size_t)n, acc[n]);
        }
    }
    free(acc);
    return NULL;
}

/* C (element offset c0) = A B (+ bias); threads when the work is large. */
static int gemm(const float *A, const float *B, const float *bias, void *C, DType ct, size_t c0,
                int64_t M, int64_t K, int64_t N) {
    enum { MAXT = 16 };
    double work = (double)M * (double)K * (double)N;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int nt = work < (1 << 22) || ncpu < 2 ? 1 : (int)(ncpu < MAXT ? ncpu : MAXT);
    if (nt > M) nt = (int)(M > 0 ? M : 1);
    GemmJob jobs[MAXT];
    pthread_t th[MAXT];
    bool started[MAXT] = {0};
    for (int t = 0; t < nt; t++) {
        jobs[t] = (GemmJob){A, B, bias, C, ct, c0, M, K, N, M * t / nt, M * (t + 1) / nt, 0};
        if (t > 0) started[t] = pthread_create(&th[t], NULL, gemm_rows, &jobs[t]) == 0;
    }
    gemm_rows(&jobs[0]);
    int rc = jobs[0].rc;
    for (int t = 1; t < nt; t++) {
        if (started[t]) pthread_join(th[t], NULL);
        else gemm_rows(&jobs[t]);             /* thread creation failed: do it here */
        if (jobs[t].rc) rc = -1;
    }
    return rc;
}

/* A float copy of a non-float value (integer matmul), or the value itself. */
static const float *as_float(DType t, const void *p, size_t n, float **owned) {
    *owned = NULL;
    if (dtype_is_float(t)) return p;
    float *f = malloc((n ? n : 1) * sizeof *f);
    if (!f) return NULL;
    for (size_t i = 0; i < n; i++) f[i] = (float)ld(t, p, i);
    *owned = f;
    return f;
}

/* torch.matmul: 1-D operands are a row (left) or a column (right); batch
 * dimensions broadcast. */
int interp_matmul(const KCtx *k, LtcDiag *d) {
    const Node *n = k->n;
    int ra = n->in[0]->shape.rank, rb = n->in[1]->shape.rank;
    const int64_t *sa = k->ish[0], *sb = k->ish[1];
    int64_t M = ra >= 2 ? sa[ra - 2] : 1, K = sa[ra - 1], N = rb >= 2 ? sb[rb - 1] : 1;
    int ba = ra > 2 ? ra - 2 : 0, bb = rb > 2 ? rb - 2 : 0, OB = ba > bb ? ba : bb;
    int64_t obs[LTC_MAX_RANK], sta[LTC_MAX_RANK], stb[LTC_MAX_RANK];
    for (int i = 0; i < OB; i++) obs[i] = k->shape[i];
    bcast_strides(sa, ba, obs, OB, sta);
    bcast_strides(sb, bb, obs, OB, stb);
    float *fa, *fb;
    const float *A = as_float(n->in[0]->dtype, k->in[0], numel_of(sa, ra), &fa);
    const float *B = as_float(n->in[1]->dtype, k->in[1], numel_of(sb, rb), &fb);
    int rc = 0;
    if (!A || !B) rc = diag_set(d, n->loc, "matmul: out of memory");
    size_t nb = numel_of(obs, OB);
    for (size_t bi = 0; bi < nb && rc == 0; bi++) {
        int64_t oa = 0, ob = 0;
        size_t r = bi;
        for (int i = OB - 1; i >= 0; i--) {
            int64_t x = (int64_t)(r % (size_t)obs[i]);
            r /= (size_t)obs[i];
            oa += x * sta[i];
            ob += x * stb[i];
        }
        if (gemm(A + oa * M * K, B + ob * K * N, NULL, k->out, n->dtype, bi * (size_t)(M * N), M, K, N))
            rc = diag_set(d, n->loc, "matmul: out of memory");
    }
    free(fa);
    free(fb);
    return rc;
}

void ref_linear(const float *x, const float *w, const float *bias, float *y, int64_t M, int64_t K, int64_t N) {
    /* y = x W^T + b: transpose W [N,K] to [K,N] for the i-k-j core. */
    float *wt = malloc((size_t)(K * N > 0 ? K * N : 1) * sizeof *wt);
    if (!wt) {                                           /* slow path without memory */
        for (int64_t i = 0; i < M; i++)
            for (int64_t n = 0; n < N; n++) {
                double acc = bias ? bias[n] : 0;
                for (int64_t kk = 0; kk < K; kk++) acc += (double)x[i * K + kk] * w[n * K + kk];
                y[i * N + n] = (float)acc;
            }
        return;
    }
    for (int64_t n = 0; n < N; n++)
        for (int64_t kk = 0; kk < K; kk++) wt[kk * N + n] = w[n * K + kk];
    gemm(x, wt, bias, y, DT_F32, 0, M, K, N);
    free(wt);
}

int interp_linear(const KCtx *k, LtcDiag *d) {
    const Node *n = k->n;
    int R = n->shape.rank;
    int64_t K = k->ish[1][1], N = k->ish[1][0];
    int64_t M = N ? (int64_t)(k->numel / (size_t)N) : (int64_t)numel_of(k->ish[0], R - 1);
    ref_linear(k->in[0], k->in[1], n->nin == 3 ? k->in[2] : NULL, k->out, M, K, N);
    return 0;
}

int interp_embedding(const KCtx *k, LtcDiag *d) {
    const Node *n = k->n;
    const int64_t *ids = k->in[0];
    int64_t num = k->ish[1][0], dim = k->ish[1][1];
    size_t es = dtype_storage_size(n->dtype), row = (size_t)dim * es;
    size_t nids = numel_of(k->ish[0], n->in[0]->shape.rank);
    for (size_t i = 0; i < nids; i++) {
        if (ids[i] < 0 || ids[i] >= num)
            return diag_set(d, n->loc, "embedding: id %lld is out of range [0, %lld)", (long long)ids[i], (long long)num);
        memcpy((char *)k->out + i * row, (const char *)k->in[1] + (size_t)ids[i] * row, row);
    }
    return 0;
}

/* ---- attention --------------------------------------------------------------------- */
/* For every batch index and query row i:
 *   s_j = scale * q_i . k_j  (+ mask_ij if float; -inf where a bool mask is
 *         false; -inf for j > i when causal)
 *   w = softmax(s)   (all -inf -> NaN row, as torch)
 *   w_j *= keep_j / (1 - p) in training with dropout p (philox over the flat
 *         index of the [batch.., Sq, Sk] weights)
 *   out_i = sum_j w_j v_j */
int interp_sdpa(const KCtx *k, LtcDiag *d) {
    const Node *n = k->n;
    int R = n->shape.rank, OB = R - 2;
    const int64_t *sq = k->ish[0], *sk = k->ish[1], *sv = k->ish[2];
    int rq = n->in[0]->shape.rank, rk = n->in[1]->shape.rank, rv = n->in[2]->shape.rank;
    int64_t Sq = sq[rq - 2], D = sq[rq - 1], Sk = sk[rk - 2], Dv = sv[rv - 1];
    int64_t obs[LTC_MAX_RANK], stq[LTC_MAX_RANK], stk[LTC_MAX_RANK], stv[LTC_MAX_RANK], full[LTC_MAX_RANK];
    int64_t stm[LTC_MAX_RANK] = {0};
    for (int i = 0; i < OB; i++) full[i] = obs[i] = k->shape[i];
    full[OB] = Sq;
    full[OB + 1] = Sk;
    bcast_strides(sq, rq - 2, obs, OB, stq);
    /* grouped-query attention (a.i = G > 1): output head x (batch dim
     * OB-1) reads key/value head x / G.  Strides (in batch entries) come
     * from K/V's own shapes: 1 on their head dim, 0 when it is 1. */
    int64_t G = n->a.i > 1 ? n->a.i : 1;
    bcast_strides(sk, rk - 2, obs, OB, stk);
    bcast_strides(sv, rv - 2, obs, OB, stv);
    bool has_mask = n->nin == 4;
    DType mt = has_mask ? n->in[3]->dtype : DT_F32;
    if (has_mask) bcast_strides(k->ish[3], n->in[3]->shape.rank, full, OB + 2, stm);
    double scale = n->a.scale > 0 ? n->a.scale : 1.0 / sqrt((double)D);
    bool drop = n->a.training && n->a.p > 0;
    double keep_scale = n->a.p >= 1 ? 0 : 1.0 / (1.0 - n->a.p);
    const float *Q = k->in[0], *Kt = k->in[1], *V = k->in[2];
    float *O = k->out;
    double *s = malloc((size_t)(Sk ? Sk : 1) * sizeof *s), *acc = malloc((size_t)(Dv ? Dv : 1) * sizeof *acc);
    if (!s || !acc) { free(s); free(acc); return diag_set(d, n->loc, "sdpa: out of memory"); }
    size_t nb = numel_of(obs, OB);
    for (size_t bi = 0; bi < nb; bi++) {
        int64_t oq = 0, ok = 0, ov = 0, om = 0;
        size_t r = bi;
        for (int i = OB - 1; i >= 0; i--) {
            int64_t x = (int64_t)(r % (size_t)obs[i]);
            r /= (size_t)obs[i];
            int64_t xk = i == OB - 1 ? x / G : x;       /* the kv head of query head x */
            oq += x * stq[i]; ok += xk * stk[i]; ov += xk * stv[i]; om += x * stm[i];
        }
        const float *q = Q + oq * Sq * D, *kk = Kt + ok * Sk * D, *v = V + ov * Sk * Dv;
        for (int64_t i = 0; i < Sq; i++) {
            double m = -INFINITY;
            for (int64_t j = 0; j < Sk; j++) {
                double x = 0;
                for (int64_t e = 0; e < D; e++) x += (double)q[i * D + e] * kk[j * D + e];
                x *= scale;
                if (has_mask) {
                    double mv = ld(mt, k->in[3], (size_t)(om + i * stm[OB] + j * stm[OB + 1]));
                    if (mt == DT_BOOL) { if (mv == 0) x = -INFINITY; }
                    else x += mv;
                }
                if (n->a.causal && j > i) x = -INFINITY;
                s[j] = x;
                if (x > m || x != x) m = x;
            }
            double sum = 0;
            for (int64_t j = 0; j < Sk; j++) { s[j] = exp(s[j] - m); sum += s[j]; }
            for (int64_t e = 0; e < Dv; e++) acc[e] = 0;
            for (int64_t j = 0; j < Sk; j++) {
                double w = s[j] / sum;
                if (drop) {
                    uint64_t idx = ((uint64_t)bi * (uint64_t)Sq + (uint64_t)i) * (uint64_t)Sk + (uint64_t)j;
                    w = philox_uniform_at(n->a.seed, k->call, idx) >= n->a.p ? w * keep_scale : 0;
                }
                for (int64_t e = 0; e < Dv; e++) acc[e] += w * v[j * Dv + e];
            }
            if (m == -INFINITY || m != m)        /* fully masked row: NaN as torch */
                for (int64_t e = 0; e < Dv; e++) acc[e] = NAN;
            float *o = O + ((int64_t)bi * Sq + i) * Dv;
            for (int64_t e = 0; e < Dv; e++) o[e] = (float)acc[e];
        }
    }
    free(s);
    free(acc);
    return 0;
}
