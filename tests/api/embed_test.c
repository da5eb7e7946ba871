/* embed_test.c: the embedding API (lispetorchc/embed.h) as a C host uses
 * it.  Every expected value is computed here by hand from the script's
 * definition (f(x) = relu(x*x - 1), g(x) = x W^T + b with weights this
 * test writes), not by the compiler.  A plain program (ctest api_embed):
 * exit status 0 when every check passed; the sanitizer build's
 * LeakSanitizer fails it if anything is not freed. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lispetorchc/embed.h"

static int failures;

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
            failures++;                                                         \
        }                                                                       \
    } while (0)

/* Two entries over a [B,S,4] input: f has no parameters, g one linear layer. */
static const char MODEL[] =
    "; the embedding API's test model\n"
    "(setq lin (torch_linear 4 3))\n"
    "(defun f (x) (tensor_relu (tensor_sub_scalar (tensor_mul x x) 1.0)))\n"
    "(defun g (x) (torch_linear_forward lin x))\n"
    "(setq x (tensor_randn (integers 2 5 4)))\n"
    "(println (tensor_shape (f x)))\n"
    "(println (tensor_shape (g x)))\n";

static void print_diags(const char *what, const ltc_diags *ds) {
    for (size_t i = 0; i < ltc_diags_count(ds); i++) {
        const ltc_diag *g = ltc_diags_get(ds, i);
        fprintf(stderr, "  [%s] %s:%d:%d: %s\n", what, g->file ? g->file : "-", g->line, g->col, g->message);
    }
}

static ltc_module *compile_both(const char *weights, ltc_diags **ds) {
    static const char *const entries[] = {"f", "g"};
    ltc_compile_options o;
    ltc_compile_options_init(&o);
    o.entries = entries;
    o.nentries = 2;
    o.weights = weights;
    o.threads = 1;          /* two modules run at once in the thread test */
    return ltc_module_compile_source(MODEL, sizeof MODEL - 1, "model.lsp", &o, ds);
}

static DLTensor cpu_tensor(float *data, int ndim, int64_t *shape) {
    DLTensor t;
    memset(&t, 0, sizeof t);
    t.data = data;
    t.device.device_type = kDLCPU;
    t.ndim = ndim;
    t.dtype.code = kDLFloat;
    t.dtype.bits = 32;
    t.dtype.lanes = 1;
    t.shape = shape;
    return t;
}

static float input_value(size_t i, int salt) { return (float)((int)((i * 7 + (size_t)salt) % 13) - 6) * 0.25f; }

/* f at [b,s,4] against relu(x*x - 1).  0: all equal. */
static int check_f(ltc_module *m, int64_t b, int64_t s, int salt) {
    size_t n = (size_t)(b * s * 4);
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    int bad = 0;
    if (!x || !y) { free(x); free(y); return 1; }
    for (size_t i = 0; i < n; i++) { x[i] = input_value(i, salt); y[i] = -99; }
    int64_t shape[3] = {b, s, 4};
    DLTensor in = cpu_tensor(x, 3, shape), out = cpu_tensor(y, 3, shape);
    if (ltc_module_run(m, "f", &in, 1, &out, 1) != 0) {
        fprintf(stderr, "run f [%lld,%lld,4]: %s\n", (long long)b, (long long)s, ltc_module_last_error(m));
        bad = 1;
    }
    for (size_t i = 0; i < n && !bad; i++) {
        float want = x[i] * x[i] - 1.0f;
        if (want < 0) want = 0;
        if (fabsf(y[i] - want) > 1e-6f) {
            fprintf(stderr, "f [%lld,%lld,4] at %zu: %g, want %g\n", (long long)b, (long long)s, i, y[i], want);
            bad = 1;
        }
    }
    free(x);
    free(y);
    return bad;
}

/* ---- weights: a safetensors file of g's two parameters ------------------- */
static float weight_value(int o, int i, float scale) { return scale * (0.1f * (float)(o + 1) - 0.05f * (float)i); }
static float bias_value(int o, float scale) { return scale * 0.5f * (float)o; }

/* The parameter of g of rank `rank` (the weight [3,4] or the bias [3]). */
static const char *param_name(ltc_module *m, int rank) {
    ltc_model *model = ltc_module_model(m);
    for (int i = 0; i < ltc_model_num_params(model); i++) {
        ltc_tensor_info ti;
        if (ltc_model_param_info(model, i, &ti) == 0 && ti.ndim == rank) return ti.name;
    }
    return NULL;
}

static int write_weights(const char *path, const char *wname, const char *bname, float scale) {
    float w[12], bias[3];
    for (int o = 0; o < 3; o++) {
        bias[o] = bias_value(o, scale);
        for (int i = 0; i < 4; i++) w[o * 4 + i] = weight_value(o, i, scale);
    }
    char header[512];
    int hl = snprintf(header, sizeof header,
                      "{\"%s\":{\"dtype\":\"F32\",\"shape\":[3,4],\"data_offsets\":[0,48]},"
                      "\"%s\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[48,60]}}",
                      wname, bname);
    if (hl < 0 || hl + 8 >= (int)sizeof header) return -1;
    while (hl % 8) header[hl++] = ' ';          /* the data 8-byte aligned */
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    uint8_t len[8];
    for (int k = 0; k < 8; k++) len[k] = (uint8_t)((uint64_t)hl >> (8 * k));
    int ok = fwrite(len, 1, 8, f) == 8 && fwrite(header, 1, (size_t)hl, f) == (size_t)hl &&
             fwrite(w, sizeof w, 1, f) == 1 && fwrite(bias, sizeof bias, 1, f) == 1;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* g at [b,s,4] against x W^T + b (W, b: weight_value, bias_value at scale). */
static int check_g(ltc_module *m, int64_t b, int64_t s, float scale) {
    size_t rows = (size_t)(b * s);
    float *x = malloc(rows * 4 * sizeof *x);
    int bad = 0;
    if (!x) return 1;
    for (size_t i = 0; i < rows * 4; i++) x[i] = input_value(i, 3);
    int64_t shape[3] = {b, s, 4};
    DLTensor in = cpu_tensor(x, 3, shape);
    DLTensor *out = NULL;
    if (ltc_module_run_alloc(m, "g", &in, 1, &out, 1) != 0) {
        fprintf(stderr, "run g: %s\n", ltc_module_last_error(m));
        free(x);
        return 1;
    }
    if (out->ndim != 3 || out->shape[0] != b || out->shape[1] != s || out->shape[2] != 3) {
        fprintf(stderr, "g: output of rank %d\n", out->ndim);
        bad = 1;
    }
    const float *y = out->data;
    for (size_t r = 0; r < rows && !bad; r++)
        for (int o = 0; o < 3 && !bad; o++) {
            double want = bias_value(o, scale);
            for (int i = 0; i < 4; i++) want += (double)x[r * 4 + i] * weight_value(o, i, scale);
            if (fabs(y[r * 3 + o] - want) > 1e-5) {
                fprintf(stderr, "g at row %zu col %d: %g, want %g\n", r, o, y[r * 3 + o], want);
                bad = 1;
            }
        }
    ltc_tensor_free(out);
    free(x);
    return bad;
}

static char tmpdir[256];

static const char *tmp_path(const char *name) {
    static __thread char buf[512];
    snprintf(buf, sizeof buf, "%s/%s", tmpdir, name);
    return buf;
}

/* ---- the cases ------------------------------------------------------------- */
static void test_compile_and_run(void) {
    ltc_diags *ds = NULL;
    ltc_module *m = compile_both(NULL, &ds);
    CHECK(m != NULL, "the model compiles");
    CHECK(ds != NULL && ltc_diags_errors(ds) == 0, "no error records");
    if (!m) { print_diags("compile", ds); ltc_diags_free(ds); return; }
    /* the script's random weights: a note (naming no temporary file) */
    const ltc_diag *note = NULL;
    for (size_t i = 0; i < ltc_diags_count(ds); i++)
        if (ltc_diags_get(ds, i)->severity == LTC_DIAG_NOTE) note = ltc_diags_get(ds, i);
    CHECK(note && strstr(note->message, "random initial weights") && !strstr(note->message, "model.so"),
          "a note about the random weights: %s", note ? note->message : "(none)");
    ltc_diags_free(ds);
    CHECK(ltc_module_num_entries(m) == 2, "two entries, not %d", ltc_module_num_entries(m));
    const char *e0 = ltc_module_entry_name(m, 0), *e1 = ltc_module_entry_name(m, 1);
    CHECK(e0 && e1 && ((strcmp(e0, "f") == 0 && strcmp(e1, "g") == 0) || (strcmp(e0, "g") == 0 && strcmp(e1, "f") == 0)),
          "entries f and g, not %s and %s", e0 ? e0 : "NULL", e1 ? e1 : "NULL");
    CHECK(ltc_module_entry_name(m, 2) == NULL, "no third entry");
    /* two sizes, neither the traced [2,5,4] */
    CHECK(check_f(m, 1, 3, 0) == 0, "f at [1,3,4]");
    CHECK(check_f(m, 3, 7, 5) == 0, "f at [3,7,4]");
    /* and by the runtime */
    CHECK(ltc_model_weights_warning(ltc_module_model(m)) != NULL, "random initial weights are flagged");

    /* weights bound after the compile */
    const char *wname = param_name(m, 2), *bname = param_name(m, 1);
    CHECK(wname && bname, "g's weight and bias are parameters");
    if (wname && bname) {
        char path[512];
        snprintf(path, sizeof path, "%s", tmp_path("w1.safetensors"));
        CHECK(write_weights(path, wname, bname, 1.0f) == 0, "weights written");
        CHECK(ltc_module_bind_weights_file(m, path) == 0, "bind: %s", ltc_module_last_error(m));
        CHECK(check_g(m, 2, 3, 1.0f) == 0, "g at [2,3,4] with the bound weights");
        CHECK(check_g(m, 1, 9, 1.0f) == 0, "g at [1,9,4] with the bound weights");
        CHECK(ltc_module_bind_weights_file(m, tmp_path("absent.safetensors")) != 0, "an absent file is refused");
        CHECK(strstr(ltc_module_last_error(m), "absent.safetensors") != NULL, "the error names it: %s",
              ltc_module_last_error(m));
        CHECK(check_g(m, 2, 3, 1.0f) == 0, "the old weights stay after a refused bind");

        /* the same file bound at compile time (options.weights) */
        ltc_module *m2 = compile_both(path, &ds);
        CHECK(m2 != NULL, "compile with options.weights");
        if (!m2) print_diags("weights", ds);
        ltc_diags_free(ds);
        if (m2) {
            CHECK(check_g(m2, 2, 2, 1.0f) == 0, "g with the compile's weights");
            CHECK(ltc_model_weights_warning(ltc_module_model(m2)) == NULL, "not random");
        }
        ltc_module_free(m2);
        unlink(path);
    }

    /* run errors: records of the module, nothing printed */
    float x[4] = {0};
    int64_t bad_shape[2] = {1, 4};
    DLTensor in = cpu_tensor(x, 2, bad_shape), out = cpu_tensor(x, 2, bad_shape);
    CHECK(ltc_module_run(m, "f", &in, 1, &out, 1) != 0, "a rank-2 input is refused");
    CHECK(*ltc_module_last_error(m) != 0, "with a message");
    CHECK(ltc_module_run(m, "nosuch", &in, 1, &out, 1) != 0, "an unknown entry at run time is refused");
    CHECK(strstr(ltc_module_last_error(m), "nosuch") != NULL, "naming it: %s", ltc_module_last_error(m));
    ltc_module_free(m);
}

static const ltc_diag *first_error(const ltc_diags *ds) {
    for (size_t i = 0; i < ltc_diags_count(ds); i++)
        if (ltc_diags_get(ds, i)->severity == LTC_DIAG_ERROR) return ltc_diags_get(ds, i);
    return NULL;
}

static void test_syntax_error(void) {
    /* a stray ')' at line 2, column 11 */
    static const char src[] = "(setq x 1)\n(setq y 2))\n";
    ltc_diags *ds = NULL;
    ltc_module *m = ltc_module_compile_source(src, sizeof src - 1, "bad.lsp", NULL, &ds);
    CHECK(m == NULL, "a syntax error gives no module");
    const ltc_diag *g = first_error(ds);
    CHECK(g != NULL, "an error record");
    if (g) {
        CHECK(g->file && strcmp(g->file, "bad.lsp") == 0, "in bad.lsp, not %s", g->file ? g->file : "NULL");
        CHECK(g->line == 2 && g->col == 11, "at 2:11, not %d:%d", g->line, g->col);
        CHECK(strstr(g->message, "unexpected ')'") != NULL, "message: %s", g->message);
    }
    ltc_diags_free(ds);
    ltc_module_free(m);          /* NULL */

    /* an error while evaluating: the place of the call */
    static const char src2[] = "(setq x (tensor_randn (integers 2 3)))\n(defun f (x) (no_such_builtin x))\n(f x)\n";
    m = ltc_module_compile_source(src2, sizeof src2 - 1, NULL, NULL, &ds);
    CHECK(m == NULL, "an unknown function gives no module");
    g = first_error(ds);
    CHECK(g && g->file && strcmp(g->file, "<source>") == 0 && g->line == 2,
          "error in <source> at line 2: %s:%d", g && g->file ? g->file : "NULL", g ? g->line : 0);
    ltc_diags_free(ds);
    /* without a list to fill: still no crash */
    CHECK(ltc_module_compile_source(src, sizeof src - 1, "bad.lsp", NULL, NULL) == NULL, "no module, no list");
}

static void test_unknown_entry(void) {
    static const char *const entries[] = {"fx"};
    ltc_compile_options o;
    ltc_compile_options_init(&o);
    o.entries = entries;
    o.nentries = 1;
    ltc_diags *ds = NULL;
    ltc_module *m = ltc_module_compile_source(MODEL, sizeof MODEL - 1, "model.lsp", &o, &ds);
    CHECK(m == NULL, "an unknown entry gives no module");
    const ltc_diag *g = first_error(ds);
    CHECK(g && strstr(g->message, "'fx'") && strstr(g->message, "did you mean 'f'"), "message: %s",
          g ? g->message : "(none)");
    ltc_diags_free(ds);

    /* bad options are records too */
    o.nentries = 0;
    o.target = "cpux";
    m = ltc_module_compile_source(MODEL, sizeof MODEL - 1, "model.lsp", &o, &ds);
    g = first_error(ds);
    CHECK(m == NULL && g && strstr(g->message, "unknown target 'cpux'"), "message: %s", g ? g->message : "(none)");
    ltc_diags_free(ds);
    o.target = NULL;
    o.dtype = "f64";
    m = ltc_module_compile_source(MODEL, sizeof MODEL - 1, "model.lsp", &o, &ds);
    g = first_error(ds);
    CHECK(m == NULL && g && strstr(g->message, "unknown dtype 'f64'"), "message: %s", g ? g->message : "(none)");
    ltc_diags_free(ds);
}

/* Input a host may pass by mistake: errors, never a crash. */
static void test_bad_input(void) {
    ltc_diags *ds = NULL;
    const ltc_diag *g;
    /* nothing to compile */
    ltc_module *m = ltc_module_compile_source(NULL, 0, "empty.lsp", NULL, &ds);
    g = first_error(ds);
    CHECK(m == NULL && g && strstr(g->message, "no entry point"), "empty source: %s", g ? g->message : "(none)");
    ltc_diags_free(ds);
    CHECK(ltc_module_compile_source(NULL, 5, "x", NULL, &ds) == NULL && ltc_diags_errors(ds) == 1, "NULL text, len 5");
    ltc_diags_free(ds);
    CHECK(ltc_module_compile_file(NULL, NULL, &ds) == NULL && ltc_diags_errors(ds) == 1, "NULL path");
    ltc_diags_free(ds);
    /* a NUL byte inside the text */
    static const char nul[] = "(setq x 1)\0(garbage";
    m = ltc_module_compile_source(nul, sizeof nul - 1, "nul.lsp", NULL, &ds);
    CHECK(m == NULL && ltc_diags_errors(ds) >= 1, "a NUL byte: no module, an error");
    ltc_diags_free(ds);
    /* a runaway script stops at the step limit */
    static const char loop[] = "(setq n 0)\n(while true (setq n (+ n 1)))\n";
    ltc_compile_options o;
    ltc_compile_options_init(&o);
    o.max_steps = 10000;
    m = ltc_module_compile_source(loop, sizeof loop - 1, "loop.lsp", &o, &ds);
    g = first_error(ds);
    CHECK(m == NULL && g && strstr(g->message, "step"), "the step limit: %s", g ? g->message : "(none)");
    ltc_diags_free(ds);
    /* the script may not write files unless allowed */
    char save[600], wpath[512];
    snprintf(wpath, sizeof wpath, "%s", tmp_path("saved.safetensors"));
    int sl = snprintf(save, sizeof save, "(setq lin (torch_linear 4 3))\n(torch_save_safetensors lin \"%s\")\n", wpath);
    m = ltc_module_compile_source(save, (size_t)sl, "save.lsp", NULL, &ds);
    g = first_error(ds);
    CHECK(m == NULL && g && strstr(g->message, "does not write files") && g->line == 2, "a file write is refused: %s",
          g ? g->message : "(none)");
    CHECK(access(wpath, F_OK) != 0, "and nothing written");
    ltc_diags_free(ds);
    ltc_compile_options_init(&o);
    o.allow_file_writes = 1;
    m = ltc_module_compile_source(save, (size_t)sl, "save.lsp", &o, &ds);   /* no entry point: no module */
    CHECK(m == NULL && access(wpath, F_OK) == 0, "allow_file_writes: the file is written");
    ltc_diags_free(ds);
    unlink(wpath);
    /* bad option values */
    ltc_compile_options_init(&o);
    o.opt_level = 7;
    CHECK(ltc_module_compile_source(MODEL, sizeof MODEL - 1, "m", &o, &ds) == NULL && ltc_diags_errors(ds) == 1,
          "opt_level 7");
    ltc_diags_free(ds);
    ltc_compile_options_init(&o);
    o.nentries = 3;         /* entries NULL */
    CHECK(ltc_module_compile_source(MODEL, sizeof MODEL - 1, "m", &o, &ds) == NULL && ltc_diags_errors(ds) == 1,
          "nentries without entries");
    ltc_diags_free(ds);
    /* NULL modules */
    CHECK(ltc_module_num_entries(NULL) == -1 && ltc_module_entry_name(NULL, 0) == NULL, "NULL module");
    CHECK(ltc_module_run(NULL, "f", NULL, 0, NULL, 0) != 0 && *ltc_module_last_error(NULL), "run on NULL");
    CHECK(ltc_diags_count(NULL) == 0 && ltc_diags_get(NULL, 0) == NULL, "NULL list");
}

static void test_compile_file(void) {
    const char *path = tmp_path("model.lsp");
    char p[512];
    snprintf(p, sizeof p, "%s", path);
    FILE *f = fopen(p, "w");
    CHECK(f != NULL, "a script file");
    if (!f) return;
    CHECK(fwrite(MODEL, 1, sizeof MODEL - 1, f) == sizeof MODEL - 1, "written");
    fclose(f);
    ltc_diags *ds = NULL;
    ltc_module *m = ltc_module_compile_file(p, NULL, &ds);   /* the default entry: g, the last call */
    CHECK(m != NULL, "compile_file");
    if (!m) print_diags("file", ds);
    ltc_diags_free(ds);
    if (m) {
        CHECK(ltc_module_num_entries(m) == 1 && strcmp(ltc_module_entry_name(m, 0), "g") == 0,
              "the default entry is the last call (g)");
    }
    ltc_module_free(m);
    unlink(p);

    m = ltc_module_compile_file(tmp_path("absent.lsp"), NULL, &ds);
    const ltc_diag *g = first_error(ds);
    CHECK(m == NULL && g && strstr(g->message, "absent.lsp"), "a missing file: %s", g ? g->message : "(none)");
    ltc_diags_free(ds);
}

/* ---- two threads: independent modules compiled and run at once ---------- */
typedef struct { int salt, result; } Job;

static void *thread_job(void *arg) {
    Job *j = arg;
    j->result = 1;
    ltc_diags *ds = NULL;
    ltc_module *m = compile_both(NULL, &ds);
    if (!m) { print_diags("thread", ds); ltc_diags_free(ds); return NULL; }
    ltc_diags_free(ds);
    int bad = 0;
    for (int k = 0; k < 3; k++) bad |= check_f(m, 1 + k + j->salt, 2 + k, j->salt + k);
    ltc_module_free(m);
    j->result = bad;
    return NULL;
}

static void test_threads(void) {
    pthread_t t[2];
    Job jobs[2] = {{0, 1}, {1, 1}};
    int started[2] = {0, 0};
    for (int i = 0; i < 2; i++) started[i] = pthread_create(&t[i], NULL, thread_job, &jobs[i]) == 0;
    for (int i = 0; i < 2; i++) {
        CHECK(started[i], "thread %d started", i);
        if (started[i]) pthread_join(t[i], NULL);
        CHECK(jobs[i].result == 0, "thread %d compiled and ran its module", i);
    }
}

/* --dtype bf16 on the cpu target through the API: f takes and returns
 * bf16 (DLPack kDLBfloat 16).  The inputs are multiples of 1/4 in
 * [-1.5, 1.5], so x*x - 1 is exact in bf16 and the expected values are
 * exact too; a bf16 input is the float's top 16 bits. */
static void test_bf16(void) {
    static const char *const entries[] = {"f"};
    ltc_compile_options o;
    ltc_compile_options_init(&o);
    o.entries = entries;
    o.nentries = 1;
    o.dtype = "bf16";
    o.threads = 1;
    ltc_diags *ds = NULL;
    ltc_module *m = ltc_module_compile_source(MODEL, sizeof MODEL - 1, "model.lsp", &o, &ds);
    CHECK(m != NULL, "bf16 module compiles");
    if (!m) { print_diags("bf16", ds); ltc_diags_free(ds); return; }
    ltc_diags_free(ds);
    enum { B = 3, S = 7, N = B * S * 4 };
    uint16_t x[N], y[N];
    for (int i = 0; i < N; i++) {
        float v = input_value((size_t)i, 5);
        uint32_t u;
        memcpy(&u, &v, 4);
        x[i] = (uint16_t)(u >> 16);     /* exact: v has few mantissa bits */
        y[i] = 0xffff;                  /* NaN: an unwritten element shows */
    }
    int64_t shape[3] = {B, S, 4};
    DLTensor in, out;
    memset(&in, 0, sizeof in);
    in.data = x;
    in.device.device_type = kDLCPU;
    in.ndim = 3;
    in.dtype.code = kDLBfloat;
    in.dtype.bits = 16;
    in.dtype.lanes = 1;
    in.shape = shape;
    out = in;
    out.data = y;
    int rc = ltc_module_run(m, "f", &in, 1, &out, 1);
    CHECK(rc == 0, "bf16 run");
    int bad = 0;
    for (int i = 0; rc == 0 && i < N; i++) {
        float v = input_value((size_t)i, 5), want = v * v - 1 > 0 ? v * v - 1 : 0, got;
        uint32_t u = (uint32_t)y[i] << 16;
        memcpy(&got, &u, 4);
        if (got != want) bad++;
    }
    CHECK(bad == 0, "%d of %d bf16 outputs differ from relu(x*x - 1)", bad, N);
    ltc_module_free(m);
}

int main(void) {
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/ltc-embed-test.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) { perror("mkdtemp"); return 1; }
    /* the API's own temporaries go here too: the rmdir at the end checks
     * that none is left */
    if (setenv("TMPDIR", tmpdir, 1) != 0) { perror("setenv"); return 1; }
    test_compile_and_run();
    test_syntax_error();
    test_unknown_entry();
    test_bad_input();
    test_compile_file();
    test_threads();
    test_bf16();
    /* nothing of ours is left in the temporary directory */
    if (rmdir(tmpdir) != 0) { perror("rmdir (files left behind?)"); failures++; }
    if (failures) fprintf(stderr, "api_embed: %d checks failed\n", failures);
    else printf("api_embed: all checks passed\n");
    return failures ? 1 : 0;
}
