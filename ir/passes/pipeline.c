/* pipeline.c: the ordered pass table and the driver loop.
 *
 * Order matters: dtype first (--dtype: every f32 tensor in bf16/f16, so
 * the fusions see the graph as it will run); simplify removes the identity layouts and inactive
 * dropouts that would hide patterns; attention makes the SDPA nodes that
 * qkv looks for; qkv runs before epilogue so that the projections are
 * still plain LINEARs; addnorm last.  After every pass the graph is
 * compacted (dead nodes swept, stable topological order, ids renumbered). */
#include "ir/passes/passes.h"

#include <string.h>

typedef struct Pass {
    const char *name;
    PassFn fn;
    bool can_disable;       /* --no-fuse=NAME may switch it off */
} Pass;

/* The pipeline, in order: PASS(name, function, --no-fuse may disable it). */
#define PASSES(PASS)                       \
    PASS(dce,       pass_dce,       false) \
    PASS(dtype,     pass_dtype,     false) \
    PASS(simplify,  pass_simplify,  true)  \
    PASS(attention, pass_attention, true)  \
    PASS(causal,    pass_causal,    true)  \
    PASS(gqa,       pass_gqa,       true)  \
    PASS(qkv,       pass_qkv,       true)  \
    PASS(epilogue,  pass_epilogue,  true)  \
    PASS(addnorm,   pass_addnorm,   true)

#define AS_ROW(n, f, dis) {#n, f, dis},
#define AS_NAME(n, f, dis) #n,
static const Pass pipeline[] = {PASSES(AS_ROW)};
enum { NPASSES = sizeof pipeline / sizeof pipeline[0] };

static const char *const names[NPASSES + 1] = {PASSES(AS_NAME) NULL};

const char *const *passes_names(void) { return names; }

static int find_pass(const char *name) {
    for (int i = 0; i < NPASSES; i++)
        if (strcmp(pipeline[i].name, name) == 0) return i;
    return -1;
}

bool passes_can_disable(const char *name) {
    int k = name ? find_pass(name) : -1;
    return k >= 0 && pipeline[k].can_disable;
}

static bool disabled(const PassOptions *o, const char *name) {
    for (int i = 0; o && i < o->nno_fuse; i++)
        if (o->no_fuse[i] && strcmp(o->no_fuse[i], name) == 0) return true;
    return false;
}

int passes_run(Graph *g, const PassOptions *o, FusionReport *r, StrBuf *dump, LtcDiag *d) {
    SrcLoc none = {0};
    /* Check the option names first, so a typo is an error, not a no-op. */
    for (int i = 0; o && i < o->nno_fuse; i++) {
        int k = o->no_fuse[i] ? find_pass(o->no_fuse[i]) : -1;
        if (k < 0) return diag_set(d, none, "--no-fuse: unknown pass '%s'", o->no_fuse[i] ? o->no_fuse[i] : "");
        if (!pipeline[k].can_disable) return diag_set(d, none, "--no-fuse: pass '%s' cannot be disabled", o->no_fuse[i]);
    }
    const char *dump_after = o ? o->dump_after : NULL;
    bool all = dump_after && strcmp(dump_after, "all") == 0;
    if (dump_after && !all && find_pass(dump_after) < 0)
        return diag_set(d, none, "--dump-after: unknown pass '%s'", dump_after);

    PassCtx c = { .g = g, .o = o, .r = r, .d = d };
    for (int i = 0; i < NPASSES; i++) {
        const Pass *p = &pipeline[i];
        if (disabled(o, p->name)) {
            if (r) sb_printf(&r->text, "%s: disabled by --no-fuse\n", p->name);
            continue;
        }
        if (pass_compact(g, d) < 0 || pass_refresh(&c) < 0) return -1;
        if (p->fn(g, &c) < 0) return -1;
        if (pass_compact(g, d) < 0) return -1;
        if (dump && (all || (dump_after && strcmp(dump_after, p->name) == 0))) {
            sb_printf(dump, "; ---- IR after %s ----\n", p->name);
            ir_print(g, dump);
        }
    }
    if (dump && o && o->verbose && r && r->text.s) {
        sb_puts(dump, "; ---- fusion report ----\n");
        sb_puts(dump, r->text.s);
    }
    return 0;
}

void fusion_report_print(const FusionReport *r, const char *entry, StrBuf *out) {
    sb_printf(out, "; fusion report for %s: %d fused, %d not fused\n", entry ? entry : "?", r ? r->nfused : 0,
              r ? r->nmissed : 0);
    if (r && r->text.s && r->text.len) sb_puts(out, r->text.s);
    else sb_puts(out, "; nothing to fuse\n");
}
