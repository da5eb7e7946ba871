/* run.c: `lispetorchc run script.lsp` - evaluate a script as LispE would,
 * println to stdout; tensor values are computed when printed or saved, by
 * JIT-compiled kernels (jit.c), or by the reference interpreter with
 * --interpret. */
#include "driver/driver.h"

int driver_run(Driver *d) {
    if (d->o.weights) {
        /* Loading weights in run mode needs a hook in the evaluator (values
         * are bound while the script runs); see docs/cli.md. */
        drv_error(d, "--weights is not supported with 'run' yet; use it when compiling");
        return EXIT_USAGE;
    }
    Interp I;
    SrcFile src;
    int rc = drv_load_script(d, &I, MODE_RUN, stdout, &src);
    if (rc == 0 && d->o.save_tensors) {
        LtcDiag diag;
        double t0 = now_ms();
        if (tensors_save(d, &I, d->o.save_tensors, &diag) != 0) {
            drv_diag(d, &diag);
            rc = EXIT_ERROR;
        }
        drv_phase(d, "save-tensors", t0);
    }
    jit_detach(d->jit, I.eager);
    return rc;
}
