/* owned.c - a set of saga id strings: chained hash with a fixed bucket count (it holds at
 * most the queued and running sagas). Must not be used without the engine's mutex. */
#include "owned.h"

#include <stdlib.h>
#include <string.h>

#define OWNED_BUCKETS 4096

typedef struct owned_node {
    struct owned_node *next;
    char id[];
} owned_node_t;

struct owned_set {
    owned_node_t *bucket[OWNED_BUCKETS];
};

static size_t bucket_of(const char *s)
{
    size_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h % OWNED_BUCKETS;
}

owned_set_t *owned_new(void)
{
    return calloc(1, sizeof(owned_set_t));
}

void owned_free(owned_set_t *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < OWNED_BUCKETS; i++)
        while (s->bucket[i] != NULL) {
            owned_node_t *n = s->bucket[i];
            s->bucket[i] = n->next;
            free(n);
        }
    free(s);
}

int owned_add(owned_set_t *s, const char *saga_id)
{
    owned_node_t **b = &s->bucket[bucket_of(saga_id)];
    for (owned_node_t *n = *b; n != NULL; n = n->next)
        if (strcmp(n->id, saga_id) == 0)
            return 0;
    size_t len = strlen(saga_id) + 1;
    owned_node_t *n = malloc(sizeof *n + len);
    if (n == NULL)
        return -1;
    memcpy(n->id, saga_id, len);
    n->next = *b;
    *b = n;
    return 1;
}

void owned_del(owned_set_t *s, const char *saga_id)
{
    for (owned_node_t **pp = &s->bucket[bucket_of(saga_id)]; *pp != NULL; pp = &(*pp)->next)
        if (strcmp((*pp)->id, saga_id) == 0) {
            owned_node_t *n = *pp;
            *pp = n->next;
            free(n);
            return;
        }
}
