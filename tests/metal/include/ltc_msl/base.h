// ltc_msl/base.h: MSL's address spaces, scalar and vector types, as_type
// and a few type traits (no system header: in CHECK mode nothing may
// declare double or printf behind the kernel's back).
#ifndef LTC_MSL_BASE_H
#define LTC_MSL_BASE_H

#include "ltc_msl/abi.h"

#ifdef LTC_MSL_CHECK
#define LTC_MSL_AS(n) __attribute__((address_space(n)))
#define device LTC_MSL_AS(1)
#define constant LTC_MSL_AS(2) const
#define threadgroup static LTC_MSL_AS(3)
#define LTC_MSL_TG LTC_MSL_AS(3)        // the threadgroup space without `static`, for the shim's overloads
#else
#define device
#define constant const
#define threadgroup static
#define LTC_MSL_TG
#endif
#define thread
// a kernel is an ordinary function here; msl_runner.c calls it from a
// generated per-kernel lane entry in the same translation unit
#define kernel

namespace metal {

typedef unsigned int uint;
typedef unsigned short ushort;
typedef unsigned char uchar;
typedef unsigned long ulong;             // 64 bits in MSL and on x86-64 Linux
typedef __SIZE_TYPE__ size_t;
typedef __PTRDIFF_TYPE__ ptrdiff_t;
static_assert(sizeof(long) == 8 && sizeof(int) == 4 && sizeof(short) == 2, "MSL's integer sizes");

// ---- traits (no <type_traits>) --------------------------------------------------------
template <bool B, class T = void> struct enable_if {};
template <class T> struct enable_if<true, T> { typedef T type; };
template <bool B, class T = void> using enable_if_t = typename enable_if<B, T>::type;
template <class A, class B> struct is_same { static constexpr bool value = false; };
template <class A> struct is_same<A, A> { static constexpr bool value = true; };
template <class T> struct is_integral { static constexpr bool value = false; };
#define LTC_MSL_INTEGRAL(t) template <> struct is_integral<t> { static constexpr bool value = true; };
LTC_MSL_INTEGRAL(bool) LTC_MSL_INTEGRAL(char) LTC_MSL_INTEGRAL(signed char) LTC_MSL_INTEGRAL(uchar)
LTC_MSL_INTEGRAL(short) LTC_MSL_INTEGRAL(ushort) LTC_MSL_INTEGRAL(int) LTC_MSL_INTEGRAL(uint)
LTC_MSL_INTEGRAL(long) LTC_MSL_INTEGRAL(ulong)
#undef LTC_MSL_INTEGRAL

// ---- vectors: clang's ext_vector_type (swizzles, element-wise operators,
// loads through address-space pointers).  MSL's constructors, float4(x)
// (a splat), float4(a, b, c, d), float4(v.xy, z, w), float4(int4), are
// function-like macros of the same names calling ltc_msl_make<float4>: a
// macro named float4 expands only before '(', so `float4 v;` still names
// the type. ----
template <class V> struct ltc_vec { static constexpr int n = 1; typedef V elem; };
#define LTC_MSL_VEC(t)                                                                           \
    typedef t t##2 __attribute__((ext_vector_type(2)));                                         \
    typedef t t##3 __attribute__((ext_vector_type(3)));                                         \
    typedef t t##4 __attribute__((ext_vector_type(4)));                                         \
    template <> struct ltc_vec<t##2> { static constexpr int n = 2; typedef t elem; };           \
    template <> struct ltc_vec<t##3> { static constexpr int n = 3; typedef t elem; };           \
    template <> struct ltc_vec<t##4> { static constexpr int n = 4; typedef t elem; };
LTC_MSL_VEC(float) LTC_MSL_VEC(int) LTC_MSL_VEC(uint) LTC_MSL_VEC(short) LTC_MSL_VEC(ushort)
LTC_MSL_VEC(char) LTC_MSL_VEC(uchar) LTC_MSL_VEC(long) LTC_MSL_VEC(ulong)
#undef LTC_MSL_VEC
// (no bool2..4: clang has no vectors of bool; using one is a compile error)

template <class V, class A> inline void ltc_vec_put(V &r, int &i, A a) {
    typedef typename ltc_vec<V>::elem E;
    if constexpr (ltc_vec<A>::n == 1) r[i++] = E(a);
    else for (int k = 0; k < ltc_vec<A>::n; k++) r[i++] = E(a[k]);
}
template <class V, class... A> inline V ltc_msl_make(A... a) {
    constexpr int n = ltc_vec<V>::n, given = (0 + ... + ltc_vec<A>::n);
    static_assert(n > 1, "not a vector type");
    V r;
    if constexpr (sizeof...(A) == 1 && given == 1) {   // a splat
        for (int k = 0; k < n; k++) r[k] = typename ltc_vec<V>::elem(a...);
    } else {
        static_assert(given == n, "a vector constructor with the wrong number of elements");
        int i = 0;
        (ltc_vec_put(r, i, a), ...);
    }
    return r;
}
#define float2(...) ltc_msl_make<float2>(__VA_ARGS__)
#define float3(...) ltc_msl_make<float3>(__VA_ARGS__)
#define float4(...) ltc_msl_make<float4>(__VA_ARGS__)
#define int2(...) ltc_msl_make<int2>(__VA_ARGS__)
#define int3(...) ltc_msl_make<int3>(__VA_ARGS__)
#define int4(...) ltc_msl_make<int4>(__VA_ARGS__)
#define uint2(...) ltc_msl_make<uint2>(__VA_ARGS__)
#define uint3(...) ltc_msl_make<uint3>(__VA_ARGS__)
#define uint4(...) ltc_msl_make<uint4>(__VA_ARGS__)
#define short2(...) ltc_msl_make<short2>(__VA_ARGS__)
#define short4(...) ltc_msl_make<short4>(__VA_ARGS__)
#define ushort2(...) ltc_msl_make<ushort2>(__VA_ARGS__)
#define ushort3(...) ltc_msl_make<ushort3>(__VA_ARGS__)
#define ushort4(...) ltc_msl_make<ushort4>(__VA_ARGS__)
#define char4(...) ltc_msl_make<char4>(__VA_ARGS__)
#define uchar4(...) ltc_msl_make<uchar4>(__VA_ARGS__)
#define long2(...) ltc_msl_make<long2>(__VA_ARGS__)
#define ulong2(...) ltc_msl_make<ulong2>(__VA_ARGS__)
#define ulong3(...) ltc_msl_make<ulong3>(__VA_ARGS__)
#define ulong4(...) ltc_msl_make<ulong4>(__VA_ARGS__)

// ---- as_type: a bit cast between types of one size ---------------------------------
template <class T, class U> inline T as_type(U x) {
    static_assert(sizeof(T) == sizeof(U), "as_type between types of different sizes");
    return __builtin_bit_cast(T, x);
}

// ---- mem_flags -----------------------------------------------------------------------
enum class mem_flags : uint { mem_none = 0, mem_device = 1, mem_threadgroup = 2, mem_texture = 4,
                             mem_threadgroup_imageblock = 8 };
inline constexpr mem_flags operator|(mem_flags a, mem_flags b) { return mem_flags(uint(a) | uint(b)); }

} // namespace metal

// MSL's predefined float constants
#define INFINITY __builtin_inff()
#define NAN __builtin_nanf("")
#define HUGE_VALF __builtin_huge_valf()
#define MAXFLOAT 3.40282347e+38f
#define FLT_MAX 3.40282347e+38f
#define FLT_MIN 1.17549435e-38f
#define FLT_EPSILON 1.1920929e-7f
#define INT_MAX 2147483647
#define INT_MIN (-2147483647 - 1)
#define UINT_MAX 4294967295u
#define M_PI_F 3.14159265358979323846f
#define M_LN2_F 0.69314718055994530942f
#define M_LOG2E_F 1.4426950408889634074f
#define M_SQRT2_F 1.41421356237309504880f

#endif
