/* tempfiles.c: the table of temporaries to unlink on SIGINT/SIGTERM/SIGHUP
 * (see tempfiles.h for why it is process-wide). */
#include "support/tempfiles.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static char slots[TEMPFILES_MAX][TEMPFILES_PATH_MAX];
static volatile sig_atomic_t used[TEMPFILES_MAX];
static volatile pid_t children[TEMPFILES_MAX];    /* 0: a free slot */
/* Threads of a host that compiles several modules at once (api/) register
 * temporaries concurrently: the lock makes claiming a slot atomic between
 * threads, as blocking the signals makes it atomic for the handler (which
 * never takes the lock: it only reads slots marked used). */
static pthread_mutex_t slots_mu = PTHREAD_MUTEX_INITIALIZER;

/* Only async-signal-safe calls: kill, unlink, sigaction, raise. */
static void on_signal(int sig) {
    int saved = errno;
    for (int i = 0; i < TEMPFILES_MAX; i++) {
        pid_t c = children[i];
        if (c > 0) kill(c, SIGKILL);
    }
    for (int i = 0; i < TEMPFILES_MAX; i++)
        if (used[i]) unlink(slots[i]);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    errno = saved;
    raise(sig);     /* delivered when the handler returns: die as asked */
}

static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};

int tempfiles_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    if (sigemptyset(&sa.sa_mask) != 0) return -1;
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
        if (sigaddset(&sa.sa_mask, sigs[i]) != 0) return -1;
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        struct sigaction old;
        if (sigaction(sigs[i], NULL, &old) != 0) return -1;
        /* a signal ignored by whoever started us (nohup) stays ignored */
        if (old.sa_handler == SIG_IGN) continue;
        if (sigaction(sigs[i], &sa, NULL) != 0) return -1;
    }
    return 0;
}

/* The table changes with the signals blocked (in this thread, which is
 * the one that writes outputs), so the handler never sees a half-written
 * slot here; a slot is marked used only after its path is complete. */
static int block(sigset_t *old) {
    sigset_t s;
    sigemptyset(&s);
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) sigaddset(&s, sigs[i]);
    return pthread_sigmask(SIG_BLOCK, &s, old) == 0 ? 0 : -1;
}

int tempfiles_add(const char *path) {
    size_t n = strlen(path);
    if (n >= TEMPFILES_PATH_MAX) return -1;
    sigset_t old;
    if (block(&old) != 0) return -1;
    if (pthread_mutex_lock(&slots_mu) != 0) { pthread_sigmask(SIG_SETMASK, &old, NULL); return -1; }
    int rc = -1;
    for (int i = 0; i < TEMPFILES_MAX; i++)
        if (!used[i]) {
            memcpy(slots[i], path, n + 1);
            used[i] = 1;
            rc = 0;
            break;
        }
    pthread_mutex_unlock(&slots_mu);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

void tempfiles_remove(const char *path) {
    sigset_t old;
    if (block(&old) != 0) return;
    if (pthread_mutex_lock(&slots_mu) == 0) {
        for (int i = 0; i < TEMPFILES_MAX; i++)
            if (used[i] && strcmp(slots[i], path) == 0) { used[i] = 0; break; }
        pthread_mutex_unlock(&slots_mu);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

int tempfiles_add_child(pid_t pid) {
    sigset_t old;
    if (pid <= 0 || block(&old) != 0) return -1;
    int rc = -1;
    if (pthread_mutex_lock(&slots_mu) == 0) {
        for (int i = 0; i < TEMPFILES_MAX && rc != 0; i++)
            if (children[i] == 0) { children[i] = pid; rc = 0; }
        pthread_mutex_unlock(&slots_mu);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

void tempfiles_remove_child(pid_t pid) {
    sigset_t old;
    if (pid <= 0 || block(&old) != 0) return;
    if (pthread_mutex_lock(&slots_mu) == 0) {
        for (int i = 0; i < TEMPFILES_MAX; i++)
            if (children[i] == pid) { children[i] = 0; break; }
        pthread_mutex_unlock(&slots_mu);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void tempfiles_hold(TempfilesHold *h) { h->ok = block(&h->old) == 0; }

void tempfiles_release(TempfilesHold *h) {
    if (h->ok) pthread_sigmask(SIG_SETMASK, &h->old, NULL);
    h->ok = 0;
}
