/* fuzz_source.c: libFuzzer target for the whole front half of the compiler:
 * source text -> reader -> evaluator (compile mode) -> trace of each entry
 * candidate -> passes -> plan.  Any outcome is fine except a crash, a
 * sanitizer report, a hang or a runaway allocation.
 *
 * The work per input is bounded here, not by luck: evaluation steps
 * (I->max_steps), recursion depth, the size of any tensor the eager pool
 * is asked to compute (a force hook refuses big nodes), and the elements
 * computed in all (the same hook), so that a two-line script cannot ask
 * for a 40 GB tensor or loop for ever, nor a 1000-turn loop over 12 K
 * elements take 10 s under coverage instrumentation (a timeout of the
 * harness, not a hang: regress/fuzz_source/slow-loop.lsp). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "codegen/backend.h"
#include "codegen/lower.h"
#include "frontend/lisp.h"
#include "ir/passes/passes.h"

enum { FUZZ_MAX_STEPS = 200000, FUZZ_MAX_DEPTH = 200, FUZZ_MAX_ELEMS = 1 << 16, FUZZ_MAX_ENTRIES = 4,
       FUZZ_MAX_WORK = 1 << 21 };

static int64_t work;            /* elements of the values computed for this input */

/* Refuse eager values bigger than FUZZ_MAX_ELEMS elements, or past
 * FUZZ_MAX_WORK elements in all; the rest go to the reference
 * interpreter (return 1). */
static int small_only(void *ctx, Node *n, LtcDiag *d) {
    (void)ctx;
    Dim e = shape_numel(&n->shape);
    if (e.k < 0 || e.k > FUZZ_MAX_ELEMS) return diag_set(d, n->loc, "fuzz: tensor too big"), -1;
    if ((work += e.k) > FUZZ_MAX_WORK) return diag_set(d, n->loc, "fuzz: too much tensor work"), -1;
    return 1;
}

/* The backend holds no per-plan state that plan_build needs reset: make
 * it once (LLVM initialisation is slow) in its own arena. */
static Backend *backend(void) {
    static Arena a;
    static Backend *b;
    static bool tried;
    if (!tried) {
        tried = true;
        BackendOptions bo = {0};
        LtcDiag d;
        arena_init(&a);
        b = backend_new("cpu", &a, &bo, &d);
    }
    return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    Arena a;
    arena_init(&a);
    work = 0;
    char *text = arena_strndup(&a, (const char *)data, size);
    if (!text) { arena_free(&a); return 0; }
    SrcFile f = {.name = "fuzz.lsp", .text = text, .len = size};
    Interp I;
    interp_init(&I, &a, MODE_COMPILE, 1);
    torch_register(&I);
    I.out = NULL;
    I.max_depth = FUZZ_MAX_DEPTH;
    I.max_steps = FUZZ_MAX_STEPS;
    I.no_file_writes = true;    /* mutated scripts name files anywhere (torch_save_*) */
    if (I.eager) I.eager->force_hook = small_only;
    if (lisp_eval_file(&I, &f) == 0) {
        for (int i = 0; i < I.ncalls && i < FUZZ_MAX_ENTRIES; i++) {
            Graph *g = NULL;
            TraceOptions to = {0};
            I.steps = 0;
            if (trace_entry(&I, &I.calls[i], "fuzz_entry", &to, &g) != 0 || !g) continue;
            PassOptions po = {0};
            LtcDiag d;
            if (passes_run(g, &po, NULL, NULL, &d) != 0) continue;
            Plan *p = NULL;
            Backend *b = backend();
            if (b) (void)plan_build(g, b, &a, &p, &d);
        }
    }
    arena_free(&a);
    return 0;
}
