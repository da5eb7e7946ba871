/* main.c: the lispetorchc executable.  Parses the command line, runs the
 * command, and maps the outcome to the exit status (0 ok, 1 error in the
 * script or its files, 2 usage error).  This is the only place where the
 * process exits. */
#include "driver/driver.h"

#include <string.h>

#include "support/tempfiles.h"

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
