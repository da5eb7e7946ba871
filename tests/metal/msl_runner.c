/* msl_runner.c: see msl_runner.h.  clang++ runs through posix_spawn with
 * its output in a file of the call's temporary folder; every result is
 * checked. */
#include "tests/metal/msl_runner.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/support.h"
#include "tests/metal/msl_lint.h"
#include "tests/metal/msl_sched.h"

#ifndef MSL_CXX
#define MSL_CXX "clang++-14"
#endif
#ifndef MSL_INCLUDE_DIR
#error "MSL_INCLUDE_DIR: the folder of the shim's metal_stdlib (tests/metal/include)"
#endif

extern char **environ;

struct MslProgram {
    void *so;
    MslSetLane *set_lane;
    int n;
    LtcMslLaneFn **lanes;
    MslKernel *info;
    char **names;
    pthread_mutex_t mu;          /* one launch at a time: the shim's lane pointer is the program's */
    bool poisoned;               /* a launch was abandoned past its time limit: the .so stays open */
};

static const char *cxx(void) {
    const char *e = getenv("LTC_MSL_CXX");
    return e && *e ? e : MSL_CXX;
}

/* ---- a temporary folder -------------------------------------------------------------- */
typedef struct Tmp { char dir[512]; char files[4][600]; int n; } Tmp;

static int tmp_open(Tmp *t, char *err, size_t errlen) {
    memset(t, 0, sizeof *t);
    const char *base = getenv("TMPDIR");
    snprintf(t->dir, sizeof t->dir, "%s/ltc-msl.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(t->dir)) {
        snprintf(err, errlen, "mkdtemp %s: %s", t->dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* the path of file `name` in the folder, removed by tmp_close */
static const char *tmp_file(Tmp *t, const char *name) {
    char path[sizeof t->files[0]];
    snprintf(path, sizeof path, "%s/%s", t->dir, name);
    memcpy(t->files[t->n], path, sizeof path);
    return t->files[t->n++];
}

static void tmp_close(Tmp *t) {
    for (int i = 0; i < t->n; i++)
        if (unlink(t->files[i]) != 0 && errno != ENOENT) fprintf(stderr, "msl_runner: unlink %s: %s\n", t->files[i], strerror(errno));
    if (t->dir[0] && rmdir(t->dir) != 0) fprintf(stderr, "msl_runner: rmdir %s: %s\n", t->dir, strerror(errno));
    t->dir[0] = 0;
}

static int write_file(const char *path, const char *a, const char *b, char *err, size_t errlen) {
    FILE *f = fopen(path, "w");
    if (!f) { snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno)); return -1; }
    bool ok = fputs(a, f) >= 0 && (!b || fputs(b, f) >= 0);
    if (fclose(f) != 0) ok = false;
    if (!ok) snprintf(err, errlen, "writing %s failed: %s", path, strerror(errno));
    return ok ? 0 : -1;
}

/* argv run with stdout and stderr into log; 0, or -1 with the log (or why it did not run) in err */
static int run_tool(char *const *argv, const char *log, char *err, size_t errlen) {
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0) { snprintf(err, errlen, "posix_spawn_file_actions_init failed"); return -1; }
    int rc = -1, e;
    pid_t pid;
    if ((e = posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600)) != 0 ||
        (e = posix_spawn_file_actions_adddup2(&fa, 1, 2)) != 0) {
        snprintf(err, errlen, "posix_spawn_file_actions: %s", strerror(e));
    } else if ((e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ)) != 0) {
        snprintf(err, errlen, "cannot run %s: %s (set LTC_MSL_CXX to a clang++ 14 or later)", argv[0], strerror(e));
    } else {
        int st;
        pid_t w;
        while ((w = waitpid(pid, &st, 0)) < 0 && errno == EINTR) {}
        if (w < 0) snprintf(err, errlen, "waitpid: %s", strerror(errno));
        else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) rc = 0;
        else {
            FILE *f = fopen(log, "r");
            size_t n = 0;
            if (f) {
                n = fread(err, 1, errlen ? errlen - 1 : 0, f);
                fclose(f);
            }
            if (errlen) err[n] = 0;
            if (n == 0) snprintf(err, errlen, "%s failed (status %d) without a message", argv[0], st);
        }
    }
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

/* every `path` in s (NUL-terminated, capacity cap) becomes `name`: the
 * diagnostics name the source as the lint does, not the temporary file */
static void rename_in(char *s, size_t cap, const char *path, const char *name) {
    size_t pl = strlen(path), nl = strlen(name);
    if (!pl || nl > pl) return;
    for (char *q = strstr(s, path); q; q = strstr(q + nl, path)) {
        memcpy(q, name, nl);
        memmove(q + nl, q + pl, strlen(q + pl) + 1);
    }
    (void)cap;
}

/* ---- CHECK --------------------------------------------------------------------------- */
int msl_check(const char *src, char *err, size_t errlen) {
    if (msl_lint(src, "<msl>", err, errlen)) return -1;
    Tmp t;
    if (tmp_open(&t, err, errlen)) return -1;
    const char *file = tmp_file(&t, "kernels.metal"), *log = tmp_file(&t, "clang.log");
    int rc = write_file(file, src, NULL, err, errlen);
    if (rc == 0) {
        /* half is __fp16 in CHECK mode (ltc_msl/half.h): allowed as a parameter and result */
        char *argv[] = {(char *)cxx(), "-std=c++17", "-fsyntax-only", "-DLTC_MSL_CHECK", "-Wno-unknown-attributes",
                        "-Xclang", "-fallow-half-arguments-and-returns",
                        "-ferror-limit=20", "-I", MSL_INCLUDE_DIR, "-x", "c++", (char *)file, NULL};
        rc = run_tool(argv, log, err, errlen);
        if (rc) rename_in(err, errlen, file, "<msl>");
    }
    tmp_close(&t);
    return rc;
}

/* ---- RUN ----------------------------------------------------------------------------- */
/* an attribute's value for a lane (ltc_l: the LtcMslLane), and `rest` for vector forms */
static const char *position(const char *attr, int *rest) {
    static const struct { const char *attr, *expr; int rest; } pos[] = {
        {"thread_position_in_grid", "ltc_l->group * ltc_l->threads + ltc_l->lid", 0},
        {"thread_position_in_threadgroup", "ltc_l->lid", 0},
        {"thread_index_in_threadgroup", "ltc_l->lid", 0},
        {"threadgroup_position_in_grid", "ltc_l->group", 0},
        {"threads_per_threadgroup", "ltc_l->threads", 1},
        {"dispatch_threads_per_threadgroup", "ltc_l->threads", 1},
        {"threadgroups_per_grid", "ltc_l->ngroups", 1},
        {"threads_per_grid", "ltc_l->ngroups * ltc_l->threads", 1},
        {"thread_index_in_simdgroup", "ltc_l->lid % 32u", 0},
        {"simdgroup_index_in_threadgroup", "ltc_l->lid / 32u", 0},
        {"threads_per_simdgroup", "32u", 1},
        {"thread_execution_width", "32u", 1},
        {"simdgroups_per_threadgroup", "(ltc_l->threads + 31u) / 32u", 1},
        {"dispatch_simdgroups_per_threadgroup", "(ltc_l->threads + 31u) / 32u", 1},
    };
    for (size_t i = 0; i < sizeof pos / sizeof *pos; i++)
        if (strcmp(attr, pos[i].attr) == 0) { *rest = pos[i].rest; return pos[i].expr; }
    return NULL;
}

/* kernel k's lane entry: ltc_msl_lane_K(slots) calls it with its parameters */
static int lane_entry(StrBuf *o, int k, const char *name, const MslKernel *ki, char *err, size_t errlen) {
    sb_printf(o, "extern \"C\" __attribute__((visibility(\"default\"))) void ltc_msl_lane_%d(void *const *ltc_s) {\n"
                 "    const LtcMslLane *ltc_l = metal::ltc_msl_cur;\n    (void)ltc_l;\n    %s(", k, name);
    for (int i = 0; i < ki->np; i++) {
        const MslParam *p = &ki->p[i];
        sb_puts(o, i ? ",\n        " : "\n        ");
        int rest;
        const char *pe;
        if (strcmp(p->attr, "buffer") == 0) {
            if (p->arg < 0 || p->arg > LTC_GPU_MAX_BUFS) {
                snprintf(err, errlen, "%s: parameter %s [[buffer(%ld)]]: the runner passes buffers 0..%d (%d: the LtcGpuArgs)",
                         name, p->name, p->arg, LTC_GPU_MAX_BUFS - 1, LTC_GPU_MAX_BUFS);
                return -1;
            }
            char ty[sizeof p->type];
            snprintf(ty, sizeof ty, "%s", p->type);
            char *amp = strrchr(ty, '&');
            if (amp) {   /* a reference: to the slot's object */
                *amp = '*';
                sb_printf(o, "*(%s)ltc_s[%ld]", ty, p->arg);
            } else if (strchr(ty, '*')) {
                sb_printf(o, "(%s)ltc_s[%ld]", ty, p->arg);
            } else {
                snprintf(err, errlen, "%s: parameter %s [[buffer(%ld)]] is neither a pointer nor a reference", name, p->name, p->arg);
                return -1;
            }
        } else if ((pe = position(p->attr, &rest))) {
            const char *ty = p->type;
            if (strncmp(ty, "const ", 6) == 0) ty += 6;
            sb_printf(o, "metal::ltc_msl_pos<%s>(%s, %d)", ty, pe, rest);
        } else {
            snprintf(err, errlen, "%s: parameter %s [[%s]]: not something the runner can pass (buffers 0..%d and thread positions)",
                     name, p->name, p->attr[0] ? p->attr : "no attribute", LTC_GPU_MAX_BUFS);
            return -1;
        }
    }
    sb_puts(o, ");\n}\n");
    return 0;
}

void msl_free(MslProgram *p) {
    if (!p) return;
    if (p->so && !p->poisoned && dlclose(p->so) != 0) fprintf(stderr, "msl_runner: dlclose: %s\n", dlerror());
    for (int i = 0; p->names && i < p->n; i++) free(p->names[i]);
    free(p->names);
    free(p->lanes);
    free(p->info);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

MslProgram *msl_build(const char *src, const char *const *names, int n, char *err, size_t errlen) {
    MslProgram *p = calloc(1, sizeof *p);
    if (!p || pthread_mutex_init(&p->mu, NULL) != 0) { free(p); snprintf(err, errlen, "out of memory"); return NULL; }
    p->n = n;
    p->lanes = calloc((size_t)(n > 0 ? n : 1), sizeof *p->lanes);
    p->info = calloc((size_t)(n > 0 ? n : 1), sizeof *p->info);
    p->names = calloc((size_t)(n > 0 ? n : 1), sizeof *p->names);
    StrBuf entries = {0};
    Tmp t;
    memset(&t, 0, sizeof t);
    bool ok = p->lanes && p->info && p->names;
    if (!ok) snprintf(err, errlen, "out of memory");
    sb_puts(&entries, "\n/* the runner's lane entries (tests/metal/msl_runner.c) */\n");
    for (int k = 0; ok && k < n; k++) {
        ok = (p->names[k] = strdup(names[k])) && msl_kernel(src, names[k], &p->info[k], err, errlen) == 0 &&
             lane_entry(&entries, k, names[k], &p->info[k], err, errlen) == 0;
    }
    if (ok && (entries.oom || !entries.s)) { ok = false; snprintf(err, errlen, "out of memory"); }
    if (ok) ok = tmp_open(&t, err, errlen) == 0;
    if (ok) {
        const char *file = tmp_file(&t, "kernels.metal"), *log = tmp_file(&t, "clang.log"), *so = tmp_file(&t, "kernels.so");
        ok = write_file(file, src, entries.s, err, errlen) == 0;
        char *argv[] = {(char *)cxx(), "-std=c++17", "-O1", "-fPIC", "-shared", "-DLTC_MSL_RUN", "-Wno-unknown-attributes",
                        "-ferror-limit=20", "-I", MSL_INCLUDE_DIR, "-x", "c++", (char *)file, "-o", (char *)so, "-lm", NULL};
        if (ok) ok = run_tool(argv, log, err, errlen) == 0;
        if (ok && !(p->so = dlopen(so, RTLD_NOW | RTLD_LOCAL))) {
            snprintf(err, errlen, "dlopen: %s", dlerror());
            ok = false;
        }
        if (ok && !(p->set_lane = (MslSetLane *)dlsym(p->so, "ltc_msl_set_lane"))) {
            snprintf(err, errlen, "the program has no ltc_msl_set_lane (is its first line #include <metal_stdlib>?)");
            ok = false;
        }
        for (int k = 0; ok && k < n; k++) {
            char sym[32];
            snprintf(sym, sizeof sym, "ltc_msl_lane_%d", k);
            if (!(p->lanes[k] = (LtcMslLaneFn *)dlsym(p->so, sym))) {
                snprintf(err, errlen, "no %s in the built program", sym);
                ok = false;
            }
        }
    }
    if (t.dir[0]) tmp_close(&t);
    sb_free(&entries);
    if (!ok) {
        msl_free(p);
        return NULL;
    }
    return p;
}

/* ---- a launch on a worker thread, with a wall-clock limit ---------------------------- */
typedef struct Job {
    MslProgram *p;
    int k, threads;
    int64_t ngroups;
    void *slots[LTC_GPU_MAX_BUFS + 1];
    LtcGpuArgs args;
    char err[2048];
    int rc;
    bool done;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} Job;

static void *job_main(void *arg) {
    Job *j = arg;
    /* a lane spinning past the limit is cancelled where it runs */
    pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
    int rc = msl_sched_run(j->p->lanes[j->k], j->p->set_lane, j->slots, j->ngroups, j->threads, j->p->info[j->k].sync,
                           j->err, sizeof j->err);
    pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, NULL);
    pthread_mutex_lock(&j->mu);
    j->rc = rc;
    j->done = true;
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

int msl_launch(MslProgram *p, int k, void *const *bufs, const LtcGpuArgs *args, int64_t ngroups, int threads, char *err,
               size_t errlen) {
    if (!p || k < 0 || k >= p->n) { snprintf(err, errlen, "kernel %d: not one of the program's", k); return -1; }
    const MslKernel *ki = &p->info[k];
    if (threads < 1 || threads > 1024) { snprintf(err, errlen, "%s: threads %d: a threadgroup has 1..1024", p->names[k], threads); return -1; }
    if (ki->max_threads && threads > ki->max_threads) {
        snprintf(err, errlen, "%s: threads %d > its max_total_threads_per_threadgroup(%ld)", p->names[k], threads, ki->max_threads);
        return -1;
    }
    if (p->poisoned) { snprintf(err, errlen, "an earlier launch of this program was abandoned"); return -1; }
    double limit = 120;
    const char *e = getenv("LTC_MSL_TIMEOUT_S");
    if (e && atof(e) > 0) limit = atof(e);
    Job *j = calloc(1, sizeof *j);
    if (!j) { snprintf(err, errlen, "out of memory"); return -1; }
    j->p = p; j->k = k; j->threads = threads; j->ngroups = ngroups; j->args = *args;
    for (int i = 0; i < LTC_GPU_MAX_BUFS; i++) j->slots[i] = bufs[i];
    j->slots[LTC_GPU_MAX_BUFS] = &j->args;
    if (pthread_mutex_init(&j->mu, NULL) != 0 || pthread_cond_init(&j->cv, NULL) != 0) {
        free(j);
        snprintf(err, errlen, "pthread_mutex_init/cond_init failed");
        return -1;
    }
    pthread_mutex_lock(&p->mu);
    pthread_t th;
    int rc = -1, pe = pthread_create(&th, NULL, job_main, j);
    if (pe != 0) {
        snprintf(err, errlen, "pthread_create: %s", strerror(pe));
        pthread_mutex_unlock(&p->mu);
        pthread_mutex_destroy(&j->mu);
        pthread_cond_destroy(&j->cv);
        free(j);
        return -1;
    }
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += (time_t)limit;
    pthread_mutex_lock(&j->mu);
    int we = 0;
    while (!j->done && we != ETIMEDOUT) we = pthread_cond_timedwait(&j->cv, &j->mu, &dl);
    bool done = j->done;
    pthread_mutex_unlock(&j->mu);
    if (done) {
        if ((pe = pthread_join(th, NULL)) != 0) snprintf(err, errlen, "pthread_join: %s", strerror(pe));
        else if ((rc = j->rc) != 0) snprintf(err, errlen, "%s: %s", p->names[k], j->err);
        pthread_mutex_destroy(&j->mu);
        pthread_cond_destroy(&j->cv);
        free(j);
    } else {
        /* abandoned: cancelled, its job and stacks left behind (it may still run) */
        pthread_cancel(th);
        pthread_detach(th);
        p->poisoned = true;
        snprintf(err, errlen, "%s: the launch of %lld groups did not finish in %.0f s (LTC_MSL_TIMEOUT_S): a lane that never returns?",
                 p->names[k], (long long)ngroups, limit);
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}
