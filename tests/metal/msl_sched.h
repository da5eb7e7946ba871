/* msl_sched.h: runs the lanes of a RUN-mode shim kernel (ltc_msl/abi.h).
 *
 * Groups run one after another.  The lanes of a group that synchronises
 * (MslKernel.sync) are coroutines (ucontext) on one thread: a lane runs
 * until it waits at a barrier or simd operation or returns; when no lane
 * can run, a barrier whose lanes have all arrived at the same site (line)
 * releases them.  Each phase runs the lanes in the opposite order of the
 * last (ascending, then descending), so that a missing barrier between a
 * store of one lane and a load of another shows in one of them.  Lanes
 * waiting while others returned (a divergent barrier), lanes at different
 * barriers, or a simd operation with threads not a multiple of 32 fail
 * the launch.  A kernel that does not synchronise runs its lanes as plain
 * calls (fast: a launch of 65535 groups); a barrier reached there fails.
 *
 * Coroutines rather than a thread per lane: on a machine of two shared
 * cores, a barrier across 1024 threads costs milliseconds, a switch here
 * microseconds; and the schedule is deterministic, so a failure repeats.
 * No barrier can wait in real time; a lane that never returns (a spin) is
 * caught by msl_launch's wall-clock limit. */
#ifndef LTC_MSL_SCHED_H
#define LTC_MSL_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/metal/include/ltc_msl/abi.h"

typedef void MslSetLane(const LtcMslLane *);

/* 0, or -1 with err. */
int msl_sched_run(LtcMslLaneFn *fn, MslSetLane *set_lane, void *const *slots, int64_t ngroups, int threads, bool sync,
                  char *err, size_t errlen);

#endif
