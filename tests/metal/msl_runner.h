/* msl_runner.h: Metal Shading Language on Linux, for the tests.  The MSL
 * our emitter writes is compiled as C++17 by clang++-14 against the shim
 * of tests/metal/include/metal_stdlib: type-checked (CHECK mode, with
 * msl_lint.c's attribute whitelist), or built into a shared object and
 * run on the CPU with the launch ABI of plan/gpu_abi.h (RUN mode: groups
 * one after another, the lanes of a group scheduled by msl_sched.c).
 *
 * The compiler: MSL_CXX (CMake's find_program(clang++-14)), or the
 * environment's LTC_MSL_CXX.  Temporary files live in a mkdtemp folder
 * under $TMPDIR (or /tmp), removed before each call returns (msl_build's
 * shared object is removed once opened).  See tests/metal/README.md. */
#ifndef LTC_MSL_RUNNER_H
#define LTC_MSL_RUNNER_H

#include <stddef.h>
#include <stdint.h>

#include "plan/gpu_abi.h"

typedef struct MslProgram MslProgram;
/* Type-check src (CHECK mode, -fsyntax-only) and the attribute whitelist: 0, or -1 with clang's diagnostics / the bad attribute in err. */
int msl_check(const char *src, char *err, size_t errlen);
/* Build src (RUN mode) so the kernels names[0..n) can be launched; NULL + err (clang's diagnostics) on failure. */
MslProgram *msl_build(const char *src, const char *const *names, int n, char *err, size_t errlen);
/* Kernel k (index into names) over ngroups groups of `threads` lanes (groups one after another, lanes as threads), buffers bufs[0..LTC_GPU_MAX_BUFS) (host pointers; unused ones may be NULL), args as plan/gpu_abi.h. 0, or -1 + err: a lane that left while others waited at a barrier (divergent barrier), a barrier that waited over 30 s, threads > 1024 or not a multiple of 32 where simd operations are used, etc. Never hangs. */
int msl_launch(MslProgram *p, int k, void *const *bufs, const LtcGpuArgs *args, int64_t ngroups, int threads, char *err, size_t errlen);
void msl_free(MslProgram *p);
/* Here no barrier waits in real time (the lanes of a group are coroutines,
 * msl_sched.h): the one limit is the launch's wall clock, LTC_MSL_TIMEOUT_S
 * (default 120 s), past which the launch is abandoned and the program
 * refuses further launches.  msl_build does not run msl_check: call both.
 * msl_check's diagnostics name the source "<msl>" (lint and clang alike). */

#endif
