// ltc_msl/matrix.h: simdgroup matrices (MSL 2.3+).  Each lane holds the
// whole matrix (the hardware spreads it over the lanes; that layout is not
// modelled, so thread_elements() is absent).  load, store and the products
// are simdgroup-collective here: every lane of the simdgroup must reach
// them, with the same pointer, origin and stride (load) and the same
// matrix (store), or the launch fails; the store is written by lane 0.
#ifndef LTC_MSL_MATRIX_H
#define LTC_MSL_MATRIX_H

namespace metal {

// MSL's template order: element type, columns, rows
template <class T, int Cols, int Rows> struct simdgroup_matrix {
    T ltc_e[Rows * Cols];                 // row-major: element (r, c) at r * Cols + c
    simdgroup_matrix() = default;
    explicit simdgroup_matrix(T d) {      // MSL: a diagonal matrix of d
        for (int r = 0; r < Rows; r++)
            for (int c = 0; c < Cols; c++) ltc_e[r * Cols + c] = r == c ? d : T(0.0f);
    }
};
typedef simdgroup_matrix<float, 8, 8> simdgroup_float8x8;
typedef simdgroup_matrix<half, 8, 8> simdgroup_half8x8;
typedef simdgroup_matrix<bfloat, 8, 8> simdgroup_bfloat8x8;

template <class T, int Cols, int Rows> inline simdgroup_matrix<T, Cols, Rows> make_filled_simdgroup_matrix(T v) {
    simdgroup_matrix<T, Cols, Rows> m;
    for (int i = 0; i < Rows * Cols; i++) m.ltc_e[i] = v;
    return m;
}

// every lane of the simdgroup passes the same key (at most LTC_MSL_XCHG bytes)
inline void ltc_simd_uniform(const void *key, uint n, int site, const char *what) {
    const LtcMslLane *l = ltc_msl_cur;
    uint lane = l->lid % LTC_MSL_SIMD;
    __builtin_memcpy(l->xchg + lane * LTC_MSL_XCHG, key, n);
    ltc_msl_wait(LTC_MSL_WAIT_SIMD, 2 * site);
    bool same = true;
    for (int i = 0; i < LTC_MSL_SIMD; i++) same = same && __builtin_memcmp(l->xchg + i * LTC_MSL_XCHG, key, n) == 0;
    ltc_msl_wait(LTC_MSL_WAIT_SIMD, 2 * site + 1);
    if (!same) ltc_msl_fail(what);
}
struct ltc_mat_key { const void *p; ulong epr, ox, oy; uint transpose; uint hash; };

template <class T, int Cols, int Rows, class P>
inline void ltc_sg_load(simdgroup_matrix<T, Cols, Rows> &d, P *src, ulong epr, ulong2 org, bool tr, int site) {
    ltc_mat_key k = {(const void *)src, epr, org.x, org.y, tr, 0};
    ltc_simd_uniform(&k, sizeof k, site, "simdgroup_load: lanes of a simdgroup passed different pointers, origins or strides");
    for (int r = 0; r < Rows; r++)
        for (int c = 0; c < Cols; c++)
            d.ltc_e[r * Cols + c] = tr ? src[(org.y + c) * epr + org.x + r] : src[(org.y + r) * epr + org.x + c];
}
template <class T, int Cols, int Rows, class P>
inline void ltc_sg_store(const simdgroup_matrix<T, Cols, Rows> &a, P *dst, ulong epr, ulong2 org, bool tr, int site) {
    uint h = 2166136261u;                 // FNV-1a of the elements: lanes must hold one matrix
    const uchar *b = (const uchar *)a.ltc_e;
    for (uint i = 0; i < sizeof a.ltc_e; i++) h = (h ^ b[i]) * 16777619u;
    ltc_mat_key k = {(const void *)dst, epr, org.x, org.y, tr, h};
    ltc_simd_uniform(&k, sizeof k, site, "simdgroup_store: lanes of a simdgroup hold different matrices or passed different pointers, origins or strides");
    if (ltc_lane() != 0) return;
    for (int r = 0; r < Rows; r++)
        for (int c = 0; c < Cols; c++) {
            if (tr) dst[(org.y + c) * epr + org.x + r] = a.ltc_e[r * Cols + c];
            else dst[(org.y + r) * epr + org.x + c] = a.ltc_e[r * Cols + c];
        }
}

// the source spaces MSL allows: device and threadgroup (one overload in
// RUN mode, where both spaces are empty)
#define LTC_MSL_SG_IO(SPACE)                                                                                   \
    template <class T, int C, int R>                                                                           \
    inline void ltc_simdgroup_load(simdgroup_matrix<T, C, R> &d, const SPACE T *src, ulong epr, ulong2 org,    \
                                   bool tr, int site) { ltc_sg_load(d, src, epr, org, tr, site); }             \
    template <class T, int C, int R>                                                                           \
    inline void ltc_simdgroup_store(const simdgroup_matrix<T, C, R> &a, SPACE T *dst, ulong epr, ulong2 org,   \
                                    bool tr, int site) { ltc_sg_store(a, dst, epr, org, tr, site); }
LTC_MSL_SG_IO(device)
#ifdef LTC_MSL_CHECK
LTC_MSL_SG_IO(LTC_MSL_TG)
#endif
#undef LTC_MSL_SG_IO

// default arguments as MSL's: elements_per_row = columns, origin 0, no transpose
template <class T, int C, int R, class P>
inline void ltc_simdgroup_load_d(simdgroup_matrix<T, C, R> &d, P *src, int site, ulong epr = C, ulong2 org = ulong2(0),
                                 bool tr = false) { ltc_simdgroup_load(d, src, epr, org, tr, site); }
template <class T, int C, int R, class P>
inline void ltc_simdgroup_store_d(const simdgroup_matrix<T, C, R> &a, P *dst, int site, ulong epr = C,
                                  ulong2 org = ulong2(0), bool tr = false) { ltc_simdgroup_store(a, dst, epr, org, tr, site); }
#define simdgroup_load(d, src, ...) ltc_simdgroup_load_d((d), (src), __LINE__, ##__VA_ARGS__)
#define simdgroup_store(a, dst, ...) ltc_simdgroup_store_d((a), (dst), __LINE__, ##__VA_ARGS__)

// d = a * b + c, in float, rounded to T once
template <class T, int K, int R, int C, class U>
inline void simdgroup_multiply_accumulate(thread simdgroup_matrix<T, C, R> &d, const thread simdgroup_matrix<U, K, R> &a,
                                          const thread simdgroup_matrix<U, C, K> &b,
                                          const thread simdgroup_matrix<T, C, R> &c) {
    simdgroup_matrix<T, C, R> r;
    for (int i = 0; i < R; i++)
        for (int j = 0; j < C; j++) {
            float s = float(c.ltc_e[i * C + j]);
            for (int k = 0; k < K; k++) s += float(a.ltc_e[i * K + k]) * float(b.ltc_e[k * C + j]);
            r.ltc_e[i * C + j] = T(s);
        }
    d = r;
}
template <class T, int K, int R, int C, class U>
inline void simdgroup_multiply(thread simdgroup_matrix<T, C, R> &d, const thread simdgroup_matrix<U, K, R> &a,
                               const thread simdgroup_matrix<U, C, K> &b) {
    simdgroup_multiply_accumulate(d, a, b, simdgroup_matrix<T, C, R>(T(0.0f)));
}

} // namespace metal

#endif
