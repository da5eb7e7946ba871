/* so_check.c: a compiled model.so against the reference interpreter at
 * sizes of the test's choosing (not only the traced ones).
 *
 *   ltc_so_check SCRIPT.lsp MODEL.so [NAME=VALUE]... [--refuse TEXT] [--dynamic NAME:AXIS]...
 *                [--dtype bf16|f16 [--ref f32]] [--tol REL] [--repeat N]
 *
 * Evaluates SCRIPT in compile mode, traces its entry (the last top-level
 * call of a user function with tensor arguments, as the compiler does),
 * binds the symbols (NAME=VALUE; the others keep their traced values),
 * makes deterministic inputs (f32 normal, i64 in [0, 4), bool mostly
 * true), runs the traced graph with ir_run and MODEL.so (weights from
 * MODEL.safetensors beside it) through the public runtime, and compares
 * every output (|err| <= tol * max(1, max |ref|), tol 1e-4 or --tol).
 * --dynamic is traced as the compiler's option of that name; --dtype
 * converts the traced graph as the compiler's --dtype does
 * (ir/passes/dtype.c) before the interpreter runs it: float inputs are
 * fed to the model in that dtype (2 bytes; the interpreter gets the same
 * values in its float storage) and its outputs read back from it.
 * --ref f32 keeps the interpreter on the f32 graph and f32 weights (the
 * model's whole error, weight rounding included): only the inputs are
 * rounded to the model's dtype, so both see the same values.
 * --repeat N runs the model N times (each from call 0, so dropout draws
 * the same) and checks every run: a GPU device replays the second and
 * later runs (device_cuda.c's graphs).
 * With --refuse TEXT both the interpreter and the runtime must refuse the
 * sizes, the runtime's message containing TEXT.  Prints one line; exit 0
 * on success. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/lisp.h"
#include "ir/passes/passes.h"
#include "lispetorchc/runtime.h"

static int fail(const char *fmt, const char *a, const char *b) {
    fprintf(stderr, "so_check: ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    return 1;
}

/* Everything the run allocates, freed at exit on every path (the test
 * runs under LeakSanitizer too). */
static struct {
    Arena a, scratch; bool a_init, scratch_init;
    void **ins, **dins; int ni; int64_t (*ish)[LTC_MAX_RANK]; DLTensor *dl;
    void **outs; int64_t (*osh)[LTC_MAX_RANK]; DLTensor **res; int no;
    ltc_model *m;
} R;

static void cleanup(void) {
    for (int i = 0; R.ins && i < R.ni; i++) free(R.ins[i]);
    for (int i = 0; R.dins && i < R.ni; i++) free(R.dins[i]);
    free(R.dins);
    for (int i = 0; R.res && i < R.no; i++) ltc_tensor_free(R.res[i]);
    free(R.ins); free(R.ish); free(R.dl); free(R.outs); free(R.osh); free(R.res);
    ltc_model_close(R.m);
    if (R.scratch_init) arena_free(&R.scratch);
    if (R.a_init) arena_free(&R.a);
}

static uint64_t rng = 88172645463325252ull;
static double next_u(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (double)(rng >> 11) * 0x1p-53;
}

static DLDataType dl_of(DType t) {
    DLDataType d = {kDLFloat, 32, 1};
    if (t == DT_I64) { d.code = kDLInt; d.bits = 64; }
    if (t == DT_BOOL) { d.code = kDLBool; d.bits = 8; }
    if (t == DT_F16) d.bits = 16;
    if (t == DT_BF16) { d.code = kDLBfloat; d.bits = 16; }
    return d;
}

int main(int argc, char **argv) {
    if (argc < 3) return fail("usage: %s%s SCRIPT.lsp MODEL.so [NAME=VALUE]... [--refuse TEXT]", argv[0], "");
    const char *script = argv[1], *so = argv[2], *refuse = NULL;
    int repeat = 1;
    DType dtype = DT_F32;
    bool ref32 = false;
    double tol = 1e-4;
    for (int k = 3; k + 1 < argc; k++) {
        if (strcmp(argv[k], "--dtype") == 0) {
            const char *v = argv[k + 1];
            if (strcmp(v, "bf16") == 0) dtype = DT_BF16;
            else if (strcmp(v, "f16") == 0) dtype = DT_F16;
            else if (strcmp(v, "f32") != 0) return fail("--dtype %s: expected f32, bf16 or f16%s", v, "");
        } else if (strcmp(argv[k], "--ref") == 0) {
            if (strcmp(argv[k + 1], "f32") != 0) return fail("--ref %s: expected f32%s", argv[k + 1], "");
            ref32 = true;
        } else if (strcmp(argv[k], "--tol") == 0) {
            tol = atof(argv[k + 1]);
            if (!(tol > 0 && tol < 1)) return fail("--tol %s: expected a relative tolerance in (0, 1)%s", argv[k + 1], "");
        }
    }
    atexit(cleanup);
    arena_init(&R.a);
    R.a_init = true;
    SrcFile src;
    LtcDiag d = {0};
    if (read_file(&R.a, script, &src, &d)) return fail("%s%s", d.msg, "");
    Interp I;
    interp_init(&I, &R.a, MODE_COMPILE, 0);
    torch_register(&I);
    I.out = NULL;
    if (lisp_eval_file(&I, &src)) return fail("eval: %s%s", I.diag.msg, "");
    EntryCall *call = NULL;
    for (int i = I.ncalls - 1; i >= 0 && !call; i--)
        if (I.calls[i].fn && I.calls[i].fn->name) call = &I.calls[i];
    if (!call) return fail("no entry in %s%s", script, "");
    Graph *g;
    TraceOptions to;
    memset(&to, 0, sizeof to);
    for (int k = 3; k + 1 < argc; k++)
        if (strcmp(argv[k], "--dynamic") == 0 && to.ndyn < TRACE_MAX_DYNAMIC) {
            char *c = strrchr(argv[k + 1], ':');
            if (!c) return fail("--dynamic %s: expected NAME:AXIS%s", argv[k + 1], "");
            *c = 0;
            to.dyn_name[to.ndyn] = argv[k + 1];
            to.dyn_axis[to.ndyn++] = atoi(c + 1);
        }
    if (trace_entry(&I, call, call->fn->name, &to, &g)) return fail("trace: %s%s", I.diag.msg, "");
    if (!ref32 && pass_to_dtype(g, dtype, &d)) return fail("--dtype: %s%s", d.msg, "");
#define MODEL_DT(t) (ref32 && (t) == DT_F32 ? dtype : (t))   /* a tensor's dtype in the model */

    int64_t vals[LTC_MAX_SYMS];
    for (int i = 0; i < g->nsyms; i++) vals[i] = g->syms[i].example;
    for (int k = 3; k < argc; k++) {
        if (strcmp(argv[k], "--refuse") == 0 && k + 1 < argc) { refuse = argv[++k]; continue; }
        if (strcmp(argv[k], "--repeat") == 0 && k + 1 < argc) {
            repeat = atoi(argv[++k]);
            if (repeat < 1 || repeat > 1000) return fail("--repeat %s: expected 1 to 1000%s", argv[k], "");
            continue;
        }
        if ((strcmp(argv[k], "--dynamic") == 0 || strcmp(argv[k], "--dtype") == 0 || strcmp(argv[k], "--tol") == 0 ||
             strcmp(argv[k], "--ref") == 0) &&
            k + 1 < argc) { k++; continue; }
        char *eq = strchr(argv[k], '=');
        int s = -1;
        for (int i = 0; eq && i < g->nsyms; i++)
            if (strlen(g->syms[i].name) == (size_t)(eq - argv[k]) && !strncmp(g->syms[i].name, argv[k], (size_t)(eq - argv[k])))
                s = i;
        if (s < 0) return fail("unknown symbol in '%s'%s", argv[k], "");
        vals[s] = atoll(eq + 1);
    }
    SymBind b = {{0}, g->nsyms};
    memcpy(b.vals, vals, sizeof vals);

    /* inputs */
    int ni = g->ninputs, no = g->noutputs;
    void **ins = R.ins = calloc((size_t)ni + 1, sizeof *ins);
    int64_t (*ish)[LTC_MAX_RANK] = R.ish = calloc((size_t)ni + 1, sizeof *ish);
    DLTensor *dl = R.dl = calloc((size_t)ni + 1, sizeof *dl);
    void **dins = R.dins = calloc((size_t)ni + 1, sizeof *dins);   /* bf16/f16 inputs as the model takes them */
    R.ni = ni;
    if (!ins || !ish || !dl || !dins) return fail("out of memory%s%s", "", "");
    for (int i = 0; i < ni; i++) {
        Node *x = g->inputs[i];
        shape_eval(&x->shape, &b, ish[i]);
        size_t n = shape_numel_eval(&x->shape, &b), bytes;
        if (__builtin_mul_overflow(n ? n : 1, dtype_storage_size(x->dtype), &bytes)) return fail("input too large%s%s", "", "");
        ins[i] = malloc(bytes);
        if (!ins[i]) return fail("out of memory%s%s", "", "");
        for (size_t j = 0; j < n; j++) {
            if (x->dtype == DT_I64) ((int64_t *)ins[i])[j] = (int64_t)(next_u() * 4);
            else if (x->dtype == DT_BOOL) ((uint8_t *)ins[i])[j] = next_u() < 0.8 || j % 7 == 0;
            else ((float *)ins[i])[j] = round_to_dtype(MODEL_DT(x->dtype), (float)(sqrt(-2 * log(next_u() + 1e-12)) * cos(6.283185307 * next_u())));
        }
        void *data = ins[i];
        DType mt = MODEL_DT(x->dtype);
        if (mt == DT_BF16 || mt == DT_F16) {
            uint16_t *h = dins[i] = malloc((n ? n : 1) * sizeof *h);
            if (!h) return fail("out of memory%s%s", "", "");
            for (size_t j = 0; j < n; j++)
                h[j] = mt == DT_F16 ? f32_to_f16(((float *)ins[i])[j]) : f32_to_bf16(((float *)ins[i])[j]);
            data = h;
        }
        dl[i] = (DLTensor){data, {kDLCPU, 0}, x->shape.rank, dl_of(mt), ish[i], NULL, 0};
    }
    void **outs = R.outs = calloc((size_t)no + 1, sizeof *outs);
    int64_t (*osh)[LTC_MAX_RANK] = R.osh = calloc((size_t)no + 1, sizeof *osh);
    if (!outs || !osh) return fail("out of memory%s%s", "", "");
    RunArgs ra = {.inputs = ins, .in_shapes = ish, .outputs = outs, .out_shapes = osh};
    arena_init(&R.scratch);
    R.scratch_init = true;
    int irc = ir_run(g, &ra, &R.scratch, &d);

    ltc_error err;
    ltc_model *m = R.m = ltc_model_open(so, &err);
    if (!m) return fail("open %s: %s", so, err.message);
    if (!ltc_model_has_embedded_weights(m)) {
        char w[4096];
        snprintf(w, sizeof w, "%.*s.safetensors", (int)(strlen(so) > 3 ? strlen(so) - 3 : strlen(so)), so);
        if (ltc_model_bind_weights_file(m, w)) return fail("weights %s: %s", w, ltc_last_error(m)->message);
    }
    DLTensor **res = R.res = calloc((size_t)no + 1, sizeof *res);
    R.no = no;
    if (!res) return fail("out of memory%s%s", "", "");
    for (int rep = 0; rep < repeat; rep++) {
        if (rep > 0) {
            for (int o = 0; o < no; o++) { ltc_tensor_free(res[o]); res[o] = NULL; }
            ltc_model_set_call_count(m, 0);
        }
        int rrc = ltc_model_run_alloc(m, g->name, dl, ni, res, no);
        if (refuse) {
            if (irc == 0) return fail("the interpreter accepted sizes that should be refused%s%s", "", "");
            if (rrc == 0) return fail("the runtime accepted sizes that should be refused%s%s", "", "");
            const char *msg = ltc_last_error(m)->message;
            if (!strstr(msg, refuse)) return fail("runtime message '%s' lacks '%s'", msg, refuse);
            printf("so_check: refused as expected: %s\n", msg);
            return 0;
        }
        if (irc) return fail("ir_run: %s%s", d.msg, "");
        if (rrc) return fail("run: %s%s", ltc_last_error(m)->message, "");
        for (int o = 0; o < no; o++) {
            Node *y = g->outputs[o];
            if (res[o]->ndim != y->shape.rank) return fail("output rank differs%s%s", "", "");
            size_t n = 1;
            for (int j = 0; j < y->shape.rank; j++) {
                if (res[o]->shape[j] != osh[o][j]) return fail("output shape differs%s%s", "", "");
                n *= (size_t)osh[o][j];
            }
            double maxerr = 0, maxref = 0;
            for (size_t j = 0; j < n; j++) {
                double r, v;
                if (y->dtype == DT_I64) { r = (double)((int64_t *)outs[o])[j]; v = (double)((int64_t *)res[o]->data)[j]; }
                else if (y->dtype == DT_BOOL) { r = ((uint8_t *)outs[o])[j]; v = ((uint8_t *)res[o]->data)[j]; }
                else if (MODEL_DT(y->dtype) == DT_BF16 || MODEL_DT(y->dtype) == DT_F16) {
                    uint16_t h = ((uint16_t *)res[o]->data)[j];
                    r = ((float *)outs[o])[j];
                    v = MODEL_DT(y->dtype) == DT_F16 ? f16_to_f32(h) : bf16_to_f32(h);
                }
                else { r = ((float *)outs[o])[j]; v = ((float *)res[o]->data)[j]; }
                if (isnan(r) != isnan(v)) { maxerr = INFINITY; break; }
                if (isnan(r)) continue;
                maxerr = fmax(maxerr, fabs(v - r));
                maxref = fmax(maxref, fabs(r));
            }
            if (!(maxerr <= tol * (maxref > 1 ? maxref : 1))) {
                char e[64];
                snprintf(e, sizeof e, "%g", maxerr);
                return fail("output %s: max |err| %s", y->name ? y->name : "?", e);
            }
            printf("so_check: output %d [", o);
            for (int j = 0; j < y->shape.rank; j++) printf("%s%lld", j ? "," : "", (long long)osh[o][j]);
            printf("] matches the interpreter%s%s%s (max |err| %.3g, max |ref| %.3g)%s\n", dtype != DT_F32 ? " in " : "",
                   dtype != DT_F32 && ref32 ? "f32, the model in " : "",
                   dtype != DT_F32 ? dtype_name(dtype) : "", maxerr, maxref, repeat > 1 && rep ? " (again)" : "");
        }
    }
    return 0;
}
