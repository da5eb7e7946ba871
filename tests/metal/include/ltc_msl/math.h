// ltc_msl/math.h: the MSL math the preamble and the renderers use (and its
// near neighbours), for float and half (computed in float, rounded to
// half) and element-wise on the float vectors.  Through clang's builtins,
// so no <math.h> (with its double overloads) is seen by the kernel.  MSL
// has no erf: none here (csrc_preamble writes ltc_erf for Metal).
#ifndef LTC_MSL_MATH_H
#define LTC_MSL_MATH_H

namespace metal {

#define LTC_MSL_F1(name, builtin)                                                   \
    inline float name(float x) { return builtin(x); }                              \
    inline half name(half x) { return half(builtin(float(x))); }
#define LTC_MSL_F2(name, builtin)                                                   \
    inline float name(float x, float y) { return builtin(x, y); }                  \
    inline half name(half x, half y) { return half(builtin(float(x), float(y))); }

LTC_MSL_F1(exp, __builtin_expf) LTC_MSL_F1(exp2, __builtin_exp2f) LTC_MSL_F1(log, __builtin_logf)
LTC_MSL_F1(log2, __builtin_log2f) LTC_MSL_F1(log10, __builtin_log10f) LTC_MSL_F1(sqrt, __builtin_sqrtf)
LTC_MSL_F1(fabs, __builtin_fabsf) LTC_MSL_F1(tanh, __builtin_tanhf) LTC_MSL_F1(sinh, __builtin_sinhf)
LTC_MSL_F1(cosh, __builtin_coshf) LTC_MSL_F1(sin, __builtin_sinf) LTC_MSL_F1(cos, __builtin_cosf)
LTC_MSL_F1(tan, __builtin_tanf) LTC_MSL_F1(asin, __builtin_asinf) LTC_MSL_F1(acos, __builtin_acosf)
LTC_MSL_F1(atan, __builtin_atanf) LTC_MSL_F1(floor, __builtin_floorf) LTC_MSL_F1(ceil, __builtin_ceilf)
LTC_MSL_F1(rint, __builtin_rintf) LTC_MSL_F1(round, __builtin_roundf) LTC_MSL_F1(trunc, __builtin_truncf)
LTC_MSL_F2(pow, __builtin_powf) LTC_MSL_F2(powr, __builtin_powf) LTC_MSL_F2(fmax, __builtin_fmaxf)
LTC_MSL_F2(fmin, __builtin_fminf) LTC_MSL_F2(atan2, __builtin_atan2f) LTC_MSL_F2(fmod, __builtin_fmodf)
LTC_MSL_F2(copysign, __builtin_copysignf)
inline float exp10(float x) { return __builtin_powf(10.0f, x); }
inline float rsqrt(float x) { return 1.0f / __builtin_sqrtf(x); }
inline half rsqrt(half x) { return half(1.0f / __builtin_sqrtf(float(x))); }
inline float abs(float x) { return __builtin_fabsf(x); }
inline half abs(half x) { return half(__builtin_fabsf(float(x))); }
inline float fma(float a, float b, float c) { return __builtin_fmaf(a, b, c); }
inline float mad(float a, float b, float c) { return a * b + c; }
inline float fract(float x) { return __builtin_fminf(x - __builtin_floorf(x), 0x1.fffffep-1f); }
inline float sign(float x) { return x > 0.0f ? 1.0f : x < 0.0f ? -1.0f : x == x ? x : 0.0f; }
inline float mix(float x, float y, float a) { return x + (y - x) * a; }
inline float saturate(float x) { return __builtin_fminf(__builtin_fmaxf(x, 0.0f), 1.0f); }
inline bool isnan(float x) { return __builtin_isnan(x); }
inline bool isinf(float x) { return __builtin_isinf(x); }
inline bool isfinite(float x) { return __builtin_isfinite(x); }
inline bool signbit(float x) { return __builtin_signbit(x); }
inline bool isnan(half x) { return __builtin_isnan(float(x)); }
inline bool isinf(half x) { return __builtin_isinf(float(x)); }
#undef LTC_MSL_F1
#undef LTC_MSL_F2

// min/max/clamp: one overload per scalar type, as MSL's, so that a mixed
// call (min(long, int)) is ambiguous here as it is there.  Float min/max
// return the other operand when one is NaN (MSL's fmin/fmax rule).
#define LTC_MSL_MINMAX(T)                                                           \
    inline T min(T a, T b) { return b < a ? b : a; }                               \
    inline T max(T a, T b) { return a < b ? b : a; }                               \
    inline T clamp(T x, T lo, T hi) { return min(max(x, lo), hi); }
LTC_MSL_MINMAX(int) LTC_MSL_MINMAX(uint) LTC_MSL_MINMAX(long) LTC_MSL_MINMAX(ulong)
LTC_MSL_MINMAX(short) LTC_MSL_MINMAX(ushort) LTC_MSL_MINMAX(char) LTC_MSL_MINMAX(uchar)
#undef LTC_MSL_MINMAX
inline float min(float a, float b) { return __builtin_fminf(a, b); }
inline float max(float a, float b) { return __builtin_fmaxf(a, b); }
inline float clamp(float x, float lo, float hi) { return __builtin_fminf(__builtin_fmaxf(x, lo), hi); }
inline half min(half a, half b) { return half(__builtin_fminf(float(a), float(b))); }
inline half max(half a, half b) { return half(__builtin_fmaxf(float(a), float(b))); }
inline int abs(int x) { return x < 0 ? -x : x; }
inline long abs(long x) { return x < 0 ? -x : x; }
inline uint popcount(uint x) { return uint(__builtin_popcount(x)); }
inline uint clz(uint x) { return x ? uint(__builtin_clz(x)) : 32u; }
inline uint ctz(uint x) { return x ? uint(__builtin_ctz(x)) : 32u; }
inline uint mulhi(uint a, uint b) { return uint((ulong(a) * b) >> 32); }

// select(a, b, c): c ? b : a (per element on vectors)
template <class T> inline T select(T a, T b, bool c) { return c ? b : a; }

// element-wise on float vectors
template <class V> struct ltc_vec_n { static constexpr int n = 0; };
template <> struct ltc_vec_n<float2> { static constexpr int n = 2; };
template <> struct ltc_vec_n<float3> { static constexpr int n = 3; };
template <> struct ltc_vec_n<float4> { static constexpr int n = 4; };
#define LTC_MSL_V1(name)                                                            \
    template <class V, int N = ltc_vec_n<V>::n, class = enable_if_t<(N > 0)>>       \
    inline V name(V x) { V r; for (int i = 0; i < N; i++) r[i] = name(float(x[i])); return r; }
#define LTC_MSL_V2(name)                                                            \
    template <class V, int N = ltc_vec_n<V>::n, class = enable_if_t<(N > 0)>>       \
    inline V name(V x, V y) { V r; for (int i = 0; i < N; i++) r[i] = name(float(x[i]), float(y[i])); return r; }
LTC_MSL_V1(exp) LTC_MSL_V1(exp2) LTC_MSL_V1(log) LTC_MSL_V1(log2) LTC_MSL_V1(sqrt) LTC_MSL_V1(rsqrt)
LTC_MSL_V1(fabs) LTC_MSL_V1(abs) LTC_MSL_V1(tanh) LTC_MSL_V1(sin) LTC_MSL_V1(cos) LTC_MSL_V1(floor)
LTC_MSL_V1(ceil) LTC_MSL_V1(rint) LTC_MSL_V1(round) LTC_MSL_V1(trunc)
LTC_MSL_V2(pow) LTC_MSL_V2(fmax) LTC_MSL_V2(fmin) LTC_MSL_V2(min) LTC_MSL_V2(max)
#undef LTC_MSL_V1
#undef LTC_MSL_V2
template <class V, int N = ltc_vec_n<V>::n, class = enable_if_t<(N > 0)>>
inline float dot(V a, V b) { float s = 0.0f; for (int i = 0; i < N; i++) s += a[i] * b[i]; return s; }

// metal::precise:: and metal::fast:: spell the same functions; the shim
// is always precise (see the list of what it cannot check)
namespace precise { using metal::exp; using metal::log; using metal::sqrt; using metal::tanh; using metal::pow;
                    using metal::exp2; using metal::log2; using metal::rsqrt; using metal::sin; using metal::cos; }
namespace fast { using metal::exp; using metal::log; using metal::sqrt; using metal::tanh; using metal::pow;
                 using metal::exp2; using metal::log2; using metal::rsqrt; using metal::sin; using metal::cos; }

} // namespace metal

#endif
