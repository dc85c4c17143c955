/* stack_secrets.h — for C tests that talk to the local stack: puts its credentials
 * (REDIS_PASSWORD, MYSQL_PASSWORD, ...) from the file scripts/stack writes
 * ($STACK_DIR/secrets.env, else $SAGA_SOURCE_DIR/.stack/secrets.env) into the environment, so
 * cfg_str() sees them exactly as a daemon started by scripts/suite does. Variables already set
 * win. Call first thing in main, before any thread starts (setenv is not thread-safe). */
#ifndef TESTS_STACK_SECRETS_H
#define TESTS_STACK_SECRETS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void stack_secrets_load(void)
{
    char path[1024];
    const char *dir = getenv("STACK_DIR");
    const char *src = getenv("SAGA_SOURCE_DIR");
    if (dir && *dir)
        snprintf(path, sizeof path, "%s/secrets.env", dir);
    else
        snprintf(path, sizeof path, "%s/.stack/secrets.env", src && *src ? src : ".");
    FILE *f = fopen(path, "r");
    if (!f)
        return; /* no stack secrets: a stack without passwords, or the variables are set */
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *eq = strchr(line, '=');
        if (line[0] == '#' || !eq)
            continue;
        *eq = '\0';
        setenv(line, eq + 1, 0);
    }
    fclose(f);
}

#endif
