/* gpu_bench.c: a CUDA model.so timed through the public runtime.
 *
 *   ltc_gpu_bench MODEL.so NAME=VALUE... [--iters N] [--dev-only]
 *                 [--weights W.safetensors] [--input I=FILE]... [--output FILE]
 *
 * Binds W (--weights), else MODEL.safetensors beside it or, when there is
 * none, random weights
 * (uniform [-0.05, 0.05): the timing does not depend on them, and a large
 * model's weights need not travel to the GPU machine); gives each input the sizes of its
 * symbols (NAME=VALUE; every symbol of the entry must be given), fills the
 * inputs with uniform [-1, 1) floats (ids: 0; masks: true) or, with
 * --input I=FILE, input I with FILE's raw bytes (exactly the tensor's size:
 * little-endian elements of its dtype, row-major), and times
 * ltc_model_run, which returns when the outputs are final, two ways:
 *   dev   inputs and outputs in GPU memory (DLPack kDLCUDA): no copies;
 *   host  inputs and outputs in host memory: staged by the runtime
 *         (--dev-only skips it).
 * --output FILE writes output 0 of the last device run there, raw bytes of
 * its dtype (bench/gpu_models.py cmp compares it with PyTorch's).
 * --host-only makes no driver call and runs on host tensors only (the
 * "dev" figures are then host ones): for any model.so, a CPU one too, so
 * that --weights/--input/--output can be checked without a GPU.
 * Prints one line: the time ltc_model_open took (open_ms), binding the
 * weights (bind_ms) and the first run with device tensors (first_ms: module
 * load and first launches included), then the median and the minimum of N
 * runs (default 50) after 5 warm-up runs, in milliseconds, and the device
 * memory the runs took
 * beyond the weights and the tensors (run_mb: the scratch arena, by
 * cuMemGetInfo before and after) with the tensors' (io_mb).  Device memory comes from the driver the
 * runtime uses (runtime/rt_cuda.h's table, its primary context). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lispetorchc/runtime.h"
#include "runtime/rt_cuda.h"

static int die(const char *what, const char *why) {
    fprintf(stderr, "gpu_bench: %s: %s\n", what, why);
    return 1;
}

/* A safetensors image of every parameter of m (f32 or bf16), uniform
 * [-0.05, 0.05). */
static void *random_weights(ltc_model *m, size_t *len) {
    int np = ltc_model_num_params(m);
    size_t hcap = 256 + (size_t)(np > 0 ? np : 0) * 512, hl = 0, data = 0;
    char *h = malloc(hcap);
    if (!h) return NULL;
    hl += (size_t)snprintf(h + hl, hcap - hl, "{");
    for (int i = 0; i < np; i++) {
        ltc_tensor_info ti;
        if (ltc_model_param_info(m, i, &ti) != 0 || (ti.dtype != LTC_F32 && ti.dtype != LTC_BF16)) { free(h); return NULL; }
        size_t n = 1, es = ti.dtype == LTC_F32 ? 4 : 2;
        for (int d = 0; d < ti.ndim; d++) n *= (size_t)ti.dims[d];
        hl += (size_t)snprintf(h + hl, hcap - hl, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", i ? "," : "", ti.name,
                               es == 4 ? "F32" : "BF16");
        for (int d = 0; d < ti.ndim; d++) hl += (size_t)snprintf(h + hl, hcap - hl, "%s%lld", d ? "," : "", (long long)ti.dims[d]);
        hl += (size_t)snprintf(h + hl, hcap - hl, "],\"data_offsets\":[%zu,%zu]}", data, data + es * n);
        data += es * n;
        if (hl >= hcap - 8) { free(h); return NULL; }
    }
    hl += (size_t)snprintf(h + hl, hcap - hl, "}");
    while (hl % 8) h[hl++] = ' ';
    unsigned char *img = malloc(8 + hl + data);
    if (!img) { free(h); return NULL; }
    uint64_t n8 = hl;
    memcpy(img, &n8, 8);
    memcpy(img + 8, h, hl);
    /* bytes of small random numbers: any pair is a bf16 in [-0.05, 0.05)
     * and any four an f32 there (the sign and the low mantissa bits vary) */
    unsigned char *f = img + 8 + hl;
    for (size_t i = 0; i + 1 < data; i += 2) {
        float v = (float)((double)rand() / RAND_MAX * 0.1 - 0.05);
        uint32_t u;
        memcpy(&u, &v, 4);
        uint16_t hi = (uint16_t)(u >> 16);
        memcpy(f + i, &hi, 2);
    }
    free(h);
    *len = 8 + hl + data;
    return img;
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median and minimum of iters runs of m on (in, out). */
static int timed(ltc_model *m, const char *entry, DLTensor *in, int ni, DLTensor *out, int no, int iters,
                 double *med, double *min) {
    double *t = calloc((size_t)iters, sizeof *t);
    if (!t) return -1;
    for (int i = 0; i < 5; i++)
        if (ltc_model_run(m, entry, in, ni, out, no) != 0) { free(t); return -1; }
    for (int i = 0; i < iters; i++) {
        double t0 = now_ms();
        if (ltc_model_run(m, entry, in, ni, out, no) != 0) { free(t); return -1; }
        t[i] = now_ms() - t0;
    }
    qsort(t, (size_t)iters, sizeof *t, cmp);
    *med = t[iters / 2], *min = t[0];
    free(t);
    return 0;
}

/* The host tensors, freed at exit on every path (LeakSanitizer runs this
 * under the ASan build: e2e_bench_gpu_models). */
static void *host_bufs[32];   /* as many as shp[] below */
static int nhost_bufs;
static void host_free_all(void) {
    for (int i = 0; i < nhost_bufs; i++) free(host_bufs[i]);
    nhost_bufs = 0;
}
static void host_keep(void *p) {
    static bool registered;
    if (!registered) registered = atexit(host_free_all) == 0;
    if (nhost_bufs < (int)(sizeof host_bufs / sizeof host_bufs[0])) host_bufs[nhost_bufs++] = p;
}

int main(int argc, char **argv) {
    if (argc < 2) return die("usage", "ltc_gpu_bench MODEL.so NAME=VALUE... [--iters N]");
    const char *so = argv[1];
    int iters = 50;
    int dev_only = 0, host_only = 0;
    const char *wopt = NULL, *outfile = NULL;
    const char *infile[16] = {0};
    for (int k = 2; k < argc; k++) {   /* the file options first: weights are bound before the sizes are read */
        if (strcmp(argv[k], "--weights") == 0 && k + 1 < argc) wopt = argv[k + 1];
        if (strcmp(argv[k], "--output") == 0 && k + 1 < argc) outfile = argv[k + 1];
        if (strcmp(argv[k], "--host-only") == 0) host_only = dev_only = 1;
        if (strcmp(argv[k], "--input") == 0 && k + 1 < argc) {
            char *end;
            long i = strtol(argv[k + 1], &end, 10);
            if (end == argv[k + 1] || *end != '=' || i < 0 || i >= 16) return die(argv[k + 1], "expected --input I=FILE, I in 0..15");
            infile[i] = end + 1;
        }
    }
    ltc_error err;
    double t_open = now_ms();
    ltc_model *m = ltc_model_open(so, &err);
    if (!m) return die(so, err.message);
    t_open = now_ms() - t_open;
    char w[4096];
    if ((size_t)snprintf(w, sizeof w, "%.*s.safetensors", (int)(strlen(so) > 3 ? strlen(so) - 3 : strlen(so)), so) >= sizeof w)
        return die(so, "path too long");
    if (wopt) {
        if (strlen(wopt) >= sizeof w) return die(wopt, "path too long");
        strcpy(w, wopt);
    }
    double t_bind = now_ms();
    FILE *wf = fopen(w, "rb");
    if (wopt && !wf) return die(w, "cannot open the --weights file");
    if (wf) fclose(wf);
    if (!ltc_model_has_embedded_weights(m) && wf && ltc_model_bind_weights_file(m, w) != 0)
        return die(w, ltc_last_error(m)->message);
    if (!ltc_model_has_embedded_weights(m) && !wf) {
        size_t wl;
        void *img = random_weights(m, &wl);
        if (!img) return die(so, "cannot make random weights (non-f32 parameters?)");
        t_bind = now_ms();   /* the binding alone, not making the image */
        /* img stays until exit: a binding may point into it */
        if (ltc_model_bind_weights_memory(m, img, wl) != 0) return die("random weights", ltc_last_error(m)->message);
    }
    t_bind = now_ms() - t_bind;
    const char *entry = ltc_model_entry_name(m, 0);
    int nsym = ltc_model_num_symbols(m, entry);
    int64_t sym[64];
    if (nsym < 0 || nsym > 64) return die(so, "more than 64 symbols");
    for (int s = 0; s < nsym; s++) sym[s] = -1;
    for (int k = 2; k < argc; k++) {
        if (strcmp(argv[k], "--iters") == 0 && k + 1 < argc) { iters = atoi(argv[++k]); continue; }
        if (strcmp(argv[k], "--dev-only") == 0 || strcmp(argv[k], "--host-only") == 0) { dev_only = 1; continue; }
        if ((strcmp(argv[k], "--weights") == 0 || strcmp(argv[k], "--input") == 0 || strcmp(argv[k], "--output") == 0) &&
            k + 1 < argc) { k++; continue; }
        char *eq = strchr(argv[k], '=');
        int found = 0;
        for (int s = 0; eq && s < nsym; s++)
            if (strncmp(ltc_model_symbol_name(m, entry, s), argv[k], (size_t)(eq - argv[k])) == 0 &&
                ltc_model_symbol_name(m, entry, s)[eq - argv[k]] == 0)
                { sym[s] = atoll(eq + 1); found = 1; }
        if (!found) return die(argv[k], "not a symbol of the entry");
    }
    if (iters < 1 || iters > 100000) return die("--iters", "expected 1 to 100000");
    for (int s = 0; s < nsym; s++)
        if (sym[s] < 0) return die(ltc_model_symbol_name(m, entry, s), "no value given");

    RtCuApi cu;
    void *lib;
    char why[400];
    CuDevice dev;
    CuCtx ctx;
    if (!host_only && rt_cu_load_api(&cu, &lib, why, sizeof why) != 0) return die("driver", why);
    if (!host_only && (cu.Init(0) || cu.DeviceGet(&dev, 0) || cu.PrimaryCtxRetain(&ctx, dev) || cu.CtxPushCurrent(ctx)))
        return die("driver", "no context on GPU 0");

    int ni = ltc_model_num_inputs(m, entry), no = ltc_model_num_outputs(m, entry);
    DLTensor hin[16], din[16], hout[16], dout[16];
    size_t io_bytes = 0;
    int64_t shp[32][LTC_MAX_NDIM];
    if (ni > 16 || no > 16) return die(so, "more than 16 inputs or outputs");
    for (int i = ni; i < 16; i++)
        if (infile[i]) return die(infile[i], "--input names an input the entry does not have");
    for (int i = 0; i < ni + no; i++) {
        ltc_tensor_info ti;
        int rc = i < ni ? ltc_model_input_info(m, entry, i, &ti) : ltc_model_output_info(m, entry, i - ni, &ti);
        if (rc != 0) return die(so, "tensor info");
        size_t n = 1;
        for (int d = 0; d < ti.ndim; d++) {
            shp[i][d] = ti.dims[d];
            for (int s = 0; ti.dims[d] < 0 && s < nsym; s++)
                if (ti.dim_names[d] && strcmp(ti.dim_names[d], ltc_model_symbol_name(m, entry, s)) == 0) shp[i][d] = sym[s];
            if (shp[i][d] < 0) return die(ti.name, "a dimension is an expression of the symbols (not supported here)");
            n *= (size_t)shp[i][d];
        }
        size_t es = ti.dtype == LTC_I64 ? 8 : ti.dtype == LTC_BOOL ? 1 : ti.dtype == LTC_F32 ? 4 : 2;
        io_bytes += n * es;
        unsigned char *h = calloc(n ? n : 1, es);
        if (!h) return die("host", "out of memory");
        host_keep(h);
        if (i < ni && ti.dtype == LTC_F32)
            for (size_t j = 0; j < n; j++) ((float *)h)[j] = (float)((double)rand() / RAND_MAX * 2 - 1);
        if (i < ni && ti.dtype == LTC_BF16)      /* the high half of a float in [-1, 1) */
            for (size_t j = 0; j < n; j++) {
                float v = (float)((double)rand() / RAND_MAX * 2 - 1);
                uint32_t u;
                memcpy(&u, &v, 4);
                ((uint16_t *)h)[j] = (uint16_t)(u >> 16);
            }
        if (i < ni && ti.dtype == LTC_BOOL) memset(h, 1, n);
        if (i < ni && infile[i]) {   /* the caller's values: exactly n elements */
            FILE *f = fopen(infile[i], "rb");
            if (!f) return die(infile[i], "cannot open the --input file");
            size_t got = fread(h, 1, n * es, f);
            int extra = fgetc(f) != EOF;
            fclose(f);
            if (got != n * es || extra) return die(infile[i], "not exactly the input's size in bytes");
        }
        CuDevPtr p = 0;
        if (!host_only && (cu.MemAlloc(&p, n * es > 0 ? n * es : 64) || (i < ni && cu.MemcpyHtoDAsync(p, h, n * es, NULL)) ||
                           cu.StreamSynchronize(NULL)))
            return die("device", "cuMemAlloc / copy failed");
        DLDataType dt = ti.dtype == LTC_I64 ? (DLDataType){kDLInt, 64, 1}
                        : ti.dtype == LTC_BOOL ? (DLDataType){kDLBool, 8, 1}
                        : ti.dtype == LTC_F32 ? (DLDataType){kDLFloat, 32, 1}
                        : ti.dtype == LTC_BF16 ? (DLDataType){kDLBfloat, 16, 1} : (DLDataType){kDLFloat, 16, 1};
        DLTensor hd = {h, {kDLCPU, 0}, ti.ndim, dt, shp[i], NULL, 0};
        DLTensor dd = {(void *)(uintptr_t)p, {kDLCUDA, 0}, ti.ndim, dt, shp[i], NULL, 0};
        if (host_only) dd = hd;
        if (i < ni) hin[i] = hd, din[i] = dd;
        else hout[i - ni] = hd, dout[i - ni] = dd;
    }
    double dmed, dmin, hmed = 0, hmin = 0;
    size_t free0 = 0, free1 = 0, total = 0;
    if (!host_only && cu.MemGetInfo(&free0, &total)) return die("driver", "cuMemGetInfo failed");
    double t_first = now_ms();
    if (ltc_model_run(m, entry, din, ni, dout, no) != 0) return die("first run (device tensors)", ltc_last_error(m)->message);
    t_first = now_ms() - t_first;
    if (timed(m, entry, din, ni, dout, no, iters, &dmed, &dmin) != 0) return die("run (device tensors)", ltc_last_error(m)->message);
    if (outfile && no > 0) {   /* output 0 of the last device run, raw */
        size_t n = 1, es = dout[0].dtype.bits / 8;
        for (int d = 0; d < dout[0].ndim; d++) n *= (size_t)dout[0].shape[d];
        if (!host_only &&
            (cu.MemcpyDtoHAsync(hout[0].data, (CuDevPtr)(uintptr_t)dout[0].data, n * es, NULL) || cu.StreamSynchronize(NULL)))
            return die("device", "cuMemcpyDtoH failed");
        FILE *f = fopen(outfile, "wb");
        if (!f) return die(outfile, "cannot create the --output file");
        size_t put = fwrite(hout[0].data, 1, n * es, f);
        if (fclose(f) != 0 || put != n * es) return die(outfile, "write failed");
    }
    if (!host_only && cu.MemGetInfo(&free1, &total)) return die("driver", "cuMemGetInfo failed");
    if (!dev_only && timed(m, entry, hin, ni, hout, no, iters, &hmed, &hmin) != 0)
        return die("run (host tensors)", ltc_last_error(m)->message);
    printf("gpu_bench: %s", so);
    for (int s = 0; s < nsym; s++) printf(" %s=%lld", ltc_model_symbol_name(m, entry, s), (long long)sym[s]);
    printf(" open_ms=%.1f bind_ms=%.1f first_ms=%.1f", t_open, t_bind, t_first);
    printf(" dev_ms=%.4f dev_min_ms=%.4f host_ms=%.4f host_min_ms=%.4f iters=%d run_mb=%.1f io_mb=%.1f\n", dmed, dmin,
           hmed, hmin, iters, free0 > free1 ? (double)(free0 - free1) / 1048576 : 0.0, (double)io_bytes / 1048576);
    ltc_model_close(m);
    return 0;
}
