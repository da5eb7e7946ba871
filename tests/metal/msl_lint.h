/* msl_lint.h: what the shim's C++ compile cannot see in MSL source.
 *
 * clang ignores an unknown [[attribute]] (the shim compiles with
 * -Wno-unknown-attributes, MSL's own being unknown to it), so msl_lint
 * accepts only real MSL attribute names with the argument each takes, and
 * rejects what the shim's macros cannot model or hide: `long long`,
 * `double` (also caught by the header), threadgroup pointers and
 * references (the header's `threadgroup` is `static`: see metal_stdlib).
 *
 * msl_kernel reads a kernel's parameters (for the runner's per-kernel lane
 * entry) and whether it, or a function it calls, synchronises (barriers,
 * simd operations): the runner runs the lanes of a kernel that does not
 * one after another without switching between them. */
#ifndef LTC_MSL_LINT_H
#define LTC_MSL_LINT_H

#include <stdbool.h>
#include <stddef.h>

/* 0, or -1 with "FILE:LINE: message" in err (file: a name for messages). */
int msl_lint(const char *src, const char *file, char *err, size_t errlen);

enum { MSL_MAX_PARAMS = 32 };
typedef struct MslParam {
    char type[160];     /* the declaration without the name and attribute: "device float *" */
    char name[64];
    char attr[48];      /* "buffer", "thread_position_in_grid", ... */
    long arg;           /* the attribute's integer argument, or -1 */
} MslParam;
typedef struct MslKernel {
    MslParam p[MSL_MAX_PARAMS];
    int np;
    bool sync;          /* it or a function it calls has a barrier or a simd operation */
    long max_threads;   /* [[max_total_threads_per_threadgroup(N)]], or 0 */
} MslKernel;

/* Kernel `name` of src: 0, or -1 with err (not found, unparsable). */
int msl_kernel(const char *src, const char *name, MslKernel *k, char *err, size_t errlen);

#endif
