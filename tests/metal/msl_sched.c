/* msl_sched.c: see msl_sched.h. */
#include "tests/metal/msl_sched.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

enum { ST_READY, ST_WAIT, ST_DONE };
enum { STACK = 256 << 10 };   /* per lane; the kernels' locals are small (attention: a few KB) */

typedef struct Lane {
    LtcMslLane l;
    ucontext_t ctx;
    int state, kind, site;
} Lane;

typedef struct Sched {
    LtcMslLaneFn *fn;
    MslSetLane *set_lane;
    void *const *slots;
    Lane *lanes;
    int threads, cur;
    bool coroutines;
    ucontext_t main;
    jmp_buf jb;                 /* plain calls: where a failure returns to */
    int64_t g;                  /* the group running */
    bool failed;
    char *err; size_t errlen;
} Sched;

static _Thread_local Sched *self;   /* makecontext passes ints only */

static void sched_back(Sched *s) {
    Lane *ln = &s->lanes[s->cur];
    if (swapcontext(&ln->ctx, &s->main) != 0) abort();   /* cannot fail with valid contexts */
}

static void lane_fail(void *rt, const char *msg) {
    Sched *s = rt;
    Lane *ln = &s->lanes[s->cur];
    if (!s->failed)
        snprintf(s->err, s->errlen, "group %u lane %u: %s", ln->l.group, ln->l.lid, msg);
    s->failed = true;
    if (!s->coroutines) longjmp(s->jb, 1);
    for (;;) sched_back(s);   /* never resumed */
}

static void lane_wait(void *rt, int kind, int site) {
    Sched *s = rt;
    char m[160];
    if (!s->coroutines) {
        snprintf(m, sizeof m, "%s at line %d in a kernel the runner judged free of them (msl_lint.c's scan)",
                 kind == LTC_MSL_WAIT_GROUP ? "a threadgroup barrier" : "a simd operation", site / (kind ? 2 : 1));
        lane_fail(rt, m);
    }
    if (kind == LTC_MSL_WAIT_SIMD && s->threads % LTC_MSL_SIMD) {
        snprintf(m, sizeof m, "a simd operation (line %d) in a group of %d threads, not a multiple of %d", site / 2,
                 s->threads, LTC_MSL_SIMD);
        lane_fail(rt, m);
    }
    Lane *ln = &s->lanes[s->cur];
    ln->state = ST_WAIT;
    ln->kind = kind;
    ln->site = site;
    sched_back(s);
}

static void lane_entry(void) {
    Sched *s = self;
    s->fn(s->slots);
    s->lanes[s->cur].state = ST_DONE;
    /* returns to s->main through uc_link */
}

static int line_of(const Lane *ln) { return ln->kind == LTC_MSL_WAIT_SIMD ? ln->site / 2 : ln->site; }

/* No lane can run: release a barrier all of whose lanes wait at one site, or fail. */
static int release(Sched *s) {
    int T = s->threads, nwait = 0, first = -1;
    for (int i = 0; i < T; i++)
        if (s->lanes[i].state == ST_WAIT) { nwait++; if (first < 0) first = i; }
    if (nwait == 0) return 1;   /* every lane returned */
    bool any = false;
    /* the group barrier: every lane at it */
    bool all_group = true;
    for (int i = 0; i < T && all_group; i++)
        all_group = s->lanes[i].state == ST_WAIT && s->lanes[i].kind == LTC_MSL_WAIT_GROUP &&
                    s->lanes[i].site == s->lanes[first].site;
    if (all_group) {
        for (int i = 0; i < T; i++) s->lanes[i].state = ST_READY;
        return 0;
    }
    /* simdgroups whose 32 lanes all wait at one simd site */
    for (int g = 0; g * LTC_MSL_SIMD < T; g++) {
        Lane *L = &s->lanes[g * LTC_MSL_SIMD];
        bool all = true;
        for (int i = 0; i < LTC_MSL_SIMD && all; i++)
            all = L[i].state == ST_WAIT && L[i].kind == LTC_MSL_WAIT_SIMD && L[i].site == L[0].site;
        if (all) {
            for (int i = 0; i < LTC_MSL_SIMD; i++) L[i].state = ST_READY;
            any = true;
        }
    }
    if (any) return 0;
    /* stuck: say why, with the first two lanes that disagree */
    const Lane *w = &s->lanes[first];
    char m[256];
    int other = -1;
    for (int i = 0; i < T && other < 0; i++) {
        const Lane *o = &s->lanes[i];
        if (w->kind == LTC_MSL_WAIT_SIMD && i / LTC_MSL_SIMD != first / LTC_MSL_SIMD) continue;
        if (o->state == ST_DONE || o->kind != w->kind || o->site != w->site) other = i;
    }
    const char *what = w->kind == LTC_MSL_WAIT_GROUP ? "threadgroup barrier" : "simd operation";
    if (other < 0) snprintf(m, sizeof m, "lane %d waits at the %s of line %d, and no lane can run", first, what, line_of(w));
    else if (s->lanes[other].state == ST_DONE)
        snprintf(m, sizeof m, "divergent %s: lane %d waits at line %d while lane %d returned", what, first, line_of(w), other);
    else
        snprintf(m, sizeof m, "divergent %s: lane %d waits at line %d, lane %d at the %s of line %d", what, first,
                 line_of(w), other, s->lanes[other].kind == LTC_MSL_WAIT_GROUP ? "threadgroup barrier" : "simd operation",
                 line_of(&s->lanes[other]));
    snprintf(s->err, s->errlen, "group %u: %s", w->l.group, m);
    return -1;
}

static int run_group_coroutines(Sched *s, char *stacks, size_t pg) {
    int T = s->threads;
    for (int i = 0; i < T; i++) {
        Lane *ln = &s->lanes[i];
        if (getcontext(&ln->ctx) != 0) {
            snprintf(s->err, s->errlen, "getcontext: %s", strerror(errno));
            return -1;
        }
        ln->ctx.uc_stack.ss_sp = stacks + (size_t)i * (STACK + pg) + pg;   /* above its guard page */
        ln->ctx.uc_stack.ss_size = STACK;
        ln->ctx.uc_link = &s->main;
        makecontext(&ln->ctx, lane_entry, 0);
        ln->state = ST_READY;
    }
    for (int phase = 0;; phase++) {
        for (int k = 0; k < T; k++) {
            int i = phase & 1 ? T - 1 - k : k;
            Lane *ln = &s->lanes[i];
            if (ln->state != ST_READY) continue;
            s->cur = i;
            s->set_lane(&ln->l);
            if (swapcontext(&s->main, &ln->ctx) != 0) {
                snprintf(s->err, s->errlen, "swapcontext: %s", strerror(errno));
                return -1;
            }
            if (s->failed) return -1;
        }
        int r = release(s);
        if (r) return r > 0 ? 0 : -1;
    }
}

/* a kernel without barriers: each lane a plain call; a failure longjmps here */
static int run_direct(Sched *s, int64_t ngroups) {
    if (setjmp(s->jb)) return -1;
    for (s->g = 0; s->g < ngroups; s->g++)
        for (s->cur = 0; s->cur < s->threads; s->cur++) {
            Lane *ln = &s->lanes[s->cur];
            ln->l.group = (unsigned)s->g;
            s->set_lane(&ln->l);
            s->fn(s->slots);
        }
    return 0;
}

int msl_sched_run(LtcMslLaneFn *fn, MslSetLane *set_lane, void *const *slots, int64_t ngroups, int threads, bool sync,
                  char *err, size_t errlen) {
    if (threads < 1 || threads > 1024) {
        snprintf(err, errlen, "threads %d: a threadgroup has 1..1024", threads);
        return -1;
    }
    if (ngroups < 0 || ngroups > 0xffffffffll) {
        snprintf(err, errlen, "ngroups %lld: out of 0..2^32-1", (long long)ngroups);
        return -1;
    }
    Sched s = {.fn = fn, .set_lane = set_lane, .slots = slots, .threads = threads, .coroutines = sync,
               .err = err, .errlen = errlen};
    int nsg = (threads + LTC_MSL_SIMD - 1) / LTC_MSL_SIMD;
    s.lanes = calloc((size_t)threads, sizeof *s.lanes);
    unsigned char *xchg = calloc((size_t)nsg * LTC_MSL_SIMD, LTC_MSL_XCHG);
    char *stacks = NULL;
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), span = sync ? (size_t)threads * (STACK + pg) : 0;
    int rc = -1;
    if (!s.lanes || !xchg) { snprintf(err, errlen, "out of memory"); goto out; }
    if (sync) {
        stacks = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (stacks == MAP_FAILED) { stacks = NULL; snprintf(err, errlen, "mmap of lane stacks: %s", strerror(errno)); goto out; }
        for (int i = 0; i < threads; i++)   /* a guard page below each stack: an overflow faults */
            if (mprotect(stacks + (size_t)i * (STACK + pg), pg, PROT_NONE) != 0) {
                snprintf(err, errlen, "mprotect: %s", strerror(errno));
                goto out;
            }
    }
    for (int i = 0; i < threads; i++)
        s.lanes[i].l = (LtcMslLane){.lid = (unsigned)i, .threads = (unsigned)threads, .ngroups = (unsigned)ngroups,
                                    .xchg = xchg + (size_t)(i / LTC_MSL_SIMD) * LTC_MSL_SIMD * LTC_MSL_XCHG, .rt = &s,
                                    .wait = lane_wait, .fail = lane_fail};
    self = &s;
    if (!sync) {
        if (run_direct(&s, ngroups)) goto out;
    } else {
        for (int64_t g = 0; g < ngroups; g++) {
            for (int i = 0; i < threads; i++) s.lanes[i].l.group = (unsigned)g;
            if (run_group_coroutines(&s, stacks, pg)) goto out;
        }
    }
    rc = 0;
out:
    self = NULL;
    if (stacks && munmap(stacks, span) != 0 && rc == 0) {
        snprintf(err, errlen, "munmap: %s", strerror(errno));
        rc = -1;
    }
    free(s.lanes);
    free(xchg);
    return rc;
}
