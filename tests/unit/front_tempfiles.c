/* tempfiles: SIGINT/SIGTERM remove every registered temporary and the
 * process still dies of the signal (support/tempfiles.h). */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/tempfiles.h"

static void die_with_temps(int sig, const char *a, const char *b) {
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        if (tempfiles_install() != 0) _exit(10);
        FILE *f = fopen(a, "w");
        if (!f || tempfiles_add(a) != 0) _exit(11);
        fclose(f);
        if (tempfiles_add(b) != 0) _exit(12);      /* registered, not created yet */
        raise(sig);
        _exit(13);                                  /* not reached */
    }
    int st = 0;
    cr_assert(waitpid(pid, &st, 0) == pid);
    cr_assert(WIFSIGNALED(st), "child status %d: not killed by the signal", st);
    cr_assert_eq(WTERMSIG(st), sig);
}

Test(tempfiles, sigint_removes_registered) {
    char a[] = "/tmp/ltc-tempfiles-a-XXXXXX";
    int fd = mkstemp(a);
    cr_assert(fd >= 0);
    close(fd);
    die_with_temps(SIGINT, a, "/tmp/ltc-tempfiles-never-made");
    cr_assert(access(a, F_OK) != 0, "%s was left behind", a);
}

Test(tempfiles, sigterm_removes_registered_only) {
    char a[] = "/tmp/ltc-tempfiles-b-XXXXXX", keep[] = "/tmp/ltc-tempfiles-keep-XXXXXX";
    int fd = mkstemp(a), fk = mkstemp(keep);
    cr_assert(fd >= 0 && fk >= 0);
    close(fd);
    close(fk);
    die_with_temps(SIGTERM, a, "/tmp/ltc-tempfiles-never-made");
    cr_assert(access(a, F_OK) != 0);
    cr_assert(access(keep, F_OK) == 0, "an unregistered file was removed");
    unlink(keep);
}

Test(tempfiles, removed_paths_are_forgotten) {
    char a[] = "/tmp/ltc-tempfiles-c-XXXXXX";
    int fd = mkstemp(a);
    cr_assert(fd >= 0);
    close(fd);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        tempfiles_install();
        tempfiles_add(a);
        tempfiles_remove(a);         /* renamed into place: no longer ours */
        raise(SIGINT);
        _exit(13);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    cr_assert(WIFSIGNALED(st));
    cr_assert(access(a, F_OK) == 0, "a forgotten path was removed");
    unlink(a);
}
