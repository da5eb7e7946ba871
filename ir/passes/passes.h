/* passes.h: the graph rewriting pipeline between tracing and lowering.
 *
 * passes_run() applies an ordered table of passes (pipeline.c) to a traced
 * entry.  Each pass rewrites the graph in place: it emits new nodes with
 * ir_emit, redirects the users of the nodes it replaces (pass_replace) and
 * leaves the dead ones to be swept by the compaction that follows every
 * pass (dead-code elimination plus a stable topological re-order).
 *
 * Every fusion candidate is written to the FusionReport: what fused, and
 * for what did not, why.  Node numbers in the report are those of the graph
 * as it was when the pass started (what --dump-after of the previous pass
 * prints). */
#ifndef LTC_PASSES_H
#define LTC_PASSES_H

#include "ir/ir.h"

#define PASS_MAX_DISABLED 16

typedef struct PassOptions {
    const char *no_fuse[PASS_MAX_DISABLED];   /* --no-fuse=NAME, one per entry */
    int  nno_fuse;
    const char *dump_after;     /* --dump-after=PASS: ir_print after it ("all": every pass) */
    bool verbose;               /* -v: the report also goes to the dump */
    DType dtype;                /* --dtype: f32 (default, nothing done), bf16 or f16 (pass dtype) */
} PassOptions;

typedef struct FusionReport {
    StrBuf text;                /* one line per candidate (heap; sb_free) */
    int nfused, nmissed;
} FusionReport;

/* Run the pipeline on g.  r and dump may be NULL.  Returns 0, or -1 with d
 * filled (an unknown pass name in o, or an internal rewrite error). */
int passes_run(Graph *g, const PassOptions *o, FusionReport *r, StrBuf *dump, LtcDiag *d);

/* --emit fusion / -v: "; fusion report for ENTRY: N fused, M not fused"
 * then the report lines ("nothing to fuse" when there are none). */
void fusion_report_print(const FusionReport *r, const char *entry, StrBuf *out);

/* The pass names in pipeline order, NULL-terminated (for --help / checks). */
const char *const *passes_names(void);
/* Whether --no-fuse may switch pass `name` off (not dce, not dtype). */
bool passes_can_disable(const char *name);

/* ---- what passes share (pass_util.c) -------------------------------------- */
typedef struct PassCtx {
    Graph *g;
    const PassOptions *o;
    FusionReport *r;
    LtcDiag *d;
    bool *live;                 /* live[id]: reachable from an output (or an INPUT) */
    int   cap_live;
} PassCtx;

typedef int (*PassFn)(Graph *g, PassCtx *c);

/* Mark live nodes and count each node's live users into n->nusers (an
 * output counts as one user).  Call after every rewrite. */
int   pass_refresh(PassCtx *c);
bool  pass_is_live(const PassCtx *c, const Node *n);
/* The single live user of n, or NULL when it has 0 or >= 2 users or is an
 * output. */
Node *pass_sole_user(PassCtx *c, const Node *n);
/* Redirect every use of `old` (node inputs and graph outputs) to `nw`. */
void  pass_replace(PassCtx *c, Node *old, Node *nw);
/* ir_emit in c->g; on error NULL, with an "internal: cannot make OP: why"
 * report line: the caller skips that rewrite. */
Node *pass_emit(PassCtx *c, Op op, Node **in, int nin, const Attr *a, SrcLoc loc);
/* Dead-code elimination and stable topological re-order; renumbers ids and
 * drops dead PARAMs from g->params.  INPUT nodes always stay. */
int   pass_compact(Graph *g, LtcDiag *d);
/* Report lines: "PASS: ..." appended to c->r. */
void  pass_fused(PassCtx *c, const char *pass, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void  pass_missed(PassCtx *c, const char *pass, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* True when a node is a scalar constant (FULL with one element, or a CONST
 * of one element); its value in *v. */
bool  pass_scalar_const(const Node *n, double *v);

/* ---- the passes -------------------------------------------------------------- */
int pass_dce(Graph *g, PassCtx *c);
int pass_dtype(Graph *g, PassCtx *c);       /* --dtype: every f32 tensor in PassOptions.dtype */
int pass_simplify(Graph *g, PassCtx *c);
int pass_attention(Graph *g, PassCtx *c);
int pass_causal(Graph *g, PassCtx *c);
int pass_gqa(Graph *g, PassCtx *c);         /* repeated K/V heads -> sdpa head group */
int pass_qkv(Graph *g, PassCtx *c);
int pass_epilogue(Graph *g, PassCtx *c);
int pass_addnorm(Graph *g, PassCtx *c);

/* Every f32 tensor of g in float dtype t (bf16, f16; f32: nothing):
 * params (their origin becomes an eager cast), inputs, constants,
 * intermediate values, outputs.  Idempotent.  0, or -1 + d. */
int pass_to_dtype(Graph *g, DType t, LtcDiag *d);

/* ADD_NORM attr.flags bits beyond LAYER_NORM's (bit 0: w, bit 1: b). */

#endif
