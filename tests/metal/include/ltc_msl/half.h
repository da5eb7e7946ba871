// ltc_msl/half.h: MSL's half (IEEE binary16) and bfloat (MSL 3.1) as
// 2-byte structs.  clang 14 has no _Float16 on x86 and __fp16 is only a
// storage type whose conversions go through the compiler's runtime; these
// convert by bit operations, float -> 16 bits rounding to nearest even
// (NaN stays a quiet NaN), and an operation on two halfs rounds its float
// result to half, as half arithmetic does (float holds the exact sum or
// product of two halfs, so the single rounding is the IEEE one).
#ifndef LTC_MSL_HALF_H
#define LTC_MSL_HALF_H

namespace metal {

inline ushort ltc_f_to_h(float f) {
    uint u = __builtin_bit_cast(uint, f), s = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return ushort(s | 0x7e00u | ((a >> 13) & 0x3ffu));   // NaN, quiet
    if (a >= 0x477ff000u) return ushort(s | 0x7c00u);                          // overflow (and inf)
    if (a < 0x38800000u) {                                                     // subnormal or zero
        if (a < 0x33000000u) return ushort(s);                                 // below half the least subnormal
        // value = m * 2^(e - 150) (m with its implicit bit); in units of
        // the least subnormal 2^-24: m * 2^(e - 126), e in 102..112 here
        uint m = (a & 0x7fffffu) | 0x800000u, e = a >> 23;
        uint n = 126u - e;                                                     // 14 .. 24
        uint q = m >> n, rest = m & ((1u << n) - 1u), mid = 1u << (n - 1u);
        if (rest > mid || (rest == mid && (q & 1u))) q++;
        return ushort(s | q);
    }
    uint r = a - 0x38000000u;                                                  // rebias 127 -> 15
    r = (r + 0xfffu + ((r >> 13) & 1u)) >> 13;                                 // round to nearest even
    return ushort(s | r);
}

inline float ltc_h_to_f(ushort h) {
    uint s = uint(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    uint u;
    if (e == 0x1fu) u = s | 0x7f800000u | (m << 13);                           // inf, NaN
    else if (e) u = s | ((e + 112u) << 23) | (m << 13);
    else if (!m) u = s;
    else {                                                                     // subnormal: m * 2^-24
        int k = 0;
        while (!(m & 0x400u)) { m <<= 1; k++; }
        u = s | (uint(113 - k) << 23) | ((m & 0x3ffu) << 13);
    }
    return __builtin_bit_cast(float, u);
}

inline ushort ltc_f_to_bf(float f) {
    uint u = __builtin_bit_cast(uint, f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return ushort((u >> 16) | 0x40u);
    return ushort((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

#define LTC_MSL_HALFLIKE(T, TO, FROM)                                                           \
    struct T {                                                                                  \
        ushort ltc_bits;                                                                        \
        T() = default;                                                                          \
        T(float f) : ltc_bits(TO(f)) {}                                                         \
        T(int i) : ltc_bits(TO(float(i))) {}                                                    \
        T(uint i) : ltc_bits(TO(float(i))) {}                                                   \
        T(long i) : ltc_bits(TO(float(i))) {}                                                   \
        T(ulong i) : ltc_bits(TO(float(i))) {}                                                  \
        operator float() const { return FROM(ltc_bits); }                                       \
        T &operator+=(T o) { return *this = T(float(*this) + float(o)); }                       \
        T &operator-=(T o) { return *this = T(float(*this) - float(o)); }                       \
        T &operator*=(T o) { return *this = T(float(*this) * float(o)); }                       \
        T &operator/=(T o) { return *this = T(float(*this) / float(o)); }                       \
    };                                                                                          \
    inline T operator-(T a) { return T(-float(a)); }                                            \
    inline T operator+(T a, T b) { return T(float(a) + float(b)); }                             \
    inline T operator-(T a, T b) { return T(float(a) - float(b)); }                             \
    inline T operator*(T a, T b) { return T(float(a) * float(b)); }                             \
    inline T operator/(T a, T b) { return T(float(a) / float(b)); }                             \
    inline float operator+(T a, float b) { return float(a) + b; }                               \
    inline float operator-(T a, float b) { return float(a) - b; }                               \
    inline float operator*(T a, float b) { return float(a) * b; }                               \
    inline float operator/(T a, float b) { return float(a) / b; }                               \
    inline float operator+(float a, T b) { return a + float(b); }                               \
    inline float operator-(float a, T b) { return a - float(b); }                               \
    inline float operator*(float a, T b) { return a * float(b); }                               \
    inline float operator/(float a, T b) { return a / float(b); }                               \
    inline T operator+(T a, int b) { return a + T(b); }                                         \
    inline T operator-(T a, int b) { return a - T(b); }                                         \
    inline T operator*(T a, int b) { return a * T(b); }                                         \
    inline T operator/(T a, int b) { return a / T(b); }                                         \
    inline T operator+(int a, T b) { return T(a) + b; }                                         \
    inline T operator-(int a, T b) { return T(a) - b; }                                         \
    inline T operator*(int a, T b) { return T(a) * b; }                                         \
    inline T operator/(int a, T b) { return T(a) / b; }                                         \
    static_assert(sizeof(T) == 2, #T " is 2 bytes");

#ifdef LTC_MSL_CHECK
// CHECK mode: half is clang's __fp16 (the compile passes
// -fallow-half-arguments-and-returns), a builtin type, so that loads and
// stores through `device half *` type-check (a class's implicit copy
// members live in the generic address space and cannot bind to an object
// in device memory).  Its arithmetic promotes to float, where MSL's stays
// half: an overload chosen by that difference (max(h * h, h)) may be
// reported ambiguous here although MSL accepts it.  RUN mode has the exact
// struct below.
typedef __fp16 half;
#else
LTC_MSL_HALFLIKE(half, ltc_f_to_h, ltc_h_to_f)
#endif
inline float ltc_bf_to_f(ushort h) { return __builtin_bit_cast(float, uint(h) << 16); }
LTC_MSL_HALFLIKE(bfloat, ltc_f_to_bf, ltc_bf_to_f)
#undef LTC_MSL_HALFLIKE

} // namespace metal

#endif
