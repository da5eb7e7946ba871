/* nvrtc.c: CUDA C -> PTX / cubin with NVRTC, several compilations at
 * once on pthreads (NVRTC compiles distinct programs concurrently; each
 * takes a second or more of optimiser and ptxas, so the targets of a
 * model are compiled side by side). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nvrtc.h>

#include "codegen/cuda/cuda.h"

int cuda_parse_targets(const char *list, CudaTarget *t, int *n, char *err, size_t errlen) {
    *n = 0;
    const char *p = list ? list : "";
    if (!*p) return snprintf(err, errlen, "--gpu-arch: empty list (e.g. --gpu-arch %s)", CUDA_DEFAULT_TARGETS), -1;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char item[32];
        if (len == 0 || len >= sizeof item)
            return snprintf(err, errlen, "--gpu-arch: bad item '%.*s' (expected compute_XY, sm_XY or sm_XYa)", (int)len, p), -1;
        memcpy(item, p, len);
        item[len] = 0;
        bool ptx = strncmp(item, "compute_", 8) == 0, cubin = strncmp(item, "sm_", 3) == 0;
        const char *dg = item + (ptx ? 8 : 3);
        char *end = NULL;
        long v = (ptx || cubin) && *dg >= '0' && *dg <= '9' ? strtol(dg, &end, 10) : -1;
        bool a = end && cubin && strcmp(end, "a") == 0;
        if (v < 0 || !end || (*end && !a) || v > 999)
            return snprintf(err, errlen, "--gpu-arch: bad item '%s' (expected compute_XY, sm_XY or sm_XYa, e.g. sm_90a)", item), -1;
        if (v < 80)
            return snprintf(err, errlen, "--gpu-arch: %s is older than sm_80, which the generated kernels need", item), -1;
        if (*n == CUDA_MAX_TARGETS) return snprintf(err, errlen, "--gpu-arch: more than %d targets", CUDA_MAX_TARGETS), -1;
        CudaTarget c = {{0}, ptx ? LTC_CODE_CUDA_PTX : LTC_CODE_CUDA_CUBIN, (uint32_t)v | (a ? LTC_ARCH_A : 0)};
        memcpy(c.arch, item, len + 1 <= sizeof c.arch ? len + 1 : sizeof c.arch - 1);
        for (int i = 0; i < *n; i++)
            if (t[i].kind == c.kind && t[i].code_arch == c.code_arch)
                return snprintf(err, errlen, "--gpu-arch: %s is listed twice", item), -1;
        t[(*n)++] = c;
        p += len;
        if (*p == ',') p++;
    }
    return 0;
}

/* The first "file(N): error" of the log, with line N of the source. */
static void first_error(CudaJob *j) {
    const char *log = j->log ? j->log : "";
    const char *e = strstr(log, ": error");
    if (!e) {
        snprintf(j->err, sizeof j->err, "NVRTC %s: %.600s", j->arch, log[0] ? log : "compilation failed");
        return;
    }
    const char *ls = e;
    while (ls > log && ls[-1] != '\n') ls--;
    const char *le = strchr(e, '\n');
    int msglen = le ? (int)(le - ls) : (int)strlen(ls);
    long line = 0;
    const char *paren = memchr(ls, '(', (size_t)(e - ls));
    if (paren) line = strtol(paren + 1, NULL, 10);
    const char *p = j->src;
    for (long n = 1; p && n < line; n++) {
        p = strchr(p, '\n');
        if (p) p++;
    }
    int srclen = 0;
    if (p && line > 0) {
        const char *q = strchr(p, '\n');
        srclen = q ? (int)(q - p) : (int)strlen(p);
    }
    if (srclen > 300) srclen = 300;
    if (msglen > 400) msglen = 400;
    if (srclen)
        snprintf(j->err, sizeof j->err, "NVRTC %s: %.*s\n  %5ld | %.*s", j->arch, msglen, ls, line, srclen, p);
    else
        snprintf(j->err, sizeof j->err, "NVRTC %s: %.*s", j->arch, msglen, ls);
}

static int fail(CudaJob *j, const char *what, nvrtcResult r) {
    snprintf(j->err, sizeof j->err, "NVRTC %s: %s: %s", j->arch, what, nvrtcGetErrorString(r));
    return j->rc = -1;
}

static int compile_one(CudaJob *j) {
    nvrtcProgram prog;
    nvrtcResult r = nvrtcCreateProgram(&prog, j->src, j->file, 0, NULL, NULL);
    if (r != NVRTC_SUCCESS) return fail(j, "nvrtcCreateProgram", r);
    char archopt[64];
    snprintf(archopt, sizeof archopt, "--gpu-architecture=%s", j->arch);
    const char *opts[3] = {archopt, "-std=c++17", j->extra};
    nvrtcResult cr = nvrtcCompileProgram(prog, j->extra ? 3 : 2, opts);
    size_t n = 0;
    if ((r = nvrtcGetProgramLogSize(prog, &n)) == NVRTC_SUCCESS && n > 0) {
        j->log = malloc(n + 1);
        if (j->log && nvrtcGetProgramLog(prog, j->log) != NVRTC_SUCCESS) j->log[0] = 0;
        if (j->log) j->log[n] = 0;
    }
    if (cr != NVRTC_SUCCESS) {
        first_error(j);
        nvrtcDestroyProgram(&prog);
        return j->rc = -1;
    }
    bool cubin = strncmp(j->arch, "sm_", 3) == 0;
    r = cubin ? nvrtcGetCUBINSize(prog, &n) : nvrtcGetPTXSize(prog, &n);
    if (r != NVRTC_SUCCESS) {
        nvrtcDestroyProgram(&prog);
        return fail(j, cubin ? "nvrtcGetCUBINSize" : "nvrtcGetPTXSize", r);
    }
    if (!(j->code = malloc(n ? n : 1))) {
        nvrtcDestroyProgram(&prog);
        snprintf(j->err, sizeof j->err, "NVRTC %s: out of memory", j->arch);
        return j->rc = -1;
    }
    r = cubin ? nvrtcGetCUBIN(prog, j->code) : nvrtcGetPTX(prog, j->code);
    nvrtcDestroyProgram(&prog);
    if (r != NVRTC_SUCCESS) return fail(j, cubin ? "nvrtcGetCUBIN" : "nvrtcGetPTX", r);
    j->code_len = n;
    return j->rc = 0;
}

typedef struct Queue {
    pthread_mutex_t mu;
    CudaJob *jobs;
    int n, next;
} Queue;

static void *worker(void *arg) {
    Queue *q = arg;
    for (;;) {
        pthread_mutex_lock(&q->mu);
        int i = q->next < q->n ? q->next++ : -1;
        pthread_mutex_unlock(&q->mu);
        if (i < 0) return NULL;
        compile_one(&q->jobs[i]);
    }
}

int cuda_compile_jobs(CudaJob *jobs, int n, int nthreads) {
    Queue q = {.jobs = jobs, .n = n};
    if (pthread_mutex_init(&q.mu, NULL) != 0) {
        for (int i = 0; i < n; i++) compile_one(&jobs[i]);   /* no lock: one thread */
    } else {
        enum { MAXT = 16 };
        pthread_t th[MAXT];
        int nt = 0;
        if (nthreads > MAXT) nthreads = MAXT;
        if (nthreads > n) nthreads = n;
        /* the calling thread works too; a thread that cannot start is one fewer */
        for (int i = 1; i < nthreads; i++)
            if (pthread_create(&th[nt], NULL, worker, &q) == 0) nt++;
        worker(&q);
        for (int i = 0; i < nt; i++) pthread_join(th[i], NULL);
        pthread_mutex_destroy(&q.mu);
    }
    int rc = 0;
    for (int i = 0; i < n; i++)
        if (jobs[i].rc) rc = -1;
    return rc;
}

void cuda_job_free(CudaJob *j) {
    free(j->code);
    free(j->log);
    j->code = j->log = NULL;
    j->code_len = 0;
}

#ifdef LTC_HAVE_NVJITLINK
#include <nvJitLink.h>

/* The relocatable cubins of jobs[0..n) (NVRTC -rdc=true, one kernel each)
 * linked by nvJitLink into one cubin for arch. */
int cuda_link_cubins(const char *arch, CudaJob *const *jobs, int n, char **out, size_t *len, char *err,
                     size_t errlen) {
    char opt[64];
    snprintf(opt, sizeof opt, "-arch=%s", arch);
    const char *opts[1] = {opt};
    nvJitLinkHandle h;
    *out = NULL;
    *len = 0;
    if (nvJitLinkCreate(&h, 1, opts) != NVJITLINK_SUCCESS) {
        snprintf(err, errlen, "nvJitLink %s: nvJitLinkCreate failed", arch);
        return -1;
    }
    nvJitLinkResult r = NVJITLINK_SUCCESS;
    for (int i = 0; i < n && r == NVJITLINK_SUCCESS; i++)
        r = nvJitLinkAddData(h, NVJITLINK_INPUT_CUBIN, jobs[i]->code, jobs[i]->code_len, jobs[i]->file);
    if (r == NVJITLINK_SUCCESS) r = nvJitLinkComplete(h);
    size_t n2 = 0;
    if (r == NVJITLINK_SUCCESS && (r = nvJitLinkGetLinkedCubinSize(h, &n2)) == NVJITLINK_SUCCESS) {
        if (!(*out = malloc(n2 ? n2 : 1))) {
            nvJitLinkDestroy(&h);
            snprintf(err, errlen, "nvJitLink %s: out of memory", arch);
            return -1;
        }
        r = nvJitLinkGetLinkedCubin(h, *out);
        *len = n2;
    }
    if (r != NVJITLINK_SUCCESS) {
        size_t ls = 0;
        char log[512] = "";
        if (nvJitLinkGetErrorLogSize(h, &ls) == NVJITLINK_SUCCESS && ls > 0 && ls < sizeof log)
            nvJitLinkGetErrorLog(h, log);
        snprintf(err, errlen, "nvJitLink %s: error %d: %s", arch, (int)r, log);
        free(*out);
        *out = NULL;
        nvJitLinkDestroy(&h);
        return -1;
    }
    nvJitLinkDestroy(&h);
    return 0;
}
#endif
