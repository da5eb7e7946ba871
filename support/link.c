/* link.c: a shared library from objects or C/assembly sources, by the
 * system C compiler (cc, else gcc, else clang), as a child process whose
 * pid support/tempfiles.h knows (SIGINT kills it and removes the
 * temporaries).  Used by every backend that writes a model.so; tool_run
 * also by the metal backend for Apple's metal and metallib. */
#include "support/link.h"

#include "support/tempfiles.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* (link.h) posix_spawnp, so that the compiler never forks its whole heap */
int tool_run(char *const argv[], const char *log, int *status) {
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0) return -1;
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid;
    int e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (e != 0) { errno = e; return -1; }
    /* a full table only means the handler cannot kill this child first */
    (void)tempfiles_add_child(pid);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) { tempfiles_remove_child(pid); return -1; }
    tempfiles_remove_child(pid);
    *status = st;
    return 0;
}

void tool_read_log(const char *log, char *buf, size_t n) {
    buf[0] = 0;
    FILE *f = fopen(log, "r");
    if (!f) return;
    size_t k = fread(buf, 1, n - 1, f);
    buf[k] = 0;
    fclose(f);
    while (k > 0 && (buf[k - 1] == '\n' || buf[k - 1] == ' ')) buf[--k] = 0;
}

int link_shared(const char *const *inputs, int ninputs, const char *out, LtcDiag *d) {
    SrcLoc nl = {0};
    if (ninputs < 1 || ninputs > LINK_MAX_INPUTS) return diag_set(d, nl, "link: %d inputs", ninputs);
    char log[4200];
    if (snprintf(log, sizeof log, "%s.log", out) >= (int)sizeof log)
        return diag_set(d, nl, "output path too long: '%s'", out);
    if (tempfiles_add(log) != 0) return diag_set(d, nl, "too many temporary files (linking '%s')", out);
    /* -z defs: an unresolved symbol is a link error now, not a dlopen
     * failure later.  Only libc and libm are linked. */
    const char *compilers[] = {"cc", "gcc", "clang"};
    int rc = -1;
    bool found = false;
    for (size_t i = 0; i < sizeof compilers / sizeof *compilers; i++) {
        char *argv[16 + LINK_MAX_INPUTS];
        int na = 0;
        argv[na++] = (char *)compilers[i];
        argv[na++] = "-shared";
        argv[na++] = "-fPIC";
        argv[na++] = "-o";
        argv[na++] = (char *)out;
        for (int k = 0; k < ninputs; k++) argv[na++] = (char *)inputs[k];
        argv[na++] = "-Wl,-z,defs";
        argv[na++] = "-Wl,-z,noexecstack";
        argv[na++] = "-lm";
        argv[na] = NULL;
        int st = 0;
        if (tool_run(argv, log, &st) != 0) {
            if (errno == ENOENT) continue;              /* try the next compiler */
            found = true;
            rc = diag_set(d, nl, "cannot run the linker '%s': %s", compilers[i], strerror(errno));
            break;
        }
        found = true;
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) { rc = 0; break; }
        char msg[700];
        tool_read_log(log, msg, sizeof msg);
        rc = diag_set(d, nl, "linking '%s' failed (%s %s %d): %s", out, compilers[i],
                      WIFEXITED(st) ? "exit status" : "signal",
                      WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), msg);
        break;
    }
    if (!found) rc = diag_set(d, nl, "no C compiler (cc, gcc, clang) found to link '%s'", out);
    unlink(log);
    tempfiles_remove(log);
    if (rc != 0) unlink(out);
    return rc;
}

