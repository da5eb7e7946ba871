/* ltc_msl/abi.h: the C interface between a RUN-mode shim program (the
 * generated MSL compiled as C++ into a .so, tests/metal/include/metal_stdlib)
 * and the runner that schedules its lanes (tests/metal/msl_sched.c).  Plain
 * C so that both sides include it.
 *
 * The runner owns scheduling: before it resumes a lane it calls the
 * program's ltc_msl_set_lane() with that lane's LtcMslLane; the program's
 * barriers and simd operations call back through it (wait, fail). */
#ifndef LTC_MSL_ABI_H
#define LTC_MSL_ABI_H

#ifdef __cplusplus
extern "C" {
#endif

enum { LTC_MSL_SIMD = 32 };               /* lanes of a simdgroup (Apple GPUs) */
enum { LTC_MSL_XCHG = 64 };               /* bytes per lane in a simdgroup's exchange buffer */
enum { LTC_MSL_WAIT_GROUP = 0, LTC_MSL_WAIT_SIMD = 1 };

typedef struct LtcMslLane {
    unsigned group;                       /* threadgroup_position_in_grid (of this launch) */
    unsigned lid;                         /* thread_position_in_threadgroup */
    unsigned threads;                     /* threads_per_threadgroup */
    unsigned ngroups;                     /* threadgroups_per_grid */
    unsigned char *xchg;                  /* this lane's simdgroup's buffer: LTC_MSL_SIMD x LTC_MSL_XCHG bytes */
    void *rt;                             /* the runner's, passed back to wait and fail */
    /* block until every lane of the group (kind GROUP) or of the simdgroup
     * (kind SIMD) waits at the same site; returns only then */
    void (*wait)(void *rt, int kind, int site);
    /* the launch fails with msg; never returns */
    void (*fail)(void *rt, const char *msg);
} LtcMslLane;

/* What the runner appends per kernel (msl_runner.c): lane entry k calls
 * kernel k with slots[0..8) as buffers 0..7 and slots[8] as the
 * LtcGpuArgs of buffer 8. */
typedef void LtcMslLaneFn(void *const *slots);

#ifdef __cplusplus
}
#endif
#endif
