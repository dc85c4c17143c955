/* tc_cli.h - runs the official `temporal` CLI against the test server and captures its output,
 * for cross-checking what our client did. Test code only; header-only like tc_test_util.h. */
#ifndef TC_CLI_H
#define TC_CLI_H

#include "tc_test_util.h"
#include "test_workflows.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

static const char *g_tt_cli = "temporal";

static inline const char *tt_address(void)
{
    const char *a = getenv("TEMPORAL_ADDRESS");
    return a && *a ? a : "127.0.0.1:21733";
}

/* Runs `<cli> <args> --address <server>` (args is a printf format; quote arguments yourself)
 * and returns its stdout+stderr (malloc'd); *status gets the exit status (may be NULL: then a
 * non-zero exit fails the test). */
static inline char *tt_cli(int *status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline char *tt_cli(int *status, const char *fmt, ...)
{
    char args[3072], cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' %s --address %s 2>&1", g_tt_cli, args, tt_address());
    FILE *p = popen(cmd, "r");
    if (!p)
        fail_msg("cannot run %s", cmd);
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        fail_msg("out of memory");
    size_t r;
    while ((r = fread(buf + n, 1, cap - n - 1, p)) > 0) {
        n += r;
        if (n + 1 == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                fail_msg("out of memory");
            buf = nb;
            cap *= 2;
        }
    }
    buf[n] = '\0';
    int st = pclose(p);
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (status)
        *status = code;
    else if (code != 0)
        fail_msg("`%s` failed (%d): %s", cmd, code, buf);
    return buf;
}

/* Starts the Go SDK peer worker (tests/temporal/gopeer) polling queue; returns its pid, or -1
 * (with a message on stderr). Its workflows run on the official Go SDK, so tests of the client
 * do not depend on our workflow runtime. */
static inline pid_t tt_gopeer_start(const char *peer, const char *queue)
{
    pid_t pid = -1;
    char *argv[] = {(char *)peer,  "-address",    (char *)tt_address(),
                    "-task-queue", (char *)queue, NULL};
    if (posix_spawn(&pid, peer, NULL, NULL, argv, environ) != 0) {
        fprintf(stderr, "cannot start %s\n", peer);
        return -1;
    }
    return pid;
}

static inline void tt_gopeer_stop(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
}

/* Registers a test's own workflows / activities on w (after tw_register_all). */
typedef int (*tt_register_fn)(tc_worker *w, tc_error *err);

/* Starts a worker on a fresh task queue (written to queue) with every shared test workflow and
 * what extra registers; NULL (and a message on stderr) on failure. */
static inline tc_worker *tt_worker(tc_client *c, char *queue, size_t cap, const char *prefix,
                                   tt_register_fn extra)
{
    tc_error err = {0};
    tc_worker *w = NULL;
    tt_unique(queue, cap, prefix);
    tc_worker_options o = {.task_queue = queue};
    if (tc_worker_new(c, &o, &w, &err) != TC_OK || tw_register_all(w, &err) != TC_OK ||
        (extra && extra(w, &err) != TC_OK) || tc_worker_start(w, &err) != TC_OK) {
        fprintf(stderr, "worker: %s\n", err.text);
        tc_worker_free(w);
        return NULL;
    }
    return w;
}

#endif
