// ltc_msl/sync.h: barriers and simdgroup operations.  Each is a point where
// the lane waits through the runner (ltc_msl/abi.h) for the other lanes of
// its group or simdgroup; the call site's line goes with it, so that lanes
// waiting at different barriers are an error (divergence), not a silent
// pairing.  simd operations exchange values through the simdgroup's
// buffer: write own value, wait, read the others', wait (so that the next
// operation cannot overwrite a value still being read).
#ifndef LTC_MSL_SYNC_H
#define LTC_MSL_SYNC_H

namespace metal {

// the running lane: set by the runner before it resumes a lane
inline const LtcMslLane *ltc_msl_cur;
extern "C" __attribute__((visibility("default"))) void ltc_msl_set_lane(const LtcMslLane *l) { ltc_msl_cur = l; }

[[noreturn]] inline void ltc_msl_fail(const char *msg) {
    ltc_msl_cur->fail(ltc_msl_cur->rt, msg);
    __builtin_trap();
}
inline void ltc_msl_wait(int kind, int site) { ltc_msl_cur->wait(ltc_msl_cur->rt, kind, site); }
inline uint ltc_lane() { return ltc_msl_cur->lid % LTC_MSL_SIMD; }

inline void ltc_tg_barrier(mem_flags, int site) { ltc_msl_wait(LTC_MSL_WAIT_GROUP, site); }
inline void ltc_sg_barrier(mem_flags, int site) { ltc_msl_wait(LTC_MSL_WAIT_SIMD, 2 * site); }
#define threadgroup_barrier(flags) ltc_tg_barrier((flags), __LINE__)
#define simdgroup_barrier(flags) ltc_sg_barrier((flags), __LINE__)

// one exchange: f(all values of the simdgroup, this lane) is the result
template <class T, class F> inline T ltc_simd_op(T v, int site, F f) {
    static_assert(sizeof(T) <= LTC_MSL_XCHG, "a simd operand of more than LTC_MSL_XCHG bytes");
    const LtcMslLane *l = ltc_msl_cur;
    uint lane = l->lid % LTC_MSL_SIMD;
    __builtin_memcpy(l->xchg + lane * LTC_MSL_XCHG, &v, sizeof v);
    ltc_msl_wait(LTC_MSL_WAIT_SIMD, 2 * site);
    T all[LTC_MSL_SIMD];
    for (int i = 0; i < LTC_MSL_SIMD; i++) __builtin_memcpy(&all[i], l->xchg + i * LTC_MSL_XCHG, sizeof v);
    T r = f(all, lane);
    ltc_msl_wait(LTC_MSL_WAIT_SIMD, 2 * site + 1);
    return r;
}

// reductions in lane order (real hardware's order may differ: rounding only)
template <class T> inline T ltc_simd_sum(T v, int site) {
    return ltc_simd_op(v, site, [](const T *a, uint) { T s = a[0]; for (int i = 1; i < LTC_MSL_SIMD; i++) s = s + a[i]; return s; });
}
template <class T> inline T ltc_simd_product(T v, int site) {
    return ltc_simd_op(v, site, [](const T *a, uint) { T s = a[0]; for (int i = 1; i < LTC_MSL_SIMD; i++) s = s * a[i]; return s; });
}
template <class T> inline T ltc_simd_max(T v, int site) {
    return ltc_simd_op(v, site, [](const T *a, uint) { T s = a[0]; for (int i = 1; i < LTC_MSL_SIMD; i++) s = max(s, a[i]); return s; });
}
template <class T> inline T ltc_simd_min(T v, int site) {
    return ltc_simd_op(v, site, [](const T *a, uint) { T s = a[0]; for (int i = 1; i < LTC_MSL_SIMD; i++) s = min(s, a[i]); return s; });
}
template <class T> inline T ltc_simd_and(T v, int site) {
    return ltc_simd_op(v, site, [](const T *a, uint) { T s = a[0]; for (int i = 1; i < LTC_MSL_SIMD; i++) s = s & a[i]; return s; });
}
template <class T> inline T ltc_simd_or(T v, int site) {
    return ltc_simd_op(v, site, [](const T *a, uint) { T s = a[0]; for (int i = 1; i < LTC_MSL_SIMD; i++) s = s | a[i]; return s; });
}
template <class T> inline T ltc_simd_xor(T v, int site) {
    return ltc_simd_op(v, site, [](const T *a, uint) { T s = a[0]; for (int i = 1; i < LTC_MSL_SIMD; i++) s = s ^ a[i]; return s; });
}
template <class T> inline T ltc_simd_prefix(T v, int site, bool inclusive) {
    return ltc_simd_op(v, site, [inclusive](const T *a, uint lane) {
        T s = T(0);
        for (uint i = 0; i < lane + (inclusive ? 1u : 0u); i++) s = s + a[i];
        return s;
    });
}
template <class T, class I> inline T ltc_simd_shuffle(T v, I idx, int site) {
    return ltc_simd_op(v, site, [idx](const T *a, uint) {
        if (idx < 0 || ulong(idx) >= ulong(LTC_MSL_SIMD)) ltc_msl_fail("simd_shuffle/simd_broadcast: lane index out of 0..31");
        return a[idx];
    });
}
template <class T, class I> inline T ltc_simd_shuffle_xor(T v, I mask, int site) {
    return ltc_simd_op(v, site, [mask](const T *a, uint lane) {
        if (mask < 0 || ulong(mask) >= ulong(LTC_MSL_SIMD)) ltc_msl_fail("simd_shuffle_xor: mask out of 0..31");
        return a[lane ^ uint(mask)];
    });
}
// down: lane i takes lane i + d; the top d lanes keep their own value (MSL)
template <class T, class I> inline T ltc_simd_shuffle_down(T v, I d, int site) {
    return ltc_simd_op(v, site, [d](const T *a, uint lane) { return ulong(lane) + ulong(d) < ulong(LTC_MSL_SIMD) ? a[lane + uint(d)] : a[lane]; });
}
template <class T, class I> inline T ltc_simd_shuffle_up(T v, I d, int site) {
    return ltc_simd_op(v, site, [d](const T *a, uint lane) { return ulong(lane) >= ulong(d) ? a[lane - uint(d)] : a[lane]; });
}
inline bool ltc_simd_all(bool v, int site) {
    return ltc_simd_op(v, site, [](const bool *a, uint) { for (int i = 0; i < LTC_MSL_SIMD; i++) if (!a[i]) return false; return true; });
}
inline bool ltc_simd_any(bool v, int site) {
    return ltc_simd_op(v, site, [](const bool *a, uint) { for (int i = 0; i < LTC_MSL_SIMD; i++) if (a[i]) return true; return false; });
}

#define simd_sum(x) ltc_simd_sum((x), __LINE__)
#define simd_product(x) ltc_simd_product((x), __LINE__)
#define simd_max(x) ltc_simd_max((x), __LINE__)
#define simd_min(x) ltc_simd_min((x), __LINE__)
#define simd_and(x) ltc_simd_and((x), __LINE__)
#define simd_or(x) ltc_simd_or((x), __LINE__)
#define simd_xor(x) ltc_simd_xor((x), __LINE__)
#define simd_prefix_inclusive_sum(x) ltc_simd_prefix((x), __LINE__, true)
#define simd_prefix_exclusive_sum(x) ltc_simd_prefix((x), __LINE__, false)
#define simd_shuffle(x, i) ltc_simd_shuffle((x), (i), __LINE__)
#define simd_broadcast(x, i) ltc_simd_shuffle((x), (i), __LINE__)
#define simd_broadcast_first(x) ltc_simd_shuffle((x), 0, __LINE__)
#define simd_shuffle_xor(x, m) ltc_simd_shuffle_xor((x), (m), __LINE__)
#define simd_shuffle_down(x, d) ltc_simd_shuffle_down((x), (d), __LINE__)
#define simd_shuffle_up(x, d) ltc_simd_shuffle_up((x), (d), __LINE__)
#define simd_all(x) ltc_simd_all((x), __LINE__)
#define simd_any(x) ltc_simd_any((x), __LINE__)

// the value of a thread-position parameter: a scalar, or a vector whose
// other elements are `rest` (0 for positions, 1 for sizes: a 1-D launch)
template <class T> struct ltc_pos_t { static T make(uint v, uint) { return T(v); } };
#define LTC_MSL_POSV(t)                                                                          \
    template <> struct ltc_pos_t<t##2> { static t##2 make(uint v, uint r) { return t##2{t(v), t(r)}; } }; \
    template <> struct ltc_pos_t<t##3> { static t##3 make(uint v, uint r) { return t##3{t(v), t(r), t(r)}; } };
LTC_MSL_POSV(uint) LTC_MSL_POSV(ushort)
#undef LTC_MSL_POSV
template <class T> inline T ltc_msl_pos(uint v, uint rest) { return ltc_pos_t<T>::make(v, rest); }

} // namespace metal

#endif
