/* load.c: a script into an evaluator, with the session's options: what
 * every command (compile, run, repl) and the embedding API (api/) start
 * with.  Separate from main.c so that a library can hold it. */
#include "driver/driver.h"

#include <string.h>

int drv_interp_start(Driver *d, Interp *I, InterpMode mode, FILE *out) {
    interp_init(I, &d->arena, mode, d->o.seed);
    torch_register(I);
    I->out = out;
    I->training = d->o.training;
    I->max_steps = d->o.max_steps;
    I->timeout_s = d->o.timeout_s;
    if (d->o.timeout_s > 0) I->deadline_ms = now_ms() + d->o.timeout_s * 1e3;
    I->max_memory = (size_t)d->o.max_memory_mb << 20;     /* bounded when parsed */
    I->no_file_writes = d->o.no_file_writes;
    if (mode == MODE_RUN && !d->o.interpret && jit_attach(d, I) != 0) return EXIT_ERROR;
    if (mode == MODE_RUN && d->o.weights && run_weights_attach(d, I) != 0) return EXIT_ERROR;
    return 0;
}

int drv_load_script(Driver *d, Interp *I, InterpMode mode, FILE *out, SrcFile *src) {
    LtcDiag diag;
    double t0 = now_ms();
    /* "-": the script is standard input (run -) */
    int rrc = strcmp(d->o.input, "-") == 0 ? drv_read_stdin(d, src, &diag) : read_file(&d->arena, d->o.input, src, &diag);
    if (rrc != 0) {
        drv_diag(d, &diag);
        return EXIT_ERROR;
    }
    drv_phase(d, "read", t0);

    return drv_eval_source(d, I, mode, out, src);
}

int drv_eval_source(Driver *d, Interp *I, InterpMode mode, FILE *out, const SrcFile *src) {
    double t0 = now_ms();
    if (drv_interp_start(d, I, mode, out) != 0) return EXIT_ERROR;
    drv_verbose(d, "evaluating '%s'...", src->name);
    int rc = lisp_eval_file(I, src);
    if (out) fflush(out);
    drv_phase(d, "eval", t0);
    if (rc != 0) {
        drv_diag(d, &I->diag);
        return EXIT_ERROR;
    }
    return 0;
}
