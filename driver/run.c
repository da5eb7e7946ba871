/* run.c: `lispetorchc run script.lsp` - evaluate a script as LispE would,
 * println to stdout; tensor values are computed when printed or saved, by
 * JIT-compiled kernels (jit.c, engine/), or by the reference interpreter with
 * --interpret.  --weights binds a file's tensors as values are computed
 * (run_weights.c). */
#include "driver/driver.h"

int driver_run(Driver *d) {
    Interp I;
    SrcFile src;
    int rc = drv_load_script(d, &I, MODE_RUN, stdout, &src);
    /* --weights (run_weights.c): what the script left must be bound too */
    int wrc = run_weights_finish(d, &I, rc == 0);
    if (rc == 0) rc = wrc;
    if (rc == 0 && d->o.save_tensors) {
        LtcDiag diag;
        double t0 = now_ms();
        if (tensors_save(d, &I, d->o.save_tensors, &diag) != 0) {
            drv_diag(d, &diag);
            rc = EXIT_ERROR;
        }
        drv_phase(d, "save-tensors", t0);
    }
    jit_detach(d, I.eager);
    return rc;
}
