/* main.c: the lispetorchc executable.  Parses the command line, runs the
 * command, and maps the outcome to the exit status (0 ok, 1 error in the
 * script or its files, 2 usage error).  This is the only place where the
 * process exits. */
#include "driver/driver.h"

#include <stdarg.h>
#include <string.h>

#include "support/tempfiles.h"

int drv_interp_start(Driver *d, Interp *I, InterpMode mode, FILE *out) {
    interp_init(I, &d->arena, mode, d->o.seed);
    torch_register(I);
    I->out = out;
    I->training = d->o.training;
    I->max_steps = d->o.max_steps;
    I->timeout_s = d->o.timeout_s;
    if (d->o.timeout_s > 0) I->deadline_ms = now_ms() + d->o.timeout_s * 1e3;
    I->max_memory = (size_t)d->o.max_memory_mb << 20;     /* bounded when parsed */
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

    t0 = now_ms();
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

int main(int argc, char **argv) {
    Driver d;
    memset(&d, 0, sizeof d);
    d.err = stderr;
    int rc = driver_parse_args(&d, argc, argv);
    if (rc != 0) return rc;
    if (d.o.help) { driver_print_help(stdout); return EXIT_OK; }
    if (d.o.version) { driver_print_version(stdout); return EXIT_OK; }

    /* SIGINT/SIGTERM remove the staged outputs' temporaries (outputs.c) */
    if (tempfiles_install() != 0) {
        fprintf(stderr, "lispetorchc: error: cannot install the signal handlers\n");
        return EXIT_ERROR;
    }
    arena_init(&d.arena);
    switch (d.o.cmd) {
    case CMD_RUN: rc = driver_run(&d); break;
    case CMD_REPL: rc = driver_repl(&d); break;
    case CMD_CACHE: rc = driver_cache(&d); break;
    default: rc = driver_compile(&d); break;
    }
    /* All the outputs or none: only a command that succeeded replaces files. */
    if (rc == 0) {
        LtcDiag diag;
        if (outputs_commit(&d, &diag) != 0) { drv_diag(&d, &diag); rc = EXIT_ERROR; }
    } else {
        outputs_abort(&d);
    }
    drv_print_times(&d);
    arena_free(&d.arena);
    /* ferror: a println that failed earlier (EPIPE, ENOSPC) has lost its
     * bytes even when this last flush succeeds */
    if ((fflush(stdout) != 0 || ferror(stdout)) && rc == 0) {
        fprintf(stderr, "lispetorchc: error: cannot write to standard output\n");
        rc = EXIT_ERROR;
    }
    return rc;
}
