/* cpu_features.c: can this host run code compiled for a feature string?
 *
 * LLVM feature names ("avx512f", "amx-tile"...) map to CPUID bits.  A
 * vector ISA also needs the OS to save its registers on context switch:
 * XGETBV(0) must show SSE+AVX state (bits 1,2) for AVX*, the opmask/ZMM
 * state (bits 5,6,7) for AVX-512, and tile state (bits 17,18) for AMX.
 * Features not in the table are not ISA extensions the kernels can use
 * (tuning flags such as "slow-unaligned-mem-16" or "64bit"), so they are
 * not checked. */
#include "runtime/rt_internal.h"

#include <stdio.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define RT_X86 1
#endif

enum { EAX, EBX, ECX, EDX };
enum { OS_NONE, OS_AVX, OS_AVX512, OS_AMX };

typedef struct Feature {
    const char *name;
    unsigned leaf, sub;
    int reg, bit;
    int os;
} Feature;

static const Feature features[] = {
    {"sse",        1, 0, EDX, 25, OS_NONE},   {"sse2",       1, 0, EDX, 26, OS_NONE},
    {"sse3",       1, 0, ECX, 0,  OS_NONE},   {"pclmul",     1, 0, ECX, 1,  OS_NONE},
    {"ssse3",      1, 0, ECX, 9,  OS_NONE},   {"fma",        1, 0, ECX, 12, OS_AVX},
    {"cx16",       1, 0, ECX, 13, OS_NONE},   {"sse4.1",     1, 0, ECX, 19, OS_NONE},
    {"sse4.2",     1, 0, ECX, 20, OS_NONE},   {"movbe",      1, 0, ECX, 22, OS_NONE},
    {"popcnt",     1, 0, ECX, 23, OS_NONE},   {"aes",        1, 0, ECX, 25, OS_NONE},
    {"xsave",      1, 0, ECX, 26, OS_NONE},   {"avx",        1, 0, ECX, 28, OS_AVX},
    {"f16c",       1, 0, ECX, 29, OS_AVX},    {"rdrnd",      1, 0, ECX, 30, OS_NONE},
    {"bmi",        7, 0, EBX, 3,  OS_NONE},   {"avx2",       7, 0, EBX, 5,  OS_AVX},
    {"bmi2",       7, 0, EBX, 8,  OS_NONE},   {"avx512f",    7, 0, EBX, 16, OS_AVX512},
    {"avx512dq",   7, 0, EBX, 17, OS_AVX512}, {"rdseed",     7, 0, EBX, 18, OS_NONE},
    {"adx",        7, 0, EBX, 19, OS_NONE},   {"avx512ifma", 7, 0, EBX, 21, OS_AVX512},
    {"clflushopt", 7, 0, EBX, 23, OS_NONE},   {"clwb",       7, 0, EBX, 24, OS_NONE},
    {"avx512pf",   7, 0, EBX, 26, OS_AVX512}, {"avx512er",   7, 0, EBX, 27, OS_AVX512},
    {"avx512cd",   7, 0, EBX, 28, OS_AVX512}, {"sha",        7, 0, EBX, 29, OS_NONE},
    {"avx512bw",   7, 0, EBX, 30, OS_AVX512}, {"avx512vl",   7, 0, EBX, 31, OS_AVX512},
    {"avx512vbmi", 7, 0, ECX, 1,  OS_AVX512}, {"avx512vbmi2",7, 0, ECX, 6,  OS_AVX512},
    {"gfni",       7, 0, ECX, 8,  OS_NONE},   {"vaes",       7, 0, ECX, 9,  OS_AVX},
    {"vpclmulqdq", 7, 0, ECX, 10, OS_AVX},    {"avx512vnni", 7, 0, ECX, 11, OS_AVX512},
    {"avx512bitalg",7,0, ECX, 12, OS_AVX512}, {"avx512vpopcntdq",7,0,ECX,14,OS_AVX512},
    {"avx512vp2intersect",7,0,EDX,8,OS_AVX512},{"amx-bf16",  7, 0, EDX, 22, OS_AMX},
    {"avx512fp16", 7, 0, EDX, 23, OS_AVX512}, {"amx-tile",   7, 0, EDX, 24, OS_AMX},
    {"amx-int8",   7, 0, EDX, 25, OS_AMX},    {"avxvnni",    7, 1, EAX, 4,  OS_AVX},
    {"avx512bf16", 7, 1, EAX, 5,  OS_AVX512}, {"amx-fp16",   7, 1, EAX, 21, OS_AMX},
    {"avxifma",    7, 1, EAX, 23, OS_AVX},    {"lzcnt", 0x80000001u, 0, ECX, 5, OS_NONE},
    {"sse4a", 0x80000001u, 0, ECX, 6, OS_NONE},{"prfchw", 0x80000001u, 0, ECX, 8, OS_NONE},
    {"xop",   0x80000001u, 0, ECX, 11, OS_AVX},{"fma4",  0x80000001u, 0, ECX, 16, OS_AVX},
    {"tbm",   0x80000001u, 0, ECX, 21, OS_NONE},
};

#ifdef RT_X86
static unsigned long long xgetbv0(void) {
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static bool os_ok(int os) {
    if (os == OS_NONE) return true;
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return false;   /* OSXSAVE */
    unsigned long long x = xgetbv0();
    if ((x & 0x6) != 0x6) return false;
    if (os == OS_AVX512 && (x & 0xe0) != 0xe0) return false;
    if (os == OS_AMX && (x & 0x60000) != 0x60000) return false;
    return true;
}
#endif

int rt_cpu_has(const char *name) {
    for (size_t i = 0; i < sizeof features / sizeof *features; i++) {
        const Feature *f = &features[i];
        if (strcmp(f->name, name) != 0) continue;
#ifdef RT_X86
        unsigned r[4] = {0};
        unsigned maxleaf = __get_cpuid_max(f->leaf & 0x80000000u, NULL);
        if (maxleaf < f->leaf) return 0;
        __cpuid_count(f->leaf, f->sub, r[EAX], r[EBX], r[ECX], r[EDX]);
        if (!(r[f->reg] & (1u << f->bit))) return 0;
        return os_ok(f->os) ? 1 : 0;
#else
        return 0;
#endif
    }
    return -1;
}

const char *rt_cpu_missing_feature(void) {
    for (size_t i = 0; i < sizeof features / sizeof *features; i++)
        if (rt_cpu_has(features[i].name) == 0) return features[i].name;
    return NULL;
}

/* The triple's architecture must be the host's. */
static bool arch_ok(const char *triple) {
    if (!triple || !*triple) return true;
#if defined(__x86_64__)
    return strncmp(triple, "x86_64", 6) == 0 || strncmp(triple, "amd64", 5) == 0;
#elif defined(__aarch64__)
    return strncmp(triple, "aarch64", 7) == 0 || strncmp(triple, "arm64", 5) == 0;
#else
    return false;
#endif
}

int rt_check_target(const char *triple, const char *feats, char *err, size_t errlen) {
    if (!arch_ok(triple)) {
        snprintf(err, errlen, "model compiled for '%s', which this host cannot run", triple);
        return -1;
    }
    size_t len = 0;
    int missing = 0;
    err[0] = 0;
    for (const char *p = feats ? feats : ""; *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char name[64];
        if (n > 1 && n < sizeof name && p[0] == '+') {
            memcpy(name, p + 1, n - 1);
            name[n - 1] = 0;
            if (rt_cpu_has(name) == 0) {
                if (missing++ == 0)
                    len = (size_t)snprintf(err, errlen, "model needs CPU features this host lacks:");
                if (len < errlen) len += (size_t)snprintf(err + len, errlen - len, " %s", name);
            }
        }
        p += n;
        if (*p == ',') p++;
    }
    return missing ? -1 : 0;
}
