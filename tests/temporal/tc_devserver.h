/* tc_devserver.h - a private Temporal dev server for a test (the CLI's start-dev on free ports,
 * one dynamic config value), and its client. Test code only; header-only. */
#ifndef TC_DEVSERVER_H
#define TC_DEVSERVER_H

#include "tc_test_util.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

/* A port the kernel just handed out (free now; the server binds it a moment later). */
static inline int tt_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* Starts `cli server start-dev` with --dynamic-config-value setting (NULL: none) and returns its
 * pid; *client is a ready client of it (90 s to come up). */
static inline pid_t tt_devserver_start(const char *cli, const char *setting, tc_client **client)
{
    char port[16], http[16], metrics[16], addr[64];
    snprintf(port, sizeof port, "%d", tt_free_port());
    snprintf(http, sizeof http, "%d", tt_free_port());
    snprintf(metrics, sizeof metrics, "%d", tt_free_port());
    pid_t pid = fork();
    if (pid == 0) {
        FILE *null = freopen("/dev/null", "w", stdout);
        (void)null;
        null = freopen("/dev/null", "w", stderr);
        (void)null;
        if (setting)
            execl(cli, cli, "server", "start-dev", "--ip", "127.0.0.1", "--port", port,
                  "--http-port", http, "--metrics-port", metrics, "--headless", "--log-level",
                  "error", "--dynamic-config-value", setting, (char *)NULL);
        else
            execl(cli, cli, "server", "start-dev", "--ip", "127.0.0.1", "--port", port,
                  "--http-port", http, "--metrics-port", metrics, "--headless", "--log-level",
                  "error", (char *)NULL);
        _exit(127);
    }
    assert_true(pid > 0);
    snprintf(addr, sizeof addr, "127.0.0.1:%s", port);
    tc_error err = {0};
    tc_client_options co = {.address = addr};
    if (tc_client_new(&co, client, &err) != TC_OK)
        fail_msg("client: %s", err.text);
    if (tc_client_wait_ready(*client, 90000, &err) != TC_OK)
        fail_msg("private dev server on %s not ready: %s", addr, err.text);
    return pid;
}

static inline void tt_devserver_stop(pid_t pid, tc_client *client)
{
    tc_client_free(client);
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
}

#endif
