/* rt_kcontract.c: the kernel contract (plan/kernel_families.def,
 * kernel_footprint.c, kernel_check.c).
 *
 *  - every plan the compiler builds for the examples and several e2e
 *    scripts passes it, at the traced sizes and at others (no false
 *    refusal), before and after a trip through the plan blob;
 *  - per family, a real step with one dim made larger, one more tile, or
 *    a buffer dropped is refused by the runtime's real path (serialised,
 *    read back, rt_prepack / rt_run with no-op kernels), with a message
 *    naming the step and its family;
 *  - the reader refuses an unknown family. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/backend.h"
#include "codegen/lower.h"
#include "plan/serialize.h"
#include "frontend/lisp.h"
#include "ir/passes/passes.h"
#include "plan/kernel_contract.h"
#include "runtime/rt_internal.h"

static Arena A;
static Backend *BE;
static LtcDiag D;

static void setup(void) {
    arena_init(&A);
    BackendOptions o = {.cpu = "native", .opt_level = 3};
    BE = backend_new("cpu", &A, &o, &D);
    cr_assert(BE, "%s", D.msg);
}
static void teardown(void) {
    if (BE) BE->destroy(BE);
    arena_free(&A);
}
TestSuite(rt_kcontract, .init = setup, .fini = teardown, .timeout = 600);

static const char *const scripts[] = {
    "examples/flash_transformer_example.lsp", "examples/gpt_decoder.lsp", "examples/llama_block.lsp",
    "examples/flash_attention_demo.lsp", "examples/attention_performance_comparison.lsp",
    "examples/examples_enhanced.lsp", "examples/test_flash_success.lsp",
    "tests/e2e/inputs/dyn_encoder.lsp", "tests/e2e/inputs/dyn_llama_gqa.lsp", "tests/e2e/inputs/dyn_masks.lsp",
    "tests/e2e/inputs/dyn_probs.lsp", "tests/e2e/inputs/dyn_sym_arith.lsp", "tests/e2e/inputs/dyn_guard.lsp",
    "tests/e2e/inputs/cat_many.lsp", "tests/e2e/inputs/gqa.lsp",
    "tests/e2e/inputs/ffn_a.lsp", "tests/e2e/inputs/deep_layers.lsp", "tests/e2e/inputs/dropout_calls.lsp",
    "tests/e2e/inputs/two_entries.lsp", "tests/e2e/inputs/dyn_equal.lsp", "tests/e2e/inputs/reductions.lsp",
};

/* Plans of every entry of a script (compile mode, as `lispetorchc -o`). */
static int script_plans(const char *rel, Plan **out, int max) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", LTC_SOURCE_DIR, rel);
    SrcFile f;
    cr_assert_eq(read_file(&A, path, &f, &D), 0, "%s: %s", rel, D.msg);
    Interp *I = arena_alloc(&A, sizeof *I);
    interp_init(I, &A, MODE_COMPILE, 1);
    torch_register(I);
    I->out = NULL;
    cr_assert_eq(lisp_eval_file(I, &f), 0, "%s: %s", rel, I->diag.msg);
    int n = 0;
    for (int i = 0; i < I->ncalls && n < max; i++) {
        Graph *g = NULL;
        TraceOptions to = {0};
        char name[32];
        snprintf(name, sizeof name, "entry%d", i);
        if (trace_entry(I, &I->calls[i], name, &to, &g) != 0 || !g) continue;
        PassOptions po = {0};
        if (passes_run(g, &po, NULL, NULL, &D) != 0) continue;
        Plan *p = NULL;
        if (plan_build(g, BE, &A, &p, &D) != 0) continue;     /* an op the backend does not lower */
        out[n++] = p;
    }
    return n;
}

/* Symbol values: every free symbol at v(example), derived ones computed;
 * false when a derived size is not defined or a limit fails. */
static bool symvals_at(const Plan *p, int set, int64_t *sv) {
    memset(sv, 0, sizeof(int64_t) * LTC_MAX_SYMS);
    for (int s = 0; s < p->graph->nsyms; s++) {
        const Symbol *sy = &p->graph->syms[s];
        int64_t ex = sy->example;
        if (sy->def.kind == SYM_FREE) {
            static const int64_t mul[] = {1, 0, 1, 2, 0, 3}, add[] = {0, 1, 3, 1, 7, 0};
            sv[s] = ex * mul[set] + add[set];
        } else {
            char why[128];
            if (symdef_eval(&sy->def, s, sv, &sv[s], why, sizeof why) != 0) return false;
        }
    }
    char err[256];
    return plan_check_limits(p, sv, err, sizeof err) == 0;
}
enum { NSETS = 6 };

static int count_checked(const Plan *p, int *nsteps) {
    int ok = 0;
    for (int set = 0; set < NSETS; set++) {
        int64_t sv[LTC_MAX_SYMS];
        if (!symvals_at(p, set, sv)) continue;
        char err[512] = "";
        if (rt_check_buffers(p, sv, false, err, sizeof err) != 0) continue;   /* sizes the plan cannot serve */
        cr_assert_eq(rt_check_kernels(p, sv, true, err, sizeof err), 0, "%s: %s", p->graph->name, err);
        cr_assert_eq(rt_check_kernels(p, sv, false, err, sizeof err), 0, "%s (set %d): %s", p->graph->name, set, err);
        ok++;
        *nsteps += p->nsteps + p->nprepack;
    }
    return ok;
}

static Plan *round_trip(Plan *p) {
    StrBuf sb = {0};
    cr_assert_eq(plan_serialize(&p, 1, &sb, &D), 0, "%s", D.msg);
    Plan **ps = NULL;
    int np = 0;
    cr_assert_eq(plan_deserialize(&A, sb.s, sb.len, &ps, &np, &D), 0, "%s", D.msg);
    sb_free(&sb);
    cr_assert_eq(np, 1);
    return ps[0];
}

Test(rt_kcontract, every_compiled_plan_passes) {
    int nplans = 0, nchecks = 0, nsteps = 0, fam[32] = {0};
    for (size_t i = 0; i < sizeof scripts / sizeof *scripts; i++) {
        Plan *ps[8];
        int n = script_plans(scripts[i], ps, 8);
        for (int j = 0; j < n; j++) {
            nplans++;
            int c = count_checked(ps[j], &nsteps);
            cr_assert(c >= 1, "%s: no symbol set checked", scripts[i]);
            nchecks += c + count_checked(round_trip(ps[j]), &nsteps);
            for (int k = 0; k < ps[j]->nkernels; k++) {
                const KernelFamily *kf = kf_find(ps[j]->kernels[k].family);
                cr_assert(kf, "family %s", ps[j]->kernels[k].family);
                fam[(kf - kf_find("gemm")) & 31] = 1;
            }
        }
    }
    int nfam = 0;
    for (int i = 0; i < 32; i++) nfam += fam[i];
    printf("kernel contract: %d plans, %d (plan, sizes) checks, %d steps, %d families: no refusal\n",
           nplans, nchecks, nsteps, nfam);
    cr_assert(nplans >= 15 && nfam >= 8, "%d plans, %d families", nplans, nfam);
}

/* ---- corrupted steps, through the runtime's real path --------------------------------- */
static void nop(void *const *p, const int64_t *d, const float *f, int64_t b, int64_t e) {
    (void)p; (void)d; (void)f; (void)b; (void)e;
}
static int nop_lookup(void *ctx, const char *name, void **fn) {
    (void)ctx; (void)name;
    *fn = (void *)nop;
    return 0;
}

static size_t tbytes(const PlanTensor *t, const int64_t *sv) {
    int64_t d[LTC_MAX_RANK];
    size_t n = dtype_size(t->dtype);
    cr_assert_eq(plan_tensor_dims(t, sv, d), 0);
    for (int i = 0; i < t->shape.rank; i++) n *= (size_t)d[i];
    return n;
}

/* Serialise p, read it back, bind zeroed tensors at symbol set 0 and run
 * it with no-op kernels: 0, or -1 with err. */
static int run_blob(Plan *p, char *err, size_t n) {
    Plan *q = round_trip(p);
    int64_t sv[LTC_MAX_SYMS];
    cr_assert(symvals_at(q, 0, sv));
    RtProgram pr;
    cr_assert_eq(rt_program_init(&pr, q, nop_lookup, NULL, err, n), 0, "%s", err);
    void *in[64], *out[64];
    cr_assert(q->ninputs < 64 && q->noutputs < 64);
    for (int i = 0; i < q->ninputs; i++) in[i] = calloc(1, tbytes(&q->inputs[i], sv) + 64);
    for (int i = 0; i < q->noutputs; i++) out[i] = calloc(1, tbytes(&q->outputs[i], sv) + 64);
    for (int i = 0; i < q->nparams; i++) pr.params[i] = calloc(1, tbytes(&q->params[i], sv) + 64);
    RtDevice *pool = rt_device_open("cpu", 1, NULL, 0);   /* the device the program runs on */
    RtScratch sc = {0};
    int rc = rt_prepack(&pr, pool, err, n);
    if (rc == 0) rc = rt_run(&pr, pool, &sc, sv, in, out, err, n);
    rt_scratch_free(&sc);
    for (int i = 0; i < q->ninputs; i++) free(in[i]);
    for (int i = 0; i < q->noutputs; i++) free(out[i]);
    for (int i = 0; i < q->nparams; i++) free(pr.params[i]);
    rt_program_free(&pr);                   /* its packed buffers are the device's: before closing it */
    rt_device_close(pool);
    return rc;
}

static void poly_plus(Poly *p, int64_t k) {
    for (int i = 0; i < p->n; i++)
        if (p->t[i].sym == 0) { p->t[i].k += k; return; }
    cr_assert(p->n < PLAN_MAX_TERMS);
    p->t[p->n++] = dim_const(k);
}

typedef enum { MUT_DIM, MUT_TILES, MUT_DROP_BUF, MUT_STRIDE } Mut;
/* The dim of each family that, made one larger, must overrun a buffer. */
static int size_dim(const char *fam, const PlanStep *s) {
    if (!strcmp(fam, "gemm")) return 0;                 /* M */
    if (!strcmp(fam, "gemm_pack")) return 1;            /* K */
    if (!strcmp(fam, "norm") || !strcmp(fam, "softmax")) return 1;   /* N */
    if (!strcmp(fam, "eltwise") || !strcmp(fam, "copy") || !strcmp(fam, "dropout")) return 0;
    if (!strcmp(fam, "reduce")) return 1;               /* len */
    if (!strcmp(fam, "cat")) return 2;                  /* chunk of input 0 */
    if (!strcmp(fam, "misc")) return s->ndims - 1;      /* cols */
    if (!strcmp(fam, "flash_attention")) return 1;      /* Sk */
    return -1;
}

/* Mutate the first step (prepack included) of family fam in a copy of p's
 * step list; returns false when p has none. */
static bool corrupt(Plan *p, const char *fam, Mut m, char *err, size_t n) {
    for (int l = 0; l < 2; l++) {
        PlanStep *list = l ? p->steps : p->prepack;
        int cnt = l ? p->nsteps : p->nprepack;
        for (int i = 0; i < cnt; i++) {
            PlanStep *s = &list[i];
            if (strcmp(p->kernels[s->kernel].family, fam) != 0) continue;
            PlanStep keep = *s;
            if (m == MUT_DIM) {
                int j = size_dim(fam, s);
                if (!strcmp(fam, "flash_attention")) poly_plus(&s->dims[j], 64);
                else poly_plus(&s->dims[j], 1);
            } else if (m == MUT_TILES) {
                /* gemm and dropout allow tiles past their last column block
                 * or element block: the kernel clamps them to nothing */
                if (!strcmp(fam, "gemm") || !strcmp(fam, "dropout")) return false;
                poly_plus(&s->ntiles, 1);
            } else if (m == MUT_STRIDE) {
                /* eltwise: input 0's stride of the leading dim doubled */
                if (strcmp(fam, "eltwise") != 0) { continue; }
                int64_t sv[LTC_MAX_SYMS], nl;
                cr_assert(symvals_at(p, 0, sv));
                cr_assert(poly_value(&s->dims[1], sv, &nl));
                if (nl < 1) continue;
                Poly *st = &s->dims[2 + nl];
                int64_t v, sz;
                cr_assert(poly_value(st, sv, &v));
                cr_assert(poly_value(&s->dims[2], sv, &sz));
                if (v == 0 || sz < 2) continue;       /* a doubled stride must reach a second row */
                for (int t = 0; t < st->n; t++) st->t[t].k *= 2;
            } else {
                s->nbufs--;
            }
            int rc = run_blob(p, err, n);
            *s = keep;
            cr_assert_neq(rc, 0, "%s: mutation %d of step %d was not refused", fam, (int)m, i);
            return true;
        }
    }
    return false;
}

Test(rt_kcontract, corrupted_steps_are_refused) {
    static const char *const fams[] = {"gemm", "gemm_pack", "flash_attention", "norm", "softmax", "eltwise",
                                       "dropout", "reduce", "copy", "cat", "misc"};
    int nf = (int)(sizeof fams / sizeof *fams), found[16] = {0}, refused = 0;
    for (size_t i = 0; i < sizeof scripts / sizeof *scripts; i++) {
        Plan *ps[8];
        int np = script_plans(scripts[i], ps, 8);
        for (int j = 0; j < np; j++) {
            char err[512] = "";
            cr_assert_eq(run_blob(ps[j], err, sizeof err), 0, "%s: the intact plan: %s", scripts[i], err);
            for (int f = 0; f < nf; f++) {
                if (found[f] >= 2) continue;      /* two plans per family are enough */
                bool any = false;
                for (Mut m = MUT_DIM; m <= MUT_STRIDE; m++) {
                    if (!corrupt(ps[j], fams[f], m, err, sizeof err)) continue;
                    any = true;
                    char want[64];
                    snprintf(want, sizeof want, "family %s): ", fams[f]);
                    cr_assert(strstr(err, want), "%s %s mutation %d: %s", scripts[i], fams[f], (int)m, err);
                    refused++;
                }
                found[f] += any;
            }
        }
    }
    for (int f = 0; f < nf; f++) cr_assert(found[f], "no plan has a %s step", fams[f]);
    printf("kernel contract: %d corrupted steps refused\n", refused);
}

Test(rt_kcontract, unknown_family_is_refused_when_read) {
    Plan *ps[8];
    int np = script_plans("examples/gpt_decoder.lsp", ps, 8);
    cr_assert(np >= 1);
    ps[0]->kernels[0].family = "gemm_v2";
    StrBuf sb = {0};
    cr_assert_eq(plan_serialize(&ps[0], 1, &sb, &D), 0, "%s", D.msg);
    Plan **q = NULL;
    int nq = 0;
    cr_assert_neq(plan_deserialize(&A, sb.s, sb.len, &q, &nq, &D), 0);
    cr_assert(strstr(D.msg, "of unknown family 'gemm_v2'"), "%s", D.msg);
    sb_free(&sb);
}
